/* SPDX-License-Identifier: MIT */
/*
 * Shared by the manager's commands (cmd_vm*.c): one argument parser for all of them, the
 * --help texts (cmd_vm_help.c) and small helpers that open the VM library. Like the
 * commands (cli/cli.h), every function returns 0 or a negative errno with (err) filled.
 */
#ifndef BAREIRON_CLI_CMD_VM_H
#define BAREIRON_CLI_CMD_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

struct vm_config;

struct vm_args {
    const char *name;
    bool is_help; /* --help was given and its text printed: the command has nothing to do */
    bool is_json, is_keep_disks, is_console;
    bool has_timeout;
    unsigned timeout_s;
    size_t nsettings;
    const char *keys[VM_MAX_SETTINGS];
    const char *values[VM_MAX_SETTINGS];
    size_t ndeletes;
    char deletes[VM_MAX_DELETES][64]; /* "delete NAME" of --nat-forwardN delete NAME */
};

/* Parses (argc, argv) (argv[0] is the command) accepting what (allowed) says into (a); prints
 * the --help text if asked (a->is_help). A bad command line is a usage error (error_usage). */
int vm_parse_args(int argc, char **argv, unsigned allowed, struct vm_args *a, struct error *err);

/* Prints the --help text of (cmd) to stdout. */
void vm_print_help(const char *cmd);

/* vm_parse_args, then (unless --help) store_open: the start of every command on one VM or
 * the library. */
int vm_begin(int argc, char **argv, unsigned allowed, struct vm_args *a, struct store *st,
             struct error *err);

/* Checks that (name) can name a VM; an invalid one is a usage error. */
int vm_check_name(const char *name, struct error *err);

/* Checks that VM (name) exists (else status 3) and is running or paused (else status 4, the
 * message ending with "(what) exists only while it runs"). */
int vm_check_running(const struct store *st, const char *name, const char *what, struct error *err);

/* Refuses (usage error, status 2) an adapter MAC of (cfg) that is not one of (old)'s (NULL:
 * every MAC is new) and that another VM of the library already has. */
int vm_check_unique_macs(const struct store *st, const struct vm_config *cfg,
                         const struct vm_config *old, struct error *err);

/* Formats (mib) as "512 MiB" / "2 GiB" into (buf). */
void vm_format_mib(unsigned long long mib, char *buf, size_t size);

/* Starts VM (name) (the lock is taken here). */
int vm_start_one(const struct store *st, const char *name, bool is_quiet, struct error *err);

/* Attaches the terminal to VM (name)'s serial console until Ctrl-A x. */
int vm_console_attach(const struct store *st, const char *name, struct error *err);

/*
 * A progress bar on stderr, when it is a terminal, of the state file (path) being written by a
 * monitor (cmd_vm_progress.c), (total_bytes) the guest's memory. Returns NULL when nothing is
 * drawn (not a terminal, out of memory). vm_save_watch_stop ends it (NULL is fine): with the
 * bar at the size of (final_path), where the state ended up, or without (NULL: it failed).
 */
struct vm_save_watch;
/* savestate_save_to (mgr/savestate.h) of VM (name) into (path) with that progress bar. */
int vm_save_with_progress(const struct store *st, const char *name, const char *path,
                          unsigned flags, struct error *err);
struct vm_save_watch *vm_save_watch_start(const char *path, uint64_t total_bytes);
void vm_save_watch_stop(struct vm_save_watch *w, const char *final_path);

#endif
