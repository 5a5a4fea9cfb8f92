/* SPDX-License-Identifier: MIT */
/* Implementation of base/error.h. */
#include "base/error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

PRINTF_FMT(4, 0)
static int error_vset(struct error *err, int code, bool is_usage, const char *fmt, va_list ap)
{
    if (err == NULL || err->code != 0)
        return code;
    err->code = code;
    err->is_usage = is_usage;
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    return code;
}

int error_set(struct error *err, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    code = error_vset(err, code, false, fmt, ap);
    va_end(ap);
    return code;
}

int error_usage(struct error *err, const char *fmt, ...)
{
    va_list ap;
    int code;
    va_start(ap, fmt);
    code = error_vset(err, -EINVAL, true, fmt, ap);
    va_end(ap);
    return code;
}

void error_clear(struct error *err)
{
    if (err) {
        err->code = 0;
        err->is_usage = false;
        err->message[0] = '\0';
    }
}

const char *error_code_name(int code)
{
    switch (-code) {
    case EINVAL:
        return "EINVAL";
    case ENOENT:
        return "ENOENT";
    case EEXIST:
        return "EEXIST";
    case EBUSY:
        return "EBUSY";
    case EPERM:
        return "EPERM";
    case EACCES:
        return "EACCES";
    case ENOMEM:
        return "ENOMEM";
    case ENOSPC:
        return "ENOSPC";
    case ENOTSUP:
        return "ENOTSUP";
    case ETIMEDOUT:
        return "ETIMEDOUT";
    case E2BIG:
        return "E2BIG";
    case ENOEXEC:
        return "ENOEXEC";
    case EROFS:
        return "EROFS";
    case ENODEV:
        return "ENODEV";
    case EPROTO:
        return "EPROTO";
    case ECONNREFUSED:
        return "ECONNREFUSED";
    case ESRCH:
        return "ESRCH";
    case EAGAIN:
        return "EAGAIN";
    case EADDRINUSE:
        return "EADDRINUSE";
    default:
        return "EIO";
    }
}
