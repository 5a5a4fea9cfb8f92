/* SPDX-License-Identifier: MIT */
/*
 * `bareiron create`, `set` and `delete`: defining, changing and removing named VMs in the
 * library (mgr/store.h) with the settings of mgr/config.h (docs/cli.md).
 */
#include "cli/cmd_vm.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "mgr/config.h"
#include "mgr/proc.h"
#include "mgr/store.h"

/*
 * Applies the settings of (a) to (cfg); returns -1 or an exit status after printing. A bad
 * value is a usage error (2); otherwise the class of the error decides (base/exit_status.h):
 * a missing file 3, a setting not supported yet or an invalid image 6.
 */
static int apply_settings(struct vm_config *cfg, const struct vm_args *a)
{
    struct error err = {0};
    for (size_t i = 0; i < a->nsettings; i++) {
        int ret = config_set_option(cfg, a->keys[i], a->values[i], &err);
        if (ret == -EINVAL || ret == -EEXIST) {
            cli_err("%s", err.message);
            return CLI_EUSAGE;
        }
        if (ret < 0)
            return cli_fail(&err);
    }
    if (config_validate(cfg, &err) < 0) {
        cli_err("%s", err.message);
        return CLI_EUSAGE;
    }
    /* A new adapter has its MAC already; this covers one of a definition written by hand. */
    if (config_fill_macs(cfg) < 0) {
        cli_err("cannot generate a MAC address");
        return CLI_EFAIL;
    }
    return -1;
}

static int check_name(const char *name)
{
    struct error err = {0};
    if (store_check_name(name, &err) < 0) {
        cli_err("%s", err.message);
        return CLI_EUSAGE;
    }
    return -1;
}

int cmd_create(int argc, char **argv)
{
    struct vm_args a;
    struct store st;
    struct vm_config cfg;
    struct error err = {0};
    int ret = vm_parse_args(argc, argv, VM_ARG_NAME | VM_ARG_SETTINGS, &a);
    if (ret >= 0 || (ret = check_name(a.name)) >= 0 || (ret = vm_open_store(&st)) >= 0)
        return ret;
    if (config_init(&cfg, a.name) < 0) {
        cli_err("out of memory");
        return CLI_EFAIL;
    }
    ret = apply_settings(&cfg, &a);
    if (ret < 0 && store_create(&st, &cfg, &err) < 0)
        ret = cli_fail(&err);
    if (ret < 0) {
        printf("VM '%s' created\n", cfg.name);
        ret = CLI_OK;
    }
    config_fini(&cfg);
    return ret;
}

/* Refuses settings that need the VM off while it runs; returns -1 or an exit status. */
static int check_live_settings(const struct vm_args *a, const struct proc_status *ps)
{
    if (!vm_state_is_live(ps->state))
        return -1;
    for (size_t i = 0; i < a->nsettings; i++) {
        if (!config_option_is_live(a->keys[i])) {
            cli_err("VM '%s' is %s: --%s can only change while it is powered off", a->name,
                    vm_state_name(ps->state), a->keys[i]);
            return CLI_ESTATE;
        }
    }
    return -1;
}

/*
 * Saves (cfg), the changed definition of (old); while the VM is live, its port forwards are
 * changed in the monitor first (and put back if the definition cannot be written), so that the
 * running VM and its definition agree. Returns -1 or an exit status after printing.
 */
static int save_settings(const struct store *st, const struct vm_config *old,
                         const struct vm_config *cfg, const struct proc_status *ps)
{
    struct error err = {0};
    bool is_live = vm_state_is_live(ps->state);
    if (is_live && proc_apply_forwards(st, cfg->name, old, cfg, &err) < 0)
        return cli_fail(&err);
    if (store_save(st, cfg, &err) < 0) {
        if (is_live && proc_apply_forwards(st, cfg->name, cfg, old, NULL) < 0)
            cli_err("VM '%s': its running forwards no longer match its definition", cfg->name);
        return cli_fail(&err);
    }
    return -1;
}

int cmd_set(int argc, char **argv)
{
    struct vm_args a;
    struct store st;
    struct vm_config cfg, old;
    struct proc_status ps;
    struct error err = {0};
    int lock = -1,
        ret = vm_parse_args(argc, argv, VM_ARG_NAME | VM_ARG_SETTINGS | VM_ARG_REMOVE, &a);
    if (ret >= 0 || (ret = check_name(a.name)) >= 0 || (ret = vm_open_store(&st)) >= 0)
        return ret;
    if (a.nsettings == 0) {
        cli_err("set: nothing to change (see 'bareiron set --help')");
        return CLI_EUSAGE;
    }
    if (store_lock(&st, a.name, &lock, &err) < 0)
        return cli_fail(&err);
    if (store_load(&st, a.name, &cfg, &err) < 0) {
        store_unlock(lock);
        return cli_fail(&err);
    }
    if (store_load(&st, a.name, &old, &err) < 0) {
        config_fini(&cfg);
        store_unlock(lock);
        return cli_fail(&err);
    }
    if (proc_probe(&st, a.name, &ps) < 0)
        ps.state = VM_STATE_POWERED_OFF;
    ret = check_live_settings(&a, &ps);
    if (ret < 0)
        ret = apply_settings(&cfg, &a);
    if (ret < 0)
        ret = save_settings(&st, &old, &cfg, &ps);
    store_unlock(lock);
    config_fini(&old);
    config_fini(&cfg);
    return ret < 0 ? CLI_OK : ret;
}

int cmd_delete(int argc, char **argv)
{
    struct vm_args a;
    struct store st;
    struct proc_status ps;
    struct error err = {0};
    char kept[PATH_MAX];
    int lock = -1, ret = vm_parse_args(argc, argv, VM_ARG_NAME | VM_ARG_KEEP_DISKS, &a);
    if (ret >= 0 || (ret = check_name(a.name)) >= 0 || (ret = vm_open_store(&st)) >= 0)
        return ret;
    if (store_lock(&st, a.name, &lock, &err) < 0)
        return cli_fail(&err);
    if (proc_probe(&st, a.name, &ps) == 0 && vm_state_is_live(ps.state)) {
        cli_err("VM '%s' is %s: power it off first ('bareiron poweroff %s')", a.name,
                vm_state_name(ps.state), a.name);
        store_unlock(lock);
        return CLI_ESTATE;
    }
    ret = store_delete(&st, a.name, a.is_keep_disks, kept, sizeof(kept), &err);
    store_unlock(lock);
    if (ret < 0)
        return cli_fail(&err);
    printf("VM '%s' deleted\n", a.name);
    if (kept[0])
        printf("its disks were kept in %s\n", kept);
    return CLI_OK;
}
