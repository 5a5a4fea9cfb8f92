/* SPDX-License-Identifier: MIT */
/*
 * The `bareiron` command: one function per command (cmd_<name>.c), dispatched by main.c. Each
 * command parses its own arguments (argv[0] is the command name), prints errors as one line
 * "bareiron: <what is wrong>" on stderr and returns one of the documented exit statuses below
 * (docs/cli.md). Commands never call exit() themselves.
 */
#ifndef BAREIRON_CLI_CLI_H
#define BAREIRON_CLI_CLI_H

#include "base/error.h"

/* Exit statuses of `bareiron` (documented in docs/cli.md and each command's --help). */
enum cli_exit {
    CLI_OK = 0,
    CLI_EFAIL = 1,     /* the operation failed (I/O error, guest error...) */
    CLI_EUSAGE = 2,    /* bad command line: unknown option, missing or invalid argument */
    CLI_ENOTFOUND = 3, /* a named VM, file or device does not exist */
    CLI_ESTATE = 4,    /* the VM is in the wrong state for this (running, locked, busy) */
    CLI_EKVM = 5,      /* /dev/kvm is missing or unusable */
    CLI_EINVALID = 6,  /* invalid content: bad image, corrupt definition, not a kernel */
    CLI_ETIMEOUT = 7,  /* the guest did not react in time (stop --timeout) */
};

typedef int (*cli_cmd_fn)(int argc, char **argv);

/* Prints "bareiron: <message>" to stderr. */
PRINTF_FMT(1, 2) void cli_err(const char *fmt, ...);
/* Maps (err) (negative errno + message) to an exit status after printing the message. */
int cli_fail(const struct error *err);
/* Maps a negative errno to the exit status that fits it best. */
int cli_exit_for_errno(int code);

int cmd_run(int argc, char **argv);
int cmd_disk(int argc, char **argv);
/* The manager's commands (src/mgr + cli/cmd_vm_*.c). */
int cmd_create(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_set(int argc, char **argv);
int cmd_delete(int argc, char **argv);
int cmd_start(int argc, char **argv);
int cmd_console(int argc, char **argv);
int cmd_stop(int argc, char **argv);
int cmd_poweroff(int argc, char **argv);
int cmd_reset(int argc, char **argv);
int cmd_pause(int argc, char **argv);
int cmd_resume(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_autostart(int argc, char **argv);

#endif
