/* SPDX-License-Identifier: MIT */
/*
 * ACPI table finder for the payloads (ACPI 6.4 §5.2): the RSDP search of §5.2.5.1 (EBDA,
 * then 0xE0000-0xFFFFF), RSDT/XSDT walk with checksums, and the fields the payloads need from
 * the FADT (§5.2.9), MADT (§5.2.12), MCFG (PCI Firmware Specification 3.2 §4.1.2) and the
 * DSDT's \_S5 package (§7.4.2).
 */
#ifndef BAREIRON_GUEST_ACPI_H
#define BAREIRON_GUEST_ACPI_H

#include "rt.h"

struct acpi_sdt {
    char sig[4];
    uint32_t length;
    uint8_t revision;
    uint8_t checksum;
    char oem_id[6];
    char oem_table_id[8];
    uint32_t oem_revision;
    char creator_id[4];
    uint32_t creator_revision;
} __attribute__((packed));

/* Generic Address Structure (§5.2.3.2). */
struct acpi_gas {
    uint8_t space; /* 0 memory, 1 system I/O */
    uint8_t bit_width;
    uint8_t bit_offset;
    uint8_t access_size;
    uint64_t address;
} __attribute__((packed));

#define ACPI_MAX_TABLES 32
#define ACPI_MAX_CPUS 64
#define FADT_F_TMR_VAL_EXT (1u << 8)
#define FADT_F_RESET_REG_SUP (1u << 10)
#define FADT_F_HW_REDUCED (1u << 20)
#define PM1_STS_TMR 0x0001
#define PM1_STS_PWRBTN 0x0100
#define PM1_EN_PWRBTN 0x0100
#define PM1_CNT_SCI_EN 0x0001
#define PM1_CNT_SLP_EN 0x2000

struct acpi_info {
    uint64_t rsdp;
    uint8_t rsdp_revision;
    uint64_t rsdt, xsdt;
    unsigned ntables; /* tables listed in the XSDT (else RSDT) */
    const struct acpi_sdt *tables[ACPI_MAX_TABLES];
    const struct acpi_sdt *fadt, *madt, *dsdt, *mcfg, *facs;
    /* FADT */
    uint32_t fadt_flags;
    uint16_t pm1a_evt, pm1a_cnt, pm_tmr;
    uint8_t pm1_evt_len, pm1_cnt_len;
    unsigned pm_tmr_bits;
    uint16_t smi_cmd;
    uint8_t acpi_enable;
    bool has_reset;
    struct acpi_gas reset_reg;
    uint8_t reset_value;
    /* MADT */
    uint64_t lapic_addr;
    unsigned ncpus; /* enabled processor-local (x2)APIC entries */
    unsigned ncpus_disabled;
    uint32_t apic_ids[ACPI_MAX_CPUS];
    unsigned nioapics;
    uint64_t ioapic_addr;
    uint32_t ioapic_gsi_base;
    uint32_t isa_gsi[16];   /* ISA IRQ -> GSI after interrupt source overrides (type 2) */
    uint16_t isa_flags[16]; /* MPS INTI flags of the override (0: bus default) */
    /* MCFG (first entry, segment 0) */
    uint64_t ecam_base;
    uint8_t ecam_bus_start, ecam_bus_end;
    /* \_S5 SLP_TYPa from the DSDT, or -1 */
    int s5_slp_typ;
};

/*
 * Finds and parses the tables into (ai); also points the runtime's clock (rt_pmtmr_port) at
 * the PM timer. Returns 0, or -1 with a reason in (why) (size (whysz)) when there is no valid
 * RSDP/RSDT. Table checksum errors are reported by the caller through acpi_checksum_ok().
 */
int acpi_init(struct acpi_info *ai, char *why, size_t whysz);
/* True when the bytes of [p, p+len) sum to 0 mod 256. */
bool acpi_checksum_ok(const void *p, size_t len);
/* The (idx)-th table with signature (sig) among ai->tables, or NULL. */
const struct acpi_sdt *acpi_find(const struct acpi_info *ai, const char *sig, unsigned idx);
/* SLP_TYPa of the \_S5 package in the AML of (dsdt), or -1 when not found. */
int acpi_s5_slp_typ(const struct acpi_sdt *dsdt);

#endif
