/* SPDX-License-Identifier: MIT */
/*
 * `bareiron save` and `bareiron discard` (docs/cli.md "Saved state"): freezing a running VM's
 * machine state into vms/NAME/saved.state (mgr/savestate.h), after which the monitor exits
 * and the VM is "saved" until `start` resumes it or `discard` drops the state.
 */
#include "cli/cmd_vm.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "mgr/config.h"
#include "mgr/proc.h"
#include "mgr/savestate.h"
#include "mgr/state.h"
#include "mgr/store.h"

/* How long `save` waits for the monitor to exit once the state is written. */
#define SAVE_EXIT_WAIT_MS 30000

/* Probes VM (name) and checks that (event) is legal in its state (else -EBUSY, status 4). */
static int check_state(const struct store *st, const char *name, enum vm_event event,
                       struct proc_status *ps, struct error *err)
{
    enum vm_state next;
    if (!store_exists(st, name))
        return error_set(err, -ENOENT, "no VM named '%s' (see 'bareiron list')", name);
    if (proc_probe(st, name, ps) < 0)
        return error_set(err, -EIO, "cannot probe VM '%s'", name);
    if (vm_state_next(ps->state, event, &next) < 0)
        return error_set(err, -EBUSY, "VM '%s' is %s: cannot %s it", name, vm_state_name(ps->state),
                         vm_event_name(event));
    return 0;
}

/* The guest memory of VM (name), in bytes (0 if its definition cannot be read). */
static uint64_t memory_bytes(const struct store *st, const char *name)
{
    struct vm_config cfg;
    uint64_t bytes;
    if (store_load(st, name, &cfg, &(struct error){0}) < 0)
        return 0;
    bytes = cfg.memory_mib << 20;
    config_fini(&cfg);
    return bytes;
}

int vm_save_with_progress(const struct store *st, const char *name, const char *path,
                          unsigned flags, struct error *err)
{
    char tmp[PATH_MAX];
    struct vm_save_watch *w = NULL;
    int ret;
    if (snprintf(tmp, sizeof(tmp), "%s.new", path) < (int)sizeof(tmp))
        w = vm_save_watch_start(tmp, memory_bytes(st, name));
    ret = savestate_save_to(st, name, path, flags, err);
    vm_save_watch_stop(w, ret == 0 ? path : NULL);
    return ret;
}

/* The body of save under the VM's lock. */
static int save_locked(const struct store *st, const char *name, bool is_zstd, struct error *err)
{
    struct proc_status ps;
    char path[PATH_MAX];
    int ret = check_state(st, name, VM_EVENT_SAVE, &ps, err);
    if (ret < 0)
        return ret;
    if (savestate_path(st, name, path, sizeof(path)) < 0)
        return error_set(err, -ENAMETOOLONG, "VM '%s': path too long", name);
    ret = vm_save_with_progress(st, name, path, is_zstd ? SAVESTATE_ZSTD : 0, err);
    if (ret == -EINVAL)
        err->code = -EBUSY; /* the monitor refused: its state changed since the probe */
    if (ret < 0)
        return ret;
    if (proc_wait_exit(st, name, SAVE_EXIT_WAIT_MS, &ps) < 0)
        return error_set(err, -ETIMEDOUT,
                         "VM '%s': the state is saved but the monitor (pid %d) does not exit", name,
                         (int)ps.pid);
    return 0;
}

/*
 * Takes "--compress zstd" (or "--compress=zstd") out of (argv) (the other options go to the
 * common parser, which does not know it). Returns the new argc, or -EINVAL (a usage error).
 */
static int take_compress(int argc, char **argv, bool *is_zstd, struct error *err)
{
    int n = 0;
    for (int i = 0; i < argc; i++) {
        const char *v = NULL;
        if (strcmp(argv[i], "--") == 0) {
            while (i < argc)
                argv[n++] = argv[i++];
            break;
        }
        if (strcmp(argv[i], "--compress") == 0) {
            if (i + 1 >= argc)
                return error_usage(err, "save: --compress needs a value (zstd)");
            v = argv[++i];
        } else if (strncmp(argv[i], "--compress=", 11) == 0) {
            v = argv[i] + 11;
        } else {
            argv[n++] = argv[i];
            continue;
        }
        if (strcmp(v, "zstd") != 0)
            return error_usage(err, "save: --compress %s: the only method is zstd", v);
        *is_zstd = true;
    }
    argv[n] = NULL;
    return n;
}

int cmd_save(int argc, char **argv, struct error *err)
{
    struct vm_args a;
    struct store st;
    char path[PATH_MAX];
    bool is_zstd = false;
    int lock = -1, ret = take_compress(argc, argv, &is_zstd, err);
    if (ret < 0)
        return ret;
    ret = vm_begin(ret, argv, VM_ARG_NAME, &a, &st, err);
    if (ret < 0 || a.is_help)
        return ret;
    if ((ret = vm_check_name(a.name, err)) < 0 || (ret = store_lock(&st, a.name, &lock, err)) < 0)
        return ret;
    ret = save_locked(&st, a.name, is_zstd, err);
    store_unlock(lock);
    if (ret < 0)
        return ret;
    if (savestate_path(&st, a.name, path, sizeof(path)) < 0)
        path[0] = '\0';
    printf("VM '%s' saved to %s ('bareiron start %s' resumes it)\n", a.name, path, a.name);
    return 0;
}

int cmd_discard(int argc, char **argv, struct error *err)
{
    struct vm_args a;
    struct store st;
    struct proc_status ps;
    int lock = -1, ret = vm_begin(argc, argv, VM_ARG_NAME, &a, &st, err);
    if (ret < 0 || a.is_help)
        return ret;
    if ((ret = vm_check_name(a.name, err)) < 0 || (ret = store_lock(&st, a.name, &lock, err)) < 0)
        return ret;
    ret = check_state(&st, a.name, VM_EVENT_DISCARD, &ps, err);
    if (ret == 0)
        ret = savestate_discard(&st, a.name, err);
    store_unlock(lock);
    if (ret < 0)
        return ret;
    printf("VM '%s' is powered-off (its saved state was discarded)\n", a.name);
    return 0;
}
