/* SPDX-License-Identifier: MIT */
/*
 * Walks the platform's ACPI tables (ACPI 6.4 §5.2): finds the RSDP, walks the XSDT (else the
 * RSDT), verifies every table's checksum (§5.2.6) including the DSDT reached through the FADT,
 * requires FADT, MADT and DSDT (MCFG when `mcfg=1`), counts the MADT's enabled processors
 * against `cpus=N`, checks that the FADT's PM1a event/control blocks and the PM timer respond
 * (§4.8.3: PM1_EN read-back, the timer advances at 3.579545 MHz) and that \_S5 is parseable.
 * With both an RSDT and an XSDT, their lists must agree. The multiboot memory map (the e820
 * map, ACPI 6.4 §15) must not offer any table, nor the RSDP, as usable RAM.
 */
#include "acpi.h"

const char payload_name[] = "acpi";

static struct acpi_info ai;

static void check_tables(void)
{
    unsigned bad = 0;
    for (unsigned i = 0; i < ai.ntables; i++) {
        const struct acpi_sdt *t = ai.tables[i];
        bool ok = t->length >= 36 && t->length < 0x100000 && acpi_checksum_ok(t, t->length);
        rt_printf("  table %.4s at 0x%lx len %u rev %u oem '%.6s' %s\n", t->sig,
                  (unsigned long)(uintptr_t)t, t->length, t->revision, t->oem_id,
                  ok ? "ok" : "BAD CHECKSUM");
        bad += !ok;
    }
    if (rt_check(bad == 0, "checksums", "%u of %u tables have a bad checksum", bad, ai.ntables))
        rt_pass("checksums");
    if (rt_check(ai.fadt && ai.madt, "required", "FADT %s, MADT %s", ai.fadt ? "found" : "MISSING",
                 ai.madt ? "found" : "MISSING"))
        rt_pass("required");
    bool dsdt_ok = ai.dsdt && !memcmp(ai.dsdt->sig, "DSDT", 4) && ai.dsdt->length >= 36 &&
                   acpi_checksum_ok(ai.dsdt, ai.dsdt->length);
    if (rt_check(dsdt_ok, "dsdt", "DSDT at 0x%lx missing or bad checksum",
                 (unsigned long)(uintptr_t)ai.dsdt))
        rt_pass("dsdt");
    if (ai.facs && rt_check(!memcmp(ai.facs->sig, "FACS", 4), "facs", "FACS signature wrong"))
        rt_pass("facs");
    if (rt_cmdline_u64("mcfg", 0)) {
        if (rt_check(ai.mcfg && ai.ecam_base, "mcfg", "no MCFG / ECAM base"))
            rt_pass("mcfg");
    }
    if (ai.mcfg)
        rt_printf("  MCFG: ECAM at 0x%lx, buses %u-%u\n", (unsigned long)ai.ecam_base,
                  ai.ecam_bus_start, ai.ecam_bus_end);
}

/* True when [base, base+len) overlaps a usable-RAM (type 1) entry of the memory map. */
static bool in_usable_ram(uint64_t base, uint64_t len)
{
    uint64_t b, l;
    uint32_t type;
    for (unsigned i = 0; rt_mmap_entry(i, &b, &l, &type); i++) {
        if (type == 1 && base < b + l && b < base + len)
            return true;
    }
    return false;
}

static void check_e820(void)
{
    uint64_t b, l;
    uint32_t type;
    unsigned n = 0, bad = 0;
    for (; rt_mmap_entry(n, &b, &l, &type); n++)
        rt_printf("  e820 %016lx-%016lx type %u\n", (unsigned long)b, (unsigned long)(b + l - 1),
                  type);
    if (!n) {
        rt_printf("  no multiboot memory map: e820 check skipped\n");
        return;
    }
    bad += in_usable_ram(ai.rsdp, 36);
    for (unsigned i = 0; i < ai.ntables; i++)
        bad += in_usable_ram((uintptr_t)ai.tables[i], ai.tables[i]->length);
    if (ai.dsdt)
        bad += in_usable_ram((uintptr_t)ai.dsdt, ai.dsdt->length);
    if (ai.facs)
        bad += in_usable_ram((uintptr_t)ai.facs, 64);
    if (rt_check(!bad, "e820", "%u ACPI structures lie in usable RAM", bad))
        rt_pass("e820");
}

/* With both root tables, the RSDT's 32-bit pointers must list the XSDT's tables. */
static void check_roots(void)
{
    if (!ai.rsdt || !ai.xsdt)
        return;
    const struct acpi_sdt *r = (const struct acpi_sdt *)(uintptr_t)ai.rsdt;
    if (!rt_check(!memcmp(r->sig, "RSDT", 4) && acpi_checksum_ok(r, r->length), "rsdt",
                  "RSDT at 0x%lx is bad", (unsigned long)ai.rsdt))
        return;
    /* Same set of tables; the order may differ. */
    unsigned n = (r->length - 36) / 4;
    bool same = n == ai.ntables;
    for (unsigned i = 0; same && i < n; i++) {
        uint32_t pa;
        memcpy(&pa, (const uint8_t *)r + 36 + 4 * i, 4);
        bool found = false;
        for (unsigned j = 0; j < ai.ntables; j++)
            found |= pa == (uintptr_t)ai.tables[j];
        same = found;
    }
    if (rt_check(same, "rsdt", "RSDT (%u entries) and XSDT (%u) disagree", n, ai.ntables))
        rt_pass("rsdt");
}

static void check_madt(void)
{
    if (!ai.madt)
        return;
    rt_printf("  MADT: LAPIC at 0x%lx, %u enabled CPU(s), %u disabled, %u IOAPIC(s)\n",
              (unsigned long)ai.lapic_addr, ai.ncpus, ai.ncpus_disabled, ai.nioapics);
    for (unsigned i = 0; i < ai.ncpus && i < ACPI_MAX_CPUS; i++)
        rt_printf("  cpu %u: APIC ID %u\n", i, ai.apic_ids[i]);
    uint64_t want = rt_cmdline_u64("cpus", 0);
    if (want && rt_check(ai.ncpus == want, "cpus", "MADT lists %u CPUs, cmdline says %lu", ai.ncpus,
                         (unsigned long)want))
        rt_pass("cpus");
    if (rt_check(ai.nioapics >= 1 && ai.lapic_addr, "apics", "%u IOAPICs, LAPIC 0x%lx", ai.nioapics,
                 (unsigned long)ai.lapic_addr))
        rt_pass("apics");
    /* APIC IDs must be unique. */
    bool dup = false;
    for (unsigned i = 0; i < ai.ncpus && i < ACPI_MAX_CPUS; i++)
        for (unsigned j = i + 1; j < ai.ncpus && j < ACPI_MAX_CPUS; j++)
            dup |= ai.apic_ids[i] == ai.apic_ids[j];
    if (rt_check(!dup, "apic-ids", "duplicate APIC IDs in the MADT"))
        rt_pass("apic-ids");
}

static void check_pm(void)
{
    if (!ai.fadt)
        return;
    rt_printf("  FADT: PM1a_EVT 0x%x PM1a_CNT 0x%x PM_TMR 0x%x (%u bits) flags 0x%x SMI_CMD 0x%x\n",
              ai.pm1a_evt, ai.pm1a_cnt, ai.pm_tmr, ai.pm_tmr_bits, ai.fadt_flags, ai.smi_cmd);
    if (ai.fadt_flags & FADT_F_HW_REDUCED) {
        rt_printf("  hardware-reduced ACPI: no fixed PM blocks to probe\n");
        return;
    }
    if (!rt_check(ai.pm1a_evt && ai.pm1a_cnt && ai.pm_tmr, "pm-blocks",
                  "FADT lacks PM1a_EVT/PM1a_CNT/PM_TMR"))
        return;
    rt_pass("pm-blocks");

    uint32_t t0 = inl(ai.pm_tmr);
    uint64_t spins = 0;
    uint32_t t1 = t0;
    while (t1 == t0 && spins++ < 10000000)
        t1 = inl(ai.pm_tmr);
    uint64_t us0 = rt_now_us();
    for (int i = 0; i < 100000 && rt_now_us() - us0 < 2000; i++)
        cpu_relax();
    uint64_t us1 = rt_now_us();
    if (rt_check(t1 != t0 && us1 - us0 >= 2000, "pm-timer", "PM timer stuck at 0x%x (%lu us)", t0,
                 (unsigned long)(us1 - us0)))
        rt_pass("pm-timer");

    uint16_t en_port = (uint16_t)(ai.pm1a_evt + ai.pm1_evt_len / 2);
    uint16_t en = inw(en_port);
    outw(en_port, (uint16_t)(en | PM1_EN_PWRBTN));
    uint16_t en1 = inw(en_port);
    outw(en_port, en);
    uint16_t en2 = inw(en_port);
    uint16_t sts = inw(ai.pm1a_evt);
    uint16_t cnt = inw(ai.pm1a_cnt);
    rt_printf("  PM1a_STS 0x%04x PM1a_EN 0x%04x PM1a_CNT 0x%04x\n", sts, en, cnt);
    if (rt_check((en1 & PM1_EN_PWRBTN) && en2 == en && sts != 0xffff && cnt != 0xffff, "pm1",
                 "PM1a_EN read-back 0x%04x/0x%04x (from 0x%04x), STS 0x%04x CNT 0x%04x", en1, en2,
                 en, sts, cnt))
        rt_pass("pm1");
}

void payload_main(void)
{
    char why[120];
    if (acpi_init(&ai, why, sizeof(why))) {
        rt_fail("rsdp", "%s", why);
        return;
    }
    rt_printf("  RSDP at 0x%lx rev %u, RSDT 0x%lx, XSDT 0x%lx, %u tables\n", (unsigned long)ai.rsdp,
              ai.rsdp_revision, (unsigned long)ai.rsdt, (unsigned long)ai.xsdt, ai.ntables);
    rt_pass("rsdp");
    check_tables();
    check_roots();
    check_e820();
    check_madt();
    check_pm();
    if (ai.dsdt) {
        rt_printf("  \\_S5 SLP_TYPa = %d\n", ai.s5_slp_typ);
        if (rt_check(ai.s5_slp_typ >= 0, "s5", "no parseable \\_S5 package in the DSDT"))
            rt_pass("s5");
    }
}
