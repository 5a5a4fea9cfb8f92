/* SPDX-License-Identifier: MIT */
/*
 * Builds the ACPI tables (ACPI 6.5 §5.2) into a host copy of the ACPI area and writes it to
 * guest memory in one go. Layout inside [ACPI_GPA, MPTABLE_GPA) (the rest of the ACPI area
 * belongs to core/x86/mptable.c):
 *
 *   +0x0000  RSDP (rev 2, 36 bytes; 16-byte aligned inside 0xe0000-0xfffff for legacy scans)
 *   +0x0040  FACS (64-byte aligned)
 *   ...      DSDT, FADT, MADT, MCFG, XSDT, RSDT, each 16-byte aligned, in that order
 *
 * Every table is checksummed after it is complete; tables that point at others are written
 * after their targets so the addresses are known.
 *
 * The DSDT (§5.2.11.1, namespace objects from chapter 6) holds \_S5 (soft-off, SLP_TYP for
 * PM1_CNT, §7.4.2), one ACPI0007 processor device per vCPU (§8.4, _UID = the MADT processor
 * uid), the PCI Express host bridge \_SB.PCI0 (PNP0A08 with _CID PNP0A03; _CRS per the PCI
 * Firmware Specification 3.3 §4.1; _PRT §6.2.13; _OSC §6.2.11), a PNP0C02 device that
 * reserves the ECAM window, and the ISA devices: COM1/COM2 (PNP0501), the i8042 keyboard
 * (PNP0303) and mouse (PNP0F13), and the CMOS RTC (PNP0B00). The power button is the
 * fixed-feature one (FADT), so it needs no device.
 */
#include "core/x86/acpi.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_TAG "acpi"
#include "base/log.h"
#include "core/x86/acpi_tables.h"
#include "core/x86/layout.h"

#define ACPI_OEM_ID "BAREIR"
#define ACPI_OEM_TABLE_ID "BAREIRON"
#define ACPI_CREATOR_ID "BRON"
#define ACPI_MAX_TABLES 8

_Static_assert(ACPI_GPA >= 0xe0000 && ACPI_GPA % 16 == 0, "RSDP must be in the BIOS area");
/* The tables take the ACPI area up to the MP table. */
#define ACPI_TABLES_SIZE (MPTABLE_GPA - ACPI_GPA)
_Static_assert(MPTABLE_GPA > ACPI_GPA && MPTABLE_GPA + MPTABLE_SIZE == ACPI_GPA + ACPI_SIZE,
               "MP table at the end of the ACPI area");
_Static_assert(ACPI_GPA + ACPI_SIZE <= 0x100000, "ACPI area below 1 MiB");

static void name_hid_uid(struct aml *a, const char *eisaid, uint64_t uid)
{
    aml_name_eisaid(a, "_HID", eisaid);
    aml_name_integer(a, "_UID", uid);
}

/* Opens Device (name) with _HID EISAID (eisaid) and, in it, the resource template of its _CRS;
 * the caller adds the resources, then closes both with two aml_end(). */
static void device_crs_begin(struct aml *a, const char *name, const char *eisaid)
{
    aml_device_begin(a, name);
    aml_name_eisaid(a, "_HID", eisaid);
    aml_name(a, "_CRS");
    aml_restemplate_begin(a);
}

/* Processor devices \_SB.Cxxx (xxx = uid in hex). */
static void build_cpus(struct aml *a, unsigned ncpus)
{
    char name[8];

    for (unsigned i = 0; i < ncpus; i++) {
        snprintf(name, sizeof(name), "C%03X", i & 0xfffu);
        aml_device_begin(a, name);
        aml_name_string(a, "_HID", "ACPI0007");
        aml_name_integer(a, "_UID", i);
        aml_end(a);
    }
}

/*
 * _PRT: for every slot and pin, Package { (slot << 16) | 0xffff, pin (0 = INTA), 0, GSI },
 * the GSI being PCI_INTX_LINE(slot, pin + 1): level-triggered, active low, on the IOAPIC, or
 * on the PIC's IRQ 10/11 without one.
 */
static void build_prt(struct aml *a, bool has_ioapic)
{
    aml_name(a, "_PRT");
    aml_package_begin(a, 32 * 4);
    for (unsigned slot = 0; slot < 32; slot++) {
        for (unsigned pin = 0; pin < 4; pin++) {
            aml_package_begin(a, 4);
            aml_integer(a, ((uint64_t)slot << 16) | 0xffff);
            aml_integer(a, pin);
            aml_integer(a, 0);
            aml_integer(a, PCI_INTX_LINE(has_ioapic, slot, pin + 1));
            aml_end(a);
        }
    }
    aml_end(a);
}

static void build_pci0(struct aml *a, const struct acpi_config *cfg)
{
    uint64_t mmio64_base =
        cfg->pci_mmio64_base ? cfg->pci_mmio64_base : acpi_pci_mmio64_base(cfg->ram_bytes);
    uint64_t mmio64_size = cfg->pci_mmio64_size ? cfg->pci_mmio64_size : PCI_MMIO64_SIZE;

    aml_device_begin(a, "PCI0");
    aml_name_eisaid(a, "_HID", "PNP0A08");
    aml_name_eisaid(a, "_CID", "PNP0A03");
    aml_name_integer(a, "_SEG", 0);
    aml_name_integer(a, "_BBN", 0);
    aml_name_integer(a, "_UID", 0);
    aml_name(a, "_CRS");
    aml_restemplate_begin(a);
    aml_res_word_bus(a, 0, 255);
    aml_res_io(a, PORT_PCI_CONFIG, PORT_PCI_CONFIG, 1, 8);
    aml_res_word_io(a, 0x0000, PORT_PCI_CONFIG - 1);
    aml_res_word_io(a, 0x0d00, 0xffff);
    if (cfg->has_vga)
        aml_res_dword_mem(a, false, 0xa0000, 0xbffff);
    aml_res_dword_mem(a, false, (uint32_t)PCI_MMIO32_BASE,
                      (uint32_t)(PCI_MMIO32_BASE + PCI_MMIO32_SIZE - 1));
    if (mmio64_size > 0)
        aml_res_qword_mem(a, false, mmio64_base, mmio64_base + mmio64_size - 1);
    aml_end(a);
    build_prt(a, cfg->has_ioapic);
    /* _OSC (§6.2.11): hand back the capabilities buffer unchanged, i.e. grant every control
     * the OS asks for (there are no PCIe ports, so nothing for the firmware to keep). */
    aml_method_begin(a, "_OSC", 4, false);
    aml_return(a);
    aml_arg(a, 3);
    aml_end(a);
    aml_end(a);

    /* Linux checks the MCFG window against PNP0C01/PNP0C02 resources (or e820). */
    aml_device_begin(a, "MRES");
    name_hid_uid(a, "PNP0C02", 0);
    aml_name(a, "_CRS");
    aml_restemplate_begin(a);
    aml_res_mem32_fixed(a, false, (uint32_t)PCI_ECAM_BASE, (uint32_t)PCI_ECAM_SIZE);
    aml_end(a);
    aml_end(a);
}

static void build_uart(struct aml *a, const char *name, unsigned uid, uint16_t port, unsigned irq)
{
    aml_device_begin(a, name);
    name_hid_uid(a, "PNP0501", uid);
    aml_name(a, "_CRS");
    aml_restemplate_begin(a);
    aml_res_io(a, port, port, 8, 8);
    aml_res_irq(a, irq);
    aml_end(a);
    aml_end(a);
}

static void build_i8042(struct aml *a)
{
    device_crs_begin(a, "KBD_", "PNP0303");
    aml_res_io(a, PORT_I8042_DATA, PORT_I8042_DATA, 1, 1);
    aml_res_io(a, PORT_I8042_CMD, PORT_I8042_CMD, 1, 1);
    aml_res_irq(a, GSI_I8042_KBD);
    aml_end(a);
    aml_end(a);

    device_crs_begin(a, "MOU_", "PNP0F13");
    aml_res_irq(a, GSI_I8042_AUX);
    aml_end(a);
    aml_end(a);
}

static void build_rtc(struct aml *a)
{
    device_crs_begin(a, "RTC_", "PNP0B00");
    aml_res_io(a, PORT_CMOS, PORT_CMOS, 1, 2);
    aml_res_irq(a, GSI_RTC);
    aml_end(a);
    aml_end(a);
}

int acpi_dsdt_build(struct aml *a, const struct acpi_config *cfg)
{
    /* \_S5: { PM1a SLP_TYP, PM1b SLP_TYP, reserved, reserved } */
    aml_name(a, "\\_S5");
    aml_package_begin(a, 4);
    aml_integer(a, ACPI_SLP_TYP_S5);
    aml_integer(a, ACPI_SLP_TYP_S5);
    aml_integer(a, 0);
    aml_integer(a, 0);
    aml_end(a);

    aml_scope_begin(a, "\\_SB");
    build_cpus(a, cfg->ncpus);
    if (cfg->has_pci)
        build_pci0(a, cfg);
    if (cfg->has_com1)
        build_uart(a, "COM1", 1, PORT_COM1, GSI_COM1);
    if (cfg->has_com2)
        build_uart(a, "COM2", 2, PORT_COM2, GSI_COM2);
    if (cfg->has_i8042)
        build_i8042(a);
    if (cfg->has_rtc)
        build_rtc(a);
    aml_end(a);
    return aml_finish(a);
}

/* The host copy of the ACPI area and a bump allocator over it. */
struct area {
    uint8_t *buf;
    size_t used;
    uint64_t tables[ACPI_MAX_TABLES]; /* gpas listed in the XSDT/RSDT */
    unsigned ntables;
};

static uint8_t checksum(const void *p, size_t len)
{
    const uint8_t *b = p;
    uint8_t sum = 0;

    for (size_t i = 0; i < len; i++)
        sum = (uint8_t)(sum + b[i]);
    return (uint8_t)(0x100 - sum);
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
    *gpa = ACPI_GPA + off;
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
    *gpa = ACPI_GPA + off;
    return 0;
}

static int add_dsdt(struct area *ar, const struct acpi_config *cfg, uint64_t *gpa)
{
    struct acpi_header h = {0};
    struct aml a;
    int ret;

    aml_init(&a);
    fill_header(&h, "DSDT", 2); /* revision 2: 64-bit integers */
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

static int add_fadt(struct area *ar, const struct acpi_config *cfg, uint64_t facs, uint64_t dsdt)
{
    struct acpi_fadt f = {0};
    uint64_t gpa;

    fill_header(&f.header, "FACP", 6);
    f.firmware_ctrl = (uint32_t)facs;
    f.dsdt = (uint32_t)dsdt;
    f.sci_int = GSI_ACPI_SCI;
    /* SMI_CMD 0: no SMM, the hardware is always in ACPI mode (SCI_EN reads 1), so OSPM never
     * writes ACPI_ENABLE. */
    f.pm1a_evt_blk = PORT_ACPI_PM1_EVT;
    f.pm1a_cnt_blk = PORT_ACPI_PM1_CNT;
    f.pm_tmr_blk = PORT_ACPI_PM_TMR;
    f.gpe0_blk = PORT_ACPI_GPE0;
    f.pm1_evt_len = 4;
    f.pm1_cnt_len = 2;
    f.pm_tmr_len = 4;
    f.gpe0_blk_len = 8;
    f.p_lvl2_lat = 101;  /* > 100: C2 not supported */
    f.p_lvl3_lat = 1001; /* > 1000: C3 not supported */
    f.century = cfg->has_rtc ? 0x32 : 0;
    f.iapc_boot_arch = ACPI_IAPC_LEGACY_DEVICES;
    if (cfg->has_i8042)
        f.iapc_boot_arch |= ACPI_IAPC_8042;
    if (!cfg->has_vga)
        f.iapc_boot_arch |= ACPI_IAPC_NO_VGA;
    if (!cfg->has_rtc)
        f.iapc_boot_arch |= ACPI_IAPC_NO_CMOS_RTC;
    f.flags = fadt_flags();
    f.reset_reg = gas_io(PORT_ACPI_RESET, 1, ACPI_ACCESS_BYTE);
    f.reset_value = ACPI_RESET_VALUE;
    f.minor_version = 5;
    f.x_firmware_ctrl = facs;
    f.x_dsdt = dsdt;
    f.x_pm1a_evt_blk = gas_io(PORT_ACPI_PM1_EVT, 4, ACPI_ACCESS_WORD);
    f.x_pm1a_cnt_blk = gas_io(PORT_ACPI_PM1_CNT, 2, ACPI_ACCESS_WORD);
    f.x_pm_tmr_blk = gas_io(PORT_ACPI_PM_TMR, 4, ACPI_ACCESS_DWORD);
    f.x_gpe0_blk = gas_io(PORT_ACPI_GPE0, 8, ACPI_ACCESS_BYTE);
    memcpy(&f.hypervisor_vendor_id, "BAREIRON", 8);
    return area_add(ar, &f, sizeof(f), true, &gpa);
}

/* Appends MADT entry (e) of (len) bytes at (*pos). */
static void madt_put(uint8_t *buf, size_t *pos, const void *e, size_t len)
{
    memcpy(buf + *pos, e, len);
    *pos += len;
}

static int add_madt(struct area *ar, const struct acpi_config *cfg)
{
    /* PCAT_COMPAT says an 8259 pair is there (to be masked when the IOAPIC is used): it is
     * off with the split irqchip, which has none. */
    struct acpi_madt madt = {.lapic_address = (uint32_t)LAPIC_GPA,
                             .flags = cfg->has_pic ? ACPI_MADT_PCAT_COMPAT : 0};
    size_t size = sizeof(madt) + cfg->ncpus * sizeof(struct acpi_madt_lapic) +
                  sizeof(struct acpi_madt_ioapic) + 2 * sizeof(struct acpi_madt_iso) +
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
        struct acpi_madt_iso sci = {.type = ACPI_MADT_ISO,
                                    .length = sizeof(sci),
                                    .source = GSI_ACPI_SCI,
                                    .gsi = GSI_ACPI_SCI,
                                    .flags = ACPI_MPS_ACTIVE_HIGH | ACPI_MPS_LEVEL};
        madt_put(buf, &pos, &io, sizeof(io));
        if (cfg->has_irq0_override)
            madt_put(buf, &pos, &pit, sizeof(pit));
        madt_put(buf, &pos, &sci, sizeof(sci));
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

    fill_header((struct acpi_header *)(void *)buf, is_xsdt ? "XSDT" : "RSDT", 1);
    for (unsigned i = 0; i < ar->ntables; i++) {
        for (size_t b = 0; b < width; b++)
            buf[sizeof(struct acpi_header) + i * width + b] = (uint8_t)(ar->tables[i] >> (8 * b));
    }
    return area_add(ar, buf, sizeof(struct acpi_header) + ar->ntables * width, false, gpa);
}

static void put_rsdp(struct area *ar, size_t off, uint64_t rsdt, uint64_t xsdt)
{
    struct acpi_rsdp r = {
        .revision = 2, .rsdt_address = (uint32_t)rsdt, .length = sizeof(r), .xsdt_address = xsdt};

    memcpy(r.signature, "RSD PTR ", 8);
    memcpy(r.oem_id, ACPI_OEM_ID, 6);
    r.checksum = checksum(&r, 20);
    r.extended_checksum = checksum(&r, sizeof(r));
    memcpy(ar->buf + off, &r, sizeof(r));
}

static int check_config(const struct acpi_config *cfg)
{
    if (cfg->ncpus == 0 || cfg->ncpus > MAX_VCPUS)
        return -EINVAL;
    if (cfg->pci_mmio64_size && cfg->pci_mmio64_base + cfg->pci_mmio64_size < cfg->pci_mmio64_base)
        return -EINVAL;
    return 0;
}

/* Builds every table into (ar); returns the RSDP's offset in (*rsdp_off). */
static int build_all(struct area *ar, const struct acpi_config *cfg, size_t *rsdp_off)
{
    uint64_t facs, dsdt, rsdt, xsdt;
    int ret;

    ret = area_alloc(ar, sizeof(struct acpi_rsdp), 16, rsdp_off);
    if (ret == 0)
        ret = add_facs(ar, &facs);
    if (ret == 0)
        ret = add_dsdt(ar, cfg, &dsdt);
    if (ret == 0)
        ret = add_fadt(ar, cfg, facs, dsdt);
    if (ret == 0)
        ret = add_madt(ar, cfg);
    if (ret == 0 && cfg->has_pci)
        ret = add_mcfg(ar);
    if (ret == 0)
        ret = add_sdt(ar, true, &xsdt);
    if (ret == 0)
        ret = add_sdt(ar, false, &rsdt);
    if (ret == 0)
        put_rsdp(ar, *rsdp_off, rsdt, xsdt);
    return ret;
}

int acpi_build(struct gmem *gm, const struct acpi_config *cfg, uint64_t *rsdp_gpa)
{
    struct area ar = {0};
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
    ret = build_all(&ar, cfg, &rsdp_off);
    if (ret == 0)
        ret = gmem_write(gm, ACPI_GPA, ar.buf, ACPI_TABLES_SIZE);
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
