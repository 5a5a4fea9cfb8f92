/* SPDX-License-Identifier: MIT */
/*
 * The raw format: the virtual disk is the file or block device byte for byte. Reads and
 * writes go straight to the engine. Discard punches a hole in files (fallocate(2)
 * FALLOC_FL_PUNCH_HOLE) and issues BLKDISCARD on block devices; write-zeroes uses
 * FALLOC_FL_ZERO_RANGE on files and BLKZEROOUT on block devices, falling back to writing
 * zeros (on an engine worker thread) where the filesystem supports neither. Discard is
 * advisory: EOPNOTSUPP is ignored. All of it runs off the event loop thread (io_uring's
 * fallocate, or the engines' worker threads).
 * Holes of sparse files are found with lseek(2) SEEK_DATA/SEEK_HOLE (blk_block_status).
 */
#define LOG_TAG "blk-raw"
#include "block/blk_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"

struct raw_piece {
    struct blk *b;
    struct blk_req *req;
    bool is_fill; /* the write-zeroes fallback is running or has run */
};

/* Writes zeros over [off, off+len) (last resort for write-zeroes; on a worker thread). */
static int write_zeros_sync(struct blk *b, uint64_t off, uint64_t len)
{
    size_t chunk = (size_t)MIN(len, 1u << 20);
    void *zero = calloc(1, chunk);
    int ret = 0;

    if (!zero)
        return -ENOMEM;
    while (len > 0 && ret == 0) {
        size_t n = (size_t)MIN(len, chunk);
        ret = pwrite_full(b->bfd, zero, n, off);
        off += n;
        len -= n;
    }
    free(zero);
    return ret;
}

static int zero_fill_call(void *arg)
{
    struct raw_piece *p = arg;

    return write_zeros_sync(p->b, p->req->offset_bytes, p->req->len_bytes);
}

static void raw_piece_done(void *opaque, int ret)
{
    struct raw_piece *p = opaque;
    struct blk_req *req = p->req;

    if (!p->is_fill && (ret == -EOPNOTSUPP || ret == -ENOTTY || ret == -EINVAL)) {
        if (req->op == BLK_OP_DISCARD) {
            ret = 0;
        } else if (req->op == BLK_OP_WRITE_ZEROES) {
            /* no zeroing call here: zeros written on a worker (a guest may ask for 2 GiB) */
            p->is_fill = true;
            ret = blk_call_submit(p->b, zero_fill_call, p, raw_piece_done, p);
            if (ret == 0)
                return;
        }
    }
    blk_req_put(p->b, req, ret);
    free(p);
}

static int raw_submit(struct blk *b, struct blk_req *req)
{
    struct raw_piece *p = malloc(sizeof(*p));
    enum eio_op op = EIO_FSYNC;
    int mode = 0, ret;

    if (!p)
        return -ENOMEM;
    *p = (struct raw_piece){b, req, false};
    switch (req->op) {
    case BLK_OP_READ:
        op = EIO_READ;
        break;
    case BLK_OP_WRITE:
        op = EIO_WRITE;
        break;
    case BLK_OP_FLUSH:
        op = EIO_FSYNC;
        break;
    case BLK_OP_DISCARD:
        op = b->is_bdev ? EIO_BDEV_DISCARD : EIO_FALLOC;
        mode = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
        break;
    case BLK_OP_WRITE_ZEROES:
        op = b->is_bdev ? EIO_BDEV_ZEROOUT : EIO_FALLOC;
        mode = FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;
        break;
    }
    blk_req_hold(req);
    ret = blk_io_submit(b, op, b->fd, req->iov, req->iovcnt, req->offset_bytes, req->len_bytes,
                        mode, raw_piece_done, p);
    if (ret < 0) {
        req->priv[0]--;
        free(p);
    }
    return ret;
}

static int raw_read_sync(struct blk *b, void *buf, uint64_t len, uint64_t off)
{
    uint64_t avail = off < b->size_bytes ? b->size_bytes - off : 0;
    int ret = 0;

    if (avail > 0)
        ret = pread_full(b->bfd, buf, (size_t)MIN(len, avail), off);
    if (ret == -EIO) /* end of file inside the disk: reads as zeros */
        ret = 0;
    if (len > avail)
        memset((char *)buf + avail, 0, (size_t)(len - avail));
    return ret;
}

/* Holes and data of a sparse file (lseek(2) SEEK_DATA/SEEK_HOLE); block devices and
 * filesystems without them are all data. */
static int raw_block_status(struct blk *b, uint64_t off, uint64_t len, uint64_t *pnum,
                            bool *is_zero)
{
    off_t data, hole;

    *pnum = len;
    *is_zero = false;
    if (b->is_bdev)
        return 0;
    data = lseek(b->bfd, (off_t)off, SEEK_DATA);
    if (data < 0) {
        /* ENXIO: no data from (off) to the end of the file; anything else: unsupported */
        *is_zero = errno == ENXIO;
        return 0;
    }
    if ((uint64_t)data > off) {
        *is_zero = true;
        *pnum = MIN(len, (uint64_t)data - off);
        return 0;
    }
    hole = lseek(b->bfd, (off_t)off, SEEK_HOLE);
    if (hole > (off_t)off)
        *pnum = MIN(len, (uint64_t)hole - off);
    return 0;
}

static void raw_close(struct blk *b)
{
    (void)b;
}

const struct blk_driver raw_driver = {
    .name = "raw",
    .submit = raw_submit,
    .read_sync = raw_read_sync,
    .block_status = raw_block_status,
    .close = raw_close,
};

int raw_open(struct blk *b, struct error *err)
{
    (void)err;
    b->drv = &raw_driver;
    b->size_bytes = b->file_size_bytes;
    return 0;
}
