/* SPDX-License-Identifier: MIT */
/*
 * `bareiron snapshot NAME take|list|show|restore|delete|edit [SNAP]`: the snapshot tree of a
 * powered-off VM (mgr/snaptree.h). A snapshot is a qcow2 internal snapshot named by the
 * snapshot's UUID in every writable disk of the VM (mgr/vmdisk.h) plus the VM
 * definition as it was; read-only disks and the CD-ROM are left alone. Every change holds the
 * VM's lock. A take that fails on one disk deletes the snapshots it made in the others; a
 * restore first checks that every disk holds the snapshot.
 */
#include "cli/cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cmd_snapshot.h"
#include "cli/cmd_vm.h"
#include "mgr/config.h"
#include "mgr/proc.h"
#include "mgr/snaptree.h"
#include "mgr/store.h"
#include "mgr/vmdisk.h"

struct snap_args {
    const char *vm, *verb, *snap, *new_name, *description;
    bool is_live;
};

static bool is_verb(const char *verb)
{
    static const char *const verbs[] = {"take", "list", "show", "restore", "delete", "edit"};
    for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
        if (strcmp(verb, verbs[i]) == 0)
            return true;
    return false;
}

static int parse(int argc, char **argv, struct snap_args *a, struct error *err)
{
    static const struct option opts[] = {{"description", required_argument, NULL, 'd'},
                                         {"name", required_argument, NULL, 'n'},
                                         {"live", no_argument, NULL, 'l'},
                                         {"help", no_argument, NULL, 'h'},
                                         {0}};
    int c, n;
    *a = (struct snap_args){0};
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'h') {
            vm_print_help("snapshot");
            return 1;
        }
        if (c == '?')
            return error_usage(err,
                               "snapshot: unknown or incomplete option '%s' (see 'bareiron "
                               "snapshot --help')",
                               argv[optind - 1]);
        if (c == 'l')
            a->is_live = true;
        else if (c == 'd')
            a->description = optarg;
        else
            a->new_name = optarg;
    }
    n = argc - optind;
    if (n < 2 || n > 3)
        return error_usage(err, "usage: bareiron snapshot NAME take|list|show|restore|delete|edit "
                                "[SNAP] (see 'bareiron snapshot --help')");
    a->vm = argv[optind];
    a->verb = argv[optind + 1];
    a->snap = n == 3 ? argv[optind + 2] : NULL;
    if (!is_verb(a->verb))
        return error_usage(err,
                           "snapshot: unknown command '%.64s' (take, list, show, restore, "
                           "delete, edit)",
                           a->verb);
    if ((strcmp(a->verb, "list") == 0) != (a->snap == NULL))
        return error_usage(err, "snapshot %s: %s", a->verb,
                           a->snap ? "takes no snapshot name" : "needs a snapshot name");
    if ((a->description && strcmp(a->verb, "take") != 0 && strcmp(a->verb, "edit") != 0) ||
        (a->new_name && strcmp(a->verb, "edit") != 0))
        return error_usage(err, "snapshot %s: --name/--description do not apply", a->verb);
    if (a->is_live && strcmp(a->verb, "take") != 0)
        return error_usage(err, "snapshot %s: --live applies to take only", a->verb);
    if (a->description && strlen(a->description) > SNAPTREE_MAX_DESC)
        return error_usage(err, "--description: at most %d bytes", SNAPTREE_MAX_DESC);
    for (const char *p = a->description; p && *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return error_usage(err, "--description: no control characters");
    return vm_check_name(a->vm, err);
}

/* Whether the verb (take, restore, delete) may run in state (s): every one on a VM without a
 * monitor; take on a running or paused one too (with its machine state). */
static bool verb_allows(bool needs_off, bool is_take, enum vm_state s)
{
    if (!needs_off || !vm_state_is_live(s))
        return true;
    return is_take && (s == VM_STATE_RUNNING || s == VM_STATE_PAUSED);
}

static int open_vm(struct snap_ctx *c, const char *vm, const char *verb, struct error *err)
{
    bool is_take = strcmp(verb, "take") == 0;
    bool needs_off = is_take || strcmp(verb, "restore") == 0 || strcmp(verb, "delete") == 0;
    struct proc_status ps;
    int ret = store_open(&c->st, err);
    c->lock = -1;
    c->tree = (struct snap_tree){.current = -1};
    c->was_paused = c->is_stopped = false;
    if (ret == 0)
        ret = store_lock(&c->st, vm, &c->lock, err);
    if (ret < 0)
        return ret;
    ret = store_load(&c->st, vm, &c->cfg, err);
    if (ret < 0) {
        store_unlock(c->lock);
        return ret;
    }
    ret = snaptree_load(&c->st, vm, &c->tree, err);
    c->state = proc_probe(&c->st, vm, &ps) == 0 ? ps.state : VM_STATE_POWERED_OFF;
    if (ret == 0 && !verb_allows(needs_off, is_take, c->state))
        ret = error_set(err, -EBUSY, "VM '%s' is %s: power it off first (or 'bareiron save %s')",
                        vm, vm_state_name(c->state), vm);
    if (ret < 0) {
        config_fini(&c->cfg);
        store_unlock(c->lock);
    }
    return ret;
}

static void close_vm(struct snap_ctx *c)
{
    snaptree_free(&c->tree);
    config_fini(&c->cfg);
    store_unlock(c->lock);
}

static int find_snap(const struct snap_ctx *c, const char *key, struct error *err)
{
    int i = snaptree_find(&c->tree, key);
    return i >= 0 ? i
                  : error_set(err, -ENOENT,
                              "VM '%s' has no snapshot '%s' (see 'bareiron snapshot "
                              "%s list')",
                              c->cfg.name, key, c->cfg.name);
}

/* Records snapshot (uuid) of the disks (and the state, when taken) in the tree. */
static int take_disks(struct snap_ctx *c, const struct snap_args *a, const char *uuid, json_t *j,
                      bool has_state, struct error *err)
{
    int k, ret = vmdisk_snapshot(&c->cfg, VMDISK_SNAP_CREATE, uuid, err); /* undone on failure */
    if (ret < 0)
        return ret;
    k = snaptree_add(&c->tree, uuid, a->snap, a->description, (int64_t)time(NULL), j);
    if (k >= 0)
        c->tree.v[k].has_state = has_state;
    ret = k < 0 ? error_set(err, k, "out of memory")
                : snaptree_save(&c->st, c->cfg.name, &c->tree, err);
    if (ret < 0 && vmdisk_snapshot(&c->cfg, VMDISK_SNAP_DELETE, uuid, &(struct error){0}) < 0)
        cli_err("snapshot %s may be left in the disks of VM '%s'", uuid, c->cfg.name);
    return ret;
}

static int take(struct snap_ctx *c, const struct snap_args *a, struct error *err)
{
    bool has_state =
        c->state == VM_STATE_RUNNING || c->state == VM_STATE_PAUSED || c->state == VM_STATE_SAVED;
    struct error end_err = {0};
    char uuid[37];
    json_t *j = NULL;
    int ret = snaptree_check_name(a->snap, err);

    if (ret < 0)
        return err->is_usage = true, ret;
    if (snaptree_find(&c->tree, a->snap) >= 0)
        return error_set(err, -EEXIST, "VM '%s' already has a snapshot '%s'", c->cfg.name, a->snap);
    if (c->tree.n >= SNAPTREE_MAX)
        return error_set(err, -ENOSPC, "VM '%s' has %d snapshots already", c->cfg.name,
                         SNAPTREE_MAX);
    if ((ret = vmdisk_check_snapshots(&c->cfg, err)) < 0 || (ret = snaptree_new_uuid(uuid)) < 0 ||
        (ret = config_to_json(&c->cfg, &j)) < 0)
        return ret == -ENOTSUP ? ret : error_set(err, ret, "cannot prepare the snapshot");
    if (has_state)
        ret = snapshot_state_take(c, uuid, err);
    if (ret == 0)
        ret = take_disks(c, a, uuid, j, has_state, err);
    if (has_state && snapshot_state_finish(c, uuid, ret == 0, ret == 0 ? err : &end_err) < 0) {
        if (ret < 0)
            cli_err("%s", end_err.message);
        else
            ret = err->code;
    }
    json_decref(j);
    if (ret == 0)
        printf("snapshot '%s' of VM '%s' taken%s (UUID %s)\n", a->snap, c->cfg.name,
               has_state ? " with its machine state" : "", uuid);
    return ret;
}

/* Reverts every disk snapshot (i) covers and its definition. */
static int restore(struct snap_ctx *c, int i, struct error *err)
{
    struct vm_config old;
    struct snap *s = &c->tree.v[i];
    int ret = config_from_json(s->config, "the snapshot's definition", &old, err);

    if (ret < 0)
        return ret;
    snprintf(old.name, sizeof(old.name), "%s", c->cfg.name);
    memcpy(old.uuid, c->cfg.uuid, sizeof(old.uuid)); /* the VM keeps its identity */
    ret = snapshot_state_check(c, i, err);           /* before the disks change */
    if (ret == 0)
        ret = vmdisk_snapshot(&old, VMDISK_SNAP_APPLY, s->uuid, err);
    /* the disks changed: a saved state of the VM goes too, or becomes the snapshot's */
    if (ret == 0)
        ret = snapshot_state_restore(c, i, err);
    if (ret == 0)
        ret = store_save(&c->st, &old, err);
    if (ret == 0) {
        c->tree.current = i;
        ret = snaptree_save(&c->st, c->cfg.name, &c->tree, err);
    }
    if (ret == 0)
        printf("VM '%s' restored to snapshot '%s'%s\n", c->cfg.name, s->name,
               s->has_state ? " (saved: 'bareiron start' resumes it)" : "");
    config_fini(&old);
    return ret;
}

static int delete_snap(struct snap_ctx *c, int i, struct error *err)
{
    struct vm_config old;
    char name[SNAPTREE_MAX_NAME + 1], uuid[37];
    int ret = config_from_json(c->tree.v[i].config, "the snapshot's definition", &old, err);

    if (ret < 0)
        return ret;
    ret = vmdisk_snapshot(&old, VMDISK_SNAP_DELETE, c->tree.v[i].uuid, err);
    config_fini(&old);
    if (ret < 0)
        return ret;
    snprintf(name, sizeof(name), "%s", c->tree.v[i].name);
    snprintf(uuid, sizeof(uuid), "%s", c->tree.v[i].uuid);
    snaptree_remove(&c->tree, i);
    ret = snaptree_save(&c->st, c->cfg.name, &c->tree, err);
    if (ret == 0)
        snapshot_state_remove(c, uuid); /* after the tree: it never names a missing state */
    if (ret == 0)
        printf("snapshot '%s' of VM '%s' deleted\n", name, c->cfg.name);
    return ret;
}

static int edit(struct snap_ctx *c, int i, const struct snap_args *a, struct error *err)
{
    struct snap *s = &c->tree.v[i];
    char *p;
    if (!a->new_name && !a->description)
        return error_usage(err, "snapshot edit: nothing to change (--name, --description)");
    if (a->new_name) {
        int j = snaptree_find(&c->tree, a->new_name);
        if (snaptree_check_name(a->new_name, err) < 0)
            return err->is_usage = true, -EINVAL;
        if (j >= 0 && j != i)
            return error_set(err, -EEXIST, "VM '%s' already has a snapshot '%s'", c->cfg.name,
                             a->new_name);
        if ((p = strdup(a->new_name)) == NULL)
            return -ENOMEM;
        free(s->name);
        s->name = p;
    }
    if (a->description) {
        if ((p = strdup(a->description)) == NULL)
            return -ENOMEM;
        free(s->description);
        s->description = p;
    }
    return snaptree_save(&c->st, c->cfg.name, &c->tree, err);
}

static int dispatch(struct snap_ctx *c, const struct snap_args *a, struct error *err)
{
    int i;
    if (strcmp(a->verb, "take") == 0)
        return take(c, a, err);
    if (strcmp(a->verb, "list") == 0) {
        if (c->tree.n == 0)
            printf("VM '%s' has no snapshots\n", c->cfg.name);
        return snapshot_print_list(&c->tree, -1, 0);
    }
    if ((i = find_snap(c, a->snap, err)) < 0)
        return i;
    if (strcmp(a->verb, "show") == 0)
        return snapshot_print_show(&c->tree, i);
    if (strcmp(a->verb, "restore") == 0)
        return restore(c, i, err);
    if (strcmp(a->verb, "delete") == 0)
        return delete_snap(c, i, err);
    return edit(c, i, a, err);
}

int cmd_snapshot(int argc, char **argv, struct error *err)
{
    struct snap_args a;
    struct snap_ctx c;
    int ret = parse(argc, argv, &a, err);

    if (ret != 0)
        return ret > 0 ? 0 : ret;
    ret = open_vm(&c, a.vm, a.verb, err);
    if (ret < 0)
        return ret;
    c.is_live = a.is_live;
    ret = dispatch(&c, &a, err);
    close_vm(&c);
    return ret;
}
