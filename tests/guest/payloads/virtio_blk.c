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
 * `sectors=N` capacity expected of each. With `bench=1` (docs/benchmarks.md) it instead times,
 * on the first writable disk, sequential 1 MiB writes then reads over the first `bench_mib=N`
 * MiB (default 64), then `bench_rand=N` (default 2000) 4 KiB reads at pseudo-random aligned
 * offsets in that region, one request in flight, on the PM timer, and prints
 * `BENCH seqwrite_mibs=.. seqread_mibs=.. randread_iops=..`. With `hold=1` it prints
 * `HOLD virtio_blk failures=N` at the end and halts instead of exiting, so the harness can read
 * the monitor's disk counters. With `slow=discard|zeroes|both` it keeps the first writable disk
 * busy with slow operations for the harness to time the monitor's control socket meanwhile
 * (docs/security.md): each round writes `slow_mib=N` MiB (default 32) from 1 MiB on in 1 MiB
 * requests (allocating writes on a qcow2 image after the previous round's discard), then
 * DISCARDs and/or WRITE_ZEROES `slow_gib=N` GiB (default 1) from 1 MiB in one request (sector 0
 * keeps the magic, so the payload runs again after a reset), and
 * prints `SLOWOPS round=N write_us=.. op_us=..`, for `slow_rounds=N` rounds (default 0: until
 * the harness stops the monitor).
 */
#include "acpi.h"
#include "pci.h"
#include "virtio.h"

const char payload_name[] = "virtio_blk";

#define MAX_SECTORS 128 /* largest data transfer per request: 64 KiB */

static uint8_t wbuf[MAX_SECTORS * 512] __attribute__((aligned(4096)));
static uint8_t rbuf[MAX_SECTORS * 512] __attribute__((aligned(4096)));

struct vblk {
    struct vdev v;
    uint64_t capacity;
    const char *tag;
};

#define BENCH_CHUNK (1u << 20)
static uint8_t bench_buf[BENCH_CHUNK] __attribute__((aligned(4096)));

static struct {
    uint32_t type, reserved;
    uint64_t sector;
} req_hdr __attribute__((aligned(16)));
static volatile uint8_t req_status;
static struct {
    uint64_t sector;
    uint32_t num_sectors, flags;
} req_seg;

static bool has(const struct vblk *d, unsigned bit)
{
    return vdev_has(&d->v, bit);
}

/*
 * Submits one request: header, then (nbuf) data buffers of (lens) bytes (device-writable when
 * (in)), then the status byte. Returns the status byte, or -1 on timeout or a bad used element.
 */
static int submit(struct vblk *d, uint32_t type, uint64_t sector, void *const *bufs,
                  const uint32_t *lens, unsigned nbuf, bool in)
{
    struct vbuf chain[4];
    req_hdr.type = type;
    req_hdr.reserved = 0;
    req_hdr.sector = sector;
    req_status = 0xff;
    unsigned n = 0;
    chain[n++] = (struct vbuf){&req_hdr, sizeof(req_hdr), false};
    for (unsigned i = 0; i < nbuf && i < 2; i++)
        chain[n++] = (struct vbuf){bufs[i], lens[i], in};
    chain[n++] = (struct vbuf){(void *)(uintptr_t)&req_status, 1, true};
    if (vdev_submit(&d->v, chain, n, NULL))
        return -1;
    barrier();
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

/* Prints (bytes) over (us) as MiB/s with one decimal into (buf). */
static void fmt_mibs(char *buf, size_t size, uint64_t bytes, uint64_t us)
{
    uint64_t x10 = us ? bytes * 10 * 1000000 / us / (1u << 20) : 0; /* bytes < 2^40 */
    rt_snprintf(buf, size, "%lu.%lu", (unsigned long)(x10 / 10), (unsigned long)(x10 % 10));
}

/* Sequential 1 MiB passes over the region, write then read; returns the elapsed us or 0. */
static uint64_t bench_seq(struct vblk *d, bool write, uint64_t chunks)
{
    uint64_t t0 = rt_now_us();
    for (uint64_t i = 0; i < chunks; i++) {
        if (write) {
            memset(bench_buf, (int)(i & 0xff), 64); /* touch: the data differs per chunk */
            if (i == 0)
                memcpy(bench_buf, "BAREIRON", 8); /* the image stays usable for another run */
        }
        int s = rw(d, write, i * (BENCH_CHUNK / 512), bench_buf, BENCH_CHUNK / 512, false);
        if (!rt_check(s == VIRTIO_BLK_S_OK, "bench", "%s: %s of chunk %lu gave %d", d->tag,
                      write ? "write" : "read", (unsigned long)i, s))
            return 0;
    }
    uint64_t t = rt_now_us() - t0;
    return t ? t : 1;
}

/* Timed sequential write/read and random 4 KiB reads on (d), one request at a time. */
static void bench_device(struct vblk *d)
{
    uint64_t chunks = rt_cmdline_u64("bench_mib", 64);
    uint64_t nrand = rt_cmdline_u64("bench_rand", 2000);
    if (chunks > d->capacity / (BENCH_CHUNK / 512))
        chunks = d->capacity / (BENCH_CHUNK / 512);
    if (!rt_check(chunks > 0 && rt_now_us() != 0, "bench", "%s: %lu MiB region, clock %s", d->tag,
                  (unsigned long)chunks, rt_now_us() ? "ok" : "missing (no PM timer)"))
        return;
    uint64_t wus = bench_seq(d, true, chunks);
    uint64_t rus = wus ? bench_seq(d, false, chunks) : 0;
    if (!rus)
        return;
    uint64_t blocks = chunks * (BENCH_CHUNK / 4096), x = 88172645463325252ULL;
    uint64_t t0 = rt_now_us();
    for (uint64_t i = 0; i < nrand; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift64 */
        int s = rw(d, false, (x % blocks) * 8, bench_buf, 8, false);
        if (!rt_check(s == VIRTIO_BLK_S_OK, "bench", "%s: random read %lu gave %d", d->tag,
                      (unsigned long)i, s))
            return;
    }
    uint64_t tus = rt_now_us() - t0;
    char w[24], r[24];
    fmt_mibs(w, sizeof(w), chunks * BENCH_CHUNK, wus);
    fmt_mibs(r, sizeof(r), chunks * BENCH_CHUNK, rus);
    rt_printf("BENCH seqwrite_mibs=%s seqread_mibs=%s randread_iops=%lu mib=%lu rand=%lu "
              "us=%lu,%lu,%lu\n",
              w, r, (unsigned long)(tus ? nrand * 1000000 / tus : 0), (unsigned long)chunks,
              (unsigned long)nrand, (unsigned long)wus, (unsigned long)rus, (unsigned long)tus);
    rt_pass("bench");
}

/* Rounds of large writes then one huge DISCARD and/or WRITE_ZEROES (slow=). */
static void slow_device(struct vblk *d)
{
    char op[16] = "discard";
    (void)rt_cmdline_get("slow", op, sizeof(op));
    bool do_zero = !strcmp(op, "zeroes") || !strcmp(op, "both");
    bool do_discard = !strcmp(op, "discard") || !strcmp(op, "both");
    uint64_t mib = rt_cmdline_u64("slow_mib", 32), rounds = rt_cmdline_u64("slow_rounds", 0);
    uint64_t sectors = rt_cmdline_u64("slow_gib", 1) << 21;
    const uint64_t base = BENCH_CHUNK / 512; /* sector 0 keeps the magic */
    if (!rt_check(base + sectors <= d->capacity && mib * 2048 <= sectors && sectors <= (1u << 22),
                  "slow", "%s: %lu sectors do not fit the disk (%lu) or one request", d->tag,
                  (unsigned long)sectors, (unsigned long)d->capacity))
        return;
    rt_printf("SLOWOPS start op=%s\n", op);
    for (uint64_t r = 0; !rounds || r < rounds; r++) {
        uint64_t t0 = rt_now_us();
        for (uint64_t i = 0; i < mib; i++) {
            memset(bench_buf, (int)((i + r) & 0xff), 64);
            int s =
                rw(d, true, base + i * (BENCH_CHUNK / 512), bench_buf, BENCH_CHUNK / 512, false);
            if (!rt_check(s == VIRTIO_BLK_S_OK, "slow", "%s: write %lu gave %d", d->tag,
                          (unsigned long)i, s))
                return;
        }
        uint64_t t1 = rt_now_us();
        int zs =
            do_zero ? seg_request(d, VIRTIO_BLK_T_WRITE_ZEROES, base, (uint32_t)sectors, 0) : 0;
        int ds = do_discard ? seg_request(d, VIRTIO_BLK_T_DISCARD, base, (uint32_t)sectors, 0) : 0;
        if (!rt_check(zs == VIRTIO_BLK_S_OK && ds == VIRTIO_BLK_S_OK, "slow",
                      "%s: write-zeroes %d discard %d", d->tag, zs, ds))
            return;
        rt_printf("SLOWOPS round=%lu write_us=%lu op_us=%lu\n", (unsigned long)r,
                  (unsigned long)(t1 - t0), (unsigned long)(rt_now_us() - t1));
    }
    rt_pass("slow");
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
    if (rt_cmdline_get("slow", (char[16]){0}, 16)) {
        if (!has(d, VIRTIO_BLK_F_RO))
            slow_device(d);
        return;
    }
    if (rt_cmdline_u64("bench", 0)) {
        if (!has(d, VIRTIO_BLK_F_RO))
            bench_device(d);
        return;
    }
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
    static struct acpi_info ai;
    char why[120];
    (void)acpi_init(&ai, why, sizeof(why)); /* the PM timer clock for timeouts */
    unsigned found = 0, ro = 0;
    uint64_t want_features = (1ULL << VIRTIO_BLK_F_RO) | (1ULL << VIRTIO_BLK_F_BLK_SIZE) |
                             (1ULL << VIRTIO_BLK_F_FLUSH) | (1ULL << VIRTIO_BLK_F_SEG_MAX) |
                             (1ULL << VIRTIO_BLK_F_SIZE_MAX) | (1ULL << VIRTIO_BLK_F_DISCARD) |
                             (1ULL << VIRTIO_BLK_F_WRITE_ZEROES);
    for (unsigned dev = 0; dev < 32; dev++) {
        uint16_t bdf = PCI_BDF(0, dev, 0);
        if (pci_cf8_read32(bdf, PCI_VENDOR) != 0x10421af4)
            continue;
        found++;
        static struct vblk d;
        if (!vdev_open(&d.v, bdf, want_features, VDEV_NO_VECTOR, "setup"))
            continue;
        d.tag = d.v.tag;
        d.capacity = vdev_cfg32(&d.v, VIRTIO_BLK_CFG_CAPACITY) |
                     (uint64_t)vdev_cfg32(&d.v, VIRTIO_BLK_CFG_CAPACITY + 4) << 32;
        ro += has(&d, VIRTIO_BLK_F_RO);
        test_device(&d);
        (void)vdev_reset(&d.v);
    }
    uint64_t want = rt_cmdline_u64("disks", 2);
    if (rt_check(found == want && (want < 2 || ro == 1), "devices",
                 "found %u virtio-blk devices (%u read-only), want %lu (1 read-only)", found, ro,
                 (unsigned long)want))
        rt_pass("devices");
    if (rt_cmdline_u64("hold", 0)) { /* keep running for the harness (stats of the disks) */
        rt_printf("HOLD %s failures=%u\n", payload_name, rt_failures());
        rt_sys_halt();
    }
}
