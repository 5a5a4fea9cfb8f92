/* SPDX-License-Identifier: MIT */
/*
 * `bareiron disk snapshot IMAGE create|list|apply|delete [NAME]`: internal snapshots of a qcow2
 * image (block/image.h disk_snapshot), the disk half of `qemu-img snapshot`. Snapshots are
 * disk-only; the image must not be in use by a VM (its lock says so). Returns 0 or a negative
 * errno with (err) filled, as every command (cli/cli.h).
 */
#include "cli/cli.h"

#include <ctype.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "block/image.h"
#include "cli/cmd_disk.h"

/* Prints (s) with bytes that are not printable ASCII replaced by '?' (names come from the
 * image, which may be hostile), padded to (width). */
static void print_field(const char *s, int width)
{
    int n = 0;

    for (; *s; s++, n++)
        putchar(isprint((unsigned char)*s) ? *s : '?');
    for (; n < width; n++)
        putchar(' ');
}

static void print_size(uint64_t bytes, char *out, size_t len)
{
    static const char units[] = "BKMGTPE";
    unsigned u = 0;
    double v = (double)bytes;

    while (v >= 1024 && u + 1 < sizeof(units) - 1) {
        v /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(out, len, "%" PRIu64 " B", bytes);
    else
        snprintf(out, len, "%.3g %ciB", v, units[u]);
}

static int snapshot_list(const char *path, struct error *err)
{
    struct disk_snapshot_list l;
    char date[32], vm[24], disk[24];
    int ret = disk_snapshot_list_get(path, &l, err);

    if (ret < 0)
        return ret;
    if (l.n == 0)
        printf("%s has no snapshots\n", path);
    else
        printf("%-6s %-24s %-20s %-10s %s\n", "ID", "NAME", "DATE", "VM STATE", "DISK SIZE");
    for (size_t i = 0; i < l.n; i++) {
        const struct disk_snapshot *sn = &l.v[i];
        time_t t = (time_t)sn->date_sec;
        struct tm tm;
        strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", localtime_r(&t, &tm));
        if (sn->vm_state_size_bytes)
            print_size(sn->vm_state_size_bytes, vm, sizeof(vm));
        else
            snprintf(vm, sizeof(vm), "none");
        print_size(sn->disk_size_bytes, disk, sizeof(disk));
        print_field(sn->id, 6);
        putchar(' ');
        print_field(sn->name, 24);
        printf(" %-20s %-10s %s\n", date, vm, disk);
    }
    disk_snapshot_list_free(&l);
    return 0;
}

int disk_snapshot_cmd(int argc, char **argv, const struct disk_opts *o, struct error *err)
{
    static const struct {
        const char *word;
        enum disk_snapshot_op op;
    } ops[] = {{"create", DISK_SNAPSHOT_CREATE},
               {"apply", DISK_SNAPSHOT_APPLY},
               {"delete", DISK_SNAPSHOT_DELETE}};
    int n = argc - optind;
    const char *path, *verb;

    (void)o;
    if (n < 2 || n > 3)
        return error_usage(err,
                           "usage: bareiron disk snapshot IMAGE create|list|apply|delete [NAME]");
    path = argv[optind];
    verb = argv[optind + 1];
    if (strcmp(verb, "list") == 0)
        return n == 2 ? snapshot_list(path, err)
                      : error_usage(err, "usage: bareiron disk snapshot IMAGE list");
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        if (strcmp(verb, ops[i].word) != 0)
            continue;
        if (n != 3 || !argv[optind + 2][0])
            return error_usage(err, "usage: bareiron disk snapshot IMAGE %s NAME", verb);
        return disk_snapshot(path, ops[i].op, argv[optind + 2], err);
    }
    return error_usage(err, "unknown snapshot command '%s' (create, list, apply, delete)", verb);
}
