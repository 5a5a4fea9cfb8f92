/* SPDX-License-Identifier: MIT */
/*
 * The `bareiron` command: main.c dispatches each command word to its cmd_<name>() function:
 * cmd_run.c, cmd_disk*.c (`disk` and its subcommands) and cmd_vm*.c (the manager's commands,
 * several per file). A command parses its own arguments (argv[0] is the command name) and
 * returns 0, or a negative errno with (err) saying what is wrong (error_usage() for a bad
 * command line). main.c alone prints that error, as one line "bareiron: <what is wrong>" on
 * stderr, and maps it to its exit status (base/exit_status.h, the table of docs/cli.md).
 * Commands never call exit().
 */
#ifndef BAREIRON_CLI_CLI_H
#define BAREIRON_CLI_CLI_H

#include "base/error.h"
#include "base/exit_status.h"

typedef int (*cli_cmd_fn)(int argc, char **argv, struct error *err);

/* Prints "bareiron: <message>" to stderr: for what does not end the command (a row of `list`
 * that cannot be read, each VM that `autostart` cannot start). */
PRINTF_FMT(1, 2) void cli_err(const char *fmt, ...);
/* Records in (err) a failure (code) that the command has reported itself (the verdict of
 * `disk check`, the state `stop` ended in): main.c prints nothing more and exits with the
 * status of (code). Returns (code). */
int cli_reported(struct error *err, int code);

int cmd_run(int argc, char **argv, struct error *err);
int cmd_disk(int argc, char **argv, struct error *err);
/* The manager's commands (src/mgr + cli/cmd_vm_*.c). */
int cmd_create(int argc, char **argv, struct error *err);
int cmd_list(int argc, char **argv, struct error *err);
int cmd_show(int argc, char **argv, struct error *err);
int cmd_set(int argc, char **argv, struct error *err);
int cmd_delete(int argc, char **argv, struct error *err);
int cmd_start(int argc, char **argv, struct error *err);
int cmd_console(int argc, char **argv, struct error *err);
int cmd_stop(int argc, char **argv, struct error *err);
int cmd_poweroff(int argc, char **argv, struct error *err);
int cmd_reset(int argc, char **argv, struct error *err);
int cmd_pause(int argc, char **argv, struct error *err);
int cmd_sendkey(int argc, char **argv, struct error *err);
int cmd_resume(int argc, char **argv, struct error *err);
int cmd_stats(int argc, char **argv, struct error *err);
int cmd_screenshot(int argc, char **argv, struct error *err);
int cmd_display(int argc, char **argv, struct error *err);
int cmd_autostart(int argc, char **argv, struct error *err);
int cmd_snapshot(int argc, char **argv, struct error *err);
int cmd_clone(int argc, char **argv, struct error *err);
int cmd_save(int argc, char **argv, struct error *err);
int cmd_discard(int argc, char **argv, struct error *err);

#endif
