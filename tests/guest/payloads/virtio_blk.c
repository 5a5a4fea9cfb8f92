/* SPDX-License-Identifier: MIT */
/*
 * A polling driver for modern virtio-blk over virtio-pci (virtio 1.2 §4.1 transport, §2.7
 * split virtqueue, §5.2 block device), run against every 1af4:1042 function on bus 0. For
 * each device: reset, feature negotiation with VERSION_1 (§3.1.1), one 16-entry queue, then
 * requests (§5.2.6) with interrupts off, polling the used ring. On a writable disk it checks
 * the harness's magic in sector 0, patterned writes and read-backs at many offsets and sizes
 * (also split across two data descriptors), out-of-range refusal, FLUSH, GET_ID, WRITE_ZEROES
 * (with and without UNMAP), DISCARD and an unknown request type (UNSUPP). On a device offering
 * VIRTIO_BLK_F_RO it checks that reads work, writes are refused and change nothing.
 * Command line: `disks=N` devices expected (default 2: one writable, one read-only),
 * `sectors=N` capacity expected of each.
 */
#include "pci.h"
#include "virtio.h"

const char payload_name[] = "virtio_blk";

#define VQ_SIZE 16
#define MAX_SECTORS 128 /* largest data transfer per request: 64 KiB */

struct vq_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};

static struct vq_desc vq_desc[VQ_SIZE] __attribute__((aligned(4096)));
static struct {
    uint16_t flags, idx, ring[VQ_SIZE], used_event;
} vq_avail __attribute__((aligned(4096)));
static struct {
    uint16_t flags, idx;
    struct {
        uint32_t id, len;
    } ring[VQ_SIZE];
    uint16_t avail_event;
} vq_used __attribute__((aligned(4096)));

static uint8_t wbuf[MAX_SECTORS * 512] __attribute__((aligned(4096)));
static uint8_t rbuf[MAX_SECTORS * 512] __attribute__((aligned(4096)));

struct vblk {
    uint16_t bdf;
    uint64_t common, notify, isr, devcfg;
    uint32_t notify_mult;
    uint64_t features;
    uint64_t capacity;
    uint16_t avail_idx, used_idx;
    uint64_t notify_addr;
    char tag[8];
};

static struct {
    uint32_t type, reserved;
    uint64_t sector;
} req_hdr __attribute__((aligned(16)));
static volatile uint8_t req_status;
static struct {
    uint64_t sector;
    uint32_t num_sectors, flags;
} req_seg;

static uint64_t bar_address(uint16_t bdf, unsigned bar)
{
    uint32_t lo = pci_cf8_read32(bdf, (uint16_t)(PCI_BAR0 + 4 * bar));
    if (lo & 1)
        return 0;
    uint64_t a = lo & ~0xfu;
    if (((lo >> 1) & 3) == 2 && bar < 5)
        a |= (uint64_t)pci_cf8_read32(bdf, (uint16_t)(PCI_BAR0 + 4 * bar + 4)) << 32;
    return a;
}

/* Finds the vendor capabilities (§4.1.4) and fills the structure addresses. */
static bool map_caps(struct vblk *d)
{
    for (uint8_t p = pci_find_cap(d->bdf, 0x09, 0); p; p = pci_find_cap(d->bdf, 0x09, p)) {
        uint8_t type = pci_read8(d->bdf, (uint16_t)(p + 3));
        uint8_t bar = pci_read8(d->bdf, (uint16_t)(p + 4));
        uint32_t off = pci_read32(d->bdf, (uint16_t)(p + 8));
        if (bar > 5)
            continue;
        uint64_t base = bar_address(d->bdf, bar);
        if (!base || base + off >= RT_MAP_LIMIT)
            continue;
        uint64_t a = base + off;
        if (type == VIRTIO_PCI_CAP_COMMON && !d->common)
            d->common = a;
        else if (type == VIRTIO_PCI_CAP_NOTIFY && !d->notify) {
            d->notify = a;
            d->notify_mult = pci_read32(d->bdf, (uint16_t)(p + 16));
        } else if (type == VIRTIO_PCI_CAP_ISR && !d->isr)
            d->isr = a;
        else if (type == VIRTIO_PCI_CAP_DEVICE && !d->devcfg)
            d->devcfg = a;
    }
    return d->common && d->notify && d->isr && d->devcfg;
}

static bool has(const struct vblk *d, unsigned bit)
{
    return (d->features >> bit) & 1;
}

static void set_status(struct vblk *d, uint8_t s)
{
    mmio_write8(d->common + VIRTIO_COMMON_STATUS, s);
}

static uint8_t get_status(struct vblk *d)
{
    return mmio_read8(d->common + VIRTIO_COMMON_STATUS);
}

static bool reset(struct vblk *d)
{
    set_status(d, 0);
    for (int i = 0; i < 100000; i++) {
        if (get_status(d) == 0)
            return true;
        cpu_relax();
    }
    return false;
}

static bool negotiate(struct vblk *d)
{
    uint64_t c = d->common;
    mmio_write32(c + VIRTIO_COMMON_DFSELECT, 0);
    uint64_t f = mmio_read32(c + VIRTIO_COMMON_DF);
    mmio_write32(c + VIRTIO_COMMON_DFSELECT, 1);
    f |= (uint64_t)mmio_read32(c + VIRTIO_COMMON_DF) << 32;
    uint64_t want = (1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_BLK_F_RO) |
                    (1ULL << VIRTIO_BLK_F_BLK_SIZE) | (1ULL << VIRTIO_BLK_F_FLUSH) |
                    (1ULL << VIRTIO_BLK_F_SEG_MAX) | (1ULL << VIRTIO_BLK_F_SIZE_MAX) |
                    (1ULL << VIRTIO_BLK_F_DISCARD) | (1ULL << VIRTIO_BLK_F_WRITE_ZEROES);
    d->features = f & want;
    rt_printf("  %s: device features 0x%lx, driver 0x%lx\n", d->tag, (unsigned long)f,
              (unsigned long)d->features);
    if (!rt_check(has(d, VIRTIO_F_VERSION_1), d->tag, "device does not offer VERSION_1"))
        return false;
    mmio_write32(c + VIRTIO_COMMON_GFSELECT, 0);
    mmio_write32(c + VIRTIO_COMMON_GF, (uint32_t)d->features);
    mmio_write32(c + VIRTIO_COMMON_GFSELECT, 1);
    mmio_write32(c + VIRTIO_COMMON_GF, (uint32_t)(d->features >> 32));
    set_status(d, VIRTIO_S_ACK | VIRTIO_S_DRIVER | VIRTIO_S_FEATURES_OK);
    return rt_check(get_status(d) & VIRTIO_S_FEATURES_OK, d->tag,
                    "FEATURES_OK not accepted (status 0x%x)", get_status(d));
}

static bool setup_queue(struct vblk *d)
{
    uint64_t c = d->common;
    mmio_write16(c + VIRTIO_COMMON_Q_SELECT, 0);
    uint16_t max = mmio_read16(c + VIRTIO_COMMON_Q_SIZE);
    if (!rt_check(max >= 4, d->tag, "queue 0 size %u", max))
        return false;
    uint16_t size = max < VQ_SIZE ? max : VQ_SIZE;
    memset(vq_desc, 0, sizeof(vq_desc));
    memset(&vq_avail, 0, sizeof(vq_avail));
    memset(&vq_used, 0, sizeof(vq_used));
    d->avail_idx = d->used_idx = 0;
    mmio_write16(c + VIRTIO_COMMON_Q_SIZE, size);
    mmio_write16(c + VIRTIO_COMMON_Q_MSIX, 0xffff);
    mmio_write32(c + VIRTIO_COMMON_Q_DESC, (uint32_t)(uintptr_t)vq_desc);
    mmio_write32(c + VIRTIO_COMMON_Q_DESC + 4, 0);
    mmio_write32(c + VIRTIO_COMMON_Q_AVAIL, (uint32_t)(uintptr_t)&vq_avail);
    mmio_write32(c + VIRTIO_COMMON_Q_AVAIL + 4, 0);
    mmio_write32(c + VIRTIO_COMMON_Q_USED, (uint32_t)(uintptr_t)&vq_used);
    mmio_write32(c + VIRTIO_COMMON_Q_USED + 4, 0);
    uint16_t noff = mmio_read16(c + VIRTIO_COMMON_Q_NOFF);
    d->notify_addr = d->notify + (uint64_t)noff * d->notify_mult;
    mmio_write16(c + VIRTIO_COMMON_Q_ENABLE, 1);
    set_status(d, VIRTIO_S_ACK | VIRTIO_S_DRIVER | VIRTIO_S_FEATURES_OK | VIRTIO_S_DRIVER_OK);
    d->capacity = (uint64_t)mmio_read32(d->devcfg) | (uint64_t)mmio_read32(d->devcfg + 4) << 32;
    return rt_check(!(get_status(d) & VIRTIO_S_NEEDS_RESET), d->tag, "device needs reset");
}

/*
 * Submits one request: header, then (nbuf) data buffers of (lens) bytes (device-writable when
 * (in)), then the status byte; polls for completion. Returns the status byte, or -1 on timeout
 * or a bad used element.
 */
static int submit(struct vblk *d, uint32_t type, uint64_t sector, void *const *bufs,
                  const uint32_t *lens, unsigned nbuf, bool in)
{
    req_hdr.type = type;
    req_hdr.reserved = 0;
    req_hdr.sector = sector;
    req_status = 0xff;
    unsigned n = 0;
    vq_desc[n] = (struct vq_desc){(uintptr_t)&req_hdr, sizeof(req_hdr), VIRTQ_DESC_F_NEXT, 1};
    for (unsigned i = 0; i < nbuf; i++) {
        n++;
        vq_desc[n] = (struct vq_desc){(uintptr_t)bufs[i], lens[i],
                                      (uint16_t)(VIRTQ_DESC_F_NEXT | (in ? VIRTQ_DESC_F_WRITE : 0)),
                                      (uint16_t)(n + 1)};
    }
    n++;
    vq_desc[n] = (struct vq_desc){(uintptr_t)&req_status, 1, VIRTQ_DESC_F_WRITE, 0};
    volatile uint16_t *aidx = &vq_avail.idx;
    vq_avail.ring[d->avail_idx % VQ_SIZE] = 0;
    barrier();
    *aidx = ++d->avail_idx;
    barrier();
    mmio_write16(d->notify_addr, 0);
    uint64_t t0 = rt_now_us();
    volatile uint16_t *uidx = &vq_used.idx;
    while (*uidx == d->used_idx) {
        if (rt_now_us() - t0 > 5000000)
            return -1;
        cpu_relax();
    }
    barrier();
    uint32_t id = vq_used.ring[d->used_idx % VQ_SIZE].id;
    d->used_idx++;
    if (id != 0)
        return -1;
    return req_status;
}

static int rw(struct vblk *d, bool write, uint64_t sector, void *buf, uint32_t nsect, bool split)
{
    uint32_t len = nsect * 512;
    if (split && nsect > 1) {
        uint32_t a = (nsect / 2) * 512 - 100; /* a split inside a sector */
        void *bufs[2] = {buf, (uint8_t *)buf + a};
        uint32_t lens[2] = {a, len - a};
        return submit(d, write ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN, sector, bufs, lens, 2, !write);
    }
    void *bufs[1] = {buf};
    return submit(d, write ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN, sector, bufs, &len, 1, !write);
}

static void fill(uint8_t *b, uint64_t sector, uint32_t nsect, uint32_t seed)
{
    for (uint32_t i = 0; i < nsect * 512; i++) {
        uint64_t x = (sector * 512 + i) * 2654435761u + seed;
        b[i] = (uint8_t)(x ^ (x >> 13) ^ (x >> 29));
    }
}

static bool is_zero(const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (b[i])
            return false;
    }
    return true;
}

/* Patterned writes and read-backs at offsets spread over the disk, sizes 1..128 sectors. */
static void test_patterns(struct vblk *d)
{
    static const uint32_t sizes[] = {1, 2, 3, 7, 8, 16, 33, 64, 127, 128};
    unsigned bad = 0, done = 0;
    uint64_t region = d->capacity / (ARRAY_SIZE(sizes) + 1);
    for (unsigned i = 0; i < ARRAY_SIZE(sizes) && region > MAX_SECTORS + 8; i++) {
        uint32_t n = sizes[i];
        /* Start 1..7 sectors into each region: unaligned to every power of two above 1. */
        uint64_t sector = region * (i + 1) + (i % 7) + 1;
        bool split = i & 1;
        fill(wbuf, sector, n, i);
        memset(rbuf, 0xa5, n * 512);
        int ws = rw(d, true, sector, wbuf, n, split);
        int rs = rw(d, false, sector, rbuf, n, !split);
        done++;
        if (ws != VIRTIO_BLK_S_OK || rs != VIRTIO_BLK_S_OK || memcmp(wbuf, rbuf, n * 512)) {
            if (bad++ < 4)
                rt_printf("  %s: %u sectors at %lu: write %d read %d data %s\n", d->tag, n,
                          (unsigned long)sector, ws, rs,
                          memcmp(wbuf, rbuf, n * 512) ? "DIFFERS" : "same");
        }
    }
    /* The last sector of the disk. */
    fill(wbuf, d->capacity - 1, 1, 99);
    int ws = rw(d, true, d->capacity - 1, wbuf, 1, false);
    int rs = rw(d, false, d->capacity - 1, rbuf, 1, false);
    bad += ws != 0 || rs != 0 || memcmp(wbuf, rbuf, 512);
    /* Re-read the first region written: nothing later overwrote it. */
    if (region > MAX_SECTORS + 8) {
        fill(wbuf, region + 1, 1, 0);
        rs = rw(d, false, region + 1, rbuf, 1, false);
        bad += rs != 0 || memcmp(wbuf, rbuf, 512);
    }
    if (rt_check(done && !bad, "patterns", "%s: %u of %u pattern checks failed", d->tag, bad,
                 done + 2))
        rt_pass("patterns");
}

static void test_bounds(struct vblk *d)
{
    int past = rw(d, false, d->capacity, rbuf, 1, false);
    int across = rw(d, false, d->capacity - 1, rbuf, 2, false);
    int wpast = rw(d, true, d->capacity, wbuf, 1, false);
    if (rt_check(past == VIRTIO_BLK_S_IOERR && across == VIRTIO_BLK_S_IOERR &&
                     wpast == VIRTIO_BLK_S_IOERR,
                 "bounds", "%s: read past end %d, across end %d, write past end %d (want 1)",
                 d->tag, past, across, wpast))
        rt_pass("bounds");
    void *none[1] = {0};
    int unsupp = submit(d, 0x7f, 0, none, 0, 0, false);
    if (rt_check(unsupp == VIRTIO_BLK_S_UNSUPP, "unsupp", "%s: request type 0x7f gave %d (want 2)",
                 d->tag, unsupp))
        rt_pass("unsupp");
}

static void test_flush_id(struct vblk *d)
{
    if (has(d, VIRTIO_BLK_F_FLUSH)) {
        void *none[1] = {0};
        int s = submit(d, VIRTIO_BLK_T_FLUSH, 0, none, 0, 0, false);
        if (rt_check(s == VIRTIO_BLK_S_OK, "flush", "%s: FLUSH gave %d", d->tag, s))
            rt_pass("flush");
    }
    static char id[21];
    memset(id, 0, sizeof(id));
    void *bufs[1] = {id};
    uint32_t len = 20;
    int s = submit(d, VIRTIO_BLK_T_GET_ID, 0, bufs, &len, 1, true);
    if (rt_check(s == VIRTIO_BLK_S_OK || s == VIRTIO_BLK_S_UNSUPP, "get-id", "%s: GET_ID gave %d",
                 d->tag, s)) {
        for (int i = 0; i < 20; i++)
            id[i] = (id[i] >= 32 && id[i] < 127) ? id[i] : (id[i] ? '?' : 0);
        rt_printf("  %s: id '%s' (status %d)\n", d->tag, id, s);
        rt_pass("get-id");
    }
}

static int seg_request(struct vblk *d, uint32_t type, uint64_t sector, uint32_t n, uint32_t flags)
{
    req_seg.sector = sector;
    req_seg.num_sectors = n;
    req_seg.flags = flags;
    void *bufs[1] = {&req_seg};
    uint32_t len = sizeof(req_seg);
    return submit(d, type, 0, bufs, &len, 1, false);
}

static void test_zeroes_discard(struct vblk *d)
{
    uint64_t sector = d->capacity / 2 + 3;
    if (has(d, VIRTIO_BLK_F_WRITE_ZEROES)) {
        for (uint32_t flags = 0; flags <= VIRTIO_BLK_DWZ_F_UNMAP; flags++) {
            fill(wbuf, sector, 16, 7);
            int ws = rw(d, true, sector, wbuf, 16, false);
            int zs = seg_request(d, VIRTIO_BLK_T_WRITE_ZEROES, sector + 4, 8, flags);
            int rs = rw(d, false, sector, rbuf, 16, false);
            bool ok = ws == 0 && zs == 0 && rs == 0 && !memcmp(rbuf, wbuf, 4 * 512) &&
                      is_zero(rbuf + 4 * 512, 8 * 512) &&
                      !memcmp(rbuf + 12 * 512, wbuf + 12 * 512, 4 * 512);
            if (rt_check(ok, "write-zeroes", "%s: flags %u: write %d zeroes %d read %d, data %s",
                         d->tag, flags, ws, zs, rs, ok ? "ok" : "wrong"))
                rt_pass(flags ? "write-zeroes-unmap" : "write-zeroes");
        }
    } else {
        rt_printf("  %s: no WRITE_ZEROES feature\n", d->tag);
    }
    if (has(d, VIRTIO_BLK_F_DISCARD)) {
        int s = seg_request(d, VIRTIO_BLK_T_DISCARD, sector, 16, 0);
        int rs = rw(d, false, sector, rbuf, 16, false);
        if (rt_check(s == 0 && rs == 0, "discard", "%s: DISCARD gave %d, read after %d", d->tag, s,
                     rs))
            rt_pass("discard");
        int bad = seg_request(d, VIRTIO_BLK_T_DISCARD, d->capacity - 4, 8, 0);
        if (rt_check(bad == VIRTIO_BLK_S_IOERR, "discard-bounds",
                     "%s: DISCARD across the end gave %d (want 1)", d->tag, bad))
            rt_pass("discard-bounds");
    } else {
        rt_printf("  %s: no DISCARD feature\n", d->tag);
    }
}

static void test_readonly(struct vblk *d)
{
    int r0 = rw(d, false, 0, rbuf, 1, false);
    fill(wbuf, 0, 1, 5);
    int w0 = rw(d, true, 0, wbuf, 1, false);
    int r1 = rw(d, false, 0, rbuf, 1, false);
    bool intact = !memcmp(rbuf, "BAREIRON", 8);
    if (rt_check(r0 == 0 && w0 == VIRTIO_BLK_S_IOERR && r1 == 0 && intact, "readonly",
                 "%s: read %d, write %d (want 1), reread %d, sector 0 %s", d->tag, r0, w0, r1,
                 intact ? "intact" : "CHANGED"))
        rt_pass("readonly");
}

static void test_device(struct vblk *d)
{
    uint64_t want = rt_cmdline_u64("sectors", 0);
    rt_printf("  %s: %lu sectors%s\n", d->tag, (unsigned long)d->capacity,
              has(d, VIRTIO_BLK_F_RO) ? ", read-only" : "");
    if (!rt_check(d->capacity >= 1024 && (!want || d->capacity == want), "capacity",
                  "%s: capacity %lu sectors (want %lu)", d->tag, (unsigned long)d->capacity,
                  (unsigned long)want))
        return;
    int s = rw(d, false, 0, rbuf, 1, false);
    if (!rt_check(s == 0 && !memcmp(rbuf, "BAREIRON", 8), "read-magic",
                  "%s: sector 0 read status %d, starts '%.8s'", d->tag, s, (const char *)rbuf))
        return;
    rt_pass("read-magic");
    if (has(d, VIRTIO_BLK_F_RO)) {
        test_readonly(d);
        return;
    }
    test_patterns(d);
    test_bounds(d);
    test_flush_id(d);
    test_zeroes_discard(d);
}

void payload_main(void)
{
    unsigned found = 0, ro = 0;
    for (unsigned dev = 0; dev < 32; dev++) {
        uint16_t bdf = PCI_BDF(0, dev, 0);
        if (pci_cf8_read32(bdf, PCI_VENDOR) != 0x10421af4)
            continue;
        struct vblk d = {.bdf = bdf};
        rt_snprintf(d.tag, sizeof(d.tag), "00:%02x.0", dev);
        found++;
        pci_cf8_write16(bdf, PCI_COMMAND,
                        (uint16_t)(pci_read16(bdf, PCI_COMMAND) | PCI_CMD_MEM | PCI_CMD_MASTER));
        if (!rt_check(map_caps(&d), "caps", "%s: missing virtio-pci capabilities", d.tag))
            continue;
        if (!rt_check(reset(&d), "reset", "%s: status does not read 0 after reset", d.tag))
            continue;
        set_status(&d, VIRTIO_S_ACK);
        set_status(&d, VIRTIO_S_ACK | VIRTIO_S_DRIVER);
        if (!negotiate(&d) || !setup_queue(&d))
            continue;
        ro += has(&d, VIRTIO_BLK_F_RO);
        test_device(&d);
        (void)reset(&d);
    }
    uint64_t want = rt_cmdline_u64("disks", 2);
    if (rt_check(found == want && (want < 2 || ro == 1), "devices",
                 "found %u virtio-blk devices (%u read-only), want %lu (1 read-only)", found, ro,
                 (unsigned long)want))
        rt_pass("devices");
}
