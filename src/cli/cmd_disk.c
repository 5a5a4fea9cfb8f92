/* SPDX-License-Identifier: MIT */
/*
 * `bareiron disk`: create, inspect, resize and check disk images (raw, qcow2), the way
 * `qemu-img` does for QEMU; `disk convert` lives in cmd_disk_convert.c. Formats are probed
 * from the header only when not given, and never when the user said raw. Exit statuses are
 * those of cli/cli.h; `disk check` documents its own meaning of 0/6 (docs/disks.md).
 */
#include "cli/cli.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "base/util.h"
#include "block/image.h"
#include "cli/cmd_disk.h"

static const char disk_help[] =
    "usage: bareiron disk <create|info|convert|resize|check> [options]\n"
    "\n"
    "Manages disk images in the raw and qcow2 (v2 and v3) formats.\n"
    "\n"
    "  disk create FILE [SIZE] [--format qcow2|raw] [--backing FILE]\n"
    "              [--backing-format raw|qcow2] [--cluster-size N]\n"
    "      Creates an image (default qcow2, 64 KiB clusters). SIZE takes K, M, G, T\n"
    "      suffixes; with --backing it defaults to the backing file's size. A relative\n"
    "      backing name is resolved against FILE's directory; its format is recorded\n"
    "      (probed once now when --backing-format is not given).\n"
    "  disk info FILE [--format raw|qcow2] [--json]\n"
    "      Prints format, virtual size, space used, cluster size, dirty/corrupt flags and\n"
    "      the backing chain. Reads headers only: works on images in use.\n"
    "  disk convert SRC DST [--format qcow2|raw] [--source-format raw|qcow2]\n"
    "              [--cluster-size N] [--quiet]\n"
    "      Copies SRC's contents (its whole backing chain flattened) into a new image DST\n"
    "      (default qcow2), skipping zero blocks. Shows progress on a terminal.\n"
    "  disk resize FILE SIZE [--format raw|qcow2] [--shrink]\n"
    "      Changes the virtual size. qcow2 images only grow; raw ones shrink with --shrink.\n"
    "  disk check FILE [--repair]\n"
    "      Checks a qcow2 image's reference counts. Leaked clusters (space wasted after a\n"
    "      crash) are reported and harmless; corruption means a cluster in use is counted\n"
    "      free. --repair rewrites the refcounts.\n"
    "\n"
    "Exit status: 0 success (check: no corruption; leaks are allowed), 1 failure (I/O error,\n"
    "check could not complete), 2 usage error, 3 file not found, 4 image in use by another\n"
    "process, 6 invalid or unsupported image (check: corruption found).\n";

int disk_parse_format(const char *s, enum blk_format *out)
{
    if (strcmp(s, "raw") == 0)
        *out = BLK_FORMAT_RAW;
    else if (strcmp(s, "qcow2") == 0)
        *out = BLK_FORMAT_QCOW2;
    else {
        cli_err("unknown format '%s' (raw, qcow2)", s);
        return -EINVAL;
    }
    return 0;
}

int disk_parse_size(const char *what, const char *s, uint64_t *out)
{
    if (parse_size(s, 0, out) < 0) {
        cli_err("invalid %s '%s' (examples: 10G, 512M, 1048576)", what, s);
        return -EINVAL;
    }
    return 0;
}

enum {
    OPT_FORMAT = 1,
    OPT_BACKING,
    OPT_BACKING_FMT,
    OPT_CLUSTER,
    OPT_JSON,
    OPT_SHRINK,
    OPT_REPAIR,
    OPT_SRC_FMT,
    OPT_QUIET,
    OPT_HELP
};

static const struct option disk_opts[] = {
    {"format", required_argument, NULL, OPT_FORMAT},
    {"backing", required_argument, NULL, OPT_BACKING},
    {"backing-format", required_argument, NULL, OPT_BACKING_FMT},
    {"cluster-size", required_argument, NULL, OPT_CLUSTER},
    {"json", no_argument, NULL, OPT_JSON},
    {"shrink", no_argument, NULL, OPT_SHRINK},
    {"repair", no_argument, NULL, OPT_REPAIR},
    {"source-format", required_argument, NULL, OPT_SRC_FMT},
    {"quiet", no_argument, NULL, OPT_QUIET},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

/* Parses the options of a disk subcommand into (o); positional arguments stay in argv from
 * optind on. Returns 0, 1 for --help (printed) or -EINVAL (message printed). */
static int disk_parse_opts(int argc, char **argv, struct disk_opts *o)
{
    int c;

    memset(o, 0, sizeof(*o));
    optind = 1;
    while ((c = getopt_long(argc, argv, "", disk_opts, NULL)) != -1) {
        switch (c) {
        case OPT_FORMAT:
            if (disk_parse_format(optarg, &o->format) < 0)
                return -EINVAL;
            break;
        case OPT_SRC_FMT:
            if (disk_parse_format(optarg, &o->src_format) < 0)
                return -EINVAL;
            break;
        case OPT_BACKING:
            o->backing = optarg;
            break;
        case OPT_BACKING_FMT:
            o->backing_fmt = optarg;
            break;
        case OPT_CLUSTER:
            if (disk_parse_size("cluster size", optarg, &o->cluster_size) < 0)
                return -EINVAL;
            break;
        case OPT_JSON:
            o->is_json = true;
            break;
        case OPT_SHRINK:
            o->allow_shrink = true;
            break;
        case OPT_REPAIR:
            o->repair = true;
            break;
        case OPT_QUIET:
            o->is_quiet = true;
            break;
        case OPT_HELP:
            fputs(disk_help, stdout);
            return 1;
        default:
            return -EINVAL;
        }
    }
    return 0;
}

static int disk_create(int argc, char **argv, const struct disk_opts *o)
{
    struct error err = {0};
    uint64_t size = 0;
    int ret;

    if (argc - optind < 1 || argc - optind > 2 || (argc - optind == 1 && !o->backing)) {
        cli_err("usage: bareiron disk create FILE SIZE [options]");
        return CLI_EUSAGE;
    }
    if (argc - optind == 2 && disk_parse_size("size", argv[optind + 1], &size) < 0)
        return CLI_EUSAGE;
    if (o->format == BLK_FORMAT_RAW) {
        if (o->backing || o->cluster_size) {
            cli_err("--backing and --cluster-size need --format qcow2");
            return CLI_EUSAGE;
        }
        ret = disk_create_raw(argv[optind], size, &err);
    } else {
        ret = qcow2_create(argv[optind], size, o->cluster_size, o->backing, o->backing_fmt, &err);
    }
    return ret < 0 ? cli_fail(&err) : CLI_OK;
}

static int disk_resize_cmd(int argc, char **argv, const struct disk_opts *o)
{
    struct error err = {0};
    uint64_t size;

    if (argc - optind != 2) {
        cli_err("usage: bareiron disk resize FILE SIZE [--format F] [--shrink]");
        return CLI_EUSAGE;
    }
    if (disk_parse_size("size", argv[optind + 1], &size) < 0)
        return CLI_EUSAGE;
    if (disk_resize(argv[optind], o->format, size, o->allow_shrink, &err) < 0)
        return cli_fail(&err);
    return CLI_OK;
}

static int disk_check_cmd(int argc, char **argv, const struct disk_opts *o)
{
    struct disk_check_result r;
    struct error err = {0};

    if (argc - optind != 1) {
        cli_err("usage: bareiron disk check FILE [--repair]");
        return CLI_EUSAGE;
    }
    if (disk_check(argv[optind], o->repair, &r, &err) < 0)
        return cli_fail(&err);
    printf("%" PRIu64 "/%" PRIu64 " clusters allocated\n", r.allocated_clusters, r.total_clusters);
    if (o->repair && r.fixed)
        printf("%" PRIu64 " refcounts repaired\n", r.fixed);
    if (r.leaks)
        printf("%" PRIu64 " leaked clusters (harmless: space not in use)\n", r.leaks);
    if (r.corruptions) {
        printf("%" PRIu64 " errors: the image is corrupt\n", r.corruptions);
        return o->repair ? CLI_EFAIL : CLI_EINVALID;
    }
    if (r.is_incomplete) {
        printf("check incomplete: internal snapshots were not checked\n");
        return CLI_EFAIL;
    }
    printf("no errors were found on the image\n");
    return CLI_OK;
}

int cmd_disk(int argc, char **argv)
{
    struct disk_opts o;
    const char *sub;
    int ret;

    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(disk_help, argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_EUSAGE : CLI_OK;
    }
    sub = argv[1];
    ret = disk_parse_opts(argc - 1, argv + 1, &o);
    if (ret != 0)
        return ret > 0 ? CLI_OK : CLI_EUSAGE;
    argc--;
    argv++;
    if (strcmp(sub, "create") == 0)
        return disk_create(argc, argv, &o);
    if (strcmp(sub, "info") == 0)
        return disk_info_cmd(argc, argv, &o);
    if (strcmp(sub, "convert") == 0)
        return disk_convert_cmd(argc, argv, &o);
    if (strcmp(sub, "resize") == 0)
        return disk_resize_cmd(argc, argv, &o);
    if (strcmp(sub, "check") == 0)
        return disk_check_cmd(argc, argv, &o);
    cli_err("unknown disk command '%s' (create, info, convert, resize, check)", sub);
    return CLI_EUSAGE;
}
