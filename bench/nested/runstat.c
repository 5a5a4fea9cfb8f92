// SPDX-License-Identifier: MIT
/*
 * runstat: the timer of bench/nested*.sh and bench/linux_boot.sh, built statically on the host
 * and run inside the nested L1 guest (whose busybox has no nanosecond clock) or on the host. It
 * starts a command with stdin, stdout and stderr on /dev/null, waits for it with wait4(2) and
 * prints one line "<wall_us> <status> <maxrss_kib> <pid>": the CLOCK_MONOTONIC time from just
 * before fork(2) to the child's exit, its exit status (128 + signal when killed, as the shell
 * reports it), the peak resident set size of the child, getrusage(2) ru_maxrss (POSIX
 * wait4/getrusage; Linux reports kibibytes) and its pid. A child still running after the
 * timeout (default 60 s) is killed (SIGKILL to its process group); one that is not gone 10 s
 * later (stuck in the kernel) is left behind and reported as "<wall_us> 137 -1 <pid> stuck".
 * With -m TEXT the child's stdout and stderr go to a pipe that runstat reads (and copies to FILE
 * with -o FILE): once TEXT appears in that output, wall_us is the time until then, the child is
 * killed (SIGKILL to its process group) and the status printed is 0; a child that ends or times
 * out without printing TEXT is reported with status "nomark-<its status>".
 * Usage: runstat [-t SECONDS] [-m TEXT [-o FILE]] COMMAND [ARG...]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Monotonic time in microseconds. */
static long long now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/*
 * In the child: /dev/null on fd 0, (out) (or /dev/null when it is -1) on fds 1 and 2, a new
 * process group (for the timeout kill), exec.
 */
static void run_child(char **argv, int out)
{
    int fd = open("/dev/null", O_RDWR);

    if (out < 0)
        out = fd;
    if (fd < 0 || dup2(fd, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
        _exit(126);
    if (fd > 2)
        close(fd);
    if (out > 2)
        close(out);
    setpgid(0, 0);
    execvp(argv[0], argv);
    _exit(127);
}

static pid_t child;
static volatile sig_atomic_t killed;
static int marker_mode; /* -m given: statuses without the marker are "nomark-<status>" */

/* SIGALRM: the timeout passed; kill the child's process group. */
static void on_alarm(int sig)
{
    (void)sig;
    killed = 1;
    kill(-child, SIGKILL);
    kill(child, SIGKILL);
}

/* Waits for the child; after the timeout's kill, gives it 10 s more. Returns wait4's result. */
static pid_t wait_child(int *status, struct rusage *ru)
{
    for (;;) {
        pid_t r = wait4(child, status, killed ? WNOHANG : 0, ru);
        if (r != 0 && !(r < 0 && errno == EINTR))
            return r;
        if (killed) {
            for (int i = 0; i < 100; i++) {
                usleep(100000);
                r = wait4(child, status, WNOHANG, ru);
                if (r != 0)
                    return r;
            }
            return 0;
        }
    }
}

/* Kills the child and its process group. */
static void kill_child(void)
{
    kill(-child, SIGKILL);
    kill(child, SIGKILL);
}

/*
 * Reads the child's output from (fd) until (marker) appears in it (returns its time, after
 * killing the child), end of file or the timeout (returns -1). Copies the output to (copy) when
 * it is not -1. A marker split between two reads is found: the last (len - 1) bytes of each read
 * are kept in front of the next.
 */
static long long watch_output(int fd, const char *marker, int copy)
{
    size_t len = strlen(marker);
    char buf[8192];
    size_t kept = 0;

    while (!killed) {
        ssize_t n = read(fd, buf + kept, sizeof(buf) - kept);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        if (copy >= 0 && write(copy, buf + kept, (size_t)n) < 0)
            copy = -1;
        size_t have = kept + (size_t)n;
        if (memmem(buf, have, marker, len) != NULL) {
            long long t = now_us();
            kill_child();
            return t;
        }
        kept = len - 1 < have ? len - 1 : have;
        memmove(buf, buf + have - kept, kept);
    }
    return -1;
}

struct opts {
    unsigned timeout;
    const char *marker;
    const char *copy;
    int first; /* index of COMMAND in argv */
};

/* Parses -t, -m and -o; returns 0, or -1 on a usage error. */
static int parse_opts(int argc, char **argv, struct opts *o)
{
    *o = (struct opts){.timeout = 60, .first = 1};
    while (o->first + 1 < argc && argv[o->first][0] == '-') {
        const char *opt = argv[o->first];
        const char *val = argv[o->first + 1];
        if (strcmp(opt, "-t") == 0)
            o->timeout = (unsigned)strtoul(val, NULL, 10);
        else if (strcmp(opt, "-m") == 0 && val[0] != '\0' && strlen(val) < 4096)
            o->marker = val;
        else if (strcmp(opt, "-o") == 0)
            o->copy = val;
        else
            return -1;
        o->first += 2;
    }
    return o->first < argc && (o->copy == NULL || o->marker != NULL) ? 0 : -1;
}

/* Prints one result line; returns runstat's exit status. */
static int report(long long wall, long long mark, pid_t r, int status, const struct rusage *ru)
{
    if (r == 0) {
        printf("%lld 137 -1 %d stuck\n", wall, (int)child);
        return 0;
    }
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (mark >= 0)
        printf("%lld 0 %ld %d\n", mark, ru->ru_maxrss, (int)child);
    else
        printf("%lld %s%d %ld %d\n", wall, marker_mode ? "nomark-" : "", code, ru->ru_maxrss,
               (int)child);
    return code == 127 || code == 126 ? 1 : 0;
}

/* Runs argv[first...], prints the figures; returns 0, or 1 when the command could not start. */
int main(int argc, char **argv)
{
    struct opts o;
    int pipefd[2] = {-1, -1};
    int copy = -1;

    if (parse_opts(argc, argv, &o) < 0) {
        fprintf(stderr, "usage: runstat [-t SECONDS] [-m TEXT [-o FILE]] COMMAND [ARG...]\n");
        return 2;
    }
    marker_mode = o.marker != NULL;
    if (marker_mode && pipe2(pipefd, O_CLOEXEC) < 0) {
        perror("runstat: pipe");
        return 1;
    }
    if (o.copy && (copy = open(o.copy, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) {
        perror(o.copy);
        return 1;
    }

    long long t0 = now_us();
    child = fork();
    if (child < 0) {
        perror("runstat: fork");
        return 1;
    }
    if (child == 0)
        run_child(argv + o.first, pipefd[1]);

    struct sigaction sa = {.sa_handler = on_alarm};
    sigaction(SIGALRM, &sa, NULL); /* no SA_RESTART: wait4 and read return EINTR */
    alarm(o.timeout);
    long long mark = -1;
    if (marker_mode) {
        close(pipefd[1]);
        mark = watch_output(pipefd[0], o.marker, copy);
        close(pipefd[0]);
    }
    int status = 0;
    struct rusage ru;
    pid_t r = wait_child(&status, &ru);
    long long t1 = now_us();
    if (r < 0) {
        perror("runstat: wait4");
        return 1;
    }
    return report(t1 - t0, mark < 0 ? -1 : mark - t0, r, status, &ru);
}
