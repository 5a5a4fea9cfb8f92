/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the saved state of the virtio devices (dev/virtio/virtio_state.c,
 * virtio_pci_state.c, the device hooks and pci_msix_save/load): for virtio-rng,
 * virtio-console and virtio-blk, save a live device, load it into a fresh one on its own PCI
 * host over the same guest memory, save again: the bytes are equal and the loaded device goes
 * on with the same queues. A virtio-blk request in flight makes save refuse (-EBUSY) until it
 * completes (requests are completed before a save, never saved). Hostile sections (rings
 * outside RAM, unreachable status, vectors out of range, chains popped but not used, wrong
 * disk size, truncation, oversized console input) are refused.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/statefile.h"
#include "blk_mem.h"
#include "block/blk.h"
#include "core/gmem.h"
#include "dev/bus.h"
#include "dev/virtio/console.h"
#include "dev/virtio/rng.h"
#include "dev/virtio/virtio_blk.h"
#include "dev/virtio/virtio_pci.h"
#include "fake_platform.h"
#include "guest_ring.h"

#define RAM_BYTES (16ULL << 20)
#define RING0_GPA 0x10000ULL
#define RING1_GPA 0x20000ULL
#define BUF_GPA 0x100000ULL
#define DISK_BYTES (1ULL << 20)
#define OK_STATUS                                                                                  \
    (VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |                \
     VIRTIO_STATUS_DRIVER_OK)
#define FEATURES (VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX))

enum kind { RNG, CONSOLE, BLK };

/* One side: a PCI host with one virtio function of (kind). */
struct side {
    struct fake_platform fp;
    struct bus *pio, *mmio;
    struct pci_host *host;
    struct virtio_pci *vp;
    struct virtio_dev *vd;
    struct virtio_rng *rng;
    struct virtio_console *con;
    struct virtio_blk *blk;
    struct blk *disk;
};

struct fixture {
    struct gmem *gm;
    struct side a, b;
    struct guest_ring r[2];
    char input[64];
    size_t input_len;
};

static void sink(void *opaque, const void *buf, size_t len)
{
    (void)opaque;
    (void)buf;
    (void)len;
}

static void side_init(struct fixture *f, struct side *s, enum kind k, uint64_t disk_bytes)
{
    struct pci_host_config cfg = {
        .mmio32_base = PCI_MMIO32_BASE,
        .mmio32_size = PCI_MMIO32_SIZE,
        .mmio64_base = 0x100000000ULL,
        .mmio64_size = 1ULL << 30,
        .io_base = PCI_IO_WINDOW_BASE,
        .io_size = PCI_IO_WINDOW_SIZE,
        .ecam_base = PCI_ECAM_BASE,
    };
    struct virtio_blk_opts bo = {.num_queues = 1};
    fake_platform_init(&s->fp);
    assert_int_equal(bus_create("pio", &s->pio), 0);
    assert_int_equal(bus_create("mmio", &s->mmio), 0);
    assert_int_equal(pci_host_create(&cfg, &s->fp.plat, s->pio, s->mmio, &s->host), 0);
    if (k == RNG) {
        assert_int_equal(virtio_rng_create(f->gm, &s->rng), 0);
        s->vd = &s->rng->vd;
    } else if (k == CONSOLE) {
        assert_int_equal(virtio_console_create(f->gm, sink, f, &s->con), 0);
        s->vd = &s->con->vd;
    } else {
        s->disk = blk_mem_create(disk_bytes, false);
        assert_int_equal(virtio_blk_create(&bo, s->disk, f->gm, &s->blk), 0);
        s->vd = virtio_blk_dev(s->blk);
    }
    assert_int_equal(virtio_pci_plug(s->host, s->vd, NULL, 3, &s->vp), 0);
}

static void side_fini(struct side *s)
{
    pci_host_destroy(s->host);
    virtio_pci_fini(s->vp);
    if (s->disk != NULL)
        blk_close(s->disk);
    virtio_pci_destroy(s->vp);
    virtio_rng_destroy(s->rng);
    virtio_console_destroy(s->con);
    virtio_blk_destroy(s->blk);
    bus_destroy(s->mmio);
    bus_destroy(s->pio);
    fake_platform_fini(&s->fp);
}

static struct fixture *fixture_new(enum kind k)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    assert_int_equal(gmem_create(&f->gm), 0);
    assert_int_equal(gmem_add_region(f->gm, 0, RAM_BYTES, "ram", false, NULL), 0);
    side_init(f, &f->a, k, DISK_BYTES);
    side_init(f, &f->b, k, DISK_BYTES);
    guest_ring_init(&f->r[0], f->gm, RING0_GPA, 16);
    guest_ring_init(&f->r[1], f->gm, RING1_GPA, 16);
    return f;
}

static int setup_rng(void **state)
{
    *state = fixture_new(RNG);
    return 0;
}

static int setup_console(void **state)
{
    *state = fixture_new(CONSOLE);
    return 0;
}

static int setup_blk(void **state)
{
    *state = fixture_new(BLK);
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    side_fini(&f->a);
    side_fini(&f->b);
    gmem_destroy(f->gm);
    free(f);
    return 0;
}

/* Transport + core + device state of (s), as the monitor's section holds it. */
static int save(struct side *s, struct sf_buf *b)
{
    int ret = virtio_pci_save(s->vp, b);
    if (ret == 0 && s->blk != NULL)
        virtio_blk_save(s->blk, b);
    if (ret == 0 && s->con != NULL)
        virtio_console_save(s->con, b);
    return ret;
}

static int load(struct side *s, const struct sf_buf *b)
{
    struct sf_in in;
    int ret;
    sf_in_init(&in, b->data, b->len);
    ret = virtio_pci_load(s->vp, &in);
    if (ret == 0 && s->blk != NULL)
        ret = virtio_blk_load(s->blk, &in);
    if (ret == 0 && s->con != NULL)
        ret = virtio_console_load(s->con, &in);
    return ret == 0 ? sf_in_end(&in) : ret;
}

/* Saves (f->a), loads into (f->b), saves (f->b): equal bytes. Returns the first save. */
static struct sf_buf round_trip(struct fixture *f)
{
    struct sf_buf b1 = {0}, b2 = {0};
    assert_int_equal(save(&f->a, &b1), 0);
    assert_false(b1.failed);
    assert_int_equal(load(&f->b, &b1), 0);
    assert_int_equal(save(&f->b, &b2), 0);
    assert_int_equal(b1.len, b2.len);
    assert_memory_equal(b1.data, b2.data, b1.len);
    sf_buf_free(&b2);
    return b1;
}

/* A device-writable buffer of (len) bytes at BUF_GPA + (off) on ring (q), published. */
static void publish_in(struct fixture *f, unsigned q, uint16_t i, uint64_t off, uint32_t len)
{
    guest_ring_desc(&f->r[q], 0, i, BUF_GPA + off, len, VIRTQ_DESC_F_WRITE, 0);
    guest_ring_publish(&f->r[q], i);
}

/* Programs MSI-X vector 1 through BAR 0 (the table) and selects queue 0. */
static void program_msix(struct side *s)
{
    uint64_t bar = pci_dev_bar_addr(&s->vp->pci, 0);
    assert_true(bus_write(s->mmio, bar + VIRTIO_PCI_MSIX_TABLE_OFF + 16, 4, 0xfee00000));
    assert_true(bus_write(s->mmio, bar + VIRTIO_PCI_MSIX_TABLE_OFF + 24, 4, 0x41));
    assert_true(bus_write(s->mmio, bar + VIRTIO_PCI_MSIX_TABLE_OFF + 28, 4, 0));
    pthread_mutex_lock(&s->vd->lock);
    s->vd->queues[0].msix_vector = 1;
    s->vd->config_msix_vector = 0;
    pthread_mutex_unlock(&s->vd->lock);
}

static void test_rng_round_trip(void **state)
{
    struct fixture *f = *state;
    uint32_t id, len;
    assert_int_equal(guest_dev_bringup(f->a.vd, f->r, 1, FEATURES), OK_STATUS);
    program_msix(&f->a);
    publish_in(f, 0, 0, 0, 32);
    virtio_queue_kick(f->a.vd, 0);
    assert_true(guest_ring_used(&f->r[0], &id, &len));
    struct sf_buf b = round_trip(f);
    sf_buf_free(&b);
    assert_int_equal(f->b.vd->status, OK_STATUS);
    assert_int_equal(f->b.vd->queues[0].vq.used_idx, 1);
    assert_int_equal(f->b.vd->queues[0].vq.last_avail_idx, 1);
    assert_int_equal(f->b.vp->msix.table[1].data, 0x41);
    /* the loaded device serves the next chain of the same ring */
    publish_in(f, 0, 1, 64, 32);
    virtio_queue_kick(f->b.vd, 0);
    assert_true(guest_ring_used(&f->r[0], &id, &len));
    assert_int_equal(id, 1);
    assert_int_equal(len, 32);
    assert_int_equal(f->a.vd->queues[0].vq.used_idx, 1); /* not the saved one */
}

static void test_console_input_round_trip(void **state)
{
    struct fixture *f = *state;
    char got[8] = {0};
    uint32_t id, len;
    assert_int_equal(guest_dev_bringup(f->a.vd, f->r, 2, FEATURES), OK_STATUS);
    /* no receive buffer yet: the input waits in the device */
    assert_int_equal(virtio_console_input(f->a.con, "hello", 5), 5);
    assert_int_equal(f->a.con->inbuf_len, 5);
    struct sf_buf b = round_trip(f);
    sf_buf_free(&b);
    assert_int_equal(f->b.con->inbuf_len, 5);
    /* virtio_pci_resume kicks the live queues: the first receive buffer gets the input */
    publish_in(f, VIRTIO_CONSOLE_RX, 0, 0, 8);
    virtio_pci_resume(f->b.vp);
    assert_true(guest_ring_used(&f->r[VIRTIO_CONSOLE_RX], &id, &len));
    assert_int_equal(len, 5);
    assert_int_equal(gmem_read(f->gm, BUF_GPA, got, 5), 0);
    assert_string_equal(got, "hello");
}

/* A write request: header | data | status at BUF_GPA. */
static void blk_write_request(struct fixture *f, struct side *s)
{
    struct virtio_blk_outhdr h = {.type = VIRTIO_BLK_T_OUT, .sector = 2};
    uint8_t data[512];
    memset(data, 0x5a, sizeof(data));
    assert_int_equal(gmem_write(f->gm, BUF_GPA, &h, sizeof(h)), 0);
    assert_int_equal(gmem_write(f->gm, BUF_GPA + 0x1000, data, sizeof(data)), 0);
    guest_ring_desc(&f->r[0], 0, 0, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 1);
    guest_ring_desc(&f->r[0], 0, 1, BUF_GPA + 0x1000, 512, VIRTQ_DESC_F_NEXT, 2);
    guest_ring_desc(&f->r[0], 0, 2, BUF_GPA + 0x2000, 1, VIRTQ_DESC_F_WRITE, 0);
    guest_ring_publish(&f->r[0], 0);
    virtio_queue_kick(s->vd, 0);
}

/* A request in flight (popped, not used): save refuses until it completes. */
static void test_blk_mid_request(void **state)
{
    struct fixture *f = *state;
    struct sf_buf b = {0};
    uint32_t id, len;
    assert_int_equal(guest_dev_bringup(f->a.vd, f->r, 1, FEATURES), OK_STATUS);
    blk_write_request(f, &f->a);
    assert_int_equal(blk_mem_pending(f->a.disk), 1);
    assert_int_equal(f->a.vd->queues[0].vq.last_avail_idx, 1);
    assert_int_equal(f->a.vd->queues[0].vq.used_idx, 0);
    assert_int_equal(save(&f->a, &b), -EBUSY);
    sf_buf_free(&b);
    assert_int_equal(blk_mem_complete(f->a.disk, 1), 1);
    assert_true(guest_ring_used(&f->r[0], &id, &len));
    b = round_trip(f);
    sf_buf_free(&b);
    assert_int_equal(f->b.vd->queues[0].vq.used_idx, 1);
    assert_int_equal(blk_mem_data(f->a.disk)[1024], 0x5a);
    /* the loaded device takes the next request */
    blk_write_request(f, &f->b);
    assert_int_equal(blk_mem_pending(f->b.disk), 1);
}

/* Offsets in the section of a device with (nvec) vectors (virtio_pci_state.c). */
#define OFF_INTX 4u
#define MSIX_BYTES(nvec) (2u + 16u * (nvec) + 8u * (((nvec) + 63u) / 64u))
#define CORE(nvec) (5u + MSIX_BYTES(nvec))
#define C_STATUS 24u
#define C_ISR 25u
#define C_CVEC 27u
#define C_NQ 29u
#define Q0 31u
#define Q_SIZE 0u
#define Q_VEC 2u
#define Q_FLAGS 4u
#define Q_DESC 5u
#define Q_USED_IDX 31u

/* Loading (good) with (n) bytes at (off) replaced, or cut to (truncate_to) bytes (0: not cut),
 * into the fresh side fails with -EINVAL. */
static void expect_refused(struct fixture *f, const struct sf_buf *good, size_t off,
                           const void *bytes, size_t n, size_t truncate_to)
{
    struct sf_buf bad = {0};
    sf_put_bytes(&bad, good->data, truncate_to ? truncate_to : good->len);
    if (n > 0)
        memcpy(bad.data + off, bytes, n);
    assert_int_equal(load(&f->b, &bad), -EINVAL);
    sf_buf_free(&bad);
}

static void test_hostile(void **state)
{
    struct fixture *f = *state;
    uint16_t nvec = f->a.vp->nvec, v16;
    size_t core = CORE(nvec), q0 = core + Q0;
    uint64_t far = RAM_BYTES + 0x1000;
    uint8_t u8;
    assert_int_equal(guest_dev_bringup(f->a.vd, f->r, 1, FEATURES), OK_STATUS);
    publish_in(f, 0, 0, 0, 32);
    virtio_queue_kick(f->a.vd, 0);
    struct sf_buf good = round_trip(f);
    assert_int_equal(good.data[q0 + Q_SIZE], 16);      /* the layout the offsets assume */
    expect_refused(f, &good, q0 + Q_DESC, &far, 8, 0); /* ring outside RAM */
    far = RING0_GPA + 8;                               /* misaligned ring */
    expect_refused(f, &good, q0 + Q_DESC, &far, 8, 0);
    u8 = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER_OK; /* skips steps */
    expect_refused(f, &good, core + C_STATUS, &u8, 1, 0);
    u8 = 0x10; /* an unknown status bit */
    expect_refused(f, &good, core + C_STATUS, &u8, 1, 0);
    u8 = 0x80; /* an unknown ISR bit */
    expect_refused(f, &good, core + C_ISR, &u8, 1, 0);
    v16 = nvec; /* no such MSI-X vector */
    expect_refused(f, &good, core + C_CVEC, &v16, 2, 0);
    expect_refused(f, &good, q0 + Q_VEC, &v16, 2, 0);
    v16 = 2; /* another queue count */
    expect_refused(f, &good, core + C_NQ, &v16, 2, 0);
    v16 = 3; /* not a power of two */
    expect_refused(f, &good, q0 + Q_SIZE, &v16, 2, 0);
    v16 = 0; /* a chain popped and never used */
    expect_refused(f, &good, q0 + Q_USED_IDX, &v16, 2, 0);
    u8 = 0x80; /* an unknown queue flag */
    expect_refused(f, &good, q0 + Q_FLAGS, &u8, 1, 0);
    u8 = 2; /* INTx level */
    expect_refused(f, &good, OFF_INTX, &u8, 1, 0);
    v16 = 5; /* MSI-X vector control: a reserved bit */
    expect_refused(f, &good, 5 + 2 + 12, &v16, 2, 0);
    expect_refused(f, &good, 0, NULL, 0, good.len - 1); /* truncated */
    /* the good one still loads */
    assert_int_equal(load(&f->b, &good), 0);
    sf_buf_free(&good);
}

static void test_console_hostile(void **state)
{
    struct fixture *f = *state;
    uint32_t big = VIRTIO_CONSOLE_INBUF + 1;
    assert_int_equal(guest_dev_bringup(f->a.vd, f->r, 2, FEATURES), OK_STATUS);
    struct sf_buf good = round_trip(f);
    /* the input length is the last field but its bytes (none here) */
    expect_refused(f, &good, good.len - 4, &big, 4, 0);
    sf_buf_free(&good);
}

/* A disk of another size is refused: the configuration must match. */
static void test_blk_other_disk(void **state)
{
    struct fixture *f = *state;
    struct side other;
    struct sf_buf b = {0};
    struct sf_in in;
    assert_int_equal(guest_dev_bringup(f->a.vd, f->r, 1, FEATURES), OK_STATUS);
    assert_int_equal(save(&f->a, &b), 0);
    memset(&other, 0, sizeof(other));
    side_init(f, &other, BLK, 2 * DISK_BYTES);
    sf_in_init(&in, b.data, b.len);
    assert_int_equal(virtio_pci_load(other.vp, &in), 0);
    assert_int_equal(virtio_blk_load(other.blk, &in), -EINVAL);
    side_fini(&other);
    sf_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rng_round_trip, setup_rng, teardown),
        cmocka_unit_test_setup_teardown(test_console_input_round_trip, setup_console, teardown),
        cmocka_unit_test_setup_teardown(test_blk_mid_request, setup_blk, teardown),
        cmocka_unit_test_setup_teardown(test_hostile, setup_rng, teardown),
        cmocka_unit_test_setup_teardown(test_console_hostile, setup_console, teardown),
        cmocka_unit_test_setup_teardown(test_blk_other_disk, setup_blk, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
