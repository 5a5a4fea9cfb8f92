/* SPDX-License-Identifier: MIT */
/*
 * Malicious-guest modes against the device's registers (hostile.c): a reset with requests in
 * flight (virtio 1.2 §2.4.1), odd-width and unaligned accesses to every register block
 * (§4.1.4.3-§4.1.4.6, PCI Local Bus 3.0 §3.2.2.3.2 and PCI Express 4.0 §7.2.2 configuration
 * access, MSI-X §6.8.2) and MSI-X abuse (vectors past the table §4.1.5.1.2, table entries that
 * are not LAPIC addresses, vector and function masks with the pending bits §6.8.2.9-10).
 */
#include "hostile.h"
#include "pci.h"

#define INFLIGHT 5
#define INFLIGHT_BYTES 65536

static struct blk_hdr if_hdr[INFLIGHT];
static volatile uint8_t if_status[INFLIGHT];
static uint8_t if_data[INFLIGHT][INFLIGHT_BYTES] __attribute__((aligned(4096)));

/* Five requests (reads and writes far from sector 0) outstanding, then status 0 at once. */
static void inflight_round(void)
{
    struct vdev_desc *desc;
    volatile uint16_t *avail;
    volatile uint32_t *used;
    vdev_rings(&desc, &avail, &used);
    for (unsigned i = 0; i < INFLIGHT; i++) {
        unsigned b = 3 * i;
        bool is_write = i & 1;
        if_hdr[i] =
            (struct blk_hdr){is_write ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN, 0, 1024 + 128 * i};
        if_status[i] = 0xff;
        desc[b] = (struct vdev_desc){(uintptr_t)&if_hdr[i], sizeof(if_hdr[i]), VIRTQ_DESC_F_NEXT,
                                     (uint16_t)(b + 1)};
        desc[b + 1] = (struct vdev_desc){
            (uintptr_t)if_data[i], INFLIGHT_BYTES,
            (uint16_t)(VIRTQ_DESC_F_NEXT | (is_write ? 0 : VIRTQ_DESC_F_WRITE)), (uint16_t)(b + 2)};
        desc[b + 2] = (struct vdev_desc){(uintptr_t)&if_status[i], 1, VIRTQ_DESC_F_WRITE, 0};
        avail[2 + (hx.d.avail_idx + i) % hx.d.qsize] = (uint16_t)b;
    }
    barrier();
    avail[1] = (uint16_t)(hx.d.avail_idx + INFLIGHT);
    barrier();
    mmio_write16(hx.d.notify_addr, 0);
    mmio_write8(hx.d.common + VIRTIO_PCI_COMMON_STATUS, 0);
}

void hostile_inflight(void)
{
    unsigned bad = 0;
    for (unsigned round = 0; round < 3; round++) {
        inflight_round();
        if (!hx_recover("inflight"))
            return;
        /* Late completions of the old requests must not land in the new rings. */
        rt_udelay(300000);
        struct vdev_desc *desc;
        volatile uint16_t *avail;
        volatile uint32_t *used;
        vdev_rings(&desc, &avail, &used);
        uint16_t uidx = (uint16_t)(used[0] >> 16);
        for (unsigned i = 1; i < hx.d.qsize; i++)
            bad += used[1 + 2 * i] != 0 || used[2 + 2 * i] != 0;
        bad += uidx != 1;
        if (uidx != 1)
            rt_printf("  inflight round %u: used.idx %u after one request\n", round, uidx);
    }
    if (rt_check(!bad, "inflight", "%u stale used-ring entries after the resets", bad))
        rt_pass("inflight");
}

/* ---- odd widths ---- */

static uint64_t sink;

static void read_all_widths(uint64_t base, unsigned len)
{
    for (unsigned off = 0; off < len; off++) {
        sink += mmio_read8(base + off);
        if (off + 2 <= len)
            sink += mmio_read16(base + off);
        if (off + 4 <= len)
            sink += mmio_read32(base + off);
        if (off + 8 <= len)
            sink += mmio_read64(base + off);
    }
}

static void regs_common(void)
{
    uint64_t c = hx.d.common;
    read_all_widths(c, 64); /* the structure is 64 bytes in bareiron, 56 + padding in QEMU */
    uint64_t lo = mmio_read32(c + VIRTIO_PCI_COMMON_Q_DESC);
    uint64_t hi = mmio_read32(c + VIRTIO_PCI_COMMON_Q_DESC + 4);
    uint64_t whole = mmio_read64(c + VIRTIO_PCI_COMMON_Q_DESC);
    rt_check(whole == (hi << 32 | lo), "regs-common", "64-bit queue_desc 0x%lx, halves 0x%lx",
             (unsigned long)whole, (unsigned long)(hi << 32 | lo));
    /* A byte write to queue_select's high byte selects queue 0x100, which does not exist. */
    mmio_write8(c + VIRTIO_PCI_COMMON_Q_SELECT + 1, 1);
    uint16_t sel = mmio_read16(c + VIRTIO_PCI_COMMON_Q_SELECT);
    uint16_t qsz = mmio_read16(c + VIRTIO_PCI_COMMON_Q_SIZE);
    rt_printf("  regs: byte write to queue_select+1: select 0x%x, queue_size %u\n", sel, qsz);
    if (hx.strict)
        rt_check(sel == 0x100 && qsz == 0, "regs-common",
                 "queue_select 0x%x, queue_size %u (want 0x100, 0)", sel, qsz);
    mmio_write16(c + VIRTIO_PCI_COMMON_Q_SELECT, 0);
    /* Writes that straddle fields and the end of the structure. */
    mmio_write32(c + 62, 0xffffffffu);
    mmio_write64(c + 60, ~0ULL);
    mmio_write16(c + VIRTIO_PCI_COMMON_CFGGENERATION,
                 0xffff); /* generation (RO) and queue_select low */
    mmio_write16(c + VIRTIO_PCI_COMMON_Q_SELECT, 0);
}

static void regs_isr_notify_devcfg(void)
{
    sink += mmio_read32(hx.d.isr) + mmio_read16(hx.d.isr + 1) + mmio_read64(hx.d.isr);
    /* No buffer is posted: these kicks find an empty queue. */
    mmio_write8(hx.d.notify_addr + 1, 0);
    mmio_write32(hx.d.notify_addr + 2, 0);
    mmio_write64(hx.d.notify_addr, 0);
    uint64_t cfg = hx.d.devcfg;
    uint64_t cap = vdev_cfg32(&hx.d, 0) | (uint64_t)vdev_cfg32(&hx.d, 4) << 32;
    read_all_widths(cfg, 64);
    sink += mmio_read64(cfg + 60) + mmio_read32(cfg + 62);
    mmio_write32(cfg, 0x12345678u);
    mmio_write64(cfg + 3, ~0ULL);
    uint64_t cap64 = mmio_read64(cfg);
    rt_check(cap64 == cap, "regs-devcfg", "capacity 0x%lx as 64 bits, 0x%lx as two halves",
             (unsigned long)cap64, (unsigned long)cap);
}

static void regs_pci(void)
{
    uint16_t bdf = hx.bdf;
    uint32_t id = pci_cf8_read32(bdf, PCI_VENDOR);
    uint32_t addr = 0x80000000u | (uint32_t)bdf << 8;
    outl(0xcf8, addr);
    uint32_t bytes = inb(0xcfc) | (uint32_t)inb(0xcfd) << 8 | (uint32_t)inb(0xcfe) << 16 |
                     (uint32_t)inb(0xcff) << 24;
    uint16_t dev_id = inw(0xcfe);
    rt_check(bytes == id && dev_id == id >> 16, "regs-pci",
             "config bytes 0x%x, word at 0xcfe 0x%x, dword 0x%x", bytes, dev_id, id);
    outl(0xcf8, addr | 3); /* reserved low bits set */
    sink += inl(0xcfc) + inl(0xcfd) + inw(0xcff);
    outl(0xcf8, 0x80000000u | (uint32_t)bdf << 8 | 0x05);
    outb(0xcfd, 0); /* command high byte */
    uint64_t ecam = hx.ai.ecam_base;
    if (ecam) {
        uint64_t fn = ecam + ((uint64_t)bdf << 12);
        /* PCIe 4.0 §7.2.2: an access wider than a DWORD need not work; it may be split (QEMU)
         * or refused as all-ones (bareiron), never return anything else. */
        uint64_t v = mmio_read64(fn);
        rt_printf("  regs: 64-bit ECAM read of the ID 0x%lx\n", (unsigned long)v);
        rt_check((uint32_t)v == id || v == ~0ULL, "regs-pci", "ECAM 64-bit read 0x%lx, id 0x%x",
                 (unsigned long)v, id);
        sink += mmio_read8(fn + 0xfff) + mmio_read16(fn + 0xffe) + mmio_read64(fn + 0xff8);
        mmio_write8(fn + 0xfff, 0xff);
        mmio_write64(fn + 0x100, ~0ULL);
        mmio_write16(fn + 0x3f, 0xffff); /* interrupt pin (RO) and line */
    }
    /* BAR sizing with decoding on, then the old value back. */
    uint32_t bar0 = pci_cf8_read32(bdf, PCI_BAR0);
    pci_cf8_write32(bdf, PCI_BAR0, 0xffffffffu);
    sink += pci_cf8_read32(bdf, PCI_BAR0);
    pci_cf8_write32(bdf, PCI_BAR0, bar0);
    pci_cf8_write16(bdf, PCI_COMMAND, PCI_CMD_MEM | PCI_CMD_MASTER);
}

/* MSI-X table and PBA addresses of hx.bdf; false without them. */
static bool msix_regions(uint8_t *cap, uint64_t *table, uint64_t *pba, unsigned *nvec)
{
    *cap = pci_find_cap(hx.bdf, 0x11, 0);
    if (!*cap)
        return false;
    uint32_t t = pci_read32(hx.bdf, (uint16_t)(*cap + 4));
    uint32_t p = pci_read32(hx.bdf, (uint16_t)(*cap + 8));
    *nvec = (pci_read16(hx.bdf, (uint16_t)(*cap + 2)) & 0x7ff) + 1u;
    uint64_t bars[6] = {0};
    for (unsigned i = 0; i < 6; i++) {
        uint32_t lo = pci_cf8_read32(hx.bdf, (uint16_t)(PCI_BAR0 + 4 * i));
        bars[i] = lo & 1 ? 0 : lo & ~0xfu;
        if (!(lo & 1) && ((lo >> 1) & 3) == 2 && i < 5) {
            bars[i] |= (uint64_t)pci_cf8_read32(hx.bdf, (uint16_t)(PCI_BAR0 + 4 * i + 4)) << 32;
            i++;
        }
    }
    *table = bars[t & 7] ? bars[t & 7] + (t & ~7u) : 0;
    *pba = bars[p & 7] ? bars[p & 7] + (p & ~7u) : 0;
    return *table && *pba && *table < RT_MAP_LIMIT && *pba < RT_MAP_LIMIT;
}

static void regs_msix(void)
{
    uint8_t cap;
    uint64_t table, pba;
    unsigned nvec;
    if (!rt_check(msix_regions(&cap, &table, &pba, &nvec), "regs-msix", "no MSI-X table"))
        return;
    mmio_write32(table, 0xfee00000u);
    mmio_write8(table, 0x55);
    mmio_write16(table + 2, 0x5555);
    mmio_write32(table + 2, 0x55555555u);
    mmio_write16(table + 8, 0x55);
    uint32_t lo = mmio_read32(table);
    rt_check(lo == 0xfee00000u, "regs-msix", "narrow/unaligned table writes changed addr to 0x%x",
             lo);
    mmio_write64(table + 16, 0x00000001fee01000ULL);
    uint64_t e1 = mmio_read64(table + 16);
    rt_check(e1 == 0x00000001fee01000ULL, "regs-msix", "64-bit entry write read back 0x%lx",
             (unsigned long)e1);
    mmio_write64(table + 16, 0);
    mmio_write32(pba, 0xffffffffu);
    uint32_t pbits = mmio_read32(pba);
    rt_check(pbits == 0, "regs-msix", "the PBA took a write: 0x%x", pbits);
    sink += mmio_read8(pba + 1) + mmio_read16(pba + 3) + mmio_read64(table + 16 * nvec - 4);
    sink += mmio_read64(pba + 4);
}

void hostile_regs(void)
{
    unsigned before = rt_failures();
    regs_common();
    regs_isr_notify_devcfg();
    regs_pci();
    regs_msix();
    if (hx_recover("regs") && rt_failures() == before)
        rt_pass("regs");
}

/* ---- MSI-X ---- */

static volatile uint32_t sentinel[1024] __attribute__((aligned(4096)));

static void msix_entry(uint64_t table, unsigned v, uint64_t addr, uint32_t data, bool masked)
{
    uint64_t e = table + 16 * (uint64_t)v;
    mmio_write32(e + 12, 1);
    mmio_write32(e, (uint32_t)addr);
    mmio_write32(e + 4, (uint32_t)(addr >> 32));
    mmio_write32(e + 8, data);
    mmio_write32(e + 12, masked ? 1 : 0);
}

static void set_ctrl(uint8_t cap, uint16_t bits)
{
    uint16_t ctl = pci_read16(hx.bdf, (uint16_t)(cap + 2));
    pci_cf8_write16(hx.bdf, (uint16_t)(cap + 2), (uint16_t)((ctl & 0x3fff) | bits));
}

static void msix_vectors(void)
{
    uint64_t c = hx.d.common;
    static const uint16_t bad[] = {64, 0x7ffe, 0x8000, 0xfffe};
    unsigned wrong = 0;
    for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
        mmio_write16(c + VIRTIO_PCI_COMMON_Q_MSIX, bad[i]);
        mmio_write16(c + VIRTIO_PCI_COMMON_MSIX, bad[i]);
        wrong += mmio_read16(c + VIRTIO_PCI_COMMON_Q_MSIX) != VDEV_NO_VECTOR;
        wrong += mmio_read16(c + VIRTIO_PCI_COMMON_MSIX) != VDEV_NO_VECTOR;
    }
    rt_check(!wrong, "msix-range", "%u out-of-range vectors did not read back as NO_VECTOR", wrong);
    mmio_write16(c + VIRTIO_PCI_COMMON_Q_MSIX, 0);
}

static bool pending(uint64_t pba)
{
    return mmio_read32(pba) & 1;
}

static int msix_request(void)
{
    static uint8_t buf[512] __attribute__((aligned(512)));
    return hx_request(VIRTIO_BLK_T_IN, 0, buf, 512);
}

void hostile_msix(void)
{
    uint8_t cap;
    uint64_t table, pba;
    unsigned nvec, before = rt_failures();
    if (!rt_check(msix_regions(&cap, &table, &pba, &nvec), "msix", "no MSI-X table"))
        return;
    uint32_t apic = mmio_read32(hx.ai.lapic_addr + 0x20) >> 24;
    set_ctrl(cap, 0xc000); /* enabled, function masked */
    msix_vectors();
    /* Entry 0 aims at guest RAM, not the LAPIC: the message must not become a RAM write. */
    for (unsigned i = 0; i < ARRAY_SIZE(sentinel); i++)
        sentinel[i] = 0xa5a5a5a5u;
    msix_entry(table, 0, (uintptr_t)sentinel, 0xdeadbeefu, false);
    set_ctrl(cap, 0x8000);
    int s1 = msix_request();
    unsigned hit = 0;
    for (unsigned i = 0; i < ARRAY_SIZE(sentinel); i++)
        hit += sentinel[i] != 0xa5a5a5a5u;
    rt_printf("  msix: entry at guest RAM: request %d, %u RAM words changed\n", s1, hit);
    rt_check(s1 == 0, "msix-ram", "request with a RAM-aimed vector gave %d", s1);
    if (hx.strict)
        rt_check(!hit, "msix-ram", "the MSI-X message changed %u words of guest RAM", hit);
    /* A LAPIC-looking address with high bits set, and the PCI hole. */
    msix_entry(table, 0, 0x1fee00000ULL, 0x45, false);
    int s2 = msix_request();
    msix_entry(table, 0, 0xd0000000u, 0x45, false);
    int s3 = msix_request();
    rt_check(s2 == 0 && s3 == 0, "msix-addr", "requests with odd MSI addresses gave %d, %d", s2,
             s3);
    /* Vector mask: the message waits in the PBA and leaves on unmask (IF stays 0). */
    msix_entry(table, 0, 0xfee00000u | apic << 12, 0x45, true);
    int s4 = msix_request();
    bool p_masked = pending(pba);
    mmio_write32(table + 12, 0);
    bool p_after = pending(pba);
    /* Function mask, same game. */
    set_ctrl(cap, 0xc000);
    int s5 = msix_request();
    bool f_masked = pending(pba);
    set_ctrl(cap, 0x8000);
    bool f_after = pending(pba);
    rt_printf("  msix: pending while masked %d/%d, after unmask %d/%d\n", p_masked, f_masked,
              p_after, f_after);
    rt_check(s4 == 0 && s5 == 0 && p_masked && !p_after && f_masked && !f_after, "msix-mask",
             "requests %d %d, pending bits masked %d %d, unmasked %d %d", s4, s5, p_masked,
             f_masked, p_after, f_after);
    /* MSI-X off with a vector still set: INTx instead, the request completes. */
    set_ctrl(cap, 0);
    int s6 = msix_request();
    rt_check(s6 == 0, "msix-off", "request with MSI-X disabled gave %d", s6);
    if (hx_recover("msix") && rt_failures() == before)
        rt_pass("msix");
}
