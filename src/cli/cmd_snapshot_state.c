/* SPDX-License-Identifier: MIT */
/*
 * Snapshots with the machine state (docs/cli.md "bareiron snapshot"): `take` on a running or
 * paused VM has its monitor save the state into vms/NAME/snapshots/UUID/state (the monitor
 * exits, which frees the disks for their qcow2 internal snapshots), then resumes the VM from
 * that very file, which stays the snapshot's and is never written again (the monitor maps it
 * privately). `take` on a saved VM links its saved state. `restore` of such a snapshot
 * installs its state as the VM's saved state (a hard link), so `start` resumes it.
 */
#include "cli/cli.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cmd_snapshot.h"
#include "cli/cmd_vm.h"
#include "mgr/proc.h"
#include "mgr/savestate.h"

/* How long take waits for the monitor to exit once the state is written. */
#define TAKE_EXIT_WAIT_MS 30000

/* vms/NAME/snapshots/UUID[/state] into (buf). */
static int state_path(const struct snap_ctx *c, const char *uuid, bool is_file, char *buf,
                      size_t size)
{
    char leaf[96];
    snprintf(leaf, sizeof(leaf), "snapshots/%s%s", uuid, is_file ? "/state" : "");
    return store_vm_path(&c->st, c->cfg.name, leaf, buf, size);
}

/* Creates vms/NAME/snapshots/UUID/ and writes the path of its state file into (path). */
static int make_dir(const struct snap_ctx *c, const char *uuid, char *path, struct error *err)
{
    char dir[PATH_MAX];
    if (store_vm_path(&c->st, c->cfg.name, "snapshots", dir, sizeof(dir)) < 0 ||
        state_path(c, uuid, true, path, PATH_MAX) < 0)
        return error_set(err, -ENAMETOOLONG, "VM '%s': path too long", c->cfg.name);
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return error_set(err, -errno, "%s: %m", dir);
    if (state_path(c, uuid, false, dir, sizeof(dir)) < 0 || (mkdir(dir, 0700) < 0))
        return error_set(err, -errno, "%s: %m", dir);
    return 0;
}

int snapshot_state_take(struct snap_ctx *c, const char *uuid, struct error *err)
{
    char path[PATH_MAX], saved[PATH_MAX];
    struct proc_status ps;
    int ret = make_dir(c, uuid, path, err);
    if (ret < 0)
        return ret;
    if (c->state == VM_STATE_SAVED) {
        if (savestate_path(&c->st, c->cfg.name, saved, sizeof(saved)) < 0)
            return error_set(err, -ENAMETOOLONG, "VM '%s': path too long", c->cfg.name);
        if (link(saved, path) < 0)
            return error_set(err, -errno, "cannot link %s to %s: %m", saved, path);
        return 0;
    }
    c->was_paused = c->state == VM_STATE_PAUSED;
    /* The vCPUs stay paused from the save (its last round with --live) until the resume. */
    ret = vm_save_with_progress(&c->st, c->cfg.name, path, c->is_live ? SAVESTATE_LIVE : 0, err);
    if (ret == -EINVAL)
        err->code = -EBUSY; /* the monitor refused: its state changed since the probe */
    if (ret < 0)
        return ret;
    c->is_stopped = true;
    if (proc_wait_exit(&c->st, c->cfg.name, TAKE_EXIT_WAIT_MS, &ps) < 0)
        return error_set(err, -ETIMEDOUT, "VM '%s': the monitor (pid %d) does not exit",
                         c->cfg.name, (int)ps.pid);
    return 0;
}

/* Resumes the VM that take stopped from (path), paused again if it was. */
static int resume(struct snap_ctx *c, const char *path, struct error *err)
{
    pid_t pid;
    int ret = proc_resume(&c->st, &c->cfg, path, &pid, err);
    if (ret == 0 && c->was_paused)
        ret = proc_call(&c->st, c->cfg.name, "pause", NULL, NULL, err);
    return ret;
}

int snapshot_state_finish(struct snap_ctx *c, const char *uuid, bool keep, struct error *err)
{
    char path[PATH_MAX];
    int ret = 0;
    if (state_path(c, uuid, true, path, sizeof(path)) < 0)
        return error_set(err, -ENAMETOOLONG, "VM '%s': path too long", c->cfg.name);
    if (c->is_stopped) {
        ret = resume(c, path, err);
        /* Not resumed: the state is not lost, the VM is saved with it. */
        if (ret < 0 && savestate_install(&c->st, c->cfg.name, path, &(struct error){0}) == 0)
            cli_err("VM '%s' is saved ('bareiron start %s' resumes it)", c->cfg.name, c->cfg.name);
    }
    if (!keep)
        snapshot_state_remove(c, uuid);
    return ret;
}

int snapshot_state_check(const struct snap_ctx *c, int i, struct error *err)
{
    char path[PATH_MAX];
    if (!c->tree.v[i].has_state)
        return 0;
    if (state_path(c, c->tree.v[i].uuid, true, path, sizeof(path)) < 0)
        return error_set(err, -ENAMETOOLONG, "VM '%s': path too long", c->cfg.name);
    return savestate_verify(path, err);
}

int snapshot_state_restore(struct snap_ctx *c, int i, struct error *err)
{
    char path[PATH_MAX];
    const struct snap *s = &c->tree.v[i];
    if (!s->has_state)
        return savestate_discard(&c->st, c->cfg.name, err);
    if (state_path(c, s->uuid, true, path, sizeof(path)) < 0)
        return error_set(err, -ENAMETOOLONG, "VM '%s': path too long", c->cfg.name);
    return savestate_install(&c->st, c->cfg.name, path, err);
}

void snapshot_state_remove(const struct snap_ctx *c, const char *uuid)
{
    char path[PATH_MAX];
    if (state_path(c, uuid, true, path, sizeof(path)) == 0)
        unlink(path);
    if (state_path(c, uuid, false, path, sizeof(path)) == 0)
        rmdir(path);
}
