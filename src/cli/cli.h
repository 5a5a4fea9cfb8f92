/* SPDX-License-Identifier: MIT */
/*
 * The `bareiron` command: main.c dispatches each command word to its cmd_<name>() function
 * below: cmd_run.c, cmd_disk*.c (the image tools and their subcommands) and cmd_vm*.c (the
 * manager's commands, several per file). Each command parses its own arguments (argv[0] is
 * the command name), prints errors as one line
 * "bareiron: <what is wrong>" on stderr and returns one of the documented exit statuses below
 * (docs/cli.md). Commands never call exit() themselves.
 */
#ifndef BAREIRON_CLI_CLI_H
#define BAREIRON_CLI_CLI_H

#include "base/error.h"
#include "base/exit_status.h"

/* Exit statuses of `bareiron`: the one table of base/exit_status.h (docs/cli.md), under the
 * names the commands use. */
enum cli_exit {
    CLI_OK = EXIT_STATUS_OK,
    CLI_EFAIL = EXIT_STATUS_FAIL,
    CLI_EUSAGE = EXIT_STATUS_USAGE,
    CLI_ENOTFOUND = EXIT_STATUS_NOTFOUND,
    CLI_ESTATE = EXIT_STATUS_STATE,
    CLI_EKVM = EXIT_STATUS_KVM,
    CLI_EINVALID = EXIT_STATUS_INVALID,
    CLI_ETIMEOUT = EXIT_STATUS_TIMEOUT,
};

typedef int (*cli_cmd_fn)(int argc, char **argv);

/* Prints "bareiron: <message>" to stderr. */
PRINTF_FMT(1, 2) void cli_err(const char *fmt, ...);
/* Maps (err) (negative errno + message) to an exit status after printing the message. */
int cli_fail(const struct error *err);
/* Maps a negative errno to its exit status (exit_status_for_errno). */
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
