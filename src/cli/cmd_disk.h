/* SPDX-License-Identifier: MIT */
/*
 * Shared by the `bareiron disk` command files (cmd_disk.c, cmd_disk_info.c, cmd_disk_convert.c,
 * cmd_disk_snapshot.c):
 * parsed options and the subcommands implemented outside cmd_disk.c. Private to src/cli/.
 */
#ifndef BAREIRON_CLI_CMD_DISK_H
#define BAREIRON_CLI_CMD_DISK_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"
#include "block/blk.h"

struct disk_opts {
    enum blk_format format;     /* --format (AUTO when not given) */
    enum blk_format src_format; /* --source-format */
    const char *backing;
    const char *backing_fmt;
    uint64_t cluster_size;
    bool is_json;
    bool allow_shrink;
    bool repair;
    bool is_quiet;
    bool is_force; /* create/convert: replace an existing file */
    bool is_help;  /* --help: its text is printed, nothing else to do */
};

/* `disk info` and `disk convert`: (argv) from getopt's optind on are the positional
 * arguments. Return 0 or a negative errno with (err) filled, as commands do (cli/cli.h). */
int disk_info_cmd(int argc, char **argv, const struct disk_opts *o, struct error *err);
int disk_convert_cmd(int argc, char **argv, const struct disk_opts *o, struct error *err);
/* A progress bar on stderr (only when it is a terminal): bytes done, total and rate. */
struct cli_progress {
    bool is_shown;
    unsigned shown; /* last 1/1000 shown */
    double start_sec;
};
void cli_progress_init(struct cli_progress *p, bool is_quiet);
/* A disk_progress_fn (block/image.h) drawing (opaque), a struct cli_progress. */
void cli_progress(void *opaque, uint64_t done, uint64_t total);
/* Makes SIGINT and SIGTERM set the returned flag (a copy then stops and cleans up). */
const volatile sig_atomic_t *cli_catch_interrupt(void);

/* `disk snapshot` (cmd_disk_snapshot.c), the same convention. */
int disk_snapshot_cmd(int argc, char **argv, const struct disk_opts *o, struct error *err);

#endif
