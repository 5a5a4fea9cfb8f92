/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk request handling (virtio 1.2 §5.2.6): framing (16-byte device-readable header
 * first, 1-byte device-writable status last, any layout in between, §2.6.4), IN/OUT data
 * checks (512-byte multiples inside the capacity, seg_max and size_max kept), FLUSH, GET_ID,
 * DISCARD and WRITE_ZEROES segments (§5.2.6.2), and completion of backend requests on the event
 * loop. A chain without room for a header or a status cannot be answered, so it puts the device in
 * NEEDS_RESET; everything else the guest gets wrong is answered with IOERR or UNSUPP.
 */
#include "dev/virtio/blk.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define LOG_TAG "virtio-blk"
#include "base/ckd.h"
#include "base/log.h"
#include "block/blk.h"

/* One request handed to the backend. */
struct vblk_req {
    struct blk_req br;
    struct virtio_blk *vb;
    uint32_t type; /* VIRTIO_BLK_T_*, for the counters */
    unsigned qidx;
    uint16_t head;
    uint32_t epoch;
    uint8_t *status;    /* the chain's last writable byte */
    uint32_t data_len;  /* bytes the device writes besides the status (IN) */
    struct iovec iov[]; /* data segments (guest memory) */
};

/* Copies (len) bytes at byte (skip) of the iovec list into (buf). Returns 0 or -EINVAL. */
static int iov_gather(const struct iovec *iov, unsigned n, uint64_t skip, void *buf, size_t len)
{
    uint8_t *dst = buf;
    for (unsigned i = 0; i < n && len > 0; i++) {
        size_t take;
        if (skip >= iov[i].iov_len) {
            skip -= iov[i].iov_len;
            continue;
        }
        take = MIN(len, iov[i].iov_len - skip);
        memcpy(dst, (const uint8_t *)iov[i].iov_base + skip, take);
        dst += take;
        len -= take;
        skip = 0;
    }
    return len == 0 ? 0 : -EINVAL;
}

/* Copies (len) bytes from (buf) into the iovec list. Returns bytes copied. */
static size_t iov_scatter(const struct iovec *iov, unsigned n, const void *buf, size_t len)
{
    const uint8_t *src = buf;
    size_t done = 0;
    for (unsigned i = 0; i < n && done < len; i++) {
        size_t take = MIN(len - done, iov[i].iov_len);
        memcpy(iov[i].iov_base, src + done, take);
        done += take;
    }
    return done;
}

/* Takes bytes [skip, skip+len) of (src) into (dst); returns the number of entries. */
static int iov_slice(const struct iovec *src, unsigned n, uint64_t skip, uint64_t len,
                     struct iovec *dst)
{
    int cnt = 0;
    for (unsigned i = 0; i < n && len > 0; i++) {
        uint64_t take;
        if (skip >= src[i].iov_len) {
            skip -= src[i].iov_len;
            continue;
        }
        take = MIN(len, src[i].iov_len - skip);
        dst[cnt].iov_base = (uint8_t *)src[i].iov_base + skip;
        dst[cnt].iov_len = take;
        cnt++;
        len -= take;
        skip = 0;
    }
    return cnt;
}

/* Counts a request of (type) answered with (status), moving (bytes) of data. vd.lock held. */
static void account(struct virtio_blk *vb, uint32_t type, uint64_t bytes, uint8_t status)
{
    struct virtio_blk_stats *s = &vb->stats;
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

/* Answers a request at once: status byte, used entry. */
static void complete_now(struct virtio_blk *vb, unsigned qidx, uint16_t head, uint8_t *status,
                         uint32_t written, uint8_t code)
{
    *status = code;
    virtio_queue_push(&vb->vd, qidx, head, written + 1);
}

/* Backend completion, on the event loop thread. */
static void req_done(struct blk_req *br, int ret)
{
    struct vblk_req *r = container_of(br, struct vblk_req, br);
    struct virtio_blk *vb = r->vb;

    pthread_mutex_lock(&vb->vd.lock);
    vb->queue_inflight[r->qidx]--;
    account(vb, r->type, br->len_bytes, ret < 0 ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK);
    if (virtio_req_end(&vb->vd, r->epoch)) {
        if (ret < 0)
            log_ratelimited(LOG_WARN, "%s: request at %llu failed: %d", vb->vd.name,
                            (unsigned long long)br->offset_bytes, ret);
        complete_now(vb, r->qidx, r->head, r->status, ret < 0 ? 0 : r->data_len,
                     ret < 0 ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK);
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
    const struct virtq_elem *elem;
    struct virtio_blk_outhdr hdr;
    uint8_t *status;
    const struct iovec *wiov; /* writable iovecs */
};

/* Queues (r) with the backend; on refusal answers IOERR at once. Returns true if answered. */
static bool submit(struct virtio_blk *vb, struct vblk_req *r)
{
    int ret;

    r->epoch = virtio_req_begin(&vb->vd);
    vb->queue_inflight[r->qidx]++;
    ret = blk_submit(vb->disk, &r->br);
    if (ret == 0)
        return false;
    vb->queue_inflight[r->qidx]--;
    (void)virtio_req_end(&vb->vd, r->epoch);
    log_ratelimited(LOG_WARN, "%s: submit failed: %d", vb->vd.name, ret);
    account(vb, r->type, 0, VIRTIO_BLK_S_IOERR);
    complete_now(vb, r->qidx, r->head, r->status, 0, VIRTIO_BLK_S_IOERR);
    free(r);
    return true;
}

static struct vblk_req *req_alloc(struct virtio_blk *vb, const struct parsed *p, unsigned niov)
{
    struct vblk_req *r = calloc(1, sizeof(*r) + niov * sizeof(struct iovec));
    if (r == NULL)
        return NULL;
    r->vb = vb;
    r->type = p->hdr.type;
    r->qidx = p->qidx;
    r->head = p->elem->head;
    r->status = p->status;
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
    const struct virtq_elem *e = p->elem;
    uint64_t len = is_write ? e->readable_bytes - sizeof(p->hdr) : e->writable_bytes - 1;
    unsigned niov = is_write ? e->n_readable : e->n_writable;
    struct vblk_req *r;

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
    r = req_alloc(vb, p, niov);
    if (r == NULL)
        return VIRTIO_BLK_S_IOERR;
    r->br.op = is_write ? BLK_OP_WRITE : BLK_OP_READ;
    r->br.offset_bytes = p->hdr.sector * VIRTIO_BLK_SECTOR_SIZE; /* range_ok: no overflow */
    r->br.len_bytes = len;
    r->data_len = is_write ? 0 : (uint32_t)len;
    if (is_write)
        r->br.iovcnt = iov_slice(e->iov, e->n_readable, sizeof(p->hdr), len, r->iov);
    else
        r->br.iovcnt = iov_slice(p->wiov, e->n_writable, 0, len, r->iov);
    if (!segments_ok(vb, r->iov, r->br.iovcnt)) {
        free(r);
        return VIRTIO_BLK_S_IOERR;
    }
    submit(vb, r);
    return -1;
}

static int do_flush(struct virtio_blk *vb, const struct parsed *p)
{
    struct vblk_req *r = req_alloc(vb, p, 0);
    if (r == NULL)
        return VIRTIO_BLK_S_IOERR;
    r->br.op = BLK_OP_FLUSH;
    submit(vb, r);
    return -1;
}

/* DISCARD / WRITE_ZEROES with one segment (max_*_seg is 1). */
static int do_discard_wz(struct virtio_blk *vb, const struct parsed *p, bool is_wz)
{
    const struct virtq_elem *e = p->elem;
    struct virtio_blk_discard_wz seg;
    uint64_t payload = e->readable_bytes - sizeof(p->hdr);
    uint32_t unknown = ~(is_wz ? VIRTIO_BLK_DWZ_F_UNMAP : 0u);
    struct vblk_req *r;

    if (!virtio_has_feature(&vb->vd, is_wz ? VIRTIO_BLK_F_WRITE_ZEROES : VIRTIO_BLK_F_DISCARD))
        return VIRTIO_BLK_S_UNSUPP;
    if (payload == 0 || payload % sizeof(seg) != 0 ||
        payload / sizeof(seg) > VIRTIO_BLK_MAX_DISCARD_SEG)
        return VIRTIO_BLK_S_IOERR;
    if (iov_gather(e->iov, e->n_readable, sizeof(p->hdr), &seg, sizeof(seg)) < 0)
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
    submit(vb, r);
    return -1;
}

/* Dispatches on the request type; answers at once unless the backend took the request. */
static void handle(struct virtio_blk *vb, struct parsed *p)
{
    const struct virtq_elem *e = p->elem;
    struct iovec id_iov[VIRTIO_BLK_ID_BYTES]; /* 20 bytes: at most 20 pieces */
    uint32_t written = 0;
    int cnt, st;

    switch (p->hdr.type) {
    case VIRTIO_BLK_T_IN:
    case VIRTIO_BLK_T_OUT:
        st = do_rw(vb, p, p->hdr.type == VIRTIO_BLK_T_OUT);
        break;
    case VIRTIO_BLK_T_FLUSH:
        st =
            virtio_has_feature(&vb->vd, VIRTIO_BLK_F_FLUSH) ? do_flush(vb, p) : VIRTIO_BLK_S_UNSUPP;
        break;
    case VIRTIO_BLK_T_GET_ID:
        cnt = iov_slice(p->wiov, e->n_writable, 0, MIN(e->writable_bytes - 1, VIRTIO_BLK_ID_BYTES),
                        id_iov);
        written = (uint32_t)iov_scatter(id_iov, (unsigned)cnt, vb->serial, VIRTIO_BLK_ID_BYTES);
        st = VIRTIO_BLK_S_OK;
        break;
    case VIRTIO_BLK_T_DISCARD:
    case VIRTIO_BLK_T_WRITE_ZEROES:
        st = do_discard_wz(vb, p, p->hdr.type == VIRTIO_BLK_T_WRITE_ZEROES);
        break;
    default:
        log_ratelimited(LOG_DEBUG, "%s: unsupported request type %u", vb->vd.name, p->hdr.type);
        st = VIRTIO_BLK_S_UNSUPP;
        break;
    }
    if (st >= 0) {
        account(vb, p->hdr.type, 0, (uint8_t)st);
        complete_now(vb, p->qidx, e->head, p->status, written, (uint8_t)st);
    }
}

void virtio_blk_get_stats(struct virtio_blk *vb, struct virtio_blk_stats *out)
{
    pthread_mutex_lock(&vb->vd.lock);
    *out = vb->stats;
    out->in_flight = 0;
    for (unsigned i = 0; i < vb->vd.num_queues; i++)
        out->in_flight += vb->queue_inflight[i];
    pthread_mutex_unlock(&vb->vd.lock);
}

/* Framing checks. Returns 1 to go on with (p), 0 when answered, -1 when the device broke. */
static int parse(struct virtio_blk *vb, unsigned qidx, const struct virtq_elem *e, struct parsed *p)
{
    const struct iovec *last;

    memset(p, 0, sizeof(*p));
    p->qidx = qidx;
    p->elem = e;
    if (e->n_writable == 0 || e->readable_bytes < sizeof(p->hdr)) {
        virtio_set_needs_reset(&vb->vd, "request without a header or a status byte");
        return -1;
    }
    last = &e->iov[e->n_readable + e->n_writable - 1];
    p->status = (uint8_t *)last->iov_base + last->iov_len - 1;
    p->wiov = &e->iov[e->n_readable];
    if (iov_gather(e->iov, e->n_readable, 0, &p->hdr, sizeof(p->hdr)) < 0)
        return -1; /* cannot happen: readable_bytes >= 16 */
    if (vb->queue_inflight[qidx] >= vb->vd.queues[qidx].size) {
        virtio_set_needs_reset(&vb->vd, "more requests in flight than queue entries");
        return -1;
    }
    return 1;
}

void virtio_blk_process_queue(struct virtio_blk *vb, unsigned qidx)
{
    struct virtq *vq = &vb->vd.queues[qidx].vq;
    struct virtq_elem elem = {.iov = vb->scratch_iov, .iov_cap = VIRTQ_CHAIN_MAX};
    uint16_t used_before = vq->used_idx;
    struct parsed p;
    int ret;

    unsigned budget = VIRTIO_QUEUE_BUDGET;

    do {
        virtq_disable_notify(vq);
        while ((ret = virtio_queue_pop(&vb->vd, qidx, &elem)) > 0) {
            if (parse(vb, qidx, &elem, &p) < 0)
                return;
            handle(vb, &p);
            if (--budget == 0) {
                virtio_queue_defer(&vb->vd, qidx); /* notifications stay off meanwhile */
                break;
            }
        }
        if (ret < 0)
            return;
    } while (budget > 0 && virtq_enable_notify(vq));
    if (vq->used_idx != used_before)
        virtio_queue_notify(&vb->vd, qidx);
}
