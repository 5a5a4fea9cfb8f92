/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk request handling (virtio 1.2 §5.2.6): framing (16-byte device-readable header
 * first, 1-byte device-writable status last, any layout in between, §2.6.4), IN/OUT data
 * checks (512-byte multiples inside the capacity, seg_max and size_max kept), FLUSH, GET_ID,
 * DISCARD and WRITE_ZEROES segments (§5.2.6.2), and completion of backend requests on the event
 * loop. Chains come from virtio_queue_drain() as a reader and a writer (virtio_chain.h); the
 * queue is plugged around the drain (blk_plug), so the requests of one kick reach the backend as
 * one batch. A chain without room for a header or a status cannot be answered, so it puts the
 * device in NEEDS_RESET; everything else the guest gets wrong is answered with IOERR or UNSUPP.
 */
#include "dev/virtio/virtio_blk.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define LOG_TAG "virtio-blk"
#include "base/ckd.h"
#include "base/log.h"
#include "block/blk.h"

/* One request handed to the backend. */
struct virtio_blk_req {
    struct blk_req br;
    struct virtio_blk *vb;
    uint32_t type; /* VIRTIO_BLK_T_*, for the counters */
    unsigned qidx;
    uint16_t head;
    uint32_t epoch;
    uint8_t *status;    /* the chain's last writable byte */
    uint32_t used_len;  /* used length when the backend succeeds (IN: data + status) */
    struct iovec iov[]; /* data segments (guest memory) */
};

/* Counts a request of (type) answered with (status), moving (bytes) of data. vd.lock held. */
static void account(struct virtio_blk *vb, uint32_t type, uint64_t bytes, uint8_t status)
{
    struct blk_stats *s = &vb->stats;
    if (status != VIRTIO_BLK_S_OK) {
        s->errors++;
        return;
    }
    switch (type) {
    case VIRTIO_BLK_T_IN:
        s->read_ops++;
        s->read_bytes += bytes;
        break;
    case VIRTIO_BLK_T_OUT:
        s->write_ops++;
        s->write_bytes += bytes;
        break;
    case VIRTIO_BLK_T_FLUSH:
        s->flush_ops++;
        break;
    case VIRTIO_BLK_T_DISCARD:
    case VIRTIO_BLK_T_WRITE_ZEROES:
        s->discard_ops++;
        break;
    default: /* GET_ID */
        break;
    }
}

/* Backend completion, on the event loop thread. */
static void req_done(struct blk_req *br, int ret)
{
    struct virtio_blk_req *r = container_of(br, struct virtio_blk_req, br);
    struct virtio_blk *vb = r->vb;

    pthread_mutex_lock(&vb->vd.lock);
    vb->queue_inflight[r->qidx]--;
    account(vb, r->type, br->len_bytes, ret < 0 ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK);
    if (virtio_req_end(&vb->vd, r->epoch)) {
        if (ret < 0)
            log_ratelimited(LOG_WARN, "%s: request at %llu failed: %d", vb->vd.name,
                            (unsigned long long)br->offset_bytes, ret);
        *r->status = ret < 0 ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
        virtio_queue_push(&vb->vd, r->qidx, r->head, ret < 0 ? 1 : r->used_len);
        virtio_queue_notify(&vb->vd, r->qidx);
    }
    pthread_mutex_unlock(&vb->vd.lock);
    free(r);
}

/* Checks that [sector, sector + len_bytes/512) is inside the disk and 512-aligned. */
static bool range_ok(const struct virtio_blk *vb, uint64_t sector, uint64_t len_bytes)
{
    uint64_t end;
    if (len_bytes % VIRTIO_BLK_SECTOR_SIZE != 0)
        return false;
    return !ckd_add(&end, sector, len_bytes / VIRTIO_BLK_SECTOR_SIZE) && end <= vb->cfg.capacity;
}

struct parsed {
    unsigned qidx;
    struct virtio_chain *c;
    struct virtio_blk_outhdr hdr;
};

/* Queues (r) with the backend. Returns -1 when the backend has it (the chain is kept), or the
 * status to answer at once when it refused. */
static int submit(struct virtio_blk *vb, struct virtio_blk_req *r)
{
    int ret;

    r->epoch = virtio_req_begin(&vb->vd);
    vb->queue_inflight[r->qidx]++;
    ret = blk_submit(vb->disk, &r->br);
    if (ret == 0)
        return -1;
    vb->queue_inflight[r->qidx]--;
    (void)virtio_req_end(&vb->vd, r->epoch);
    log_ratelimited(LOG_WARN, "%s: submit failed: %d", vb->vd.name, ret);
    free(r);
    return VIRTIO_BLK_S_IOERR;
}

static struct virtio_blk_req *req_alloc(struct virtio_blk *vb, const struct parsed *p,
                                        unsigned niov)
{
    struct virtio_blk_req *r = calloc(1, sizeof(*r) + niov * sizeof(struct iovec));
    if (r == NULL)
        return NULL;
    r->vb = vb;
    r->type = p->hdr.type;
    r->qidx = p->qidx;
    r->head = p->c->head;
    r->status = p->c->status;
    r->used_len = virtio_chain_used_len(p->c);
    r->br.done = req_done;
    r->br.opaque = r;
    r->br.iov = r->iov;
    return r;
}

/*
 * The limits announced in the configuration (§5.2.4: seg_max segments per request, size_max
 * bytes per segment): the driver must keep to them, and what it sends past them is refused
 * rather than buffered (an unaligned segment costs a bounce on cache=none disks).
 */
static bool segments_ok(const struct virtio_blk *vb, const struct iovec *iov, int cnt)
{
    if ((uint64_t)cnt > vb->cfg.seg_max) {
        log_ratelimited(LOG_WARN, "%s: request of %d segments, more than seg_max %u", vb->vd.name,
                        cnt, vb->cfg.seg_max);
        return false;
    }
    for (int i = 0; i < cnt; i++) {
        if (iov[i].iov_len > vb->cfg.size_max) {
            log_ratelimited(LOG_WARN, "%s: segment of %zu bytes, more than size_max %u",
                            vb->vd.name, iov[i].iov_len, vb->cfg.size_max);
            return false;
        }
    }
    return true;
}

/* IN / OUT. Returns the status for an immediate answer, or -1 when submitted. */
static int do_rw(struct virtio_blk *vb, const struct parsed *p, bool is_write)
{
    /* The data: what follows the header, or the writable part before the status. Reads slice
     * a copy of the writer: the backend fills those bytes later, and until it has, the used
     * length stays the status byte alone. */
    struct iov_iter data = is_write ? p->c->reader : p->c->writer;
    uint64_t len = iov_iter_left(&data);
    struct virtio_blk_req *r;
    int cnt;

    if (is_write && vb->is_readonly)
        return VIRTIO_BLK_S_IOERR;
    if (len > (uint64_t)VIRTIO_BLK_SEG_MAX * VIRTIO_BLK_SIZE_MAX ||
        !range_ok(vb, p->hdr.sector, len)) {
        log_ratelimited(LOG_WARN, "%s: %s of %llu bytes at sector %llu: unaligned or past %llu",
                        vb->vd.name, is_write ? "write" : "read", (unsigned long long)len,
                        (unsigned long long)p->hdr.sector, (unsigned long long)vb->cfg.capacity);
        return VIRTIO_BLK_S_IOERR;
    }
    if (len == 0)
        return VIRTIO_BLK_S_OK; /* nothing to move; the backend never sees empty I/O */
    r = req_alloc(vb, p, iov_iter_entries(&data));
    if (r == NULL)
        return VIRTIO_BLK_S_IOERR;
    cnt = iov_iter_slice(&data, len, r->iov, iov_iter_entries(&data));
    if (cnt < 0) { /* cannot happen: len is what is left, the array has every entry */
        free(r);
        return VIRTIO_BLK_S_IOERR;
    }
    r->br.op = is_write ? BLK_OP_WRITE : BLK_OP_READ;
    r->br.offset_bytes = p->hdr.sector * VIRTIO_BLK_SECTOR_SIZE; /* range_ok: no overflow */
    r->br.len_bytes = len;
    r->br.iovcnt = cnt;
    if (!segments_ok(vb, r->iov, r->br.iovcnt)) {
        free(r);
        return VIRTIO_BLK_S_IOERR;
    }
    if (!is_write)
        r->used_len += (uint32_t)len; /* bounded by SEG_MAX * SIZE_MAX above */
    return submit(vb, r);
}

static int do_flush(struct virtio_blk *vb, const struct parsed *p)
{
    struct virtio_blk_req *r = req_alloc(vb, p, 0);
    if (r == NULL)
        return VIRTIO_BLK_S_IOERR;
    r->br.op = BLK_OP_FLUSH;
    return submit(vb, r);
}

/* DISCARD / WRITE_ZEROES with one segment (max_*_seg is 1). */
static int do_discard_wz(struct virtio_blk *vb, const struct parsed *p, bool is_wz)
{
    struct virtio_blk_discard_wz seg;
    uint64_t payload = iov_iter_left(&p->c->reader);
    uint32_t unknown = ~(is_wz ? VIRTIO_BLK_DWZ_F_UNMAP : 0u);
    struct virtio_blk_req *r;

    if (!virtio_has_feature(&vb->vd, is_wz ? VIRTIO_BLK_F_WRITE_ZEROES : VIRTIO_BLK_F_DISCARD))
        return VIRTIO_BLK_S_UNSUPP;
    if (payload == 0 || payload % sizeof(seg) != 0 ||
        payload / sizeof(seg) > VIRTIO_BLK_MAX_DISCARD_SEG)
        return VIRTIO_BLK_S_IOERR;
    if (iov_iter_to_buf(&p->c->reader, &seg, sizeof(seg)) != sizeof(seg))
        return VIRTIO_BLK_S_IOERR;
    if (seg.flags & unknown)
        return VIRTIO_BLK_S_UNSUPP; /* §5.2.6.2: unknown flags, or unmap on a discard */
    if (vb->is_readonly || seg.num_sectors > VIRTIO_BLK_MAX_DISCARD_SECTORS ||
        !range_ok(vb, seg.sector, (uint64_t)seg.num_sectors * VIRTIO_BLK_SECTOR_SIZE)) {
        log_ratelimited(LOG_WARN, "%s: discard/write-zeroes of %u sectors at %llu refused",
                        vb->vd.name, seg.num_sectors, (unsigned long long)seg.sector);
        return VIRTIO_BLK_S_IOERR;
    }
    r = req_alloc(vb, p, 0);
    if (r == NULL)
        return VIRTIO_BLK_S_IOERR;
    r->br.op = is_wz ? BLK_OP_WRITE_ZEROES : BLK_OP_DISCARD;
    r->br.offset_bytes = seg.sector * VIRTIO_BLK_SECTOR_SIZE;
    r->br.len_bytes = (uint64_t)seg.num_sectors * VIRTIO_BLK_SECTOR_SIZE;
    return submit(vb, r);
}

/* Dispatches on the request type. Returns the status of an immediate answer, or -1 when the
 * backend has the request. */
static int dispatch(struct virtio_blk *vb, struct parsed *p)
{
    switch (p->hdr.type) {
    case VIRTIO_BLK_T_IN:
    case VIRTIO_BLK_T_OUT:
        return do_rw(vb, p, p->hdr.type == VIRTIO_BLK_T_OUT);
    case VIRTIO_BLK_T_FLUSH:
        return virtio_has_feature(&vb->vd, VIRTIO_BLK_F_FLUSH) ? do_flush(vb, p)
                                                               : VIRTIO_BLK_S_UNSUPP;
    case VIRTIO_BLK_T_GET_ID:
        /* at most 20 bytes, fewer if the buffer is smaller; not NUL-terminated when 20 long */
        (void)iov_iter_from_buf(&p->c->writer, vb->serial, VIRTIO_BLK_ID_BYTES);
        return VIRTIO_BLK_S_OK;
    case VIRTIO_BLK_T_DISCARD:
    case VIRTIO_BLK_T_WRITE_ZEROES:
        return do_discard_wz(vb, p, p->hdr.type == VIRTIO_BLK_T_WRITE_ZEROES);
    default:
        log_ratelimited(LOG_DEBUG, "%s: unsupported request type %u", vb->vd.name, p->hdr.type);
        return VIRTIO_BLK_S_UNSUPP;
    }
}

void virtio_blk_get_stats(struct virtio_blk *vb, struct blk_stats *out)
{
    pthread_mutex_lock(&vb->vd.lock);
    *out = vb->stats;
    out->in_flight = 0;
    for (unsigned i = 0; i < vb->vd.num_queues; i++)
        out->in_flight += vb->queue_inflight[i];
    pthread_mutex_unlock(&vb->vd.lock);
}

/* One request chain (virtio_chain_fn): framing checks, then dispatch. */
static enum virtio_chain_ret handle_chain(struct virtio_dev *vd, unsigned qidx,
                                          struct virtio_chain *c)
{
    struct virtio_blk *vb = container_of(vd, struct virtio_blk, vd);
    struct parsed p = {.qidx = qidx, .c = c};
    int st;

    if (virtio_chain_take_status(c) == NULL ||
        iov_iter_to_buf(&c->reader, &p.hdr, sizeof(p.hdr)) != sizeof(p.hdr)) {
        virtio_set_needs_reset(vd, "request without a header or a status byte");
        return VIRTIO_CHAIN_BROKEN;
    }
    if (vb->queue_inflight[qidx] >= vd->queues[qidx].size) {
        virtio_set_needs_reset(vd, "more requests in flight than queue entries");
        return VIRTIO_CHAIN_BROKEN;
    }
    st = dispatch(vb, &p);
    if (st < 0)
        return VIRTIO_CHAIN_KEPT;
    account(vb, p.hdr.type, 0, (uint8_t)st);
    *c->status = (uint8_t)st;
    return VIRTIO_CHAIN_DONE;
}

void virtio_blk_process_queue(struct virtio_blk *vb, unsigned qidx)
{
    /* One batch per kick: io_uring gets every request of the drain with one submit. */
    blk_plug(vb->disk);
    virtio_queue_drain(&vb->vd, qidx, handle_chain);
    blk_unplug(vb->disk);
}
