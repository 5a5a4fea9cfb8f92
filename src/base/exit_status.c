/* SPDX-License-Identifier: MIT */
/* Implementation of base/exit_status.h: the errno <-> exit status table. */
#include "base/exit_status.h"

#include <errno.h>

#include "base/error.h"

int exit_status_for_errno(int code)
{
    switch (-code) {
    case 0:
        return EXIT_STATUS_OK;
    case ENOENT:
    case ESRCH:
        return EXIT_STATUS_NOTFOUND;
    case EBUSY:
    case EEXIST:
    case EAGAIN:
    case EADDRINUSE: /* a host port another process (or forward) holds */
        return EXIT_STATUS_STATE;
    case ENODEV:
        return EXIT_STATUS_KVM;
    case EINVAL:
    case ENOEXEC:
    case EPROTO:
    case ENOTSUP:
        return EXIT_STATUS_INVALID;
    case ETIMEDOUT:
        return EXIT_STATUS_TIMEOUT;
    default:
        return EXIT_STATUS_FAIL;
    }
}

int exit_status_for_error(const struct error *err)
{
    if (err->code != 0 && err->is_usage)
        return EXIT_STATUS_USAGE;
    return exit_status_for_errno(err->code);
}

int exit_status_to_errno(int status)
{
    switch (status) {
    case EXIT_STATUS_NOTFOUND:
        return -ENOENT;
    case EXIT_STATUS_STATE:
        return -EBUSY;
    case EXIT_STATUS_KVM:
        return -ENODEV;
    case EXIT_STATUS_USAGE: /* the manager built the command line: a setting it cannot run */
    case EXIT_STATUS_INVALID:
        return -EINVAL;
    case EXIT_STATUS_TIMEOUT:
        return -ETIMEDOUT;
    default:
        return -EIO;
    }
}
