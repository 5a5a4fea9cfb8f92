/* SPDX-License-Identifier: MIT */
/*
 * `bareiron create`, `set` and `delete`: defining, changing and removing named VMs in the
 * library (mgr/store.h) with the settings of mgr/config.h (docs/cli.md).
 */
#include "cli/cmd_vm.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cli/cli.h"
#include "mgr/config.h"
#include "mgr/proc.h"
#include "mgr/store.h"
#include "mgr/vmdisk.h"

/*
 * "--video none" given alone (without a size or --vram in the same command) takes the display's
 * size and memory with the adapter: they return to the defaults, which need no adapter.
 */
static void drop_display_size(struct vm_config *cfg, const struct vm_args *a)
{
    bool is_none = false, has_size = false;
    for (size_t i = 0; i < a->nsettings; i++) {
        if (strcmp(a->keys[i], "vram") == 0)
            has_size = true;
        else if (strcmp(a->keys[i], "video") == 0 && strcmp(a->values[i], "none") == 0)
            is_none = true;
        else if (strcmp(a->keys[i], "video") == 0 && strchr(a->values[i], 'x') != NULL)
            has_size = true;
    }
    if (is_none && !has_size && cfg->video_adapter == VIDEO_NONE) {
        cfg->video_width = CONFIG_DEFAULT_VIDEO_WIDTH;
        cfg->video_height = CONFIG_DEFAULT_VIDEO_HEIGHT;
        cfg->video_vram_mib = CONFIG_DEFAULT_VRAM_MIB;
    }
}

/*
 * Applies the settings of (a) to (cfg). A bad value is a usage error (2); otherwise the class
 * of the error decides (base/exit_status.h): a missing file 3, a setting not supported yet or
 * an invalid image 6.
 */
static int apply_settings(struct vm_config *cfg, const struct vm_args *a, struct error *err)
{
    int ret = 0;
    bool is_serial_given = false;
    for (size_t i = 0; i < a->nsettings && ret == 0; i++) {
        /* The first --serial of a command replaces the port(s) defined before it (COM1 is the
         * only one): `set NEW --serial file:OTHER` after a clone is a plain replace. */
        if (strcmp(a->keys[i], "serial") == 0 && !is_serial_given) {
            is_serial_given = true;
            ret = config_set_option(cfg, "serial", "none", err);
            if (ret < 0)
                break;
        }
        ret = config_set_option(cfg, a->keys[i], a->values[i], err);
    }
    if (ret == -EINVAL || ret == -EEXIST)
        err->is_usage = true;
    if (ret == 0 && (ret = config_validate(cfg, err)) < 0)
        err->is_usage = true;
    if (ret == 0)
        drop_display_size(cfg, a);
    if (ret == 0)
        ret = config_check_boot(cfg, err);
    if (ret == 0)
        ret = config_check_devices(cfg, err);
    /* A new adapter has its MAC already; this covers one of a definition written by hand. */
    if (ret == 0 && config_fill_macs(cfg) < 0)
        ret = error_set(err, -EIO, "cannot generate a MAC address");
    return ret;
}

static bool has_mac(const struct vm_config *cfg, const char *mac)
{
    for (size_t i = 0; cfg != NULL && i < cfg->nic_count; i++)
        if (strcasecmp(cfg->nics[i].mac, mac) == 0)
            return true;
    return false;
}

int vm_check_unique_macs(const struct store *st, const struct vm_config *cfg,
                         const struct vm_config *old, struct error *err)
{
    for (size_t i = 0; i < cfg->nic_count; i++) {
        char owner[128];
        size_t nic = 0;
        int ret;
        if (cfg->nics[i].mac[0] == '\0' || has_mac(old, cfg->nics[i].mac))
            continue;
        ret = store_find_mac(st, cfg->name, cfg->nics[i].mac, owner, sizeof(owner), &nic);
        if (ret < 0)
            return error_set(err, ret, "cannot list the library to check MAC %s", cfg->nics[i].mac);
        if (ret > 0)
            return error_usage(err,
                               "--nic%zu: MAC %s is already used by VM '%s' (adapter %zu): give "
                               "another mac=",
                               i + 1, cfg->nics[i].mac, owner, nic);
    }
    return 0;
}

/* The start of create, set and delete: arguments, VM name, library. */
static int begin(int argc, char **argv, unsigned allowed, struct vm_args *a, struct store *st,
                 struct error *err)
{
    int ret = vm_parse_args(argc, argv, allowed, a, err);
    if (ret < 0 || a->is_help)
        return ret;
    ret = vm_check_name(a->name, err);
    return ret < 0 ? ret : store_open(st, err);
}

int cmd_create(int argc, char **argv, struct error *err)
{
    struct vm_args a;
    struct store st;
    struct vm_config cfg;
    int ret = begin(argc, argv, VM_ARG_NAME | VM_ARG_SETTINGS, &a, &st, err);
    if (ret < 0 || a.is_help)
        return ret;
    if (config_init(&cfg, a.name) < 0)
        return error_set(err, -ENOMEM, "out of memory");
    ret = apply_settings(&cfg, &a, err);
    if (ret == 0)
        ret = vm_check_unique_macs(&st, &cfg, NULL, err);
    if (ret == 0)
        ret = store_create(&st, &cfg, err);
    if (ret == 0)
        printf("VM '%s' created\n", cfg.name);
    config_fini(&cfg);
    return ret;
}

/* Refuses settings that need the VM off while it runs or is saved. */
static int check_live_settings(const struct vm_args *a, const struct proc_status *ps,
                               struct error *err)
{
    bool is_saved = ps->state == VM_STATE_SAVED;
    if (!vm_state_is_live(ps->state) && !is_saved)
        return 0;
    /* A saved state holds the machine those settings describe: a resume needs it unchanged. */
    for (size_t i = 0; i < a->nsettings; i++)
        /* the floppy and the CD-ROM are live in a running monitor's drives, but a saved machine
         * keeps its disks */
        if (!config_option_is_live(a->keys[i]) ||
            (is_saved && (!strcmp(a->keys[i], "floppy") || !strcmp(a->keys[i], "cdrom"))))
            return error_set(err, -EBUSY, "VM '%s' is %s: --%s can only change while it is %s",
                             a->name, vm_state_name(ps->state), a->keys[i],
                             is_saved ? "powered off ('bareiron discard' drops the saved state)"
                                      : "powered off");
    return 0;
}

static bool same_path(const char *a, const char *b)
{
    return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* Puts cfg's floppy in the running monitor's drive. A monitor started without one has no
 * drive to change (ENODEV there): that is the VM's state (status 4), not a missing device. */
static int live_floppy(const struct store *st, const struct vm_config *cfg,
                       const struct proc_status *ps, struct error *err)
{
    struct error e = {0};
    const char *disc = config_has_disc(cfg->floppy) ? cfg->floppy : NULL; /* NULL: eject */
    int ret = proc_media_change(st, cfg->name, "floppy", disc, false, &e);
    if (ret == -ENODEV)
        return error_set(err, -EBUSY,
                         "VM '%s' is %s without a floppy drive: --floppy can only add one while "
                         "it is powered off",
                         cfg->name, vm_state_name(ps->state));
    return ret < 0 ? error_set(err, ret, "%s", e.message) : 0;
}

/* Puts cfg's CD-ROM image in the running monitor's IDE CD-ROM drive (or ejects it), as
 * live_floppy does for the floppy. */
static int live_cdrom(const struct store *st, const struct vm_config *cfg,
                      const struct proc_status *ps, struct error *err)
{
    struct error e = {0};
    const char *disc = config_has_disc(cfg->cdrom) ? cfg->cdrom : NULL; /* NULL: eject */
    int ret = proc_media_change(st, cfg->name, "cdrom", disc, true, &e);
    if (ret == -ENODEV)
        return error_set(err, -EBUSY,
                         "VM '%s' is %s without a CD-ROM drive: --cdrom can only add one while "
                         "it is powered off",
                         cfg->name, vm_state_name(ps->state));
    return ret < 0 ? error_set(err, ret, "%s", e.message) : 0;
}

/*
 * Saves (cfg), the changed definition of (old); while the VM is live, its port forwards, its
 * floppy and its CD-ROM are changed in the monitor first (the forwards put back if the definition
 * cannot be written), so that the running VM and its definition agree.
 */
static int save_settings(const struct store *st, const struct vm_config *old,
                         const struct vm_config *cfg, const struct proc_status *ps,
                         struct error *err)
{
    bool is_live = vm_state_is_live(ps->state);
    int ret = is_live ? proc_apply_forwards(st, cfg->name, old, cfg, err) : 0;
    if (ret < 0) /* proc_apply_forwards put back what it had changed */
        return ret;
    if (is_live && !same_path(old->floppy, cfg->floppy))
        ret = live_floppy(st, cfg, ps, err);
    if (ret == 0 && is_live && !same_path(old->cdrom, cfg->cdrom))
        ret = live_cdrom(st, cfg, ps, err);
    if (ret < 0) {
        if (proc_apply_forwards(st, cfg->name, cfg, old, NULL) < 0)
            cli_err("VM '%s': its running forwards no longer match its definition", cfg->name);
        return ret;
    }
    ret = store_save(st, cfg, err);
    if (ret < 0 && is_live && proc_apply_forwards(st, cfg->name, cfg, old, NULL) < 0)
        cli_err("VM '%s': its running forwards no longer match its definition", cfg->name);
    return ret;
}

int cmd_set(int argc, char **argv, struct error *err)
{
    struct vm_args a;
    struct store st;
    struct vm_config cfg, old;
    struct proc_status ps;
    int lock = -1,
        ret = begin(argc, argv, VM_ARG_NAME | VM_ARG_SETTINGS | VM_ARG_REMOVE, &a, &st, err);
    if (ret < 0 || a.is_help)
        return ret;
    if (a.nsettings == 0)
        return error_usage(err, "set: nothing to change (see 'bareiron set --help')");
    ret = store_lock(&st, a.name, &lock, err);
    if (ret < 0)
        return ret;
    ret = store_load(&st, a.name, &cfg, err);
    if (ret < 0) {
        store_unlock(lock);
        return ret;
    }
    ret = store_load(&st, a.name, &old, err);
    if (ret < 0) {
        config_fini(&cfg);
        store_unlock(lock);
        return ret;
    }
    if (proc_probe(&st, a.name, &ps) < 0)
        ps.state = VM_STATE_POWERED_OFF;
    /* the values first: a bad one is a usage error (2) whatever the VM's state (4) */
    ret = apply_settings(&cfg, &a, err);
    if (ret == 0)
        ret = check_live_settings(&a, &ps, err);
    if (ret == 0)
        ret = vm_check_unique_macs(&st, &cfg, &old, err);
    if (ret == 0)
        ret = save_settings(&st, &old, &cfg, &ps, err);
    store_unlock(lock);
    config_fini(&old);
    config_fini(&cfg);
    return ret;
}

/* Refuses to delete VM (name) while another VM's disk has a backing file in its directory
 * (a linked clone of it). */
static int check_no_clones(const struct store *st, const char *name, struct error *err)
{
    char dir[PATH_MAX], **names;
    size_t n;
    int ret = 0;

    if (store_vm_path(st, name, NULL, dir, sizeof(dir)) < 0 || store_list(st, &names, &n, err) < 0)
        return 0; /* nothing to compare against: the delete reports its own errors */
    for (size_t i = 0; i < n && ret == 0; i++) {
        struct vm_config cfg;
        struct error e = {0};
        if (strcmp(names[i], name) == 0 || store_load(st, names[i], &cfg, &e) < 0)
            continue;
        if (vmdisk_chain_enters(&cfg, dir))
            ret = error_set(err, -EBUSY,
                            "VM '%s' holds the base disk of VM '%s' (a linked clone): delete "
                            "'%s' first",
                            name, names[i], names[i]);
        config_fini(&cfg);
    }
    store_list_free(names, n);
    return ret;
}

int cmd_delete(int argc, char **argv, struct error *err)
{
    struct vm_args a;
    struct store st;
    struct proc_status ps;
    char kept[PATH_MAX];
    int lock = -1, ret = begin(argc, argv, VM_ARG_NAME | VM_ARG_KEEP_DISKS, &a, &st, err);
    if (ret < 0 || a.is_help)
        return ret;
    ret = store_lock(&st, a.name, &lock, err);
    if (ret < 0)
        return ret;
    if (proc_probe(&st, a.name, &ps) == 0 && vm_state_is_live(ps.state))
        ret = error_set(err, -EBUSY, "VM '%s' is %s: power it off first ('bareiron poweroff %s')",
                        a.name, vm_state_name(ps.state), a.name);
    else if ((ret = check_no_clones(&st, a.name, err)) == 0)
        ret = store_delete(&st, a.name, a.is_keep_disks, kept, sizeof(kept), err);
    store_unlock(lock);
    if (ret < 0)
        return ret;
    printf("VM '%s' deleted\n", a.name);
    if (kept[0])
        printf("its disks were kept in %s\n", kept);
    return 0;
}
