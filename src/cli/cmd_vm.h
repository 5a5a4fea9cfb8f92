/* SPDX-License-Identifier: MIT */
/*
 * Shared by the manager's commands (cmd_vm*.c): one argument parser for all of them, the
 * --help texts (cmd_vm_help.c) and small helpers that open the VM library and turn mgr
 * errors into the exit statuses of cli/cli.h (docs/cli.md).
 */
#ifndef BAREIRON_CLI_CMD_VM_H
#define BAREIRON_CLI_CMD_VM_H

#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"
#include "mgr/store.h"

/* What a command accepts besides --help (bit flags for vm_parse_args). */
enum {
    VM_ARG_NAME = 1u << 0,       /* exactly one VM name */
    VM_ARG_JSON = 1u << 1,       /* --json */
    VM_ARG_SETTINGS = 1u << 2,   /* --<setting> VALUE (mgr/config.h options) */
    VM_ARG_KEEP_DISKS = 1u << 3, /* --keep-disks */
    VM_ARG_CONSOLE = 1u << 4,    /* --console */
    VM_ARG_TIMEOUT = 1u << 5,    /* --timeout SECONDS */
    VM_ARG_REMOVE = 1u << 6,     /* with VM_ARG_SETTINGS: also --remove-disk, --remove-nic */
};

#define VM_MAX_SETTINGS 128
/* "--nat-forwardN delete NAME" settings in one command (their values are joined here). */
#define VM_MAX_DELETES 16

struct vm_args {
    const char *name;
    bool is_json, is_keep_disks, is_console;
    bool has_timeout;
    unsigned timeout_s;
    size_t nsettings;
    const char *keys[VM_MAX_SETTINGS];
    const char *values[VM_MAX_SETTINGS];
    size_t ndeletes;
    char deletes[VM_MAX_DELETES][64]; /* "delete NAME" of --nat-forwardN delete NAME */
};

/*
 * Parses (argc, argv) (argv[0] is the command) accepting what (allowed) says into (a).
 * Returns -1 to go on, or an exit status to return at once (CLI_OK after printing --help,
 * CLI_EUSAGE after printing what is wrong).
 */
int vm_parse_args(int argc, char **argv, unsigned allowed, struct vm_args *a);

/* Prints the --help text of (cmd) to stdout. */
void vm_print_help(const char *cmd);

/* Opens the library into (st); on failure prints the reason and returns the exit status,
 * else -1. */
int vm_open_store(struct store *st);

/* vm_parse_args, then vm_open_store: the start of every command on one VM or the library.
 * Returns -1 to go on, or an exit status to return at once. */
int vm_begin(int argc, char **argv, unsigned allowed, struct vm_args *a, struct store *st);

/* Prints (err) and returns its exit status, treating -EINVAL from option parsing as a usage
 * error (2) when (is_usage). */
int vm_fail(const struct error *err, bool is_usage);

/* Formats (mib) as "512 MiB" / "2 GiB" into (buf). */
void vm_format_mib(unsigned long long mib, char *buf, size_t size);

/* Starts VM (name) (the lock is taken here). Returns 0 or an exit status after printing. */
int vm_start_one(const struct store *st, const char *name, bool is_quiet);

/* Attaches the terminal to VM (name)'s serial console until Ctrl-A x. Returns an exit status. */
int vm_console_attach(const struct store *st, const char *name);

#endif
