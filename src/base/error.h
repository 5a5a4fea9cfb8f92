/* SPDX-License-Identifier: MIT */
/*
 * User-facing errors: a negative errno plus a one-line message, filled in by the function that
 * knows what went wrong (mgr, cli, loaders, config) and printed once by whoever talks to the
 * user. A NULL (struct error *) is allowed everywhere and means "the caller does not care".
 */
#ifndef BAREIRON_BASE_ERROR_H
#define BAREIRON_BASE_ERROR_H

#include <stdbool.h>

#include "base/compiler.h"

struct error {
    int code;      /* negative errno, 0 when unset */
    bool is_usage; /* the command line is wrong: exit status 2 whatever the code */
    char message[512];
};

/* Fills (err) with (code) and the formatted message, unless err is NULL or already set.
 * Returns (code), so that "return error_set(err, -EINVAL, ...)" reads naturally. */
PRINTF_FMT(3, 4) int error_set(struct error *err, int code, const char *fmt, ...);
/* error_set(err, -EINVAL, ...) for a bad command line or argument: also marks (err) as a
 * usage error (base/exit_status.h gives it status 2). */
PRINTF_FMT(2, 3) int error_usage(struct error *err, const char *fmt, ...);
/* Clears (err). */
void error_clear(struct error *err);
/* Returns a short stable name for a negative errno: "EINVAL", "ENOENT"... or "EIO" for others. */
const char *error_code_name(int code);

#endif
