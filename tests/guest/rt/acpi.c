/* SPDX-License-Identifier: MIT */
/*
 * ACPI table finder (acpi.h), following ACPI 6.4 §5.2.5 (RSDP), §5.2.7/§5.2.8 (RSDT/XSDT),
 * §5.2.9 (FADT field offsets), §5.2.12 (MADT entries 0, 1, 5, 9), PCI Firmware 3.2 §4.1.2
 * (MCFG) and §20.2 (AML encoding of the \_S5 package). Everything runs in ring 3 over the
 * identity map; tables are read in place.
 */
#include "acpi.h"

static uint32_t rd32(const void *p, size_t off)
{
    uint32_t v;
    memcpy(&v, (const uint8_t *)p + off, sizeof(v));
    return v;
}

static uint64_t rd64(const void *p, size_t off)
{
    uint64_t v;
    memcpy(&v, (const uint8_t *)p + off, sizeof(v));
    return v;
}

bool acpi_checksum_ok(const void *p, size_t len)
{
    const uint8_t *b = p;
    uint8_t sum = 0;
    for (size_t i = 0; i < len; i++)
        sum = (uint8_t)(sum + b[i]);
    return sum == 0;
}

static uint64_t scan_rsdp(uint64_t start, uint64_t end)
{
    for (uint64_t a = start; a + 20 <= end; a += 16) {
        const uint8_t *p = (const uint8_t *)(uintptr_t)a;
        if (memcmp(p, "RSD PTR ", 8) || !acpi_checksum_ok(p, 20))
            continue;
        if (p[15] >= 2 && !acpi_checksum_ok(p, rd32(p, 20) > 36 ? 36 : rd32(p, 20)))
            continue;
        return a;
    }
    return 0;
}

static bool plausible(uint64_t pa)
{
    return pa >= 0x1000 && pa < RT_MAP_LIMIT;
}

static int walk_root(struct acpi_info *ai, char *why, size_t whysz)
{
    uint64_t root = ai->xsdt ? ai->xsdt : ai->rsdt;
    unsigned esz = ai->xsdt ? 8 : 4;
    const struct acpi_sdt *h = (const struct acpi_sdt *)(uintptr_t)root;
    if (!plausible(root) || memcmp(h->sig, ai->xsdt ? "XSDT" : "RSDT", 4) || h->length < 36 ||
        h->length > 0x10000) {
        rt_snprintf(why, whysz, "bad root table at 0x%lx", (unsigned long)root);
        return -1;
    }
    unsigned n = (h->length - 36) / esz;
    for (unsigned i = 0; i < n && ai->ntables < ACPI_MAX_TABLES; i++) {
        uint64_t pa = esz == 8 ? rd64(h, 36 + i * 8ul) : rd32(h, 36 + i * 4ul);
        if (plausible(pa))
            ai->tables[ai->ntables++] = (const struct acpi_sdt *)(uintptr_t)pa;
    }
    return 0;
}

const struct acpi_sdt *acpi_find(const struct acpi_info *ai, const char *sig, unsigned idx)
{
    for (unsigned i = 0; i < ai->ntables; i++) {
        if (!memcmp(ai->tables[i]->sig, sig, 4) && idx-- == 0)
            return ai->tables[i];
    }
    return NULL;
}

/* Returns the I/O port of a FADT block: the X_ GAS when present and in I/O space, else the
 * legacy 32-bit field. */
static uint16_t fadt_port(const struct acpi_sdt *f, size_t legacy_off, size_t x_off)
{
    if (f->length >= x_off + 12) {
        struct acpi_gas g;
        memcpy(&g, (const uint8_t *)f + x_off, sizeof(g));
        if (g.address && g.space == 1)
            return (uint16_t)g.address;
    }
    return (uint16_t)rd32(f, legacy_off);
}

static void parse_fadt(struct acpi_info *ai)
{
    const struct acpi_sdt *f = ai->fadt;
    uint64_t dsdt = rd32(f, 40);
    if (f->length >= 148 && rd64(f, 140))
        dsdt = rd64(f, 140);
    if (plausible(dsdt))
        ai->dsdt = (const struct acpi_sdt *)(uintptr_t)dsdt;
    uint64_t facs = rd32(f, 36);
    if (f->length >= 140 && rd64(f, 132))
        facs = rd64(f, 132);
    if (plausible(facs))
        ai->facs = (const struct acpi_sdt *)(uintptr_t)facs;
    ai->smi_cmd = (uint16_t)rd32(f, 48);
    ai->acpi_enable = ((const uint8_t *)f)[52];
    ai->pm1a_evt = fadt_port(f, 56, 148);
    ai->pm1a_cnt = fadt_port(f, 64, 172);
    ai->pm_tmr = fadt_port(f, 76, 208);
    ai->pm1_evt_len = ((const uint8_t *)f)[88];
    ai->pm1_cnt_len = ((const uint8_t *)f)[89];
    ai->fadt_flags = f->length >= 116 ? rd32(f, 112) : 0;
    ai->pm_tmr_bits = (ai->fadt_flags & FADT_F_TMR_VAL_EXT) ? 32 : 24;
    if (f->length >= 129 && (ai->fadt_flags & FADT_F_RESET_REG_SUP)) {
        ai->has_reset = true;
        memcpy(&ai->reset_reg, (const uint8_t *)f + 116, sizeof(ai->reset_reg));
        ai->reset_value = ((const uint8_t *)f)[128];
    }
}

static void madt_entry(struct acpi_info *ai, const uint8_t *e)
{
    uint32_t id = 0, flags = 0;
    switch (e[0]) {
    case 0: /* processor local APIC */
        id = e[3];
        flags = rd32(e, 4);
        break;
    case 9: /* processor local x2APIC */
        id = rd32(e, 4);
        flags = rd32(e, 8);
        break;
    case 1: /* IOAPIC */
        if (!ai->nioapics++) {
            ai->ioapic_addr = rd32(e, 4);
            ai->ioapic_gsi_base = rd32(e, 8);
        }
        return;
    case 2: /* interrupt source override: bus, source, GSI, flags */
        if (e[1] >= 10 && e[2] == 0 && e[3] < 16) {
            ai->isa_gsi[e[3]] = rd32(e, 4);
            ai->isa_flags[e[3]] = (uint16_t)(e[8] | e[9] << 8);
        }
        return;
    case 5: /* local APIC address override */
        if (e[1] >= 12)
            ai->lapic_addr = rd64(e, 4);
        return;
    default:
        return;
    }
    if (!(flags & 1)) {
        ai->ncpus_disabled++;
        return;
    }
    if (ai->ncpus < ACPI_MAX_CPUS)
        ai->apic_ids[ai->ncpus] = id;
    ai->ncpus++;
}

static void parse_madt(struct acpi_info *ai)
{
    const uint8_t *m = (const uint8_t *)ai->madt;
    ai->lapic_addr = rd32(m, 36);
    for (unsigned i = 0; i < 16; i++)
        ai->isa_gsi[i] = i;
    for (uint32_t off = 44; off + 2 <= ai->madt->length;) {
        const uint8_t *e = m + off;
        if (e[1] < 2 || off + e[1] > ai->madt->length)
            break;
        madt_entry(ai, e);
        off += e[1];
    }
}

int acpi_s5_slp_typ(const struct acpi_sdt *dsdt)
{
    const uint8_t *b = (const uint8_t *)dsdt;
    for (uint32_t i = 36; i + 10 < dsdt->length; i++) {
        if (memcmp(b + i, "_S5_", 4) || b[i + 4] != 0x12)
            continue;
        /* PackageOp PkgLength NumElements, then the first element (SLP_TYPa). */
        uint32_t p = i + 5;
        p += 1 + (b[p] >> 6);
        p += 1;
        switch (b[p]) {
        case 0x00: /* ZeroOp */
            return 0;
        case 0x01: /* OneOp */
            return 1;
        case 0x0a: /* BytePrefix */
            return b[p + 1];
        default:
            return -1;
        }
    }
    return -1;
}

int acpi_init(struct acpi_info *ai, char *why, size_t whysz)
{
    memset(ai, 0, sizeof(*ai));
    ai->s5_slp_typ = -1;
    uint64_t ebda = (uint64_t)(*(const volatile uint16_t *)0x40e) << 4;
    if (ebda >= 0x80000 && ebda < 0xa0000)
        ai->rsdp = scan_rsdp(ebda, ebda + 1024);
    if (!ai->rsdp)
        ai->rsdp = scan_rsdp(0xe0000, 0x100000);
    if (!ai->rsdp) {
        rt_snprintf(why, whysz, "no RSDP in the EBDA or 0xE0000-0xFFFFF");
        return -1;
    }
    const uint8_t *r = (const uint8_t *)(uintptr_t)ai->rsdp;
    ai->rsdp_revision = r[15];
    ai->rsdt = rd32(r, 16);
    if (ai->rsdp_revision >= 2 && rd32(r, 20) >= 36)
        ai->xsdt = rd64(r, 24);
    if (walk_root(ai, why, whysz))
        return -1;
    ai->fadt = acpi_find(ai, "FACP", 0);
    ai->madt = acpi_find(ai, "APIC", 0);
    ai->mcfg = acpi_find(ai, "MCFG", 0);
    if (ai->fadt)
        parse_fadt(ai);
    if (ai->madt)
        parse_madt(ai);
    if (ai->mcfg && ai->mcfg->length >= 60) {
        ai->ecam_base = rd64(ai->mcfg, 44);
        ai->ecam_bus_start = ((const uint8_t *)ai->mcfg)[54];
        ai->ecam_bus_end = ((const uint8_t *)ai->mcfg)[55];
    }
    if (ai->dsdt && !memcmp(ai->dsdt->sig, "DSDT", 4))
        ai->s5_slp_typ = acpi_s5_slp_typ(ai->dsdt);
    if (ai->pm_tmr) {
        rt_pmtmr_port = ai->pm_tmr;
        rt_pmtmr_bits = ai->pm_tmr_bits;
    }
    return 0;
}
