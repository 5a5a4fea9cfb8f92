/* SPDX-License-Identifier: MIT */
/*
 * The exit statuses of `bareiron` and `bareiron-vmm`: one status per class of error, the same
 * for every entry point (a missing file is 3 from `create`, `start`, `run` and the monitor; a
 * disk in use is 4 from `disk` and through `start`). The table is documented once, in
 * docs/cli.md ("Exit statuses"), and docs/vmm.md lists the monitor's subset.
 */
#ifndef BAREIRON_BASE_EXIT_STATUS_H
#define BAREIRON_BASE_EXIT_STATUS_H

enum exit_status {
    EXIT_STATUS_OK = 0,
    EXIT_STATUS_FAIL = 1,     /* the operation failed (I/O error, the monitor misbehaved...) */
    EXIT_STATUS_USAGE = 2,    /* bad command line: unknown option, missing or invalid argument */
    EXIT_STATUS_NOTFOUND = 3, /* a named VM, file or device does not exist */
    EXIT_STATUS_STATE = 4,    /* wrong state or busy: VM running, name taken, disk in use */
    EXIT_STATUS_KVM = 5,      /* /dev/kvm is missing or unusable */
    EXIT_STATUS_INVALID = 6,  /* invalid content: bad image, corrupt definition, not a kernel */
    EXIT_STATUS_TIMEOUT = 7,  /* the guest or the monitor did not react in time */
    EXIT_STATUS_CRASH = 8,    /* the guest crashed (monitor only) */
    EXIT_STATUS_SECCOMP = 10, /* a forbidden system call (monitor only; docs/security.md) */
};

struct error;

/* Returns the status of the class that the negative errno (code) belongs to (0 gives 0). */
int exit_status_for_errno(int code);
/* Returns the status of (err): 2 for a usage error (error_usage), else that of its code. */
int exit_status_for_error(const struct error *err);

/* The inverse, for a monitor that exited during start: returns a negative errno of the class
 * of exit status (status) (3 gives -ENOENT, 4 -EBUSY, 5 -ENODEV, 2 and 6 -EINVAL, 7
 * -ETIMEDOUT), or -EIO for any other status. */
int exit_status_to_errno(int status);

#endif
