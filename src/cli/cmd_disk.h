/* SPDX-License-Identifier: MIT */
/*
 * Shared by the `bareiron disk` command files (cmd_disk.c, cmd_disk_info.c, cmd_disk_convert.c,
 * cmd_disk_snapshot.c):
 * parsed options and the subcommands implemented outside cmd_disk.c. Private to src/cli/.
 */
#ifndef BAREIRON_CLI_CMD_DISK_H
#define BAREIRON_CLI_CMD_DISK_H

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
    bool is_force;                /* create/convert: replace an existing file */
    bool is_help;                 /* --help: its text is printed, nothing else to do */
    enum blk_backing src_backing; /* convert: the source's backing policy */
};

/* `disk info` and `disk convert`: (argv) from getopt's optind on are the positional
 * arguments. Return 0 or a negative errno with (err) filled, as commands do (cli/cli.h). */
int disk_info_cmd(int argc, char **argv, const struct disk_opts *o, struct error *err);
int disk_convert_cmd(int argc, char **argv, const struct disk_opts *o, struct error *err);
/* Copies the image (src) (format o->src_format, chain followed under o->src_backing) into a
 * new image (dst) of o->format (AUTO: qcow2) sparsely, with a progress bar on a terminal
 * unless o->is_quiet. Nothing is left at (dst) on failure. Returns 0 or -errno with (err). */
int disk_convert_image(const struct disk_opts *o, const char *src, const char *dst,
                       struct error *err);
/* `disk snapshot` (cmd_disk_snapshot.c), the same convention. */
int disk_snapshot_cmd(int argc, char **argv, const struct disk_opts *o, struct error *err);

#endif
