/* SPDX-License-Identifier: MIT */
/* Shared by cmd_snapshot.c and cmd_snapshot_show.c (private to src/cli/). */
#ifndef BAREIRON_CLI_CMD_SNAPSHOT_H
#define BAREIRON_CLI_CMD_SNAPSHOT_H

#include <stdbool.h>

#include "mgr/config.h"
#include "mgr/snaptree.h"
#include "mgr/state.h"
#include "mgr/store.h"

/* The open VM: its lock, definition, tree and state (probed under the lock). */
struct snap_ctx {
    struct store st;
    int lock;
    struct vm_config cfg;
    struct snap_tree tree;
    enum vm_state state;
    bool was_paused; /* take stopped a paused VM: it is paused again after the resume */
    bool is_stopped; /* take stopped the VM's monitor: it must be resumed */
    bool is_live;    /* take --live: memory copied while the guest runs */
};

/* Prints the children of (parent) (-1: the roots) and their subtrees at (depth). Returns 0. */
int snapshot_print_list(const struct snap_tree *t, int parent, int depth);
/* Prints snapshot (i)'s details. Returns 0. */
int snapshot_print_show(const struct snap_tree *t, int i);

/*
 * The machine state of snapshots (cmd_snapshot_state.c), in vms/NAME/snapshots/UUID/state.
 * snapshot_state_take saves it for snapshot (uuid): a running or paused VM through its monitor,
 * which then exits (c->is_stopped; the disks are free for their snapshots), a saved VM by
 * linking its saved state. Returns 0 or -errno with (err) set; on failure the VM is as before.
 */
int snapshot_state_take(struct snap_ctx *c, const char *uuid, struct error *err);
/*
 * Ends a take: a VM that snapshot_state_take stopped is resumed from the snapshot's state (and
 * paused again if it was). Without (keep) (the take failed) the state is removed (the monitor
 * keeps its mapping). A resume that fails leaves the VM saved with that state. Returns 0 or
 * -errno with (err) set.
 */
int snapshot_state_finish(struct snap_ctx *c, const char *uuid, bool keep, struct error *err);
/* Checks snapshot (i)'s state file (none is fine): savestate_verify. */
int snapshot_state_check(const struct snap_ctx *c, int i, struct error *err);
/* Makes VM's saved state that of snapshot (i) (installed), or none when it has no state. */
int snapshot_state_restore(struct snap_ctx *c, int i, struct error *err);
/* Removes snapshot (uuid)'s state file and directory (if any). */
void snapshot_state_remove(const struct snap_ctx *c, const char *uuid);

#endif
