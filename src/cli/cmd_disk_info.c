/* SPDX-License-Identifier: MIT */
/*
 * `bareiron disk info` (text or JSON description of an image and its backing chain, read
 * from headers only) and `bareiron disk convert` (copy through the block layer, flattening
 * the backing chain, skipping zero blocks, with a progress line on a terminal).
 */
#include "cli/cli.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block/image.h"
#include "cli/cmd_disk.h"

#define MAX_CHAIN 16
#define CONVERT_CHUNK (1u << 20)

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
    if (d->backing[0])
        printf("backing file: %s (actual path: %s)\nbacking file format: %s\n", d->backing,
               d->backing_resolved, d->backing_fmt[0] ? d->backing_fmt : "(not recorded)");
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
        }
    }
}

int disk_info_cmd(int argc, char **argv, const struct disk_opts *o)
{
    static struct disk_info chain[MAX_CHAIN];
    struct error err = {0};
    const char *path;
    enum blk_format fmt = o->format;
    int n = 0;

    if (argc - optind != 1) {
        cli_err("usage: bareiron disk info FILE [--format F] [--json]");
        return CLI_EUSAGE;
    }
    path = argv[optind];
    for (; n < MAX_CHAIN; n++) {
        if (disk_info_get(n ? chain[n - 1].backing_resolved : path, fmt, &chain[n], &err) < 0) {
            if (n == 0)
                return cli_fail(&err);
            n--; /* print what we have, then say why the chain ends early */
            break;
        }
        if (!chain[n].backing[0])
            break;
        fmt = strcmp(chain[n].backing_fmt, "raw") == 0     ? BLK_FORMAT_RAW
              : strcmp(chain[n].backing_fmt, "qcow2") == 0 ? BLK_FORMAT_QCOW2
                                                           : BLK_FORMAT_AUTO;
    }
    if (n == MAX_CHAIN) {
        cli_err("%s: backing chain deeper than %d images", path, MAX_CHAIN);
        return CLI_EINVALID;
    }
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
    return err.code ? cli_fail(&err) : CLI_OK;
}

static bool is_zero(const uint8_t *p, size_t n)
{
    return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

static int copy_all(struct blk *src, struct blk *dst, uint64_t size, bool show, struct error *err)
{
    uint8_t *buf = NULL;
    int ret = 0;

    if (posix_memalign((void **)&buf, 4096, CONVERT_CHUNK))
        return error_set(err, -ENOMEM, "out of memory");
    for (uint64_t off = 0; off < size && ret == 0; off += CONVERT_CHUNK) {
        uint64_t n = MIN((uint64_t)CONVERT_CHUNK, size - off);
        ret = blk_pread(src, buf, n, off);
        if (ret < 0) {
            error_set(err, ret, "read at %" PRIu64 ": %s", off, strerror(-ret));
            break;
        }
        if (!is_zero(buf, (size_t)n))
            ret = blk_pwrite(dst, buf, n, off);
        if (ret < 0)
            error_set(err, ret, "write at %" PRIu64 ": %s", off, strerror(-ret));
        if (show && (off / CONVERT_CHUNK) % 16 == 0)
            fprintf(stderr, "\r    (%5.1f/100%%)", 100.0 * (double)(off + n) / (double)size);
    }
    if (show)
        fprintf(stderr, "\r    (100.0/100%%)\n");
    free(buf);
    return ret;
}

int disk_convert_cmd(int argc, char **argv, const struct disk_opts *o)
{
    struct blk_open_opts so = {.format = o->src_format, .is_readonly = true};
    struct blk_open_opts dopt = {.format = o->format ? o->format : BLK_FORMAT_QCOW2};
    struct error err = {0};
    struct blk *src = NULL, *dst = NULL;
    uint64_t size;
    int ret;

    if (argc - optind != 2) {
        cli_err("usage: bareiron disk convert SRC DST [--format F] [--source-format F]");
        return CLI_EUSAGE;
    }
    so.path = argv[optind];
    dopt.path = argv[optind + 1];
    if (blk_open(&so, NULL, &src, &err) < 0)
        return cli_fail(&err);
    size = blk_size_bytes(src);
    ret = dopt.format == BLK_FORMAT_RAW
              ? disk_create_raw(dopt.path, size, &err)
              : qcow2_create(dopt.path, ALIGN_UP(size, 512u), o->cluster_size, NULL, NULL, &err);
    if (ret == 0)
        ret = blk_open(&dopt, NULL, &dst, &err);
    if (ret == 0)
        ret = copy_all(src, dst, size, isatty(STDERR_FILENO) && !o->is_quiet, &err);
    if (ret == 0)
        ret = blk_flush(dst);
    blk_close(dst);
    blk_close(src);
    if (ret < 0 && !err.code)
        error_set(&err, ret, "%s: %s", dopt.path, strerror(-ret));
    return ret < 0 ? cli_fail(&err) : CLI_OK;
}
