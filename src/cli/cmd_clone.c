/* SPDX-License-Identifier: MIT */
/*
 * `bareiron clone NAME NEW [--snapshot SNAP] [--linked]`: a new VM with NAME's settings (or
 * those of snapshot SNAP), new MAC addresses and copies of NAME's writable disks in its own
 * disks/ directory. Read-only disks and the CD-ROM are shared, not copied; snapshots are not
 * copied.
 *
 * A full clone copies each disk through the block layer, sparsely (cmd_disk_convert.c); from
 * a snapshot, the disk file is first copied whole into the new VM's directory, the snapshot
 * applied to that copy, and the copy converted (so only the snapshot's content remains).
 *
 * A linked clone gets a qcow2 overlay per disk whose backing file is NAME's disk. That disk
 * must not change any more, so NAME too moves onto a new overlay of it (in NAME's disks/),
 * recorded in its definition; both overlays were made by bareiron and their definitions allow
 * the absolute backing path (backing=any). A VM with snapshots cannot be linked-cloned yet:
 * restoring one of them would change the shared base.
 *
 * The new VM is created first and holds its lock while its disks are written, so nobody
 * starts it half-made; a failure deletes it again.
 */
#include "cli/cli.h"

#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"
#include "cli/cmd_disk.h"
#include "cli/cmd_vm.h"
#include "mgr/config.h"
#include "mgr/proc.h"
#include "mgr/snaptree.h"
#include "mgr/store.h"
#include "mgr/vmdisk.h"

#define USAGE "usage: bareiron clone NAME NEW [--snapshot SNAP] [--linked]"

struct clone {
    const char *src, *dst, *snap;
    bool is_linked;
    struct store st;
    int src_lock, dst_lock;
    struct vm_config src_cfg;          /* NAME's definition now */
    struct vm_config cfg;              /* the new VM's: NAME's or the snapshot's, renamed */
    char uuid[37];                     /* the snapshot's, "" without --snapshot */
    char orig[VM_MAX_DISKS][PATH_MAX]; /* the disks the clone copies or links to */
    char made[VM_MAX_DISKS][PATH_MAX]; /* NAME's new overlays (linked), for undo */
    const volatile sig_atomic_t *is_interrupted;
};

static int parse(int argc, char **argv, struct clone *c, struct error *err)
{
    static const struct option opts[] = {{"snapshot", required_argument, NULL, 's'},
                                         {"linked", no_argument, NULL, 'l'},
                                         {"help", no_argument, NULL, 'h'},
                                         {0}};
    int o;
    optind = 1;
    opterr = 0;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (o == 'h') {
            vm_print_help("clone");
            return 1;
        }
        if (o == '?')
            return error_usage(err, "clone: unknown or incomplete option '%s' (%s)",
                               argv[optind - 1], USAGE);
        if (o == 's')
            c->snap = optarg;
        else
            c->is_linked = true;
    }
    if (argc - optind != 2)
        return error_usage(err, "%s", USAGE);
    c->src = argv[optind];
    c->dst = argv[optind + 1];
    if (c->is_linked && c->snap)
        return error_set(err, -ENOTSUP, "not supported yet: a linked clone from a snapshot");
    if (vm_check_name(c->src, err) < 0 || vm_check_name(c->dst, err) < 0)
        return -EINVAL;
    return 0;
}

/* Loads NAME (locked, powered off) and picks the definition the clone starts from. */
static int load_source(struct clone *c, struct error *err)
{
    struct proc_status ps;
    struct snap_tree t;
    int i, ret = store_lock(&c->st, c->src, &c->src_lock, err);

    if (ret < 0)
        return ret;
    if (proc_probe(&c->st, c->src, &ps) == 0 && vm_state_is_live(ps.state))
        return error_set(err, -EBUSY, "VM '%s' is %s: power the VM off first", c->src,
                         vm_state_name(ps.state));
    if ((ret = store_load(&c->st, c->src, &c->src_cfg, err)) < 0)
        return ret;
    if ((ret = snaptree_load(&c->st, c->src, &t, err)) < 0)
        goto fail_cfg;
    if (c->is_linked && t.n > 0)
        ret = error_set(err, -ENOTSUP,
                        "not supported yet: a linked clone of a VM with snapshots ('%s' has %zu)",
                        c->src, t.n);
    else if (c->snap && (i = snaptree_find(&t, c->snap)) < 0)
        ret = error_set(err, -ENOENT, "VM '%s' has no snapshot '%s'", c->src, c->snap);
    else if (c->snap) {
        snprintf(c->uuid, sizeof(c->uuid), "%s", t.v[i].uuid);
        ret = config_from_json(t.v[i].config, "the snapshot's definition", &c->cfg, err);
    } else
        ret = store_load(&c->st, c->src, &c->cfg, err);
    snaptree_free(&t);
    if (ret == 0)
        return 0;
fail_cfg:
    config_fini(&c->src_cfg);
    return ret;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* A disk's file name without the "diskN-" a clone put in front of it (a clone of a clone is
 * "disk0-web.qcow2", not "disk0-disk0-web.qcow2"). */
static const char *plain_name(const char *name)
{
    const char *p = name;
    if (strncmp(p, "disk", 4) != 0)
        return name;
    for (p += 4; *p >= '0' && *p <= '9'; p++)
        ;
    return p > name + 4 && *p == '-' && p[1] != '\0' ? p + 1 : name;
}

/* Points the new definition's writable disks into its disks/ and gives it new MACs. */
static int retarget(struct clone *c, struct error *err)
{
    char dir[PATH_MAX], *p;
    snprintf(c->cfg.name, sizeof(c->cfg.name), "%s", c->dst);
    if (store_vm_path(&c->st, c->dst, "disks", dir, sizeof(dir)) < 0)
        return error_set(err, -ENAMETOOLONG, "path too long");
    for (size_t i = 0; i < c->cfg.disk_count; i++) {
        struct disk_config *d = &c->cfg.disks[i];
        char *copy = strdup(d->path);
        snprintf(c->orig[i], sizeof(c->orig[i]), "%s", d->path);
        if (d->is_readonly) {
            free(copy);
            continue;
        }
        if (copy == NULL ||
            asprintf(&p, "%s/disk%zu-%s%s", dir, i, plain_name(basename(copy)),
                     c->is_linked && !ends_with(copy, ".qcow2") ? ".qcow2" : "") < 0) {
            free(copy);
            return error_set(err, -ENOMEM, "out of memory");
        }
        free(copy);
        free(d->path);
        d->path = p;
        if (c->is_linked) {
            d->format = DISK_FORMAT_QCOW2;
            d->backing = DISK_BACKING_ANY;
        }
    }
    c->cfg.uuid[0] = '\0'; /* a new one when it is written */
    /* new random MACs, drawn again in the unlikely case another VM has one of them */
    for (int tries = 0; tries < 8; tries++) {
        struct error e = {0};
        for (size_t i = 0; i < c->cfg.nic_count; i++)
            c->cfg.nics[i].mac[0] = '\0';
        if (config_fill_macs(&c->cfg) < 0)
            return error_set(err, -EIO, "cannot generate a MAC address");
        if (vm_check_unique_macs(&c->st, &c->cfg, NULL, &e) == 0)
            return 0;
    }
    return error_set(err, -EIO, "cannot generate MAC addresses no other VM has");
}

/* Full copy of disk (i) (at the snapshot when there is one). */
static int copy_disk(struct clone *c, size_t i, struct error *err)
{
    struct cli_progress p;
    struct vmdisk_copy o = {.src = c->orig[i],
                            .dst = c->cfg.disks[i].path,
                            .is_raw = c->cfg.disks[i].format == DISK_FORMAT_RAW,
                            .backing = c->cfg.disks[i].backing,
                            .snapshot = c->uuid[0] ? c->uuid : NULL,
                            .progress = cli_progress,
                            .opaque = &p,
                            .is_interrupted = c->is_interrupted};

    cli_progress_init(&p, false);
    return vmdisk_copy(&o, err);
}

/* Index of NAME's disk at (path), or -1. */
static int src_disk(const struct clone *c, const char *path)
{
    for (size_t i = 0; i < c->src_cfg.disk_count; i++)
        if (strcmp(c->src_cfg.disks[i].path, path) == 0)
            return (int)i;
    return -1;
}

/* Linked: the clone's overlay on disk (i), and NAME's own new overlay on it. */
static int link_disk(struct clone *c, size_t i, struct error *err)
{
    const char *base = c->orig[i];
    char dir[PATH_MAX], *copy = strdup(base);
    int s = src_disk(c, base), ret;
    bool is_raw = s >= 0 && c->src_cfg.disks[s].format == DISK_FORMAT_RAW;

    if (copy == NULL)
        return error_set(err, -ENOMEM, "out of memory");
    ret = store_vm_path(&c->st, c->src, "disks", dir, sizeof(dir));
    if (ret == 0 && snprintf(c->made[i], sizeof(c->made[i]), "%s/%s.%s.qcow2", dir, basename(copy),
                             c->dst) >= (int)sizeof(c->made[i]))
        ret = -ENAMETOOLONG;
    free(copy);
    if (ret < 0 || s < 0) {
        c->made[i][0] = '\0';
        return error_set(err, ret < 0 ? ret : -EINVAL, "cannot link disk %s", base);
    }
    ret = vmdisk_overlay(c->cfg.disks[i].path, base, is_raw, err);
    if (ret == 0)
        ret = vmdisk_overlay(c->made[i], base, is_raw, err);
    if (ret < 0) {
        c->made[i][0] = '\0';
        return ret;
    }
    free(c->src_cfg.disks[s].path);
    c->src_cfg.disks[s].path = strdup(c->made[i]);
    c->src_cfg.disks[s].format = DISK_FORMAT_QCOW2;
    c->src_cfg.disks[s].backing = DISK_BACKING_ANY;
    return c->src_cfg.disks[s].path ? 0 : error_set(err, -ENOMEM, "out of memory");
}

static int make_disks(struct clone *c, struct error *err)
{
    int ret = 0;
    for (size_t i = 0; i < c->cfg.disk_count && ret == 0; i++)
        if (!c->cfg.disks[i].is_readonly)
            ret = c->is_linked ? link_disk(c, i, err) : copy_disk(c, i, err);
    /* NAME now writes to its overlays: record that last, once everything else is in place */
    if (ret == 0 && c->is_linked)
        ret = store_save(&c->st, &c->src_cfg, err);
    if (ret < 0)
        for (size_t i = 0; i < c->cfg.disk_count; i++)
            if (c->made[i][0])
                unlink(c->made[i]);
    return ret;
}

/*
 * A linked clone's overlays name their base by absolute path, so its definition follows them
 * with backing=any, at every level of the chain: a disk that has a backing file of its own
 * under a stricter policy would lose that protection. Refused before anything is made.
 */
static int check_linkable(const struct clone *c, struct error *err)
{
    for (size_t i = 0; c->is_linked && i < c->src_cfg.disk_count; i++) {
        const struct disk_config *d = &c->src_cfg.disks[i];
        if (!d->is_readonly && d->backing != DISK_BACKING_ANY && vmdisk_has_backing(d->path))
            return error_set(err, -ENOTSUP,
                             "not supported yet: a linked clone of disk %s, which has a backing "
                             "file of its own (backing=%s)",
                             d->path, config_backing_name(d->backing));
    }
    return 0;
}

static int clone_vm(struct clone *c, struct error *err)
{
    char kept[PATH_MAX];
    struct error e2 = {0};
    int ret = check_linkable(c, err);

    if (ret == 0)
        ret = retarget(c, err);

    if (ret == 0)
        ret = store_create(&c->st, &c->cfg, err);
    if (ret < 0)
        return ret;
    ret = store_lock(&c->st, c->dst, &c->dst_lock, err);
    if (ret == 0)
        ret = make_disks(c, err);
    if (ret < 0 && store_delete(&c->st, c->dst, false, kept, sizeof(kept), &e2) < 0)
        cli_err("could not remove the unfinished VM '%s'", c->dst);
    store_unlock(c->dst_lock);
    if (ret == 0)
        printf("VM '%s' cloned from '%s'%s%s%s\n", c->dst, c->src, c->snap ? " at snapshot '" : "",
               c->snap ? c->snap : "", c->snap ? "'" : "");
    return ret;
}

int cmd_clone(int argc, char **argv, struct error *err)
{
    struct clone c = {.src_lock = -1, .dst_lock = -1};
    int ret = parse(argc, argv, &c, err);

    if (ret != 0)
        return ret > 0 ? 0 : ret;
    ret = store_open(&c.st, err);
    if (ret < 0)
        return ret;
    c.is_interrupted = cli_catch_interrupt();
    if (strcmp(c.src, c.dst) == 0 || store_exists(&c.st, c.dst)) {
        ret = error_set(err, -EEXIST, "a VM named '%s' exists already", c.dst);
        return ret;
    }
    ret = load_source(&c, err);
    if (ret == 0) {
        ret = clone_vm(&c, err);
        config_fini(&c.cfg);
        config_fini(&c.src_cfg);
    }
    store_unlock(c.src_lock);
    return ret;
}
