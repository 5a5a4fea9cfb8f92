/* SPDX-License-Identifier: MIT */
/*
 * Interrupt delivery, the one place the payloads let the CPU take interrupts (STI in ring 3 is
 * allowed by IOPL 3; the vector 0x40-0x4f stubs in entry.S count and EOI in ring 0):
 *   - self-IPI through the local APIC ICR (Intel SDM vol. 3 §10.6.1, shorthand "self");
 *   - the IOAPIC (82093AA data sheet, redirection table at index 0x10 + 2 * pin): COM1's IRQ 4,
 *     mapped through the MADT's interrupt source overrides, raised by the UART's THRE interrupt
 *     (IER bit 1, with MCR OUT2 set as PCs gate the line);
 *   - MSI-X (PCI 3.0 §6.8.2) from the first virtio device found (blk 1af4:1042 or rng 1af4:1044):
 *     table entry 0 aimed at this CPU, queue 0 on vector 0 (virtio 1.2 §4.1.5.1.2), one request.
 * The 8259 PICs and the LAPIC's LINT0/timer/error LVTs are masked first so nothing else fires.
 * `msix=0` skips the MSI-X part (no virtio device). `bench=N` then times N COM1 interrupts
 * through the IOAPIC twice (docs/benchmarks.md): edge-triggered, re-armed by toggling IER (two
 * port writes and one delivery each), and level-triggered with THRE held high, where each
 * LAPIC EOI makes the IOAPIC deliver it again (the EOI round trip a level-triggered device
 * pays) until its storm guard pauses the line (after 10000 in a row, in KVM's IOAPIC and in
 * ours alike), so level_n is at least N and usually 10000. It prints
 * `BENCH irq edge_n=.. edge_ns=.. level_n=.. level_ns=..` (mean ns each).
 */
#include "acpi.h"
#include "pci.h"
#include "virtio.h"

const char payload_name[] = "irq";

#define LAPIC_ID 0x20
#define LAPIC_TPR 0x80
#define LAPIC_EOI 0xb0
#define LAPIC_SVR 0xf0
#define LAPIC_ICR_LO 0x300
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_LVT_LINT0 0x350
#define LAPIC_LVT_ERROR 0x370
#define LVT_MASKED 0x10000
#define VEC_SELF 0x40
#define VEC_COM1 0x41
#define VEC_MSIX 0x42
#define VEC_SPURIOUS 0x4f

static struct acpi_info ai;
static uint64_t lapic;
static uint32_t apic_id;

/* Lets interrupts in until rt_irq_count[vec - 0x40] reaches (want) or (us) pass. */
static uint32_t wait_irq(unsigned vec, uint32_t want, uint64_t us)
{
    uint64_t t0 = rt_now_us();
    sti();
    for (uint64_t spins = 0; rt_irq_count[vec - 0x40] < want && spins < 100000000; spins++) {
        if (rt_now_us() - t0 > us)
            break;
        cpu_relax();
    }
    cli();
    return rt_irq_count[vec - 0x40];
}

static void ioapic_write(unsigned idx, uint32_t v)
{
    mmio_write32(ai.ioapic_addr, idx);
    mmio_write32(ai.ioapic_addr + 0x10, v);
}

static void setup_lapic(void)
{
    outb(0x21, 0xff); /* mask both 8259s */
    outb(0xa1, 0xff);
    lapic = ai.lapic_addr;
    apic_id = mmio_read32(lapic + LAPIC_ID) >> 24;
    mmio_write32(lapic + LAPIC_LVT_LINT0, LVT_MASKED);
    mmio_write32(lapic + LAPIC_LVT_TIMER, LVT_MASKED);
    mmio_write32(lapic + LAPIC_LVT_ERROR, LVT_MASKED);
    mmio_write32(lapic + LAPIC_TPR, 0);
    mmio_write32(lapic + LAPIC_SVR, 0x100 | VEC_SPURIOUS);
    rt_lapic_eoi = lapic + LAPIC_EOI;
}

static void test_self_ipi(void)
{
    mmio_write32(lapic + LAPIC_ICR_LO, 0x40000 | VEC_SELF);
    uint32_t n = wait_irq(VEC_SELF, 1, 1000000);
    if (rt_check(n == 1, "self-ipi", "vector 0x%x taken %u times, want 1", VEC_SELF, n))
        rt_pass("self-ipi");
}

static void test_ioapic_com1(void)
{
    uint32_t gsi = ai.isa_gsi[4];
    if (!rt_check(ai.ioapic_addr && gsi >= ai.ioapic_gsi_base, "ioapic", "no IOAPIC for GSI %u",
                  gsi))
        return;
    unsigned pin = gsi - ai.ioapic_gsi_base;
    uint16_t fl = ai.isa_flags[4];
    uint32_t lo = VEC_COM1;
    if ((fl & 3) == 3) /* active low */
        lo |= 1u << 13;
    if (((fl >> 2) & 3) == 3) /* level */
        lo |= 1u << 15;
    ioapic_write(0x11 + 2 * pin, apic_id << 24);
    ioapic_write(0x10 + 2 * pin, lo);
    outb(COM1 + 4, 0x0b); /* DTR RTS OUT2 */
    outb(COM1 + 1, 0x02); /* THRE interrupt: THR is empty, so it fires at once */
    uint32_t n = wait_irq(VEC_COM1, 1, 1000000);
    outb(COM1 + 1, 0x00);
    (void)inb(COM1 + 2);
    ioapic_write(0x10 + 2 * pin, LVT_MASKED | VEC_COM1);
    outb(COM1 + 4, 0x03);
    rt_printf("  COM1: ISA IRQ 4 -> GSI %u (IOAPIC pin %u, flags 0x%x), %u interrupt(s)\n", gsi,
              pin, fl, n);
    if (rt_check(n >= 1, "ioapic", "no interrupt on vector 0x%x from COM1", VEC_COM1))
        rt_pass("ioapic");
}

/* Programs MSI-X table entry 0 of (bdf) to (vector) on this CPU and enables MSI-X. */
static bool msix_enable(uint16_t bdf, uint8_t vector)
{
    uint8_t cap = pci_find_cap(bdf, 0x11, 0);
    if (!rt_check(cap, "msix", "%02x.%x has no MSI-X capability", PCI_DEV(bdf), PCI_FN(bdf)))
        return false;
    uint32_t tbl = pci_read32(bdf, (uint16_t)(cap + 4));
    uint32_t lo = pci_cf8_read32(bdf, (uint16_t)(PCI_BAR0 + 4 * (tbl & 7)));
    uint64_t bar = lo & ~0xfu;
    if (((lo >> 1) & 3) == 2)
        bar |= (uint64_t)pci_cf8_read32(bdf, (uint16_t)(PCI_BAR0 + 4 * (tbl & 7) + 4)) << 32;
    uint64_t entry = bar + (tbl & ~7u);
    if (!rt_check(bar && entry + 16 <= RT_MAP_LIMIT, "msix", "MSI-X table at 0x%lx",
                  (unsigned long)entry))
        return false;
    uint16_t ctl = pci_read16(bdf, (uint16_t)(cap + 2));
    pci_cf8_write16(bdf, (uint16_t)(cap + 2), (uint16_t)((ctl | 0x8000 | 0x4000)));
    mmio_write32(entry + 0, 0xfee00000u | apic_id << 12);
    mmio_write32(entry + 4, 0);
    mmio_write32(entry + 8, vector);
    mmio_write32(entry + 12, 0);
    pci_cf8_write16(bdf, (uint16_t)(cap + 2), (uint16_t)((ctl | 0x8000) & ~0x4000));
    return true;
}

static void test_msix(void)
{
    uint16_t bdf;
    bool blk = pci_find_device(0x1af4, 0x1042, &bdf);
    if (!blk && !pci_find_device(0x1af4, 0x1044, &bdf)) {
        rt_fail("msix", "no virtio-blk or virtio-rng device (use msix=0 without one)");
        return;
    }
    static struct vdev d;
    if (!msix_enable(bdf, VEC_MSIX) || !vdev_open(&d, bdf, 0, 0, "msix"))
        return;
    static uint8_t buf[20];
    static struct {
        uint32_t type, reserved;
        uint64_t sector;
    } hdr = {8 /* GET_ID */, 0, 0};
    static volatile uint8_t status = 0xff;
    struct vbuf blk_chain[3] = {{&hdr, sizeof(hdr), false},
                                {buf, sizeof(buf), true},
                                {(void *)(uintptr_t)&status, 1, true}};
    struct vbuf rng_chain[1] = {{buf, 16, true}};
    int rc = blk ? vdev_submit(&d, blk_chain, 3, NULL) : vdev_submit(&d, rng_chain, 1, NULL);
    uint32_t n = wait_irq(VEC_MSIX, 1, 1000000);
    (void)vdev_reset(&d);
    rt_printf("  MSI-X from %s at %s: request %d, %u interrupt(s)\n",
              blk ? "virtio-blk" : "virtio-rng", d.tag, rc, n);
    if (rt_check(rc == 0 && n >= 1, "msix", "request %d, %u interrupts on vector 0x%x", rc, n,
                 VEC_MSIX))
        rt_pass("msix");
}

/* Mean ns of one interrupt out of (n) taken in (us) microseconds; 0 when none was. */
static unsigned long mean_ns(uint64_t us, uint32_t n)
{
    return n ? (unsigned long)(us * 1000 / n) : 0;
}

/* bench=N (see the top of the file): COM1's pin edge-triggered, then level-triggered. */
static void bench_ioapic(uint32_t n)
{
    uint32_t gsi = ai.isa_gsi[4];
    if (!rt_check(ai.ioapic_addr && gsi >= ai.ioapic_gsi_base && n > 0, "bench", "no IOAPIC"))
        return;
    unsigned pin = gsi - ai.ioapic_gsi_base;
    volatile uint32_t *count = &rt_irq_count[VEC_COM1 - 0x40];
    ioapic_write(0x11 + 2 * pin, apic_id << 24);
    ioapic_write(0x10 + 2 * pin, VEC_COM1); /* edge, active high, unmasked */
    outb(COM1 + 4, 0x0b);
    uint32_t base = *count;
    uint64_t t0 = rt_now_us();
    for (uint32_t i = 0; i < n; i++) {
        outb(COM1 + 1, 0x00);
        outb(COM1 + 1, 0x02);
        if (wait_irq(VEC_COM1, base + i + 1, 100000) != base + i + 1)
            break;
    }
    uint64_t edge_us = rt_now_us() - t0;
    uint32_t edge_n = *count - base;
    outb(COM1 + 1, 0x00);
    base = *count;
    ioapic_write(0x10 + 2 * pin, VEC_COM1 | 1u << 15); /* level: re-delivered after each EOI */
    t0 = rt_now_us();
    outb(COM1 + 1, 0x02);
    wait_irq(VEC_COM1, base + n, 10000000);
    uint64_t level_us = rt_now_us() - t0;
    uint32_t level_n = *count - base;
    outb(COM1 + 1, 0x00);
    (void)inb(COM1 + 2);
    ioapic_write(0x10 + 2 * pin, LVT_MASKED | VEC_COM1);
    outb(COM1 + 4, 0x03);
    rt_printf("BENCH irq edge_n=%u edge_ns=%lu level_n=%u level_ns=%lu\n", edge_n,
              mean_ns(edge_us, edge_n), level_n, mean_ns(level_us, level_n));
    if (rt_check(edge_n == n && level_n >= n, "bench", "%u edge and %u level interrupts of %u",
                 edge_n, level_n, n))
        rt_pass("bench");
}

void payload_main(void)
{
    char why[120];
    if (acpi_init(&ai, why, sizeof(why)) || !ai.madt) {
        rt_fail("madt", "%s", ai.madt ? why : "no MADT");
        return;
    }
    setup_lapic();
    test_self_ipi();
    test_ioapic_com1();
    if (rt_cmdline_u64("msix", 1))
        test_msix();
    if (rt_cmdline_u64("bench", 0))
        bench_ioapic((uint32_t)rt_cmdline_u64("bench", 0));
    uint32_t spurious = rt_irq_count[VEC_SPURIOUS - 0x40];
    if (rt_check(spurious == 0, "spurious", "%u spurious interrupts", spurious))
        rt_pass("spurious");
}
