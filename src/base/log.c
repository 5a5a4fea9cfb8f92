/* SPDX-License-Identifier: MIT */
/*
 * Implementation of base/log.h: formatted one-line messages to stderr with a monotonic
 * timestamp, the VM name and the thread name, plus a per-call-site rate limiter.
 */
#include "base/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/vm_limits.h"

enum log_level log_current_level = LOG_WARN;
static char vm_name[VM_MAX_NAME + 1];
static _Thread_local char thread_name[32] = "main";

static const char *const level_names[] = {"ERROR", "WARN", "INFO", "DEBUG"};

void log_set_level(enum log_level level)
{
    log_current_level = level;
}

int log_parse_level(const char *s, enum log_level *out)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    for (unsigned i = 0; i < ARRAY_SIZE(names); i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    return -EINVAL;
}

void log_init_from_env(void)
{
    const char *s = getenv("BAREIRON_LOG");
    enum log_level lvl;
    if (s == NULL || *s == '\0')
        return;
    if (log_parse_level(s, &lvl) == 0)
        log_set_level(lvl);
    else
        fprintf(stderr, "warning: BAREIRON_LOG=%s is not one of error, warn, info, debug\n", s);
}

void log_set_vm_name(const char *name)
{
    snprintf(vm_name, sizeof(vm_name), "%s", name ? name : "");
}

void log_set_thread_name(const char *name)
{
    snprintf(thread_name, sizeof(thread_name), "%s", name ? name : "");
}

PRINTF_FMT(3, 0)
static void vlog(enum log_level level, const char *tag, const char *fmt, va_list ap)
{
    char msg[1024];
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    /* One fprintf per line so that concurrent threads do not interleave inside a line. */
    fprintf(stderr, "%5ld.%06ld %s %s[%s/%s]: %s\n", (long)ts.tv_sec, ts.tv_nsec / 1000,
            level_names[level], tag, vm_name, thread_name, msg);
}

void log_write(enum log_level level, const char *tag, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(level, tag, fmt, ap);
    va_end(ap);
}

void log_write_rl(struct log_rl *rl, enum log_level level, const char *tag, const char *fmt, ...)
{
    struct timespec ts;
    va_list ap;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    /* Racy counters are fine here: the worst case is a line more or less. */
    if (ts.tv_sec != rl->window_s) {
        if (rl->suppressed)
            log_write(level, tag, "(%u similar messages suppressed)", rl->suppressed);
        rl->window_s = ts.tv_sec;
        rl->count = 0;
        rl->suppressed = 0;
    }
    if (rl->count >= 10) {
        rl->suppressed++;
        return;
    }
    rl->count++;
    va_start(ap, fmt);
    vlog(level, tag, fmt, ap);
    va_end(ap);
}

void panic_at(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "PANIC %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}
