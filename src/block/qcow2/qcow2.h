/* SPDX-License-Identifier: MIT */
/*
 * qcow2 internals shared by header.c (header, extensions, create), cache.c (metadata table
 * LRU), refcount.c (refcounts and cluster allocation), l1l2.c (guest-to-host mapping and the
 * allocating write path), qcow2.c (the blk driver) and check.c. Follows QEMU's
 * docs/interop/qcow2.txt (versions 2 and 3). All on-disk numbers are big-endian. Private to
 * src/block/.
 */
#ifndef BAREIRON_BLOCK_QCOW2_QCOW2_H
#define BAREIRON_BLOCK_QCOW2_QCOW2_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/compiler.h"
#include "base/error.h"
#include "block/blk_internal.h"

#define QCOW2_MAGIC 0x514649fbu
#define QCOW2_MIN_CLUSTER_BITS 9
#define QCOW2_MAX_CLUSTER_BITS 21
#define QCOW2_MAX_L1_BYTES (32u << 20)      /* memory cap on the L1 table */
#define QCOW2_MAX_REFTABLE_BYTES (8u << 20) /* memory cap on the refcount table */
#define QCOW2_MAX_BACKING_NAME 1023

/* Incompatible feature bits (qcow2.txt "Header", bytes 72-79). */
#define QCOW2_INCOMPAT_DIRTY (1ull << 0)
#define QCOW2_INCOMPAT_CORRUPT (1ull << 1)
#define QCOW2_INCOMPAT_DATA_FILE (1ull << 2)
#define QCOW2_INCOMPAT_COMPRESSION (1ull << 3)
#define QCOW2_INCOMPAT_EXTL2 (1ull << 4)
#define QCOW2_COMPAT_LAZY_REFCOUNTS (1ull << 0)

/* Header extension types. */
#define QCOW2_EXT_END 0x00000000u
#define QCOW2_EXT_BACKING_FORMAT 0xe2792acau
#define QCOW2_EXT_FEATURE_TABLE 0x6803f857u
#define QCOW2_EXT_CRYPTO 0x0537be77u
#define QCOW2_EXT_DATA_FILE 0x44415441u

/* L1/L2 entry fields. */
#define QCOW2_OFLAG_COPIED (1ull << 63)
#define QCOW2_OFLAG_COMPRESSED (1ull << 62)
#define QCOW2_OFLAG_ZERO (1ull << 0)
#define QCOW2_OFFSET_MASK 0x00fffffffffffe00ull /* bits 9-55 */
#define QCOW2_L1_RESERVED 0x7f000000000001ffull
#define QCOW2_L2_RESERVED 0x3f000000000001feull

struct qcow2_header {
    uint32_t magic;
    uint32_t version;
    uint64_t backing_file_offset;
    uint32_t backing_file_size;
    uint32_t cluster_bits;
    uint64_t size;
    uint32_t crypt_method;
    uint32_t l1_size;
    uint64_t l1_table_offset;
    uint64_t refcount_table_offset;
    uint32_t refcount_table_clusters;
    uint32_t nb_snapshots;
    uint64_t snapshots_offset;
    uint64_t incompatible_features;
    uint64_t compatible_features;
    uint64_t autoclear_features;
    uint32_t refcount_order;
    uint32_t header_length;
    uint8_t compression_type;
};

/* What the header and its extensions say. */
struct qcow2_meta {
    struct qcow2_header h;
    char backing[QCOW2_MAX_BACKING_NAME + 1]; /* "" when none */
    char backing_fmt[32];                     /* "" when not recorded */
};

/* Byte offsets of header fields we rewrite in place. */
#define QCOW2_HDR_SIZE_OFF 24
#define QCOW2_HDR_L1_OFF 36       /* l1_size (4) + l1_table_offset (8) */
#define QCOW2_HDR_REFTABLE_OFF 48 /* refcount_table_offset (8) + clusters (4) */
#define QCOW2_HDR_INCOMPAT_OFF 72
#define QCOW2_HDR_AUTOCLEAR_OFF 88

/* An LRU cache of cluster-sized metadata tables (L2 tables, refcount blocks), write-through. */
struct qcow2_tslot {
    uint64_t off; /* host offset, 0 = empty */
    uint64_t lru;
    uint8_t *data;
};
struct qcow2_tcache {
    struct qcow2_tslot *slots;
    unsigned nslots;
    uint64_t tick;
};

/* A host byte range (a free waiting for in-flight transfers). */
struct qcow2_extent {
    uint64_t off;
    uint64_t len;
};

/* An L2 update waiting for its batch's flush: guest cluster (gc) gets entry (val). */
struct qcow2_pend {
    uint64_t gc;
    uint64_t val;
};

struct qcow2 {
    struct blk *b;
    int fd; /* buffered fd for metadata */
    struct qcow2_meta m;
    unsigned cluster_bits;
    uint64_t cluster_size;
    unsigned l2_bits; /* log2 of entries per L2 table */
    uint64_t *l1;     /* host byte order */
    uint32_t l1_size;
    uint64_t *reftable; /* host byte order */
    uint64_t reftable_entries;
    unsigned refcount_bits;
    uint64_t rb_entries; /* refcounts per refcount block */
    struct qcow2_tcache l2c, rbc;
    struct blk *backing;
    uint64_t free_hint; /* cluster index where the free-cluster search starts */
    uint64_t host_end;  /* bytes: the host file's logical end as far as we know */
    uint8_t *zbuf;      /* compressed cluster input buffer (2 clusters) */
    /* The worker jobs of the chain (jobs.c): shared by every qcow2 image of a backing chain,
     * owned by the top one. */
    struct qcow2_jobs *jobs;
    bool owns_jobs;
    /* The L2 updates of the batch being run: their data is written, the flush that makes them
     * safe to publish is shared by the whole batch (qcow2_batch_commit). */
    bool is_batching;
    struct qcow2_pend *pend;
    size_t npend, pend_cap;
    /* Deferred frees (reuse.c): data transfers are tagged with the bucket current when they
     * start; frees wait in (freed_new), move to (freed_old) when the buckets flip, and are done
     * once the old bucket has drained. */
    unsigned io_cur;
    uint64_t io_inflight[2];
    struct qcow2_extent *freed_new, *freed_old;
    size_t n_new, cap_new, n_old, cap_old;
    uint64_t zc_entry; /* L2 entry of the compressed cluster held in zc_data (0: none) */
    uint8_t *zc_data;  /* last decompressed cluster */
};

static inline uint64_t be64_load(const void *p)
{
    uint64_t v;
    __builtin_memcpy(&v, p, 8);
    return __builtin_bswap64(v);
}
static inline uint32_t be32_load(const void *p)
{
    uint32_t v;
    __builtin_memcpy(&v, p, 4);
    return __builtin_bswap32(v);
}
static inline void be64_store(void *p, uint64_t v)
{
    v = __builtin_bswap64(v);
    __builtin_memcpy(p, &v, 8);
}
static inline void be32_store(void *p, uint32_t v)
{
    v = __builtin_bswap32(v);
    __builtin_memcpy(p, &v, 4);
}

/* header.c */
/* Parses and validates the header and extensions in (buf, len bytes: the start of the
 * file, at least one cluster or the whole file) of a (file_size)-byte file. Returns 0 or
 * -EINVAL/-ENOTSUP with a one-line message naming (path) and the problem. */
MUST_CHECK int qcow2_parse_header(const uint8_t *buf, size_t len, uint64_t file_size,
                                  const char *path, struct qcow2_meta *m, struct error *err);
/* Reads the header of (fd) and parses it. */
MUST_CHECK int qcow2_read_header(int fd, uint64_t file_size, const char *path, struct qcow2_meta *m,
                                 struct error *err);

/* cache.c */
MUST_CHECK int qcow2_tcache_init(struct qcow2_tcache *c, unsigned nslots, uint64_t cluster_size);
void qcow2_tcache_fini(struct qcow2_tcache *c);
/* Returns in (*data) the cached table at host (off), reading it when missing (or zero-filling it
 * when (is_new)). Returns 0 or -errno. */
MUST_CHECK int qcow2_tcache_get(struct qcow2 *s, struct qcow2_tcache *c, uint64_t off, bool is_new,
                                uint8_t **data);
/* Forgets the table at (off) (freed). */
void qcow2_tcache_drop(struct qcow2_tcache *c, uint64_t off);
/* Synchronous metadata I/O on the buffered fd. */
MUST_CHECK int qcow2_meta_write(struct qcow2 *s, uint64_t off, const void *buf, size_t len);
MUST_CHECK int qcow2_meta_read(struct qcow2 *s, uint64_t off, void *buf, size_t len);
MUST_CHECK int qcow2_sync(struct qcow2 *s);

/* refcount.c */
MUST_CHECK int qcow2_refcount_get(struct qcow2 *s, uint64_t cluster, uint64_t *val);
/* Sets the refcount of (cluster) to (val), allocating refcount blocks and growing the
 * refcount table as needed (written through, not flushed). */
MUST_CHECK int qcow2_refcount_set(struct qcow2 *s, uint64_t cluster, uint64_t val);
/* Allocates (n) contiguous free clusters (refcount 1, written, not flushed); returns the host
 * byte offset of the first in (*off). */
MUST_CHECK int qcow2_alloc_clusters(struct qcow2 *s, uint64_t n, uint64_t *off);
/* True when host [off, off+len) overlaps the header cluster, the L1 table or the refcount
 * table: no guest data may be written there nor may they be freed or allocated, whatever the
 * (possibly hostile) L2 entries and refcounts say. */
bool qcow2_is_metadata(const struct qcow2 *s, uint64_t off, uint64_t len);
/* Drops one reference to each cluster of [off, off+len) at once and punches a hole where it
 * falls to zero; those clusters may be allocated again right away. Use qcow2_free_range unless
 * no data I/O can be in flight to them. */
MUST_CHECK int qcow2_free_now(struct qcow2 *s, uint64_t off, uint64_t len);

/* reuse.c: freeing clusters that in-flight data I/O may still target. */
/* Frees [off, off+len) like qcow2_free_now once every data transfer in flight now has completed
 * (until then the refcounts stay as they are: a crash only leaks). Returns 0 or -ENOMEM. */
MUST_CHECK int qcow2_free_range(struct qcow2 *s, uint64_t off, uint64_t len);
/* A data transfer to this image's clusters starts; returns its tag for qcow2_io_end. */
unsigned qcow2_io_begin(struct qcow2 *s);
/* The transfer tagged (tag) completed; frees whose wait is over are queued for a job. Loop
 * thread. */
void qcow2_io_end(struct qcow2 *s, unsigned tag);
/* Does the frees whose wait is over (after a batch of metadata changes; a job's worker). */
void qcow2_reuse_poll(struct qcow2 *s);
/* True when qcow2_reuse_poll has something to do now. */
bool qcow2_reuse_pending(const struct qcow2 *s);
/* Does every pending free (no transfer in flight: close) and releases the lists. */
void qcow2_reuse_fini(struct qcow2 *s);
/* Loads the refcount table into memory. */
MUST_CHECK int qcow2_refcount_load(struct qcow2 *s, struct error *err);

/* l1l2.c */
enum qcow2_ctype { QCOW2_UNALLOC, QCOW2_ZERO, QCOW2_NORMAL, QCOW2_COMPRESSED };
/* Looks up the L2 entry of guest (voff) (cluster-aligned or not). Returns 0 and the raw entry
 * in (*entry) (0 when no L2 table) or -errno (-EIO for metadata pointing outside the file). */
MUST_CHECK int qcow2_l2_lookup(struct qcow2 *s, uint64_t voff, uint64_t *entry);
/* Classifies an L2 entry; for NORMAL sets (*host) to the host cluster offset. */
enum qcow2_ctype qcow2_entry_type(const struct qcow2 *s, uint64_t entry, uint64_t *host);
/* Reads a compressed cluster described by (entry) into (out, cluster_size bytes). */
MUST_CHECK int qcow2_read_compressed(struct qcow2 *s, uint64_t entry, uint8_t *out);
/* Reads the whole guest cluster at (cvoff) described by (entry) into (buf). */
MUST_CHECK int qcow2_read_sync_entry(struct qcow2 *s, uint64_t entry, uint64_t cvoff, uint8_t *buf);
/* Reads guest [voff, voff+len) synchronously (backing, zeros, compressed...). */
MUST_CHECK int qcow2_read_sync(struct qcow2 *s, void *buf, uint64_t len, uint64_t voff);
/* Writes guest [voff, voff+len) from (iov at skip) with allocation and copy-on-write, in the
 * crash-safe order (refcounts, data, flush, L2/L1). (iov NULL: write zeros). */
MUST_CHECK int qcow2_write_alloc(struct qcow2 *s, const struct iovec *iov, int iovcnt,
                                 uint64_t skip, uint64_t voff, uint64_t len);
/* Publishes the L2 updates of the current batch: flush, L2/L1 entries, then (after another
 * flush) frees the clusters they replaced. Returns 0 or -errno. */
MUST_CHECK int qcow2_batch_commit(struct qcow2 *s);
/* Sets the L2 entries of whole clusters in [voff, voff+len) to (zero flag | unallocated)
 * and frees their host clusters (discard / write-zeroes). */
MUST_CHECK int qcow2_zero_clusters(struct qcow2 *s, uint64_t voff, uint64_t len, bool is_zero);
/* Allocation status of guest [off, off+len) (blk_driver.block_status): data for allocated
 * and compressed clusters, zero for zero clusters and unallocated ones without a backing
 * file, the backing file's status for unallocated ones with one. */
MUST_CHECK int qcow2_block_status(struct blk *b, uint64_t off, uint64_t len, uint64_t *pnum,
                                  bool *is_zero);
/* Grows the L1 table to cover (new_size) bytes and updates the header's size. */
MUST_CHECK int qcow2_grow(struct qcow2 *s, uint64_t new_size);

/* check.c */
struct qcow2_check_result {
    uint64_t corruptions; /* references to free/invalid clusters, refcounts too low */
    uint64_t leaks;       /* clusters with a refcount higher than their references */
    uint64_t allocated;   /* clusters in use */
    uint64_t total;       /* clusters in the file */
    uint64_t fixed;       /* refcounts repaired */
    uint64_t unfixable;   /* corruptions repair cannot fix (refcount too narrow) */
    bool is_incomplete;   /* the check could not look at everything */
};
/* Checks (s)'s metadata: every reference is counted and compared with the stored refcounts.
 * With (repair), stored refcounts are rewritten to match (s must be writable). Returns 0 when
 * the check ran (see res), or -errno. */
MUST_CHECK int qcow2_check(struct qcow2 *s, bool repair, struct qcow2_check_result *res,
                           struct error *err);

/* Clears the dirty and corrupt bits of the header (after a repair left the image consistent):
 * syncs, rewrites the header's incompatible features, syncs. Returns 0 or -errno. */
MUST_CHECK int qcow2_mark_consistent(struct qcow2 *s);

/* snapshot.c: the snapshot table (qcow2.txt "Snapshots"). */
#define QCOW2_MAX_SNAPSHOTS 65536
#define QCOW2_MAX_SNAPTAB_BYTES (64u << 20) /* the whole table, as QEMU caps it */
#define QCOW2_MAX_SNAP_EXTRA 1024           /* extra data per entry */
#define QCOW2_SNAP_FIXED 40                 /* fixed part of an entry */
#define QCOW2_SNAP_EXTRA_V3 16              /* vm_state_size_large + disk_size */
#define QCOW2_HDR_SNAPSHOTS_OFF 60          /* nb_snapshots (4) + snapshots_offset (8) */

/* One snapshot table entry, decoded; (extra) keeps the entry's extra data as read, so fields
 * we do not know survive a rewrite of the table. */
struct qcow2_snapshot {
    uint64_t l1_offset;
    uint32_t l1_size;
    uint32_t date_sec, date_nsec;
    uint64_t vm_clock_ns;
    uint64_t vm_state_size; /* bytes: the 64-bit extra field when present, else the 32-bit one */
    uint64_t disk_size;     /* bytes: from the extra data, else the image's size */
    uint32_t extra_size;
    uint8_t *extra;
    char *id;   /* NUL-terminated, no NUL inside */
    char *name; /* idem */
};
struct qcow2_snaptab {
    struct qcow2_snapshot *v;
    uint32_t n;
    uint64_t bytes; /* on-disk length of the entries (from the first to the end of the last) */
};
/* Decodes (nb) entries from (buf, len bytes) of an image of (cluster_size) and
 * (file_size) bytes whose virtual size is (disk_size), checking every field (lengths, L1
 * placement and size, totals) with overflow-safe arithmetic. Fills (out), which the caller frees
 * with qcow2_snaptab_free, and (*used) with the bytes the entries take. Returns 0 or -EINVAL
 * with a one-line message naming (path), the entry and the field. */
MUST_CHECK int qcow2_snaptab_parse(const uint8_t *buf, size_t len, uint32_t nb,
                                   uint64_t cluster_size, uint64_t file_size, uint64_t disk_size,
                                   const char *path, struct qcow2_snaptab *out, size_t *used,
                                   struct error *err);
void qcow2_snaptab_free(struct qcow2_snaptab *t);
/* Reads and decodes the snapshot table of (s) (empty when the header has none). Returns 0 or
 * -errno with (err) set. */
MUST_CHECK int qcow2_snaptab_load(struct qcow2 *s, struct qcow2_snaptab *out, struct error *err);
/* Encodes (t) into a new buffer (*buf, *len bytes, padded to whole clusters of (s)). Returns 0,
 * -EFBIG past QCOW2_MAX_SNAPTAB_BYTES or -ENOMEM. */
MUST_CHECK int qcow2_snaptab_encode(const struct qcow2 *s, const struct qcow2_snaptab *t,
                                    uint8_t **buf, size_t *len);
/* The index in (t) of the snapshot named (name), else of the one whose ID is (name); -1 if none. */
int qcow2_snaptab_find(const struct qcow2_snaptab *t, const char *name);

/* snapshot_ops.c: internal snapshots on an image opened writable with no I/O in flight (disk
 * tools). Each is crash-safe: whatever the point of a crash, the image holds the old or the new
 * state with leaked clusters at worst. Return 0 or -errno with (err) set. */
MUST_CHECK int qcow2_snapshot_create(struct qcow2 *s, const char *name, struct error *err);
MUST_CHECK int qcow2_snapshot_apply(struct qcow2 *s, const char *name, struct error *err);
MUST_CHECK int qcow2_snapshot_delete(struct qcow2 *s, const char *name, struct error *err);
/* snapshot_refs.c: adds one reference (is_add) to every L2 table and host cluster the L1 table
 * (l1, n entries, host order) reaches, or drops one (clusters reaching zero are freed through
 * qcow2_free_range). Returns 0 or -errno (-EIO for an L1 entry naming an impossible L2 table,
 * -ERANGE for a refcount that would overflow). */
MUST_CHECK int qcow2_update_refs(struct qcow2 *s, const uint64_t *l1, uint32_t n, bool is_add);
/* Sets bit 63 (QCOW2_OFLAG_COPIED) of every entry of the L1 table (l1, n entries, host order)
 * and of the L2 tables it references to "refcount is exactly one", as qcow2.txt asks of the
 * active tables; changed L2 tables are written (the L1 entries are only changed in memory).
 * With (dry_run) nothing changes. Adds the number of wrong bits to (*fixed) (may be NULL).
 * Returns 0 or -errno. */
MUST_CHECK int qcow2_fix_copied(struct qcow2 *s, uint64_t *l1, uint32_t n, bool dry_run,
                                uint64_t *fixed);
/* qcow2_fix_copied on the active L1 table of (s), whose changed entries are written too. */
MUST_CHECK int qcow2_fix_active_copied(struct qcow2 *s, bool dry_run, uint64_t *fixed);
/* jobs.c: metadata changes and compressed reads run on an engine worker thread, one job at a
 * time per backing chain; while a job runs, the loop thread leaves the chain's metadata alone
 * (requests wait for the job's end). Loop thread unless said otherwise. */
/* Joins the jobs of the qcow2 image (s) backs, or makes the chain's own. Returns 0 or -ENOMEM. */
MUST_CHECK int qcow2_jobs_init(struct qcow2 *s);
/* Frees the chain's jobs when (s) owns them (nothing queued or running). */
void qcow2_jobs_fini(struct qcow2 *s);
/* True while a job of (s)'s chain runs: the metadata belongs to the worker. */
bool qcow2_jobs_busy(const struct qcow2 *s);
/* Keeps (req) of (b) until the running job has ended, then submits it. Returns 0 or -errno. */
MUST_CHECK int qcow2_jobs_defer(struct blk *b, struct blk_req *req);
/* Queues, for the next job: (req) (an allocating write, a discard or a write-zeroes of (s)), or
 * with (is_read) the part of the read (req) from a compressed cluster on: guest
 * [voff, voff+len) read into req's iov at (skip), tagged (tag) like a transfer
 * (qcow2_io_begin). Returns 0 or -errno. */
MUST_CHECK int qcow2_jobs_queue(struct qcow2 *s, struct blk_req *req, bool is_read, uint64_t voff,
                                uint64_t len, uint64_t skip, unsigned tag);
/* Clusters freed by (s) may be reusable now (a transfer bucket drained): a job does it. */
void qcow2_jobs_kick_reuse(struct qcow2 *s);
/* Runs the loop until no job of (s)'s chain is queued or running (tools, close). */
void qcow2_jobs_wait(struct qcow2 *s);

/* qcow2.c */
static inline struct qcow2 *qcow2_of(struct blk *b)
{
    return b->drv_state;
}
/* Starts (req) now (no job running): the driver's submit. */
MUST_CHECK int qcow2_submit_now(struct blk *b, struct blk_req *req);
/* A discard or write-zeroes of (req) on the metadata (on the job's worker). */
MUST_CHECK int qcow2_zero_range(struct qcow2 *s, const struct blk_req *req);

#endif
