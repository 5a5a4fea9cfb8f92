/* SPDX-License-Identifier: MIT */
/*
 * Byte layouts of the ACPI tables bareiron writes (ACPI 6.5 §5.2: RSDP §5.2.5.3, SDT header
 * §5.2.6, Generic Address Structure §5.2.3.2, FADT §5.2.9 (rev 6, 276 bytes), FACS §5.2.10,
 * MADT §5.2.12, and MCFG from the PCI Firmware Specification 3.3 §4.1.2). All packed and
 * little-endian; the offsets are checked with _Static_assert against the spec's tables.
 * Shared by core/x86/acpi.c and its tests.
 */
#ifndef BAREIRON_CORE_X86_ACPI_TABLES_H
#define BAREIRON_CORE_X86_ACPI_TABLES_H

#include <stddef.h>
#include <stdint.h>

#define ACPI_PACKED __attribute__((packed))

struct acpi_rsdp {
    char signature[8]; /* "RSD PTR " */
    uint8_t checksum;  /* first 20 bytes */
    char oem_id[6];
    uint8_t revision; /* 2: ACPI 2.0+ */
    uint32_t rsdt_address;
    uint32_t length; /* 36 */
    uint64_t xsdt_address;
    uint8_t extended_checksum; /* all 36 bytes */
    uint8_t reserved[3];
} ACPI_PACKED;
_Static_assert(sizeof(struct acpi_rsdp) == 36, "RSDP");

struct acpi_header {
    char signature[4];
    uint32_t length;
    uint8_t revision;
    uint8_t checksum; /* the whole table sums to 0 */
    char oem_id[6];
    char oem_table_id[8];
    uint32_t oem_revision;
    char creator_id[4];
    uint32_t creator_revision;
} ACPI_PACKED;
_Static_assert(sizeof(struct acpi_header) == 36, "SDT header");

enum { ACPI_GAS_MEMORY = 0, ACPI_GAS_IO = 1 };
enum { ACPI_ACCESS_BYTE = 1, ACPI_ACCESS_WORD = 2, ACPI_ACCESS_DWORD = 3 };

struct acpi_gas {
    uint8_t space_id; /* ACPI_GAS_* */
    uint8_t bit_width;
    uint8_t bit_offset;
    uint8_t access_size; /* ACPI_ACCESS_* */
    uint64_t address;
} ACPI_PACKED;
_Static_assert(sizeof(struct acpi_gas) == 12, "GAS");

/* FADT flags (§5.2.9, Table 5.10) and IA-PC boot architecture flags (Table 5.11). */
#define ACPI_FADT_WBINVD (1u << 0)
#define ACPI_FADT_PROC_C1 (1u << 2)
#define ACPI_FADT_PWR_BUTTON (1u << 4) /* set: no fixed-feature power button */
#define ACPI_FADT_SLP_BUTTON (1u << 5) /* set: no fixed-feature sleep button */
#define ACPI_FADT_FIX_RTC (1u << 6)    /* set: RTC wake status not in PM1 */
#define ACPI_FADT_TMR_VAL_EXT (1u << 8)
#define ACPI_FADT_RESET_REG_SUP (1u << 10)
#define ACPI_FADT_HW_REDUCED (1u << 20)
#define ACPI_IAPC_LEGACY_DEVICES (1u << 0)
#define ACPI_IAPC_8042 (1u << 1)
#define ACPI_IAPC_NO_VGA (1u << 2)
#define ACPI_IAPC_NO_MSI (1u << 3)
#define ACPI_IAPC_NO_CMOS_RTC (1u << 5)

struct acpi_fadt {
    struct acpi_header header; /* "FACP", revision 6 */
    uint32_t firmware_ctrl;    /* 36 */
    uint32_t dsdt;             /* 40 */
    uint8_t reserved0;         /* 44 */
    uint8_t preferred_pm_profile;
    uint16_t sci_int; /* 46 */
    uint32_t smi_cmd; /* 48 */
    uint8_t acpi_enable, acpi_disable, s4bios_req, pstate_cnt;
    uint32_t pm1a_evt_blk, pm1b_evt_blk;                       /* 56, 60 */
    uint32_t pm1a_cnt_blk, pm1b_cnt_blk;                       /* 64, 68 */
    uint32_t pm2_cnt_blk, pm_tmr_blk;                          /* 72, 76 */
    uint32_t gpe0_blk, gpe1_blk;                               /* 80, 84 */
    uint8_t pm1_evt_len, pm1_cnt_len, pm2_cnt_len, pm_tmr_len; /* 88.. */
    uint8_t gpe0_blk_len, gpe1_blk_len, gpe1_base, cst_cnt;    /* 92.. */
    uint16_t p_lvl2_lat, p_lvl3_lat;                           /* 96, 98 */
    uint16_t flush_size, flush_stride;
    uint8_t duty_offset, duty_width, day_alrm, mon_alrm, century; /* 104..108 */
    uint16_t iapc_boot_arch;                                      /* 109 */
    uint8_t reserved1;
    uint32_t flags;            /* 112 */
    struct acpi_gas reset_reg; /* 116 */
    uint8_t reset_value;       /* 128 */
    uint16_t arm_boot_arch;
    uint8_t minor_version;
    uint64_t x_firmware_ctrl;                                                       /* 132 */
    uint64_t x_dsdt;                                                                /* 140 */
    struct acpi_gas x_pm1a_evt_blk, x_pm1b_evt_blk, x_pm1a_cnt_blk, x_pm1b_cnt_blk; /* 148.. */
    struct acpi_gas x_pm2_cnt_blk, x_pm_tmr_blk, x_gpe0_blk, x_gpe1_blk;            /* 196.. */
    struct acpi_gas sleep_control_reg, sleep_status_reg;                            /* 244.. */
    uint64_t hypervisor_vendor_id;                                                  /* 268 */
} ACPI_PACKED;
_Static_assert(sizeof(struct acpi_fadt) == 276, "FADT rev 6");
_Static_assert(offsetof(struct acpi_fadt, sci_int) == 46, "FADT SCI_INT");
_Static_assert(offsetof(struct acpi_fadt, pm1a_evt_blk) == 56, "FADT PM1a_EVT_BLK");
_Static_assert(offsetof(struct acpi_fadt, pm1_evt_len) == 88, "FADT PM1_EVT_LEN");
_Static_assert(offsetof(struct acpi_fadt, century) == 108, "FADT CENTURY");
_Static_assert(offsetof(struct acpi_fadt, iapc_boot_arch) == 109, "FADT IAPC_BOOT_ARCH");
_Static_assert(offsetof(struct acpi_fadt, flags) == 112, "FADT Flags");
_Static_assert(offsetof(struct acpi_fadt, reset_reg) == 116, "FADT RESET_REG");
_Static_assert(offsetof(struct acpi_fadt, x_firmware_ctrl) == 132, "FADT X_FIRMWARE_CTRL");
_Static_assert(offsetof(struct acpi_fadt, x_pm1a_evt_blk) == 148, "FADT X_PM1a_EVT_BLK");
_Static_assert(offsetof(struct acpi_fadt, x_gpe0_blk) == 220, "FADT X_GPE0_BLK");
_Static_assert(offsetof(struct acpi_fadt, hypervisor_vendor_id) == 268, "FADT vendor");

struct acpi_facs {
    char signature[4]; /* "FACS" */
    uint32_t length;   /* 64 */
    uint32_t hardware_signature;
    uint32_t firmware_waking_vector;
    uint32_t global_lock;
    uint32_t flags;
    uint64_t x_firmware_waking_vector;
    uint8_t version; /* 2 */
    uint8_t reserved0[3];
    uint32_t ospm_flags;
    uint8_t reserved1[24];
} ACPI_PACKED;
_Static_assert(sizeof(struct acpi_facs) == 64, "FACS");

#define ACPI_MADT_PCAT_COMPAT 1u
enum {
    ACPI_MADT_LAPIC = 0,
    ACPI_MADT_IOAPIC = 1,
    ACPI_MADT_ISO = 2,
    ACPI_MADT_LAPIC_NMI = 4,
};
/* MPS INTI flags (Table 5.26): polarity bits 1:0, trigger mode bits 3:2. */
#define ACPI_MPS_ACTIVE_HIGH 0x1u
#define ACPI_MPS_ACTIVE_LOW 0x3u
#define ACPI_MPS_EDGE (0x1u << 2)
#define ACPI_MPS_LEVEL (0x3u << 2)

struct acpi_madt {
    struct acpi_header header; /* "APIC", revision 5 */
    uint32_t lapic_address;
    uint32_t flags;
} ACPI_PACKED;
_Static_assert(sizeof(struct acpi_madt) == 44, "MADT");

struct acpi_madt_lapic {
    uint8_t type, length; /* 0, 8 */
    uint8_t uid, apic_id;
    uint32_t flags; /* bit 0: enabled */
} ACPI_PACKED;
_Static_assert(sizeof(struct acpi_madt_lapic) == 8, "MADT LAPIC");

struct acpi_madt_ioapic {
    uint8_t type, length; /* 1, 12 */
    uint8_t id, reserved;
    uint32_t address;
    uint32_t gsi_base;
} ACPI_PACKED;
_Static_assert(sizeof(struct acpi_madt_ioapic) == 12, "MADT IOAPIC");

struct acpi_madt_iso {
    uint8_t type, length; /* 2, 10 */
    uint8_t bus, source;  /* bus 0: ISA */
    uint32_t gsi;
    uint16_t flags; /* ACPI_MPS_* */
} ACPI_PACKED;
_Static_assert(sizeof(struct acpi_madt_iso) == 10, "MADT ISO");

struct acpi_madt_lapic_nmi {
    uint8_t type, length; /* 4, 6 */
    uint8_t uid;          /* 0xff: all processors */
    uint16_t flags;
    uint8_t lint;
} ACPI_PACKED;
_Static_assert(sizeof(struct acpi_madt_lapic_nmi) == 6, "MADT LAPIC NMI");

struct acpi_mcfg {
    struct acpi_header header; /* "MCFG", revision 1 */
    uint64_t reserved;
} ACPI_PACKED;
_Static_assert(sizeof(struct acpi_mcfg) == 44, "MCFG");

struct acpi_mcfg_alloc {
    uint64_t base;
    uint16_t segment;
    uint8_t start_bus, end_bus;
    uint32_t reserved;
} ACPI_PACKED;
_Static_assert(sizeof(struct acpi_mcfg_alloc) == 16, "MCFG allocation");

#endif
