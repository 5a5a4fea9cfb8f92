/* SPDX-License-Identifier: MIT */
/*
 * Builds the ACPI tables (ACPI 6.5 §5.2) into a host buffer, then hands them out through one of
 * two outlets (core/x86/acpi.h). Layout of a direct boot inside [ACPI_GPA, MPTABLE_GPA) (the
 * rest of the ACPI area belongs to core/x86/mptable.c):
 *
 *   +0x0000  RSDP (rev 2, 36 bytes; 16-byte aligned inside 0xe0000-0xfffff for legacy scans)
 *   +0x0040  FACS (64-byte aligned)
 *   ...      DSDT, FADT, MADT, MCFG, XSDT, RSDT, each 16-byte aligned, in that order
 *
 * A firmware boot has the same tables from offset 0 of the tables blob (FACS first) and the
 * RSDP in its own blob. Pointers between tables are written as base + offset, the base being
 * ACPI_GPA for a direct boot and 0 in the firmware blob, where each pointer is also recorded
 * as an ADD_POINTER command of the loader script (and each checksum as an ADD_CHECKSUM).
 *
 * Every table is checksummed after it is complete; tables that point at others are written
 * after their targets so the addresses are known. The DSDT's AML is core/x86/acpi_dsdt.c.
 */
#include "core/x86/acpi.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_TAG "acpi"
#include "base/log.h"
#include "core/x86/acpi_loader.h"
#include "core/x86/acpi_tables.h"
#include "core/x86/layout.h"

#define ACPI_OEM_ID "BAREIR"
#define ACPI_OEM_TABLE_ID "BAREIRON"
#define ACPI_CREATOR_ID "BRON"
#define ACPI_MAX_TABLES 8
#define ACPI_MAX_FIXUPS 48 /* pointers and checksums of a firmware blob */
/* FADT revision 1 (ACPI 1.0): the fields up to Flags. */
#define ACPI_FADT_REV1_LEN 116

_Static_assert(ACPI_GPA >= 0xe0000 && ACPI_GPA % 16 == 0, "RSDP must be in the BIOS area");
/* The tables take the ACPI area up to the MP table. */
#define ACPI_TABLES_SIZE (MPTABLE_GPA - ACPI_GPA)
_Static_assert(MPTABLE_GPA > ACPI_GPA && MPTABLE_GPA + MPTABLE_SIZE == ACPI_GPA + ACPI_SIZE,
               "MP table at the end of the ACPI area");
_Static_assert(ACPI_GPA + ACPI_SIZE <= 0x100000, "ACPI area below 1 MiB");

/* A pointer or checksum of the firmware blob, replayed by the loader script. */
struct fixup {
    bool is_checksum;
    bool in_rsdp;           /* the field is in the RSDP blob (else in the tables blob) */
    uint32_t offset;        /* of the pointer field, or of the checksum byte */
    uint32_t start, length; /* checksum: the range summed */
    uint8_t size;           /* pointer: its width in bytes */
};

/* The host copy of the tables and a bump allocator over it. */
struct area {
    uint8_t *buf;
    size_t used;
    uint64_t base;                    /* address written for buf[0]: ACPI_GPA, or 0 (blob) */
    uint64_t tables[ACPI_MAX_TABLES]; /* addresses listed in the XSDT/RSDT */
    unsigned ntables;
    struct fixup *fixups; /* NULL for a direct boot */
    unsigned nfixups;
    int fixup_err;
};

static uint8_t checksum(const void *p, size_t len)
{
    const uint8_t *b = p;
    uint8_t sum = 0;

    for (size_t i = 0; i < len; i++)
        sum = (uint8_t)(sum + b[i]);
    return (uint8_t)(0x100 - sum);
}

static void add_fixup(struct area *ar, struct fixup f)
{
    if (!ar->fixups)
        return;
    if (ar->nfixups == ACPI_MAX_FIXUPS) {
        ar->fixup_err = -ENOSPC;
        return;
    }
    ar->fixups[ar->nfixups++] = f;
}

/* Records that the (size)-byte field at (offset) of the tables blob (or of the RSDP when
 * (in_rsdp)) holds an offset into the tables blob. */
static void add_pointer(struct area *ar, bool in_rsdp, uint64_t offset, uint8_t size)
{
    add_fixup(ar, (struct fixup){.in_rsdp = in_rsdp, .offset = (uint32_t)offset, .size = size});
}

static void add_checksum(struct area *ar, bool in_rsdp, uint64_t offset, uint64_t start,
                         uint64_t length)
{
    add_fixup(ar, (struct fixup){.is_checksum = true,
                                 .in_rsdp = in_rsdp,
                                 .offset = (uint32_t)offset,
                                 .start = (uint32_t)start,
                                 .length = (uint32_t)length});
}

/* Reserves (len) bytes aligned to (align); returns the offset in (*off) or -ENOSPC. */
static int area_alloc(struct area *ar, size_t len, size_t align, size_t *off)
{
    size_t start = ALIGN_UP(ar->used, align);

    if (start > ACPI_TABLES_SIZE || len > ACPI_TABLES_SIZE - start)
        return -ENOSPC;
    ar->used = start + len;
    *off = start;
    return 0;
}

/*
 * Copies the SDT (table) of (len) bytes into the area, fills in its length and checksum and
 * returns its gpa in (*gpa). With (is_listed) the table is also entered in the XSDT/RSDT.
 */
static int area_add(struct area *ar, const void *table, size_t len, bool is_listed, uint64_t *gpa)
{
    struct acpi_header *h;
    size_t off;
    int ret;

    ret = area_alloc(ar, len, 16, &off);
    if (ret < 0)
        return ret;
    memcpy(ar->buf + off, table, len);
    h = (struct acpi_header *)(void *)(ar->buf + off);
    h->length = (uint32_t)len;
    h->checksum = 0;
    h->checksum = checksum(h, len);
    add_checksum(ar, false, off + offsetof(struct acpi_header, checksum), off, len);
    *gpa = ar->base + off;
    if (is_listed) {
        if (ar->ntables == ACPI_MAX_TABLES)
            return -ENOSPC;
        ar->tables[ar->ntables++] = *gpa;
    }
    return 0;
}

static void fill_header(struct acpi_header *h, const char *sig, uint8_t revision)
{
    memcpy(h->signature, sig, 4);
    h->revision = revision;
    memcpy(h->oem_id, ACPI_OEM_ID, 6);
    memcpy(h->oem_table_id, ACPI_OEM_TABLE_ID, 8);
    h->oem_revision = 1;
    memcpy(h->creator_id, ACPI_CREATOR_ID, 4);
    h->creator_revision = 1;
}

static struct acpi_gas gas_io(uint64_t port, unsigned len_bytes, uint8_t access_size)
{
    return (struct acpi_gas){.space_id = ACPI_GAS_IO,
                             .bit_width = (uint8_t)(len_bytes * 8),
                             .access_size = access_size,
                             .address = port};
}

void acpi_config_default(struct acpi_config *cfg, unsigned ncpus, uint64_t ram_bytes)
{
    *cfg = (struct acpi_config){.ncpus = ncpus,
                                .ram_bytes = ram_bytes,
                                .has_ioapic = true,
                                .has_pic = true,
                                .has_pci = true,
                                .has_com1 = true,
                                .has_com2 = true,
                                .has_i8042 = true,
                                .has_rtc = true};
}

void acpi_config_pc(struct acpi_config *cfg, unsigned ncpus, uint64_t ram_bytes)
{
    acpi_config_default(cfg, ncpus, ram_bytes);
    cfg->is_pc = true;
    cfg->has_com2 = false;
    cfg->has_vga = true;
    cfg->pm_base = ACPI_PC_PM_BASE_SEABIOS;
    cfg->gpe0_port = ACPI_PC_PM_BASE_SEABIOS + ACPI_PC_GPE0_OFFSET;
    cfg->gpe0_len = ACPI_PC_GPE0_LEN;
    cfg->pci_mmio32_base = (uint32_t)PCI_MMIO32_BASE;
    cfg->pci_mmio32_size = (uint32_t)(IOAPIC_GPA - PCI_MMIO32_BASE);
}

uint64_t acpi_pci_mmio64_base(uint64_t ram_bytes)
{
    uint64_t end = HIGH_RAM_BASE;

    if (ram_bytes > LOW_RAM_MAX)
        end += ram_bytes - LOW_RAM_MAX;
    return ALIGN_UP(end, 1ULL << 30);
}

static int add_facs(struct area *ar, uint64_t *gpa)
{
    struct acpi_facs facs = {.length = sizeof(facs), .version = 2};
    size_t off;
    int ret;

    memcpy(facs.signature, "FACS", 4);
    ret = area_alloc(ar, sizeof(facs), 64, &off);
    if (ret < 0)
        return ret;
    memcpy(ar->buf + off, &facs, sizeof(facs));
    *gpa = ar->base + off;
    return 0;
}

static int add_dsdt(struct area *ar, const struct acpi_config *cfg, uint64_t *gpa)
{
    struct acpi_header h = {0};
    struct aml a;
    int ret;

    aml_init(&a);
    /* revision 2: 64-bit integers; 1 (32-bit, ACPI 1.0) on the pc machine, as QEMU has it */
    fill_header(&h, "DSDT", cfg->is_pc ? 1 : 2);
    aml_bytes(&a, &h, sizeof(h));
    ret = acpi_dsdt_build(&a, cfg);
    if (ret == 0 && a.len > UINT32_MAX)
        ret = -ENOSPC;
    if (ret == 0)
        ret = area_add(ar, a.data, a.len, false, gpa);
    aml_fini(&a);
    return ret;
}

static uint32_t fadt_flags(void)
{
    /* PWR_BUTTON clear: the power button is the fixed-feature one in PM1 (PWRBTN_STS). The PM
     * timer is 24 bits (TMR_VAL_EXT clear); RTC wake status is not in PM1 (FIX_RTC). */
    return ACPI_FADT_WBINVD | ACPI_FADT_PROC_C1 | ACPI_FADT_SLP_BUTTON | ACPI_FADT_FIX_RTC |
           ACPI_FADT_RESET_REG_SUP;
}

/* The fixed-feature PM ports of (cfg)'s machine. */
struct pm_ports {
    uint16_t evt, cnt, tmr, gpe0;
    uint8_t gpe0_len;
};

static struct pm_ports pm_ports(const struct acpi_config *cfg)
{
    if (!cfg->is_pc)
        return (struct pm_ports){PORT_ACPI_PM1_EVT, PORT_ACPI_PM1_CNT, PORT_ACPI_PM_TMR,
                                 PORT_ACPI_GPE0, 8};
    return (struct pm_ports){cfg->pm_base, (uint16_t)(cfg->pm_base + 4),
                             (uint16_t)(cfg->pm_base + 8), cfg->gpe0_port, cfg->gpe0_len};
}

/* The ACPI 1.0 part of the FADT (the first ACPI_FADT_REV1_LEN bytes). */
static void fadt_fill_v1(struct acpi_fadt *f, const struct acpi_config *cfg, uint64_t facs,
                         uint64_t dsdt)
{
    struct pm_ports pm = pm_ports(cfg);

    f->firmware_ctrl = (uint32_t)facs;
    f->dsdt = (uint32_t)dsdt;
    f->sci_int = GSI_ACPI_SCI;
    /* SMI_CMD 0: no SMM, the hardware is always in ACPI mode (SCI_EN reads 1), so OSPM never
     * writes ACPI_ENABLE. */
    if (cfg->is_pc && cfg->smi_cmd) {
        f->smi_cmd = cfg->smi_cmd;
        f->acpi_enable = 0xf1;
        f->acpi_disable = 0xf0;
    }
    f->pm1a_evt_blk = pm.evt;
    f->pm1a_cnt_blk = pm.cnt;
    f->pm_tmr_blk = pm.tmr;
    f->gpe0_blk = pm.gpe0;
    f->pm1_evt_len = 4;
    f->pm1_cnt_len = 2;
    f->pm_tmr_len = 4;
    f->gpe0_blk_len = pm.gpe0_len;
    f->p_lvl2_lat = 101;  /* > 100: C2 not supported */
    f->p_lvl3_lat = 1001; /* > 1000: C3 not supported */
    f->century = cfg->has_rtc ? 0x32 : 0;
    f->flags = fadt_flags();
}

/* The ACPI 2.0+ fields of a revision 6 FADT. */
static void fadt_fill_v6(struct acpi_fadt *f, const struct acpi_config *cfg, uint64_t facs,
                         uint64_t dsdt)
{
    struct pm_ports pm = pm_ports(cfg);

    f->iapc_boot_arch = ACPI_IAPC_LEGACY_DEVICES;
    if (cfg->has_i8042)
        f->iapc_boot_arch |= ACPI_IAPC_8042;
    if (!cfg->has_vga)
        f->iapc_boot_arch |= ACPI_IAPC_NO_VGA;
    if (!cfg->has_rtc)
        f->iapc_boot_arch |= ACPI_IAPC_NO_CMOS_RTC;
    f->reset_reg = gas_io(PORT_ACPI_RESET, 1, ACPI_ACCESS_BYTE);
    f->reset_value = ACPI_RESET_VALUE;
    f->minor_version = 5;
    f->x_firmware_ctrl = facs;
    f->x_dsdt = dsdt;
    f->x_pm1a_evt_blk = gas_io(pm.evt, 4, ACPI_ACCESS_WORD);
    f->x_pm1a_cnt_blk = gas_io(pm.cnt, 2, ACPI_ACCESS_WORD);
    f->x_pm_tmr_blk = gas_io(pm.tmr, 4, ACPI_ACCESS_DWORD);
    f->x_gpe0_blk = gas_io(pm.gpe0, pm.gpe0_len, ACPI_ACCESS_BYTE);
    memcpy(&f->hypervisor_vendor_id, "BAREIRON", 8);
}

/*
 * The FADT: revision 6 (276 bytes), or on the pc machine revision 1 (ACPI 1.0, 116 bytes), as
 * QEMU gives its i440FX machine for older OSes: no IAPC_BOOT_ARCH, RESET_REG or X_ fields.
 */
static int add_fadt(struct area *ar, const struct acpi_config *cfg, uint64_t facs, uint64_t dsdt)
{
    struct acpi_fadt f = {0};
    size_t len = cfg->is_pc ? ACPI_FADT_REV1_LEN : sizeof(f);
    uint64_t gpa, off;
    int ret;

    _Static_assert(offsetof(struct acpi_fadt, flags) + 4 == ACPI_FADT_REV1_LEN, "FADT 1.0");
    fill_header(&f.header, "FACP", cfg->is_pc ? 1 : 6);
    fadt_fill_v1(&f, cfg, facs, dsdt);
    if (cfg->is_pc)
        f.flags &= ~ACPI_FADT_RESET_REG_SUP;
    else
        fadt_fill_v6(&f, cfg, facs, dsdt);
    ret = area_add(ar, &f, len, true, &gpa);
    if (ret < 0)
        return ret;
    off = gpa - ar->base;
    add_pointer(ar, false, off + offsetof(struct acpi_fadt, firmware_ctrl), 4);
    add_pointer(ar, false, off + offsetof(struct acpi_fadt, dsdt), 4);
    if (!cfg->is_pc) {
        add_pointer(ar, false, off + offsetof(struct acpi_fadt, x_firmware_ctrl), 8);
        add_pointer(ar, false, off + offsetof(struct acpi_fadt, x_dsdt), 8);
    }
    return 0;
}

/* Appends MADT entry (e) of (len) bytes at (*pos). */
static void madt_put(uint8_t *buf, size_t *pos, const void *e, size_t len)
{
    memcpy(buf + *pos, e, len);
    *pos += len;
}

/* Level, active-high overrides of ISA IRQs that are not edge/high: the SCI, and on the pc
 * machine the IRQs the PIRQ links offer, as QEMU's i440FX MADT has them. */
static void madt_put_level_isos(uint8_t *buf, size_t *pos, const struct acpi_config *cfg)
{
    static const uint8_t pc_irqs[] = {5, GSI_ACPI_SCI, 10, 11};
    static const uint8_t sci_only[] = {GSI_ACPI_SCI};
    const uint8_t *irqs = cfg->is_pc ? pc_irqs : sci_only;
    size_t n = cfg->is_pc ? sizeof(pc_irqs) : sizeof(sci_only);

    for (size_t i = 0; i < n; i++) {
        struct acpi_madt_iso iso = {.type = ACPI_MADT_ISO,
                                    .length = sizeof(iso),
                                    .source = irqs[i],
                                    .gsi = irqs[i],
                                    .flags = ACPI_MPS_ACTIVE_HIGH | ACPI_MPS_LEVEL};
        madt_put(buf, pos, &iso, sizeof(iso));
    }
}

static int add_madt(struct area *ar, const struct acpi_config *cfg)
{
    /* PCAT_COMPAT says an 8259 pair is there (to be masked when the IOAPIC is used): it is
     * off with the split irqchip, which has none. */
    struct acpi_madt madt = {.lapic_address = (uint32_t)LAPIC_GPA,
                             .flags = cfg->has_pic ? ACPI_MADT_PCAT_COMPAT : 0};
    size_t size = sizeof(madt) + cfg->ncpus * sizeof(struct acpi_madt_lapic) +
                  sizeof(struct acpi_madt_ioapic) + 5 * sizeof(struct acpi_madt_iso) +
                  sizeof(struct acpi_madt_lapic_nmi);
    size_t pos = 0;
    uint64_t gpa;
    uint8_t *buf;
    int ret;

    buf = calloc(1, size);
    if (!buf)
        return -ENOMEM;
    fill_header(&madt.header, "APIC", 5);
    madt_put(buf, &pos, &madt, sizeof(madt));
    for (unsigned i = 0; i < cfg->ncpus; i++) {
        struct acpi_madt_lapic e = {.type = ACPI_MADT_LAPIC,
                                    .length = sizeof(e),
                                    .uid = (uint8_t)i,
                                    .apic_id = (uint8_t)i,
                                    .flags = 1};
        madt_put(buf, &pos, &e, sizeof(e));
    }
    if (cfg->has_ioapic) {
        struct acpi_madt_ioapic io = {.type = ACPI_MADT_IOAPIC,
                                      .length = sizeof(io),
                                      .id = (uint8_t)cfg->ncpus,
                                      .address = (uint32_t)IOAPIC_GPA,
                                      .gsi_base = 0};
        struct acpi_madt_iso pit = {.type = ACPI_MADT_ISO,
                                    .length = sizeof(pit),
                                    .source = 0,
                                    .gsi = 2,
                                    .flags = ACPI_MPS_ACTIVE_HIGH | ACPI_MPS_EDGE};
        madt_put(buf, &pos, &io, sizeof(io));
        if (cfg->has_irq0_override)
            madt_put(buf, &pos, &pit, sizeof(pit));
        madt_put_level_isos(buf, &pos, cfg);
    }
    struct acpi_madt_lapic_nmi nmi = {
        .type = ACPI_MADT_LAPIC_NMI, .length = sizeof(nmi), .uid = 0xff, .flags = 0, .lint = 1};
    madt_put(buf, &pos, &nmi, sizeof(nmi));
    ret = area_add(ar, buf, pos, true, &gpa);
    free(buf);
    return ret;
}

static int add_mcfg(struct area *ar)
{
    struct {
        struct acpi_mcfg mcfg;
        struct acpi_mcfg_alloc alloc;
    } ACPI_PACKED t = {.alloc = {.base = PCI_ECAM_BASE,
                                 .segment = 0,
                                 .start_bus = 0,
                                 .end_bus = (uint8_t)(PCI_ECAM_SIZE / (1ULL << 20) - 1)}};
    uint64_t gpa;

    _Static_assert(PCI_ECAM_SIZE / (1ULL << 20) == 256, "ECAM covers buses 0..255");
    fill_header(&t.mcfg.header, "MCFG", 1);
    return area_add(ar, &t, sizeof(t), true, &gpa);
}

/* XSDT (64-bit entries) or RSDT (32-bit entries) listing ar->tables. */
static int add_sdt(struct area *ar, bool is_xsdt, uint64_t *gpa)
{
    uint8_t buf[sizeof(struct acpi_header) + ACPI_MAX_TABLES * 8] = {0};
    size_t width = is_xsdt ? 8 : 4;
    int ret;

    fill_header((struct acpi_header *)(void *)buf, is_xsdt ? "XSDT" : "RSDT", 1);
    for (unsigned i = 0; i < ar->ntables; i++) {
        for (size_t b = 0; b < width; b++)
            buf[sizeof(struct acpi_header) + i * width + b] = (uint8_t)(ar->tables[i] >> (8 * b));
    }
    ret = area_add(ar, buf, sizeof(struct acpi_header) + ar->ntables * width, false, gpa);
    for (unsigned i = 0; ret == 0 && i < ar->ntables; i++)
        add_pointer(ar, false, *gpa - ar->base + sizeof(struct acpi_header) + i * width,
                    (uint8_t)width);
    return ret;
}

/* The RSDP pointing at (rsdt) and (xsdt); in the firmware blob its two pointers and two
 * checksums (the 20-byte ACPI 1.0 one first: the extended one covers it). */
static struct acpi_rsdp make_rsdp(struct area *ar, uint64_t rsdt, uint64_t xsdt)
{
    struct acpi_rsdp r = {
        .revision = 2, .rsdt_address = (uint32_t)rsdt, .length = sizeof(r), .xsdt_address = xsdt};

    memcpy(r.signature, "RSD PTR ", 8);
    memcpy(r.oem_id, ACPI_OEM_ID, 6);
    r.checksum = checksum(&r, 20);
    r.extended_checksum = checksum(&r, sizeof(r));
    add_pointer(ar, true, offsetof(struct acpi_rsdp, rsdt_address), 4);
    add_pointer(ar, true, offsetof(struct acpi_rsdp, xsdt_address), 8);
    add_checksum(ar, true, offsetof(struct acpi_rsdp, checksum), 0, 20);
    add_checksum(ar, true, offsetof(struct acpi_rsdp, extended_checksum), 0, sizeof(r));
    return r;
}

static int check_config(const struct acpi_config *cfg)
{
    uint64_t mmio32_end = (uint64_t)cfg->pci_mmio32_base + cfg->pci_mmio32_size;

    if (cfg->ncpus == 0 || cfg->ncpus > MAX_VCPUS)
        return -EINVAL;
    if (cfg->pci_mmio64_size && cfg->pci_mmio64_base + cfg->pci_mmio64_size < cfg->pci_mmio64_base)
        return -EINVAL;
    if (cfg->pci_mmio32_size && mmio32_end > HIGH_RAM_BASE)
        return -EINVAL;
    if (cfg->is_pc &&
        (cfg->pm_base == 0 || cfg->pm_base > 0xffff - 12 || cfg->gpe0_port == 0 ||
         cfg->gpe0_len < 2 || cfg->gpe0_len % 2 != 0 || cfg->gpe0_port > 0x10000 - cfg->gpe0_len))
        return -EINVAL;
    return 0;
}

/* Builds every table into (ar) and the RSDP into (*rsdp). The MCFG is for the ECAM of the
 * microvm-style machine; the i440FX has none. */
static int build_all(struct area *ar, const struct acpi_config *cfg, struct acpi_rsdp *rsdp)
{
    uint64_t facs, dsdt, rsdt, xsdt;
    int ret;

    ret = add_facs(ar, &facs);
    if (ret == 0)
        ret = add_dsdt(ar, cfg, &dsdt);
    if (ret == 0)
        ret = add_fadt(ar, cfg, facs, dsdt);
    if (ret == 0)
        ret = add_madt(ar, cfg);
    if (ret == 0 && cfg->has_pci && !cfg->is_pc)
        ret = add_mcfg(ar);
    if (ret == 0)
        ret = add_sdt(ar, true, &xsdt);
    if (ret == 0)
        ret = add_sdt(ar, false, &rsdt);
    if (ret == 0)
        *rsdp = make_rsdp(ar, rsdt, xsdt);
    if (ret == 0)
        ret = ar->fixup_err;
    return ret;
}

int acpi_build(struct gmem *gm, const struct acpi_config *cfg, uint64_t *rsdp_gpa)
{
    struct area ar = {.base = ACPI_GPA};
    struct acpi_rsdp rsdp;
    size_t rsdp_off;
    int ret;

    ret = check_config(cfg);
    if (ret < 0)
        return ret;
    if (!gmem_ptr(gm, ACPI_GPA, ACPI_TABLES_SIZE))
        return -EFAULT;
    ar.buf = calloc(1, ACPI_TABLES_SIZE);
    if (!ar.buf)
        return -ENOMEM;
    ret = area_alloc(&ar, sizeof(rsdp), 16, &rsdp_off);
    if (ret == 0)
        ret = build_all(&ar, cfg, &rsdp);
    if (ret == 0) {
        memcpy(ar.buf + rsdp_off, &rsdp, sizeof(rsdp));
        ret = gmem_write(gm, ACPI_GPA, ar.buf, ACPI_TABLES_SIZE);
    }
    if (ret == 0) {
        *rsdp_gpa = ACPI_GPA + rsdp_off;
        log_debug("acpi tables: %zu bytes at 0x%llx, rsdp 0x%llx", ar.used,
                  (unsigned long long)ACPI_GPA, (unsigned long long)*rsdp_gpa);
    } else {
        log_error("cannot build the acpi tables: %s", strerror(-ret));
    }
    free(ar.buf);
    return ret;
}

/* Writes the loader script of (ar)'s fixups: both allocations, then every pointer, then every
 * checksum (in the order recorded, which puts the RSDP's 20-byte checksum before its extended
 * one). */
static int write_loader(const struct area *ar, struct acpi_fw_blob *out)
{
    struct acpi_loader l;

    acpi_loader_init(&l);
    acpi_loader_allocate(&l, ACPI_FW_FILE_TABLES, 64, ACPI_LOADER_ZONE_HIGH);
    acpi_loader_allocate(&l, ACPI_FW_FILE_RSDP, 16, ACPI_LOADER_ZONE_FSEG);
    for (unsigned i = 0; i < ar->nfixups; i++) {
        const struct fixup *f = &ar->fixups[i];
        if (!f->is_checksum)
            acpi_loader_add_pointer(&l, f->in_rsdp ? ACPI_FW_FILE_RSDP : ACPI_FW_FILE_TABLES,
                                    ACPI_FW_FILE_TABLES, f->offset, f->size);
    }
    for (unsigned i = 0; i < ar->nfixups; i++) {
        const struct fixup *f = &ar->fixups[i];
        if (f->is_checksum)
            acpi_loader_add_checksum(&l, f->in_rsdp ? ACPI_FW_FILE_RSDP : ACPI_FW_FILE_TABLES,
                                     f->offset, f->start, f->length);
    }
    if (l.err) {
        acpi_loader_fini(&l);
        return l.err;
    }
    out->loader = (uint8_t *)l.entries;
    out->loader_len = l.n * sizeof(*l.entries);
    return 0;
}

/*
 * Zeroes every byte an ADD_CHECKSUM command of the firmware blob names (in the tables blob
 * (tables), or in the RSDP (rsdp)). QEMU's loader contract has the checksum field 0 before the
 * command runs, and OVMF relies on it: AcpiPlatformDxe overwrites the field with the checksum
 * of the range as it stands, field included, where SeaBIOS subtracts that sum from the field.
 * With a precomputed checksum left in place, OVMF's result is off by its value, its scan then
 * takes no table for an ACPI table, and it installs none: Linux found no FADT and no MADT.
 */
static void zero_checksum_fields(const struct area *ar, uint8_t *tables, struct acpi_rsdp *rsdp)
{
    for (unsigned i = 0; i < ar->nfixups; i++) {
        const struct fixup *f = &ar->fixups[i];
        if (!f->is_checksum)
            continue;
        if (f->in_rsdp)
            ((uint8_t *)rsdp)[f->offset] = 0;
        else
            tables[f->offset] = 0;
    }
}

int acpi_build_fw(const struct acpi_config *cfg, struct acpi_fw_blob *out)
{
    struct fixup fixups[ACPI_MAX_FIXUPS];
    struct area ar = {.base = 0, .fixups = fixups};
    struct acpi_rsdp rsdp;
    int ret;

    memset(out, 0, sizeof(*out));
    ret = check_config(cfg);
    if (ret < 0)
        return ret;
    ar.buf = calloc(1, ACPI_TABLES_SIZE);
    out->rsdp = malloc(sizeof(rsdp));
    if (!ar.buf || !out->rsdp) {
        ret = -ENOMEM;
        goto err_free;
    }
    ret = build_all(&ar, cfg, &rsdp);
    if (ret == 0)
        ret = write_loader(&ar, out);
    if (ret < 0)
        goto err_free;
    zero_checksum_fields(&ar, ar.buf, &rsdp);
    memcpy(out->rsdp, &rsdp, sizeof(rsdp));
    out->rsdp_len = sizeof(rsdp);
    out->tables = ar.buf;
    out->tables_len = ar.used;
    log_debug("acpi tables for the firmware: %zu bytes, %zu loader commands", ar.used,
              out->loader_len / ACPI_LOADER_ENTRY_SIZE);
    return 0;

err_free:
    log_error("cannot build the acpi tables: %s", strerror(-ret));
    free(ar.buf);
    acpi_fw_blob_free(out);
    return ret;
}

void acpi_fw_blob_free(struct acpi_fw_blob *b)
{
    if (!b)
        return;
    free(b->tables);
    free(b->rsdp);
    free(b->loader);
    memset(b, 0, sizeof(*b));
}
