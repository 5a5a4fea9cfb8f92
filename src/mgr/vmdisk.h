/* SPDX-License-Identifier: MIT */
/*
 * The disk side of a VM's snapshots and clones (`bareiron snapshot`, `bareiron clone`): qcow2
 * internal snapshots across every writable disk of a definition, full copies (at a snapshot if
 * asked) and qcow2 overlays, through the block layer's image tools (block/image.h). The disks
 * must not be in use (their locks refuse it: -EBUSY). Every function returns 0 or a negative
 * errno with (err) filled.
 */
#ifndef BAREIRON_MGR_VMDISK_H
#define BAREIRON_MGR_VMDISK_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/compiler.h"
#include "base/error.h"
#include "mgr/config.h"

enum vmdisk_snap_op { VMDISK_SNAP_CREATE, VMDISK_SNAP_APPLY, VMDISK_SNAP_DELETE };

/* Refuses (-ENOTSUP, suggesting `bareiron disk convert`) a writable disk that is not qcow2. */
MUST_CHECK int vmdisk_check_snapshots(const struct vm_config *cfg, struct error *err);

/*
 * Runs (op) for the internal snapshot named (uuid) on every writable disk of (cfg) (read-only
 * disks and the CD-ROM are skipped). CREATE deletes the snapshots it made again when one disk
 * fails; APPLY first checks that every disk holds the snapshot (-ENOENT naming the disk), then
 * reverts all disks or none (each first gets a temporary "<uuid>-undo" snapshot of its present
 * state, to go back to when another disk fails); DELETE skips disks that do not hold it.
 */
MUST_CHECK int vmdisk_snapshot(const struct vm_config *cfg, enum vmdisk_snap_op op,
                               const char *uuid, struct error *err);

/* Progress of a copy: (done) of (total) bytes. */
typedef void (*vmdisk_progress_fn)(void *opaque, uint64_t done, uint64_t total);

struct vmdisk_copy {
    const char *src, *dst;
    bool is_raw;                 /* the format of both (the copy keeps the source's) */
    enum disk_backing backing;   /* which backing files (src) may name */
    const char *snapshot;        /* copy the content of this internal snapshot, or NULL */
    vmdisk_progress_fn progress; /* may be NULL */
    void *opaque;
    const volatile sig_atomic_t *is_interrupted; /* may be NULL */
};
/* Copies a disk sparsely into the new file (dst). With a snapshot, the image file is first
 * copied whole next to (dst), the snapshot applied to that copy and the copy converted, so
 * only the snapshot's content (no snapshots) is in (dst). Nothing is left behind on failure. */
MUST_CHECK int vmdisk_copy(const struct vmdisk_copy *c, struct error *err);

/* Creates a new qcow2 image at (path) whose backing file is (base) (raw when (is_base_raw)). */
MUST_CHECK int vmdisk_overlay(const char *path, const char *base, bool is_base_raw,
                              struct error *err);

/* True if the image at (path) names a backing file. */
bool vmdisk_has_backing(const char *path);

/* The format the image at (path) really has, from its header ("raw" or "qcow2"), or NULL when
 * the header cannot be read (the caller leaves the error to whoever opens it). */
const char *vmdisk_probe_format(const char *path);

/* True if a backing file of one of (cfg)'s disks, at any depth, lives under directory (dir)
 * (a linked clone's base inside another VM's directory). */
bool vmdisk_chain_enters(const struct vm_config *cfg, const char *dir);

#endif
