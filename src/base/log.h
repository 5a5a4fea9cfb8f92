/* SPDX-License-Identifier: MIT */
/*
 * Logging. Every .c file defines LOG_TAG before including this header. One line per
 * message: "<monotonic seconds> <LEVEL> <tag>[<vm>/<thread>]: message". The level comes from
 * log_set_level() (--log-level) or the BAREIRON_LOG environment variable (error, warn, info,
 * debug). Debug calls stay in the binary and cost one branch. Thread-safe.
 */
#ifndef BAREIRON_BASE_LOG_H
#define BAREIRON_BASE_LOG_H

#include <stdbool.h>

#include "base/compiler.h"

enum log_level { LOG_ERROR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

extern enum log_level log_current_level;

/* Sets the level. */
void log_set_level(enum log_level level);
/* Parses "error|warn|info|debug" into (out). Returns 0 or -EINVAL. */
MUST_CHECK int log_parse_level(const char *s, enum log_level *out);
/* Reads BAREIRON_LOG if set; unknown values are ignored with a warning. */
void log_init_from_env(void);
/* Names this process's VM in every line ("" for none). Copied. */
void log_set_vm_name(const char *name);
/* Names the calling thread in its lines ("main", "vcpu0"...). Copied, per thread. */
void log_set_thread_name(const char *name);

PRINTF_FMT(3, 4) void log_write(enum log_level level, const char *tag, const char *fmt, ...);
/*
 * Like log_write, but at most (burst) lines per second per call site; (state) is the call
 * site's static counter block. Use the log_ratelimited() macro.
 */
struct log_rl {
    long window_s;
    unsigned count;
    unsigned suppressed;
};
PRINTF_FMT(4, 5)
void log_write_rl(struct log_rl *rl, enum log_level level, const char *tag, const char *fmt, ...);

#ifndef LOG_TAG
#define LOG_TAG "bareiron"
#endif

#define log_at(lvl, ...)                                                                           \
    do {                                                                                           \
        if ((lvl) <= log_current_level)                                                            \
            log_write((lvl), LOG_TAG, __VA_ARGS__);                                                \
    } while (0)
#define log_error(...) log_at(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_at(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_at(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_at(LOG_DEBUG, __VA_ARGS__)
/* For every path a guest can trigger. */
#define log_ratelimited(lvl, ...)                                                                  \
    do {                                                                                           \
        static struct log_rl rl_;                                                                  \
        if ((lvl) <= log_current_level)                                                            \
            log_write_rl(&rl_, (lvl), LOG_TAG, __VA_ARGS__);                                       \
    } while (0)

#endif
