/* SPDX-License-Identifier: MIT */
/*
 * `bareiron disk info`: text or JSON description of an image and its backing chain, read
 * from headers only.
 */
#include "cli/cli.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "block/image.h"
#include "cli/cmd_disk.h"

#define MAX_CHAIN 16

static void json_str(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            printf("\\%c", ch);
        else if (ch < 0x20)
            printf("\\u%04x", ch);
        else
            putchar(ch);
    }
    putchar('"');
}

static const char *human(uint64_t n, char *buf, size_t len)
{
    static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    double v = (double)n;
    unsigned u = 0;

    while (v >= 1024 && u + 1 < ARRAY_SIZE(units)) {
        v /= 1024;
        u++;
    }
    snprintf(buf, len, u ? "%.3g %s" : "%.0f %s", v, units[u]);
    return buf;
}

static void print_text(const char *path, const struct disk_info *d)
{
    char b1[32], b2[32];

    printf("image: %s\nfile format: %s\n", path, blk_format_name(d->format));
    printf("virtual size: %s (%" PRIu64 " bytes)\n", human(d->virtual_size_bytes, b1, sizeof(b1)),
           d->virtual_size_bytes);
    printf("disk size: %s\n", human(d->disk_size_bytes, b2, sizeof(b2)));
    if (d->format != BLK_FORMAT_QCOW2)
        return;
    printf("cluster size: %" PRIu64 "\n", d->cluster_size_bytes);
    printf("qcow2 version: %u (compat %s)\n", d->qcow2_version,
           d->qcow2_version == 2 ? "0.10" : "1.1");
    printf("refcount bits: %u\nlazy refcounts: %s\n", d->refcount_bits,
           d->has_lazy_refcounts ? "yes" : "no");
    printf("dirty: %s\ncorrupt: %s\n", d->is_dirty ? "yes" : "no", d->is_corrupt ? "yes" : "no");
    if (d->nb_snapshots)
        printf("internal snapshots: %u\n", d->nb_snapshots);
    if (d->backing[0]) {
        printf("backing file: %s (actual path: %s)\nbacking file format: %s\n", d->backing,
               d->backing_resolved, d->backing_fmt[0] ? d->backing_fmt : "(not recorded)");
        printf("backing policy needed: %s\n", blk_backing_needed(d->backing) == BLK_BACKING_SAME_DIR
                                                  ? "same-dir (the default)"
                                                  : "any (the name leaves the image's directory)");
    }
}

static void print_json(const char *path, const struct disk_info *d)
{
    printf("{\"filename\": ");
    json_str(path);
    printf(", \"format\": \"%s\", \"virtual-size\": %" PRIu64 ", \"disk-size\": %" PRIu64,
           blk_format_name(d->format), d->virtual_size_bytes, d->disk_size_bytes);
    if (d->format == BLK_FORMAT_QCOW2) {
        printf(", \"cluster-size\": %" PRIu64 ", \"qcow2-version\": %u, \"refcount-bits\": %u"
               ", \"lazy-refcounts\": %s, \"dirty\": %s, \"corrupt\": %s, \"snapshots\": %u",
               d->cluster_size_bytes, d->qcow2_version, d->refcount_bits,
               d->has_lazy_refcounts ? "true" : "false", d->is_dirty ? "true" : "false",
               d->is_corrupt ? "true" : "false", d->nb_snapshots);
        if (d->backing[0]) {
            printf(", \"backing-filename\": ");
            json_str(d->backing);
            printf(", \"full-backing-filename\": ");
            json_str(d->backing_resolved);
            printf(", \"backing-format\": ");
            json_str(d->backing_fmt);
            printf(", \"backing-policy\": \"%s\"",
                   blk_backing_name(blk_backing_needed(d->backing)));
        }
    }
}

/* Reads the headers of (path) and its backing chain into (chain); returns the index of the last
 * image read, with (err) saying why the chain ended early if it did. */
static int read_chain(const char *path, enum blk_format fmt, struct disk_info *chain,
                      struct error *err)
{
    int n = 0, ret;
    for (; n < MAX_CHAIN; n++) {
        ret = disk_info_get(n ? chain[n - 1].backing_resolved : path, fmt, &chain[n], err);
        if (ret < 0)
            return n == 0 ? ret : n - 1; /* print what we have, then say why it ends early */
        if (!chain[n].backing[0])
            return n;
        fmt = strcmp(chain[n].backing_fmt, "raw") == 0     ? BLK_FORMAT_RAW
              : strcmp(chain[n].backing_fmt, "qcow2") == 0 ? BLK_FORMAT_QCOW2
                                                           : BLK_FORMAT_AUTO;
    }
    return error_set(err, -EINVAL, "%s: backing chain deeper than %d images", path, MAX_CHAIN);
}

int disk_info_cmd(int argc, char **argv, const struct disk_opts *o, struct error *err)
{
    static struct disk_info chain[MAX_CHAIN];
    const char *path;
    int n;

    if (argc - optind != 1)
        return error_usage(err, "usage: bareiron disk info FILE [--format F] [--json]");
    path = argv[optind];
    n = read_chain(path, o->format, chain, err);
    if (n < 0)
        return n;
    for (int i = 0; i <= n; i++) {
        const char *p = i ? chain[i - 1].backing_resolved : path;
        if (o->is_json)
            print_json(p, &chain[i]);
        else
            print_text(p, &chain[i]);
        if (!o->is_json && i < n)
            putchar('\n');
        else if (o->is_json && i < n)
            printf(", \"backing-image\": ");
    }
    if (o->is_json) {
        for (int i = 0; i <= n; i++)
            putchar('}');
        putchar('\n');
    }
    return err->code; /* the chain ended early: why, after what could be read */
}
