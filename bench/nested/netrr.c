// SPDX-License-Identifier: MIT
/*
 * netrr: the TCP request/response latency probe of bench/net.sh (netperf's TCP_RR in a few
 * lines), built statically on the host and run inside the guests' initramfs
 * (scripts/mkinitramfs.sh --net) and in the nested L1 guest or on the host.
 *   netrr server ADDR PORT          accepts connections one after the other and echoes every
 *                                   byte back until the peer closes (runs until killed)
 *   netrr client ADDR PORT SECONDS [SIZE]
 *                                   connects (retrying for 30 s while nothing listens yet),
 *                                   sets TCP_NODELAY, then for SECONDS sends SIZE bytes
 *                                   (default 1) and waits for all SIZE bytes to come back, one
 *                                   transaction in flight; the first 10 transactions are a
 *                                   warm-up and not counted. Prints one line:
 *   transactions=N seconds=S per_s=X avg_us=A p50_us=B p99_us=C max_us=D
 * Latencies are CLOCK_MONOTONIC microseconds measured by the client; a transaction over 1 s is
 * counted as 1 s in the percentiles (and in full in avg_us and max_us).
 * Exit status: 0, 1 (bad arguments, connection failure or the peer closing early).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_SIZE 65536
#define HIST_US 1000000
#define WARMUP 10

static unsigned int hist[HIST_US + 1];

static long long now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ADDR and PORT as a sockaddr_in; -1 when either is malformed. */
static int parse_addr(const char *addr, const char *port, struct sockaddr_in *sa)
{
    char *end;
    long p = strtol(port, &end, 10);

    memset(sa, 0, sizeof(*sa));
    sa->sin_family = AF_INET;
    if (*port == '\0' || *end != '\0' || p < 1 || p > 65535 ||
        inet_pton(AF_INET, addr, &sa->sin_addr) != 1) {
        return -1;
    }
    sa->sin_port = htons((unsigned short)p);
    return 0;
}

/* Reads exactly (len) bytes; -1 on error or when the peer closes first. */
static int read_full(int fd, char *buf, size_t len)
{
    size_t got = 0;

    while (got < len) {
        ssize_t n = read(fd, buf + got, len - got);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return -1;
        }
        got += (size_t)n;
    }
    return 0;
}

static int write_full(int fd, const char *buf, size_t len)
{
    size_t put = 0;

    while (put < len) {
        ssize_t n = write(fd, buf + put, len - put);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return -1;
        }
        put += (size_t)n;
    }
    return 0;
}

static void nodelay(int fd)
{
    int one = 1;

    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static int serve(const struct sockaddr_in *sa)
{
    static char buf[MAX_SIZE];
    int one = 1;
    int ls = socket(AF_INET, SOCK_STREAM, 0);

    if (ls < 0 || setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        bind(ls, (const struct sockaddr *)sa, sizeof(*sa)) < 0 || listen(ls, 4) < 0) {
        perror("netrr: listen");
        return 1;
    }
    for (;;) {
        int fd = accept(ls, NULL, NULL);

        if (fd < 0) {
            continue;
        }
        nodelay(fd);
        for (;;) {
            ssize_t n = read(fd, buf, sizeof(buf));

            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n <= 0 || write_full(fd, buf, (size_t)n) < 0) {
                break;
            }
        }
        close(fd);
    }
}

/* Connects to (sa), retrying for 30 s while the peer does not listen yet. */
static int connect_retry(const struct sockaddr_in *sa)
{
    long long until = now_us() + 30 * 1000000LL;

    for (;;) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);

        if (fd < 0) {
            return -1;
        }
        if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0) {
            return fd;
        }
        close(fd);
        if (now_us() > until) {
            return -1;
        }
        usleep(200000);
    }
}

/* The latency (us) below which (frac) of the (n) counted transactions fall. */
static long percentile(unsigned long long n, double frac)
{
    unsigned long long want = (unsigned long long)((double)n * frac);
    unsigned long long seen = 0;

    for (long us = 0; us <= HIST_US; us++) {
        seen += hist[us];
        if (seen > want) {
            return us;
        }
    }
    return HIST_US;
}

static int client(const struct sockaddr_in *sa, long secs, size_t size)
{
    static char buf[MAX_SIZE];
    unsigned long long n = 0;
    long long sum = 0;
    long long max = 0;
    long long start = 0;
    int fd = connect_retry(sa);

    if (fd < 0) {
        perror("netrr: connect");
        return 1;
    }
    nodelay(fd);
    memset(buf, 'r', size);
    for (unsigned long long i = 0;; i++) {
        long long t0 = now_us();
        long long dt;

        if (i == WARMUP) {
            start = t0;
        }
        if (i >= WARMUP && t0 - start >= secs * 1000000LL) {
            break;
        }
        if (write_full(fd, buf, size) < 0 || read_full(fd, buf, size) < 0) {
            fprintf(stderr, "netrr: the peer closed after %llu transactions\n", i);
            return 1;
        }
        dt = now_us() - t0;
        if (i < WARMUP) {
            continue;
        }
        n++;
        sum += dt;
        max = dt > max ? dt : max;
        hist[dt > HIST_US ? HIST_US : dt]++;
    }
    close(fd);
    if (n == 0) {
        fprintf(stderr, "netrr: no transaction counted\n");
        return 1;
    }
    printf("transactions=%llu seconds=%ld per_s=%.1f avg_us=%.1f p50_us=%ld p99_us=%ld "
           "max_us=%lld\n",
           n, secs, (double)n / (double)secs, (double)sum / (double)n, percentile(n, 0.5),
           percentile(n, 0.99), max);
    return 0;
}

int main(int argc, char **argv)
{
    struct sockaddr_in sa;

    if (argc == 4 && strcmp(argv[1], "server") == 0 && parse_addr(argv[2], argv[3], &sa) == 0) {
        return serve(&sa);
    }
    if ((argc == 5 || argc == 6) && strcmp(argv[1], "client") == 0 &&
        parse_addr(argv[2], argv[3], &sa) == 0) {
        long secs = atol(argv[4]);
        long size = argc == 6 ? atol(argv[5]) : 1;

        if (secs >= 1 && secs <= 3600 && size >= 1 && size <= MAX_SIZE) {
            return client(&sa, secs, (size_t)size);
        }
    }
    fprintf(stderr, "usage: netrr server ADDR PORT | netrr client ADDR PORT SECONDS [SIZE]\n");
    return 1;
}
