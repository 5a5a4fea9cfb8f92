/* SPDX-License-Identifier: MIT */
/*
 * The malicious-guest payload (docs/security.md): a virtio-blk driver that breaks the rules of
 * virtio 1.2 and PCI 3.0 on purpose, one class per `mode=` word (a comma list runs several in
 * one boot), against the first 1af4:1042 function. After each attack the device must be usable
 * again after a reset (§2.4): a read of sector 0 returns the harness's magic. With `strict=1`
 * (bareiron-vmm) the outcome the monitor promises is checked too (the device sets NEEDS_RESET,
 * a dropped MSI-X message leaves guest RAM alone); without it (QEMU) the outcome is reported.
 *   loop selfloop nextout headout  looped and broken direct chains (§2.7.5.2)
 *   long nested indloop            over-long, nested and looping indirect tables (§2.7.5.3.1)
 *   availjump                      avail.idx more than the queue size ahead (§2.7.6)
 *   wrap wraplen                   a buffer whose end wraps 2^64 / runs past RAM
 *   lapic hole aboveram top own    buffers at the LAPIC, in the PCI hole, above RAM, at
 *                                  0xFFFFF000 and on the device's own BAR (MMIO, not RAM)
 *   inflight                       status 0 while reads and writes are outstanding (§2.4.1)
 *   regs                           odd-width and unaligned accesses to common/notify/ISR/device
 *                                  configuration, PCI configuration (CF8/CFC, ECAM) and MSI-X
 *   msix                           out-of-range vectors, non-LAPIC table entries, mask games
 * The modes for the monitor's four reviewed holes are in hostile_holes.c.
 */
#include "acpi.h"
#include "hostile.h"
#include "pci.h"

const char payload_name[] = "hostile";

struct hostile hx;

static struct vdev_desc *desc;
static volatile uint16_t *avail;
static volatile uint32_t *used;

static struct blk_hdr req_hdr __attribute__((aligned(16)));
static volatile uint8_t req_status;
static uint8_t sector_buf[512] __attribute__((aligned(512)));
#define TABLE_LEN 1100
static struct vdev_desc table[TABLE_LEN] __attribute__((aligned(16)));

uint64_t mmio_read64(uint64_t pa)
{
    return *(volatile uint64_t *)(uintptr_t)pa;
}

void mmio_write64(uint64_t pa, uint64_t v)
{
    *(volatile uint64_t *)(uintptr_t)pa = v;
}

uint8_t hx_status(void)
{
    return mmio_read8(hx.d.common + VIRTIO_PCI_COMMON_STATUS);
}

bool hx_open(const char *what)
{
    uint64_t want = 1ULL << VIRTIO_F_RING_INDIRECT_DESC | 1ULL << VIRTIO_BLK_F_FLUSH;
    if (!vdev_open(&hx.d, hx.bdf, want, VDEV_NO_VECTOR, what))
        return false;
    vdev_rings(&desc, &avail, &used);
    return true;
}

int hx_request(uint32_t type, uint64_t sector, void *buf, uint32_t len)
{
    req_hdr = (struct blk_hdr){type, 0, sector};
    req_status = 0xff;
    struct vbuf chain[3] = {{&req_hdr, sizeof(req_hdr), false},
                            {buf, len, type == VIRTIO_BLK_T_IN},
                            {(void *)(uintptr_t)&req_status, 1, true}};
    if (!len) /* no data buffer: QEMU refuses zero-sized ones */
        chain[1] = chain[2];
    if (vdev_submit(&hx.d, chain, len ? 3 : 2, NULL))
        return -1;
    barrier();
    return req_status;
}

bool hx_recover(const char *what)
{
    if (!rt_check(vdev_reset(&hx.d), what, "status does not read 0 after a reset") ||
        !hx_open(what))
        return false;
    memset(sector_buf, 0, sizeof(sector_buf));
    int s = hx_request(VIRTIO_BLK_T_IN, 0, sector_buf, 512);
    return rt_check(s == VIRTIO_BLK_S_OK && !memcmp(sector_buf, "BAREIRON", 8), what,
                    "after the reset, reading sector 0 gave %d, '%.8s'", s,
                    (const char *)sector_buf);
}

/* What the device did with a hostile chain. */
enum outcome { OUT_NOTHING, OUT_NEEDS_RESET, OUT_USED };
static const char *const outcome_names[] = {"nothing within 1 s", "NEEDS_RESET", "used"};

static enum outcome wait_outcome(uint16_t used_before)
{
    uint64_t t0 = rt_now_us();
    for (uint64_t spins = 0; spins < 100000000 && rt_now_us() - t0 < 1000000; spins++) {
        if (hx_status() & VIRTIO_STATUS_NEEDS_RESET)
            return OUT_NEEDS_RESET;
        if ((uint16_t)(used[0] >> 16) != used_before)
            return OUT_USED;
        cpu_relax();
    }
    return OUT_NOTHING;
}

/* Publishes (head) with avail.idx set (ahead) entries past the driver's index and kicks. */
static void post(uint16_t head, uint16_t ahead)
{
    avail[2 + hx.d.avail_idx % hx.d.qsize] = head;
    barrier();
    avail[1] = (uint16_t)(hx.d.avail_idx + ahead);
    barrier();
    mmio_write16(hx.d.notify_addr, 0);
}

static void set_desc(unsigned i, uint64_t gpa, uint32_t len, uint16_t flags, uint16_t next)
{
    desc[i] = (struct vdev_desc){gpa, len, flags, next};
}

/* hdr -> data(gpa, len) -> status, a read of sector 0; descriptors 0..2. */
static void read_chain(uint64_t gpa, uint32_t len)
{
    req_hdr = (struct blk_hdr){VIRTIO_BLK_T_IN, 0, 0};
    set_desc(0, (uintptr_t)&req_hdr, sizeof(req_hdr), VIRTQ_DESC_F_NEXT, 1);
    set_desc(1, gpa, len, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
    set_desc(2, (uintptr_t)&req_status, 1, VIRTQ_DESC_F_WRITE, 0);
}

static void indirect_head(unsigned entries)
{
    set_desc(0, (uintptr_t)table, entries * 16, VIRTQ_DESC_F_INDIRECT, 0);
}

/* Builds the hostile chain of (mode); returns how far ahead avail.idx goes, 0 if unknown. */
static uint16_t build(const char *mode, uint16_t *head)
{
    uint16_t q = hx.d.qsize;
    uintptr_t buf = (uintptr_t)sector_buf;
    *head = 0;
    memset(table, 0, sizeof(table));
    if (!strcmp(mode, "loop")) { /* 0 -> 1 -> 2 -> 0 */
        read_chain(buf, 512);
        set_desc(2, (uintptr_t)&req_status, 1, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 0);
    } else if (!strcmp(mode, "selfloop")) {
        set_desc(0, (uintptr_t)&req_hdr, sizeof(req_hdr), VIRTQ_DESC_F_NEXT, 0);
    } else if (!strcmp(mode, "nextout")) {
        read_chain(buf, 512);
        desc[1].next = (uint16_t)(q + 3);
    } else if (!strcmp(mode, "headout")) {
        read_chain(buf, 512);
        *head = 0x8000;
    } else if (!strcmp(mode, "long")) { /* more buffers than any chain may hold */
        indirect_head(TABLE_LEN);
        for (unsigned i = 0; i < TABLE_LEN; i++)
            table[i] = (struct vdev_desc){buf, 1, VIRTQ_DESC_F_NEXT, (uint16_t)(i + 1)};
        table[TABLE_LEN - 1].flags = 0;
    } else if (!strcmp(mode, "nested")) {
        indirect_head(2);
        table[0] = (struct vdev_desc){(uintptr_t)&table[1], 16, VIRTQ_DESC_F_INDIRECT, 0};
        table[1] = (struct vdev_desc){(uintptr_t)&table[0], 16, VIRTQ_DESC_F_INDIRECT, 0};
    } else if (!strcmp(mode, "indloop")) {
        indirect_head(2);
        table[0] = (struct vdev_desc){(uintptr_t)&req_hdr, sizeof(req_hdr), VIRTQ_DESC_F_NEXT, 1};
        table[1] = (struct vdev_desc){buf, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 0};
    } else if (!strcmp(mode, "availjump")) {
        read_chain(buf, 512);
        return (uint16_t)(q + 1);
    } else if (!strcmp(mode, "wrap")) {
        read_chain(0xfffffffffffff000ULL, 0x2000);
    } else if (!strcmp(mode, "wraplen")) {
        read_chain(buf, 0xfffffff0u);
    } else if (!strcmp(mode, "lapic")) {
        read_chain(0xfee00000u, 512);
    } else if (!strcmp(mode, "hole")) {
        read_chain(0xd0000000u, 512);
    } else if (!strcmp(mode, "aboveram")) {
        read_chain(0x100000000ULL, 512);
    } else if (!strcmp(mode, "top")) {
        read_chain(0xfffff000u, 512);
    } else if (!strcmp(mode, "own")) {
        read_chain(hx.d.common, 64);
    } else {
        return 0;
    }
    return 1;
}

/* One hostile chain: the outcome, then a reset and a clean request. */
static void run_chain(const char *mode)
{
    uint16_t head, ahead = build(mode, &head);
    uint16_t before = (uint16_t)(used[0] >> 16);
    post(head, ahead);
    enum outcome o = wait_outcome(before);
    rt_printf("  %s: %s (status 0x%x)\n", mode, outcome_names[o], hx_status());
    bool ok = !hx.strict || o == OUT_NEEDS_RESET;
    rt_check(ok, mode, "the device did not set NEEDS_RESET: %s", outcome_names[o]);
    if (hx_recover(mode) && ok)
        rt_pass(mode);
}

static const char *const chain_modes[] = {
    "loop", "selfloop", "nextout", "headout", "long",     "nested", "indloop", "availjump",
    "wrap", "wraplen",  "lapic",   "hole",    "aboveram", "top",    "own",
};

static const struct {
    const char *name;
    void (*fn)(void);
} fn_modes[] = {
    {"inflight", hostile_inflight},     {"regs", hostile_regs},     {"msix", hostile_msix},
    {"qcow2probe", hostile_qcow2probe}, {"bounce", hostile_bounce}, {"teardown", hostile_teardown},
    {"storm", hostile_storm},
};

static void run_mode(const char *mode)
{
    for (unsigned i = 0; i < ARRAY_SIZE(chain_modes); i++) {
        if (!strcmp(mode, chain_modes[i])) {
            run_chain(mode);
            return;
        }
    }
    for (unsigned i = 0; i < ARRAY_SIZE(fn_modes); i++) {
        if (!strcmp(mode, fn_modes[i].name)) {
            fn_modes[i].fn();
            return;
        }
    }
    rt_fail("mode", "unknown mode '%s'", mode);
}

void payload_main(void)
{
    char modes[200], why[120];
    (void)acpi_init(&hx.ai, why, sizeof(why)); /* PM timer, LAPIC, ECAM */
    hx.strict = rt_cmdline_u64("strict", 0) != 0;
    if (!rt_cmdline_get("mode", modes, sizeof(modes))) {
        rt_fail("mode", "no mode= on the command line");
        return;
    }
    if (!rt_check(pci_find_device(0x1af4, 0x1042, &hx.bdf), "device", "no virtio-blk device") ||
        !hx_open("open"))
        return;
    for (char *m = modes, *end; *m; m = end) {
        end = m;
        while (*end && *end != ',')
            end++;
        if (*end)
            *end++ = 0;
        run_mode(m);
    }
}
