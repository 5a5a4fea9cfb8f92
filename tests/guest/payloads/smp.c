/* SPDX-License-Identifier: MIT */
/*
 * Starts every application processor listed in the MADT with INIT-SIPI-SIPI (Intel SDM vol. 3
 * §8.4.4.1, "Typical BSP Initialization Sequence") through the local APIC's ICR (xAPIC MMIO,
 * mapped user-accessible, so the BSP does it from ring 3). Each AP runs a tiny real-mode
 * trampoline (entry.S, copied to `tramp=` (default 0x8000), SIPI vector = address >> 12) that
 * sets its initial APIC ID (CPUID.1:EBX[31:24]) in a bitmap, increments a counter and halts.
 * The payload checks that the count equals the MADT's enabled processors minus the BSP, that
 * the set of started APIC IDs is exactly the MADT's, and (with `cpus=N`) the MADT's count.
 */
#include "acpi.h"

const char payload_name[] = "smp";

#define LAPIC_ID 0x20
#define LAPIC_SVR 0xf0
#define LAPIC_ICR_LO 0x300
#define LAPIC_ICR_HI 0x310
#define ICR_INIT 0x00004500 /* INIT, level assert */
#define ICR_SIPI 0x00004600 /* start-up */
#define ICR_BUSY (1u << 12)

extern const uint8_t ap_tramp_start[], ap_tramp_end[];
extern const uint64_t ap_tramp_count_off, ap_tramp_bitmap_off;

static struct acpi_info ai;

static void icr_send(uint64_t lapic, uint32_t apic_id, uint32_t lo)
{
    mmio_write32(lapic + LAPIC_ICR_HI, apic_id << 24);
    mmio_write32(lapic + LAPIC_ICR_LO, lo);
    for (int i = 0; i < 100000 && (mmio_read32(lapic + LAPIC_ICR_LO) & ICR_BUSY); i++)
        cpu_relax();
}

static void send_all(uint64_t lapic, uint32_t bsp, uint32_t lo)
{
    for (unsigned i = 0; i < ai.ncpus && i < ACPI_MAX_CPUS; i++) {
        if (ai.apic_ids[i] != bsp)
            icr_send(lapic, ai.apic_ids[i], lo);
    }
}

void payload_main(void)
{
    char why[120];
    if (acpi_init(&ai, why, sizeof(why)) || !ai.madt) {
        rt_fail("madt", "%s", ai.madt ? why : "no MADT");
        return;
    }
    uint64_t want = rt_cmdline_u64("cpus", 0);
    if (want && !rt_check(ai.ncpus == want, "madt", "MADT lists %u CPUs, cmdline says %lu",
                          ai.ncpus, (unsigned long)want))
        return;
    uint64_t lapic = ai.lapic_addr;
    uint32_t bsp = mmio_read32(lapic + LAPIC_ID) >> 24;
    bool bsp_listed = false;
    for (unsigned i = 0; i < ai.ncpus && i < ACPI_MAX_CPUS; i++)
        bsp_listed |= ai.apic_ids[i] == bsp;
    if (!rt_check(bsp_listed, "bsp", "BSP APIC ID %u is not in the MADT", bsp))
        return;
    rt_pass("bsp");

    uint64_t tramp = rt_cmdline_u64("tramp", 0x8000);
    /* two symbols bounding one assembler blob: subtract addresses, not pointers to objects */
    size_t len = (size_t)((uintptr_t)ap_tramp_end - (uintptr_t)ap_tramp_start);
    if (!rt_check(tramp >= 0x1000 && tramp < 0x9f000 && !(tramp & 0xfff), "tramp",
                  "bad trampoline address 0x%lx", (unsigned long)tramp))
        return;
    memcpy((void *)(uintptr_t)tramp, ap_tramp_start, len);
    volatile uint32_t *count = (volatile uint32_t *)(uintptr_t)(tramp + ap_tramp_count_off);
    volatile uint64_t *bitmap = (volatile uint64_t *)(uintptr_t)(tramp + ap_tramp_bitmap_off);
    *count = 0;
    for (int i = 0; i < 4; i++)
        bitmap[i] = 0;
    barrier();

    unsigned aps = ai.ncpus - 1;
    rt_printf("  BSP APIC ID %u, starting %u AP(s), trampoline at 0x%lx (%zu bytes)\n", bsp, aps,
              (unsigned long)tramp, len);
    /* Software-enable the LAPIC (SVR bit 8, spurious vector 0xff). */
    mmio_write32(lapic + LAPIC_SVR, mmio_read32(lapic + LAPIC_SVR) | 0x1ff);
    uint64_t t0 = rt_now_us();
    send_all(lapic, bsp, ICR_INIT);
    rt_udelay(10000);
    send_all(lapic, bsp, ICR_SIPI | (uint32_t)(tramp >> 12));
    rt_udelay(200);
    send_all(lapic, bsp, ICR_SIPI | (uint32_t)(tramp >> 12));

    uint64_t timeout_us = rt_cmdline_u64("timeout_ms", 5000) * 1000;
    while (*count < aps && rt_now_us() - t0 < timeout_us)
        cpu_relax();
    rt_udelay(20000); /* let stragglers (a CPU started twice) show up */
    uint32_t n = *count;
    rt_printf("  %u AP(s) checked in after %lu us\n", n, (unsigned long)(rt_now_us() - t0));
    if (rt_check(n == aps, "count", "%u of %u APs started", n, aps))
        rt_pass("count");

    uint64_t want_map[4] = {0};
    for (unsigned i = 0; i < ai.ncpus && i < ACPI_MAX_CPUS; i++) {
        if (ai.apic_ids[i] != bsp && ai.apic_ids[i] < 256)
            want_map[ai.apic_ids[i] / 64] |= 1ULL << (ai.apic_ids[i] % 64);
    }
    bool same = true;
    for (int i = 0; i < 4; i++)
        same &= bitmap[i] == want_map[i];
    if (rt_check(same, "apic-ids", "started APIC IDs %lx %lx %lx %lx, want %lx %lx %lx %lx",
                 (unsigned long)bitmap[3], (unsigned long)bitmap[2], (unsigned long)bitmap[1],
                 (unsigned long)bitmap[0], (unsigned long)want_map[3], (unsigned long)want_map[2],
                 (unsigned long)want_map[1], (unsigned long)want_map[0]))
        rt_pass("apic-ids");
}
