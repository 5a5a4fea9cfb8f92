/* SPDX-License-Identifier: MIT */
/*
 * Image-level tools behind `bareiron disk`: create raw and qcow2 images, describe an image
 * (and its backing chain) without opening it for I/O, resize, and check/repair qcow2
 * refcounts. Synchronous; for the CLI and tests, never the monitor's I/O path.
 */
#ifndef BAREIRON_BLOCK_IMAGE_H
#define BAREIRON_BLOCK_IMAGE_H

#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/compiler.h"
#include "base/error.h"
#include "block/blk.h"

#define QCOW2_DEFAULT_CLUSTER_SIZE 65536u

struct disk_info {
    enum blk_format format;
    uint64_t virtual_size_bytes;
    uint64_t disk_size_bytes; /* space the host file really uses */
    uint64_t file_size_bytes;
    uint64_t cluster_size_bytes; /* qcow2 only */
    unsigned qcow2_version;
    unsigned refcount_bits;
    unsigned nb_snapshots;
    bool is_dirty;
    bool is_corrupt;
    bool has_lazy_refcounts;
    char backing[1024];              /* as recorded in the image, "" for none */
    char backing_resolved[PATH_MAX]; /* made absolute / relative to the image's directory */
    char backing_fmt[32];            /* recorded backing format, "" when not recorded */
};

/* Returns a short name: "raw", "qcow2". */
const char *blk_format_name(enum blk_format fmt);

/* Describes the image at (path) ((fmt) AUTO probes; RAW is never probed) from its header only,
 * without locking (works on images in use). Returns 0 or -errno with (err) set. */
MUST_CHECK int disk_info_get(const char *path, enum blk_format fmt, struct disk_info *out,
                             struct error *err);

/*
 * A new image being written. It lives in a temporary file next to its destination and takes
 * the destination's name only once complete (disk_new_commit), so a failed create leaves no
 * partial file behind and a replaced image stays intact until its replacement is complete.
 */
struct disk_new {
    int fd;              /* the temporary file, read-write */
    bool is_force;       /* replace an existing destination */
    unsigned mode;       /* permissions of the new file (those of the file it replaces) */
    unsigned uid, gid;   /* owner of the file it replaces (kept where allowed) */
    const char *name;    /* the destination as the user named it, for messages */
    char path[PATH_MAX]; /* the destination (a symbolic link's target when it is one) */
    char tmp[PATH_MAX];  /* the temporary file */
};

/*
 * Starts a new image at (path). An existing (path) is refused with -EEXIST unless (is_force);
 * one that is not a regular file is always refused (-EINVAL), and one in use by another
 * process (-EBUSY). Creates the temporary file. Returns 0 or -errno with (err) set; on success
 * the caller ends with disk_new_commit() or disk_new_abort().
 */
MUST_CHECK int disk_new_begin(struct disk_new *n, const char *path, bool is_force,
                              struct error *err);
/* Makes (n) durable (fsync), gives it its name (replacing the old file only with is_force,
 * atomically) and syncs the directory. Closes (n)'s file. On failure the temporary file is
 * removed and the destination untouched. Returns 0 or -errno with (err) set. */
MUST_CHECK int disk_new_commit(struct disk_new *n, struct error *err);
/* Removes the temporary file of (n) and closes it. */
void disk_new_abort(struct disk_new *n);

/* Writes a sparse raw image of (size) bytes into (n). Returns 0 or -errno with (err) set. */
MUST_CHECK int disk_new_raw(struct disk_new *n, uint64_t size, struct error *err);
/* Writes an empty qcow2 image into (n); parameters as for qcow2_create(). */
MUST_CHECK int disk_new_qcow2(struct disk_new *n, uint64_t size, uint64_t cluster_size,
                              const char *backing, const char *backing_fmt, struct error *err);

/* Creates a sparse raw image of (size) bytes at (path) (replacing an existing file only with
 * (is_force), see disk_new_begin). Returns 0 or -errno with (err) set. */
MUST_CHECK int disk_create_raw(const char *path, uint64_t size, bool is_force, struct error *err);

/*
 * Creates a qcow2 v3 image (compat 1.1, 16-bit refcounts) of (size) bytes and (cluster_size)
 * (512..2M, power of two; 0: 64 KiB) at (path) (replacing an existing file only with
 * (is_force), see disk_new_begin). With (backing) (may be NULL), records it and (backing_fmt)
 * ("raw"/"qcow2"; NULL probes the backing file and records what it found); a (size) of 0 then
 * takes the backing file's size. Returns 0 or -errno with (err) set.
 */
MUST_CHECK int qcow2_create(const char *path, uint64_t size, uint64_t cluster_size,
                            const char *backing, const char *backing_fmt, bool is_force,
                            struct error *err);

/* Resizes the image: raw files grow or (allow_shrink) shrink; qcow2 images only grow.
 * Returns 0 or -errno with (err) set. */
MUST_CHECK int disk_resize(const char *path, enum blk_format fmt, uint64_t size, bool allow_shrink,
                           struct error *err);

struct disk_check_result {
    uint64_t corruptions;
    uint64_t leaks;
    uint64_t allocated_clusters;
    uint64_t total_clusters;
    uint64_t fixed;
    bool is_incomplete;
    bool is_marked_corrupt; /* the header's corrupt bit is (still) set */
    bool is_mark_cleared;   /* the repair left the image consistent and cleared the bit */
};
/* Checks a qcow2 image's refcounts and L2 entries. With (repair), opens it writable even when
 * it is marked corrupt, rewrites refcounts, turns L2 entries that cannot hold data into zero
 * clusters and, once the image checks clean, clears its corrupt and dirty bits. Returns 0 when
 * the check ran (see res), -ENOTSUP for raw images, or -errno with (err) set. */
MUST_CHECK int disk_check(const char *path, bool repair, struct disk_check_result *res,
                          struct error *err);

/* Progress of a long operation: (done) of (total) bytes. */
typedef void (*disk_progress_fn)(void *opaque, uint64_t done, uint64_t total);

struct disk_copy_opts {
    const char *src;
    enum blk_format src_format;   /* AUTO probes */
    enum blk_backing src_backing; /* which backing files the source may name */
    const char *dst;
    enum blk_format format;    /* of the new image; AUTO: qcow2 */
    uint64_t cluster_size;     /* qcow2; 0: 64 KiB */
    bool is_force;             /* replace an existing (dst) (see disk_new_begin) */
    disk_progress_fn progress; /* may be NULL */
    void *opaque;
    const volatile sig_atomic_t
        *is_interrupted; /* when set, the copy stops (-EINTR); may be NULL */
};
/* Copies the image o->src (its backing chain flattened) into a new image o->dst, sparsely:
 * holes and zero blocks are not written. Nothing is left at o->dst on failure. Returns 0 or
 * -errno with (err) set. */
MUST_CHECK int disk_copy(const struct disk_copy_opts *o, struct error *err);

/* One internal snapshot of a qcow2 image, as `disk snapshot list` shows it. */
struct disk_snapshot {
    char *id;
    char *name;
    uint32_t date_sec, date_nsec; /* when it was taken (wall clock) */
    uint64_t vm_clock_ns;         /* guest run time when it was taken (0 for disk-only ones) */
    uint64_t vm_state_size_bytes; /* 0: disk-only */
    uint64_t disk_size_bytes;     /* virtual size of the disk in the snapshot */
};
struct disk_snapshot_list {
    struct disk_snapshot *v;
    size_t n;
};
/* Lists the internal snapshots of the qcow2 image at (path), opened read-only (a shared lock:
 * refused while a VM has it open writable). Raw images are refused with -ENOTSUP. Returns 0 or
 * -errno with (err) set; the caller frees (out) with disk_snapshot_list_free. */
MUST_CHECK int disk_snapshot_list_get(const char *path, struct disk_snapshot_list *out,
                                      struct error *err);
void disk_snapshot_list_free(struct disk_snapshot_list *l);
enum disk_snapshot_op { DISK_SNAPSHOT_CREATE, DISK_SNAPSHOT_APPLY, DISK_SNAPSHOT_DELETE };
/* Creates (a disk-only snapshot of the current contents), applies (reverts the disk to it) or
 * deletes the snapshot (name) (apply and delete also take an ID) of the qcow2 image at (path),
 * opened writable under its exclusive lock (-EBUSY while a VM uses it). Crash-safe (the old or
 * the new state, leaked clusters at worst). Raw images are refused with -ENOTSUP. Returns 0 or
 * -errno with (err) set: -EEXIST (create: name taken), -ENOENT (no such snapshot), -ENOTSUP
 * (apply: the snapshot holds VM state). */
MUST_CHECK int disk_snapshot(const char *path, enum disk_snapshot_op op, const char *name,
                             struct error *err);

#endif
