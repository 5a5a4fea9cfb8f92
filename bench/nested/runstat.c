// SPDX-License-Identifier: MIT
/*
 * runstat: the timer of bench/nested.sh, built statically on the host and run inside the nested
 * L1 guest (whose busybox has no nanosecond clock). It starts a command with stdin, stdout and
 * stderr on /dev/null, waits for it with wait4(2) and prints one line
 * "<wall_us> <status> <maxrss_kib>": the CLOCK_MONOTONIC time from just before fork(2) to the
 * child's exit, its exit status (128 + signal when killed, as the shell reports it) and the peak
 * resident set size of the child, getrusage(2) ru_maxrss (POSIX wait4/getrusage; Linux reports
 * kibibytes) and its pid. A child still running after the timeout (default 60 s) is killed
 * (SIGKILL to its process group); one that is not gone 10 s later (stuck in the kernel) is left
 * behind and reported as "<wall_us> 137 -1 <pid> stuck".
 * Usage: runstat [-t SECONDS] COMMAND [ARG...]
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

/* In the child: /dev/null on fds 0-2, a new process group (for the timeout kill), exec. */
static void run_child(char **argv)
{
    int fd = open("/dev/null", O_RDWR);

    if (fd < 0 || dup2(fd, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
        _exit(126);
    if (fd > 2)
        close(fd);
    setpgid(0, 0);
    execvp(argv[0], argv);
    _exit(127);
}

static pid_t child;
static volatile sig_atomic_t killed;

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

/* Runs argv[optind...], prints the figures; returns 0, or 1 when the command could not start. */
int main(int argc, char **argv)
{
    unsigned timeout = 60;
    int first = 1;

    if (argc > 2 && strcmp(argv[1], "-t") == 0) {
        timeout = (unsigned)strtoul(argv[2], NULL, 10);
        first = 3;
    }
    if (first >= argc) {
        fprintf(stderr, "usage: runstat [-t SECONDS] COMMAND [ARG...]\n");
        return 2;
    }

    long long t0 = now_us();
    child = fork();
    if (child < 0) {
        perror("runstat: fork");
        return 1;
    }
    if (child == 0)
        run_child(argv + first);

    struct sigaction sa = {.sa_handler = on_alarm};
    sigaction(SIGALRM, &sa, NULL); /* no SA_RESTART: wait4 returns EINTR */
    alarm(timeout);
    int status;
    struct rusage ru;
    pid_t r = wait_child(&status, &ru);
    long long t1 = now_us();
    if (r == 0) {
        printf("%lld 137 -1 %d stuck\n", t1 - t0, (int)child);
        return 0;
    }
    if (r < 0) {
        perror("runstat: wait4");
        return 1;
    }

    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    printf("%lld %d %ld %d\n", t1 - t0, code, ru.ru_maxrss, (int)child);
    return code == 127 || code == 126 ? 1 : 0;
}
