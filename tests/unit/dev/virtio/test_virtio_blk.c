/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for dev/virtio/virtio_blk.c and virtio_blk_req.c over a real gmem and the blk_mem fake
 * disk: read/write round trips, sectors past the capacity, unaligned lengths, unknown types
 * (UNSUPP), writes to a read-only disk, GET_ID, FLUSH, DISCARD/WRITE_ZEROES ranges and flags,
 * chains without header or status, submit failures and reset with requests in flight
 * (virtio 1.2 §5.2).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "blk_mem.h"
#include "core/gmem.h"
#include "dev/virtio/virtio_blk.h"
#include "guest_ring.h"

#define RAM_BYTES (16ULL << 20)
#define DISK_BYTES (1ULL << 20)
#define DISK_SECTORS (DISK_BYTES / 512)
#define HDR_GPA 0x100000ULL
#define DATA_GPA 0x200000ULL
#define STATUS_GPA 0x300000ULL
#define NO_STATUS 0xaa

struct fixture {
    struct gmem *gm;
    struct blk *disk;
    struct virtio_blk *vb;
    struct guest_ring r;
    uint16_t next_desc;
};

static uint64_t features(const struct virtio_blk *vb)
{
    /* everything offered except EVENT_IDX, like a simple driver */
    return vb->vd.host_features & ~VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX);
}

static int setup_opts_size(void **state, bool is_readonly, uint64_t disk_bytes)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct virtio_blk_opts opts = {.serial = "bareiron-serial-0123456789"};
    assert_non_null(f);
    assert_int_equal(gmem_create(&f->gm), 0);
    assert_int_equal(gmem_add_region(f->gm, 0, RAM_BYTES, "ram", false, NULL), 0);
    f->disk = blk_mem_create(disk_bytes, is_readonly);
    assert_int_equal(virtio_blk_create(&opts, f->disk, f->gm, &f->vb), 0);
    guest_ring_init(&f->r, f->gm, 0x10000, 64);
    assert_int_equal(guest_dev_bringup(&f->vb->vd, &f->r, 1, features(f->vb)),
                     VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
                         VIRTIO_STATUS_DRIVER_OK);
    *state = f;
    return 0;
}

static int setup_opts(void **state, bool is_readonly)
{
    return setup_opts_size(state, is_readonly, DISK_BYTES);
}

static int setup_big(void **state)
{
    return setup_opts_size(state, false, 4 * DISK_BYTES);
}

static int setup(void **state)
{
    return setup_opts(state, false);
}

static int setup_ro(void **state)
{
    return setup_opts(state, true);
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    blk_close(f->disk); /* completes what is left, before the device goes */
    virtio_blk_destroy(f->vb);
    gmem_destroy(f->gm);
    free(f);
    return 0;
}

static void put_hdr(struct fixture *f, uint32_t type, uint64_t sector)
{
    struct virtio_blk_outhdr h = {.type = type, .sector = sector};
    uint8_t st = NO_STATUS;
    assert_int_equal(gmem_write(f->gm, HDR_GPA, &h, sizeof(h)), 0);
    assert_int_equal(gmem_write(f->gm, STATUS_GPA, &st, 1), 0);
}

static uint16_t desc(struct fixture *f, uint64_t gpa, uint32_t len, uint16_t flags, bool is_last)
{
    uint16_t i = f->next_desc++ % f->r.size;
    guest_ring_desc(&f->r, 0, i, gpa, len, (uint16_t)(flags | (is_last ? 0 : VIRTQ_DESC_F_NEXT)),
                    (uint16_t)((i + 1) % f->r.size));
    return i;
}

/* header | data (readable for OUT, writable otherwise) | status; returns the head */
static uint16_t request(struct fixture *f, uint32_t type, uint64_t sector, uint32_t data_len)
{
    bool is_out = type == VIRTIO_BLK_T_OUT || type == VIRTIO_BLK_T_DISCARD ||
                  type == VIRTIO_BLK_T_WRITE_ZEROES;
    uint16_t head;
    put_hdr(f, type, sector);
    head = desc(f, HDR_GPA, 16, 0, false);
    if (data_len)
        desc(f, DATA_GPA, data_len, is_out ? 0 : VIRTQ_DESC_F_WRITE, false);
    desc(f, STATUS_GPA, 1, VIRTQ_DESC_F_WRITE, true);
    guest_ring_publish(&f->r, head);
    virtio_queue_kick(&f->vb->vd, 0);
    return head;
}

static uint8_t status_byte(struct fixture *f)
{
    uint8_t st;
    assert_int_equal(gmem_read(f->gm, STATUS_GPA, &st, 1), 0);
    return st;
}

/* completes the backend's requests and returns the status of the single used entry */
static uint8_t finish(struct fixture *f, uint16_t head, uint32_t expect_len)
{
    uint32_t id, len;
    blk_mem_complete(f->disk, 100);
    assert_true(guest_ring_used(&f->r, &id, &len));
    assert_int_equal(id, head);
    assert_int_equal(len, expect_len);
    return status_byte(f);
}

static void test_config(void **state)
{
    struct fixture *f = *state;
    struct virtio_dev *vd = &f->vb->vd;
    assert_int_equal(virtio_read_config(vd, 0, 8), DISK_SECTORS);
    assert_int_equal(virtio_read_config(vd, 20, 4), 512);
    assert_int_equal(virtio_read_config(vd, 12, 4), VIRTIO_BLK_SEG_MAX);
    assert_int_equal(virtio_read_config(vd, 34, 2), 1);
    assert_int_equal(virtio_read_config(vd, 36, 4), VIRTIO_BLK_MAX_DISCARD_SECTORS);
    assert_int_equal(virtio_read_config(vd, 60, 4), 0); /* past the layout */
    assert_true(vd->host_features & VIRTIO_BIT(VIRTIO_BLK_F_DISCARD));
    assert_false(vd->host_features & VIRTIO_BIT(VIRTIO_BLK_F_RO));
    assert_false(vd->host_features & VIRTIO_BIT(VIRTIO_BLK_F_MQ));
}

static void test_write_read(void **state)
{
    struct fixture *f = *state;
    uint8_t buf[1024], back[1024];
    uint16_t head;

    for (unsigned i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)(i * 7 + 1);
    assert_int_equal(gmem_write(f->gm, DATA_GPA, buf, sizeof(buf)), 0);
    head = request(f, VIRTIO_BLK_T_OUT, 10, sizeof(buf));
    assert_int_equal(blk_mem_pending(f->disk), 1);
    assert_int_equal(status_byte(f), NO_STATUS); /* not before the backend completes */
    assert_int_equal(finish(f, head, 1), VIRTIO_BLK_S_OK);
    assert_memory_equal(blk_mem_data(f->disk) + 10 * 512, buf, sizeof(buf));

    memset(back, 0, sizeof(back));
    assert_int_equal(gmem_write(f->gm, DATA_GPA, back, sizeof(back)), 0);
    head = request(f, VIRTIO_BLK_T_IN, 10, sizeof(buf));
    assert_int_equal(finish(f, head, sizeof(buf) + 1), VIRTIO_BLK_S_OK);
    assert_int_equal(gmem_read(f->gm, DATA_GPA, back, sizeof(back)), 0);
    assert_memory_equal(back, buf, sizeof(buf));
}

static void test_header_and_data_in_one(void **state)
{
    struct fixture *f = *state;
    uint8_t buf[16 + 512];
    struct virtio_blk_outhdr h = {.type = VIRTIO_BLK_T_OUT, .sector = 3};
    uint16_t head;

    memcpy(buf, &h, sizeof(h));
    memset(buf + 16, 0x5a, 512);
    assert_int_equal(gmem_write(f->gm, HDR_GPA, buf, sizeof(buf)), 0);
    head = desc(f, HDR_GPA, sizeof(buf), 0, false);
    desc(f, STATUS_GPA, 1, VIRTQ_DESC_F_WRITE, true);
    guest_ring_publish(&f->r, head);
    virtio_queue_kick(&f->vb->vd, 0);
    assert_int_equal(finish(f, head, 1), VIRTIO_BLK_S_OK);
    assert_int_equal(blk_mem_data(f->disk)[3 * 512 + 100], 0x5a);
}

/* The requests of one kick reach the backend between one plug and one unplug. */
static void test_batch_per_kick(void **state)
{
    struct fixture *f = *state;
    uint32_t id, len;

    put_hdr(f, VIRTIO_BLK_T_OUT, 0);
    for (unsigned i = 0; i < 3; i++) {
        uint16_t head = desc(f, HDR_GPA, 16, 0, false);
        desc(f, DATA_GPA + 512 * i, 512, 0, false);
        desc(f, STATUS_GPA + i, 1, VIRTQ_DESC_F_WRITE, true);
        guest_ring_publish(&f->r, head);
    }
    virtio_queue_kick(&f->vb->vd, 0);
    assert_int_equal(blk_mem_pending(f->disk), 3);
    assert_int_equal(blk_mem_batches(f->disk), 1);
    assert_false(blk_mem_is_plugged(f->disk));
    blk_mem_complete(f->disk, 100);
    for (unsigned i = 0; i < 3; i++) {
        assert_true(guest_ring_used(&f->r, &id, &len));
        assert_int_equal(len, 1);
    }
}

/* A header spread over three descriptors, data starting inside the last one. */
static void test_header_split(void **state)
{
    struct fixture *f = *state;
    uint8_t buf[16 + 512];
    struct virtio_blk_outhdr h = {.type = VIRTIO_BLK_T_OUT, .sector = 5};
    uint16_t head;

    memcpy(buf, &h, sizeof(h));
    memset(buf + 16, 0x3c, 512);
    assert_int_equal(gmem_write(f->gm, HDR_GPA, buf, sizeof(buf)), 0);
    head = desc(f, HDR_GPA, 3, 0, false);
    desc(f, HDR_GPA + 3, 9, 0, false);
    desc(f, HDR_GPA + 12, sizeof(buf) - 12, 0, false);
    desc(f, STATUS_GPA, 1, VIRTQ_DESC_F_WRITE, true);
    guest_ring_publish(&f->r, head);
    virtio_queue_kick(&f->vb->vd, 0);
    assert_int_equal(finish(f, head, 1), VIRTIO_BLK_S_OK);
    assert_int_equal(blk_mem_data(f->disk)[5 * 512], 0x3c);
    assert_int_equal(blk_mem_data(f->disk)[6 * 512 - 1], 0x3c);
    assert_int_equal(blk_mem_data(f->disk)[6 * 512], 0);
}

/* Data and status in one writable descriptor: the status is its last byte. */
static void test_status_in_data(void **state)
{
    struct fixture *f = *state;
    uint8_t st = 0;
    uint16_t head;
    uint32_t id, len;

    memset(blk_mem_data(f->disk), 0x77, 512);
    put_hdr(f, VIRTIO_BLK_T_IN, 0);
    head = desc(f, HDR_GPA, 16, 0, false);
    desc(f, DATA_GPA, 513, VIRTQ_DESC_F_WRITE, true);
    guest_ring_publish(&f->r, head);
    virtio_queue_kick(&f->vb->vd, 0);
    blk_mem_complete(f->disk, 100);
    assert_true(guest_ring_used(&f->r, &id, &len));
    assert_int_equal(len, 513);
    assert_int_equal(gmem_read(f->gm, DATA_GPA + 512, &st, 1), 0);
    assert_int_equal(st, VIRTIO_BLK_S_OK);
    assert_int_equal(gmem_read(f->gm, DATA_GPA + 511, &st, 1), 0);
    assert_int_equal(st, 0x77);
}

static void test_past_capacity(void **state)
{
    struct fixture *f = *state;
    uint16_t head = request(f, VIRTIO_BLK_T_IN, DISK_SECTORS - 1, 1024);
    assert_int_equal(blk_mem_pending(f->disk), 0);
    assert_int_equal(finish(f, head, 1), VIRTIO_BLK_S_IOERR);
    head = request(f, VIRTIO_BLK_T_OUT, UINT64_MAX, 512); /* sector + n wraps */
    assert_int_equal(finish(f, head, 1), VIRTIO_BLK_S_IOERR);
    head = request(f, VIRTIO_BLK_T_OUT, UINT64_MAX / 512 + 1, 512); /* sector * 512 wraps */
    assert_int_equal(finish(f, head, 1), VIRTIO_BLK_S_IOERR);
    head = request(f, VIRTIO_BLK_T_IN, DISK_SECTORS - 2, 1024); /* last sectors: fine */
    assert_int_equal(finish(f, head, 1025), VIRTIO_BLK_S_OK);
}

static void test_unaligned(void **state)
{
    struct fixture *f = *state;
    uint16_t head = request(f, VIRTIO_BLK_T_IN, 0, 100);
    assert_int_equal(finish(f, head, 1), VIRTIO_BLK_S_IOERR);
    head = request(f, VIRTIO_BLK_T_OUT, 0, 513);
    assert_int_equal(finish(f, head, 1), VIRTIO_BLK_S_IOERR);
    assert_int_equal(virtio_read_status(&f->vb->vd) & VIRTIO_STATUS_NEEDS_RESET, 0);
}

static void test_empty_rw(void **state)
{
    struct fixture *f = *state;
    uint16_t head = request(f, VIRTIO_BLK_T_IN, 5, 0); /* header + status only */
    assert_int_equal(finish(f, head, 1), VIRTIO_BLK_S_OK);
    head = request(f, VIRTIO_BLK_T_OUT, DISK_SECTORS + 1, 0);
    assert_int_equal(finish(f, head, 1), VIRTIO_BLK_S_IOERR);
    assert_int_equal(blk_mem_count(f->disk, BLK_OP_READ) + blk_mem_count(f->disk, BLK_OP_WRITE), 0);
}

static void test_unknown_type(void **state)
{
    struct fixture *f = *state;
    uint16_t head = request(f, 0x1234, 0, 0);
    assert_int_equal(finish(f, head, 1), VIRTIO_BLK_S_UNSUPP);
    head = request(f, 10 /* GET_LIFETIME: not offered */, 0, 64);
    assert_int_equal(finish(f, head, 1), VIRTIO_BLK_S_UNSUPP);
}

static void test_get_id(void **state)
{
    struct fixture *f = *state;
    char id[32];
    uint16_t head = request(f, VIRTIO_BLK_T_GET_ID, 0, 32);
    assert_int_equal(finish(f, head, 21), VIRTIO_BLK_S_OK);
    assert_int_equal(gmem_read(f->gm, DATA_GPA, id, sizeof(id)), 0);
    assert_memory_equal(id, "bareiron-serial-0123", 20);
    head = request(f, VIRTIO_BLK_T_GET_ID, 0, 8); /* short buffer: truncated */
    assert_int_equal(finish(f, head, 9), VIRTIO_BLK_S_OK);
}

static void test_flush(void **state)
{
    struct fixture *f = *state;
    uint16_t head = request(f, VIRTIO_BLK_T_FLUSH, 0, 0);
    assert_int_equal(finish(f, head, 1), VIRTIO_BLK_S_OK);
    assert_int_equal(blk_mem_count(f->disk, BLK_OP_FLUSH), 1);
}

static uint16_t discard(struct fixture *f, uint32_t type, uint64_t sector, uint32_t n,
                        uint32_t flags)
{
    struct virtio_blk_discard_wz seg = {.sector = sector, .num_sectors = n, .flags = flags};
    assert_int_equal(gmem_write(f->gm, DATA_GPA, &seg, sizeof(seg)), 0);
    return request(f, type, 0, sizeof(seg));
}

static void test_discard_write_zeroes(void **state)
{
    struct fixture *f = *state;
    uint16_t head;

    memset(blk_mem_data(f->disk), 0xff, DISK_BYTES);
    head = discard(f, VIRTIO_BLK_T_WRITE_ZEROES, 4, 2, VIRTIO_BLK_DWZ_F_UNMAP);
    assert_int_equal(finish(f, head, 1), VIRTIO_BLK_S_OK);
    assert_int_equal(blk_mem_data(f->disk)[4 * 512], 0);
    assert_int_equal(blk_mem_data(f->disk)[6 * 512 - 1], 0);
    assert_int_equal(blk_mem_data(f->disk)[6 * 512], 0xff);
    head = discard(f, VIRTIO_BLK_T_DISCARD, 0, 8, 0);
    assert_int_equal(finish(f, head, 1), VIRTIO_BLK_S_OK);
    assert_int_equal(blk_mem_count(f->disk, BLK_OP_DISCARD), 1);
}

static void test_discard_bad(void **state)
{
    struct fixture *f = *state;
    struct virtio_blk_discard_wz segs[2] = {{.sector = 0, .num_sectors = 1}};
    uint16_t head;

    head = discard(f, VIRTIO_BLK_T_DISCARD, 0, UINT32_MAX, 0); /* huge */
    assert_int_equal(finish(f, head, 1), VIRTIO_BLK_S_IOERR);
    head = discard(f, VIRTIO_BLK_T_DISCARD, DISK_SECTORS - 1, 2, 0); /* past the end */
    assert_int_equal(finish(f, head, 1), VIRTIO_BLK_S_IOERR);
    head = discard(f, VIRTIO_BLK_T_DISCARD, UINT64_MAX - 1, 4, 0); /* wraps */
    assert_int_equal(finish(f, head, 1), VIRTIO_BLK_S_IOERR);
    head = discard(f, VIRTIO_BLK_T_DISCARD, 0, 1, VIRTIO_BLK_DWZ_F_UNMAP); /* unmap on discard */
    assert_int_equal(finish(f, head, 1), VIRTIO_BLK_S_UNSUPP);
    head = discard(f, VIRTIO_BLK_T_WRITE_ZEROES, 0, 1, 0x80); /* unknown flag */
    assert_int_equal(finish(f, head, 1), VIRTIO_BLK_S_UNSUPP);
    /* two segments: more than max_discard_seg */
    assert_int_equal(gmem_write(f->gm, DATA_GPA, segs, sizeof(segs)), 0);
    head = request(f, VIRTIO_BLK_T_DISCARD, 0, sizeof(segs));
    assert_int_equal(finish(f, head, 1), VIRTIO_BLK_S_IOERR);
    /* a payload that is not a whole segment, or none */
    head = request(f, VIRTIO_BLK_T_DISCARD, 0, 10);
    assert_int_equal(finish(f, head, 1), VIRTIO_BLK_S_IOERR);
    head = request(f, VIRTIO_BLK_T_DISCARD, 0, 0);
    assert_int_equal(finish(f, head, 1), VIRTIO_BLK_S_IOERR);
    assert_int_equal(blk_mem_count(f->disk, BLK_OP_DISCARD), 0);
}

static void test_readonly(void **state)
{
    struct fixture *f = *state;
    struct virtio_dev *vd = &f->vb->vd;
    uint16_t head;

    assert_true(vd->host_features & VIRTIO_BIT(VIRTIO_BLK_F_RO));
    assert_false(vd->host_features & VIRTIO_BIT(VIRTIO_BLK_F_DISCARD));
    assert_false(vd->host_features & VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES));
    head = request(f, VIRTIO_BLK_T_OUT, 0, 512);
    assert_int_equal(finish(f, head, 1), VIRTIO_BLK_S_IOERR);
    assert_int_equal(blk_mem_count(f->disk, BLK_OP_WRITE), 0);
    head = discard(f, VIRTIO_BLK_T_WRITE_ZEROES, 0, 1, 0); /* not negotiated */
    assert_int_equal(finish(f, head, 1), VIRTIO_BLK_S_UNSUPP);
    head = request(f, VIRTIO_BLK_T_IN, 0, 512);
    assert_int_equal(finish(f, head, 513), VIRTIO_BLK_S_OK);
}

static void test_no_status(void **state)
{
    struct fixture *f = *state;
    uint16_t head;
    uint32_t id, len;
    put_hdr(f, VIRTIO_BLK_T_IN, 0);
    head = desc(f, HDR_GPA, 16, 0, false);
    desc(f, STATUS_GPA, 0, VIRTQ_DESC_F_WRITE, true); /* zero-length status */
    guest_ring_publish(&f->r, head);
    virtio_queue_kick(&f->vb->vd, 0);
    assert_true(virtio_read_status(&f->vb->vd) & VIRTIO_STATUS_NEEDS_RESET);
    assert_false(guest_ring_used(&f->r, &id, &len));
    assert_int_equal(status_byte(f), NO_STATUS);
}

static void test_short_header(void **state)
{
    struct fixture *f = *state;
    uint16_t head;
    put_hdr(f, VIRTIO_BLK_T_IN, 0);
    head = desc(f, HDR_GPA, 8, 0, false);
    desc(f, STATUS_GPA, 1, VIRTQ_DESC_F_WRITE, true);
    guest_ring_publish(&f->r, head);
    virtio_queue_kick(&f->vb->vd, 0);
    assert_true(virtio_read_status(&f->vb->vd) & VIRTIO_STATUS_NEEDS_RESET);
}

static void test_submit_error(void **state)
{
    struct fixture *f = *state;
    uint16_t head;
    blk_mem_set_submit_error(f->disk, -EIO);
    head = request(f, VIRTIO_BLK_T_IN, 0, 512);
    assert_int_equal(finish(f, head, 1), VIRTIO_BLK_S_IOERR);
    assert_int_equal(f->vb->vd.inflight, 0);
}

static void test_reset_inflight(void **state)
{
    struct fixture *f = *state;
    struct virtio_dev *vd = &f->vb->vd;
    uint32_t id, len;

    request(f, VIRTIO_BLK_T_IN, 0, 512);
    request(f, VIRTIO_BLK_T_FLUSH, 0, 0);
    assert_int_equal(blk_mem_pending(f->disk), 2);
    pthread_mutex_lock(&vd->lock);
    virtio_write_status(vd, 0);
    assert_int_not_equal(virtio_read_status(vd), 0);
    pthread_mutex_unlock(&vd->lock);
    assert_int_equal(blk_mem_complete(f->disk, 1), 1);
    assert_int_not_equal(virtio_read_status(vd), 0);
    assert_int_equal(blk_mem_complete(f->disk, 1), 1);
    assert_int_equal(virtio_read_status(vd), 0);
    /* the old requests were not returned */
    assert_false(guest_ring_used(&f->r, &id, &len));
    assert_int_equal(status_byte(f), NO_STATUS);
    /* the device comes back on fresh rings */
    guest_ring_init(&f->r, f->gm, 0x10000, 64);
    f->next_desc = 0;
    guest_dev_bringup(vd, &f->r, 1, features(f->vb));
    id = request(f, VIRTIO_BLK_T_IN, 0, 512);
    assert_int_equal(finish(f, (uint16_t)id, 513), VIRTIO_BLK_S_OK);
}

static void test_too_many_inflight(void **state)
{
    struct fixture *f = *state;
    /* a driver that republishes one head over and over cannot grow our memory unboundedly */
    put_hdr(f, VIRTIO_BLK_T_FLUSH, 0);
    desc(f, HDR_GPA, 16, 0, false);
    desc(f, STATUS_GPA, 1, VIRTQ_DESC_F_WRITE, true);
    for (unsigned round = 0; round < 3; round++) {
        for (unsigned i = 0; i < 64; i++)
            guest_ring_publish(&f->r, 0);
        virtio_queue_kick(&f->vb->vd, 0);
    }
    assert_true(virtio_read_status(&f->vb->vd) & VIRTIO_STATUS_NEEDS_RESET);
    assert_true(blk_mem_pending(f->disk) <= 64);
}

static void test_mq_create(void **state)
{
    struct fixture *f = *state;
    struct virtio_blk *vb;
    struct virtio_blk_opts opts = {.num_queues = 4};
    assert_int_equal(virtio_blk_create(&opts, f->disk, f->gm, &vb), 0);
    assert_true(vb->vd.host_features & VIRTIO_BIT(VIRTIO_BLK_F_MQ));
    assert_int_equal(vb->vd.num_queues, 4);
    assert_int_equal(virtio_read_config(&vb->vd, 34, 2), 4);
    virtio_blk_destroy(vb);
    opts.num_queues = VIRTIO_BLK_MAX_QUEUES + 1;
    assert_int_equal(virtio_blk_create(&opts, f->disk, f->gm, &vb), -EINVAL);
}

static void test_mq_event_idx(void **state)
{
    struct fixture *f = *state;
    struct virtio_blk *vb;
    struct virtio_blk_opts opts = {.num_queues = 2};
    struct guest_ring r[2];
    struct virtio_blk_outhdr h = {.type = VIRTIO_BLK_T_FLUSH};
    uint32_t id, len;

    assert_int_equal(virtio_blk_create(&opts, f->disk, f->gm, &vb), 0);
    guest_ring_init(&r[0], f->gm, 0x40000, 16);
    guest_ring_init(&r[1], f->gm, 0x50000, 16);
    assert_true(guest_dev_bringup(&vb->vd, r, 2, vb->vd.host_features) & VIRTIO_STATUS_DRIVER_OK);
    assert_true(virtio_has_feature(&vb->vd, VIRTIO_F_RING_EVENT_IDX));
    assert_int_equal(gmem_write(f->gm, HDR_GPA, &h, sizeof(h)), 0);
    guest_ring_desc(&r[1], 0, 0, HDR_GPA, 16, VIRTQ_DESC_F_NEXT, 1);
    guest_ring_desc(&r[1], 0, 1, STATUS_GPA, 1, VIRTQ_DESC_F_WRITE, 0);
    guest_ring_publish(&r[1], 0);
    virtio_queue_kick(&vb->vd, 1);
    assert_int_equal(guest_ring_avail_event(&r[1]), 1); /* kick me for the next one */
    blk_mem_complete(f->disk, 10);
    assert_true(guest_ring_used(&r[1], &id, &len));
    assert_false(guest_ring_used(&r[0], &id, &len));
    assert_int_equal(status_byte(f), VIRTIO_BLK_S_OK);
    blk_close(f->disk); /* nothing left in flight for vb */
    f->disk = blk_mem_create(DISK_BYTES, false);
    virtio_blk_destroy(vb);
}

static struct blk_stats stats_of(struct fixture *f)
{
    struct blk_stats st;
    virtio_blk_get_stats(f->vb, &st);
    return st;
}

/* Each request is counted once when answered: by type when OK, in errors otherwise. */
static void test_stats(void **state)
{
    struct fixture *f = *state;
    struct blk_stats st = stats_of(f);

    assert_int_equal(st.read_ops + st.write_ops + st.flush_ops + st.errors + st.in_flight, 0);
    request(f, VIRTIO_BLK_T_OUT, 0, 1024);
    assert_int_equal(stats_of(f).in_flight, 1);
    assert_int_equal(stats_of(f).write_ops, 0); /* not before it is answered */
    blk_mem_complete(f->disk, 100);
    request(f, VIRTIO_BLK_T_IN, 0, 512);
    request(f, VIRTIO_BLK_T_FLUSH, 0, 0);
    assert_int_equal(stats_of(f).in_flight, 2);
    blk_mem_complete(f->disk, 100);
    discard(f, VIRTIO_BLK_T_DISCARD, 0, 8, 0);
    blk_mem_complete(f->disk, 100);
    request(f, VIRTIO_BLK_T_IN, 0, 100); /* unaligned: IOERR at once */
    request(f, 0x1234, 0, 0);            /* unknown type: UNSUPP */
    request(f, VIRTIO_BLK_T_GET_ID, 0, 32);
    blk_mem_set_submit_error(f->disk, -EIO);
    request(f, VIRTIO_BLK_T_OUT, 0, 512); /* the backend refuses it */
    st = stats_of(f);
    assert_int_equal(st.write_ops, 1);
    assert_int_equal(st.write_bytes, 1024);
    assert_int_equal(st.read_ops, 1);
    assert_int_equal(st.read_bytes, 512);
    assert_int_equal(st.flush_ops, 1);
    assert_int_equal(st.discard_ops, 1);
    assert_int_equal(st.errors, 3);
    assert_int_equal(st.in_flight, 0);
}

/* A segment longer than the size_max we announce is refused, never handed to the backend. */
static void test_size_max(void **state)
{
    struct fixture *f = *state;
    uint64_t big_gpa = 0x400000;
    uint16_t head;

    assert_int_equal(virtio_read_config(&f->vb->vd, 8, 4), VIRTIO_BLK_SIZE_MAX);
    put_hdr(f, VIRTIO_BLK_T_IN, 0);
    head = desc(f, HDR_GPA, 16, 0, false);
    desc(f, big_gpa, 2 * VIRTIO_BLK_SIZE_MAX, VIRTQ_DESC_F_WRITE, false);
    desc(f, STATUS_GPA, 1, VIRTQ_DESC_F_WRITE, true);
    guest_ring_publish(&f->r, head);
    virtio_queue_kick(&f->vb->vd, 0);
    assert_int_equal(blk_mem_pending(f->disk), 0);
    assert_int_equal(finish(f, head, 1), VIRTIO_BLK_S_IOERR);
    /* the same bytes in segments of size_max are fine */
    put_hdr(f, VIRTIO_BLK_T_IN, 0);
    head = desc(f, HDR_GPA, 16, 0, false);
    desc(f, big_gpa, VIRTIO_BLK_SIZE_MAX, VIRTQ_DESC_F_WRITE, false);
    desc(f, big_gpa + VIRTIO_BLK_SIZE_MAX, VIRTIO_BLK_SIZE_MAX, VIRTQ_DESC_F_WRITE, false);
    desc(f, STATUS_GPA, 1, VIRTQ_DESC_F_WRITE, true);
    guest_ring_publish(&f->r, head);
    virtio_queue_kick(&f->vb->vd, 0);
    assert_int_equal(finish(f, head, 2 * VIRTIO_BLK_SIZE_MAX + 1), VIRTIO_BLK_S_OK);
    assert_int_equal(virtio_read_status(&f->vb->vd) & VIRTIO_STATUS_NEEDS_RESET, 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_config),
        T(test_write_read),
        T(test_header_and_data_in_one),
        T(test_batch_per_kick),
        T(test_header_split),
        T(test_status_in_data),
        T(test_past_capacity),
        T(test_unaligned),
        T(test_empty_rw),
        T(test_unknown_type),
        T(test_get_id),
        T(test_flush),
        T(test_discard_write_zeroes),
        T(test_discard_bad),
        cmocka_unit_test_setup_teardown(test_readonly, setup_ro, teardown),
        cmocka_unit_test_setup_teardown(test_size_max, setup_big, teardown),
        T(test_no_status),
        T(test_short_header),
        T(test_submit_error),
        T(test_reset_inflight),
        T(test_too_many_inflight),
        T(test_mq_create),
        T(test_mq_event_idx),
        T(test_stats),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
