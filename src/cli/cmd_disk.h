/* SPDX-License-Identifier: MIT */
/*
 * Shared by the `bareiron disk` command files (cmd_disk.c, cmd_disk_info.c, cmd_disk_convert.c):
 * parsed options and the subcommands implemented outside cmd_disk.c. Private to src/cli/.
 */
#ifndef BAREIRON_CLI_CMD_DISK_H
#define BAREIRON_CLI_CMD_DISK_H

#include <stdbool.h>
#include <stdint.h>

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
};

/* Parse "raw"/"qcow2" into (out); prints the error. Returns 0 or -EINVAL. */
int disk_parse_format(const char *s, enum blk_format *out);
/* Parses a size for option (what); prints the error. Returns 0 or -EINVAL. */
int disk_parse_size(const char *what, const char *s, uint64_t *out);
/* `disk info` and `disk convert`: (argv) from getopt's optind on are the positional
 * arguments. Return a CLI exit status. */
int disk_info_cmd(int argc, char **argv, const struct disk_opts *o);
int disk_convert_cmd(int argc, char **argv, const struct disk_opts *o);

#endif
