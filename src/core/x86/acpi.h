/* SPDX-License-Identifier: MIT */
/*
 * ACPI tables of a bareiron PC (ACPI 6.5 chapter 5): RSDP (rev 2) in the BIOS area where a
 * legacy scan finds it, RSDT and XSDT, FADT (rev 6, full hardware model with the fixed-feature
 * PM block of dev/legacy/acpi_pm at PORT_ACPI_PM_BASE), FACS, MADT, MCFG and a DSDT written in
 * AML by core/x86/aml.c (\_S5, \_SB.PCI0 with its resources, COM1/COM2, i8042, RTC). Everything
 * is written into guest RAM at [ACPI_GPA, MPTABLE_GPA) (core/x86/layout.h).
 */
#ifndef BAREIRON_CORE_X86_ACPI_H
#define BAREIRON_CORE_X86_ACPI_H

#include <stdbool.h>
#include <stdint.h>

#include "base/compiler.h"
#include "core/gmem.h"
#include "core/x86/aml.h"

struct acpi_config {
    unsigned ncpus;     /* 1..MAX_VCPUS; APIC id = ACPI processor uid = index */
    uint64_t ram_bytes; /* guest RAM, to place the 64-bit PCI window above it */
    bool has_ioapic;    /* MADT IOAPIC entry (id = ncpus); false: PCI INTx on PIC IRQs 10/11 */
    bool has_pic;       /* an 8259 pair: MADT PCAT_COMPAT, MP table ExtINT on LINT0 */
    /* MADT ISO ISA IRQ0 -> GSI 2, edge (and MP table IRQ0 -> pin 2), as QEMU does. Only when
     * the GSI routing sends GSI 0 to IOAPIC pin 2; KVM's default routing (GSI n -> pin n, what
     * core/irq.c uses) needs it false: then IRQ0 is identity-mapped to pin 0. */
    bool has_irq0_override;
    bool has_pci;             /* MCFG and \_SB.PCI0 */
    bool has_com1, has_com2;  /* 16550 at 0x3f8/IRQ4, 0x2f8/IRQ3 */
    bool has_i8042;           /* PS/2 keyboard and mouse at 0x60/0x64, IRQ 1/12 */
    bool has_rtc;             /* CMOS RTC at 0x70, IRQ 8 */
    bool has_vga;             /* false: FADT IAPC_BOOT_ARCH "VGA not present" */
    uint64_t pci_mmio64_base; /* 64-bit window; 0: acpi_pci_mmio64_base(ram_bytes) */
    uint64_t pci_mmio64_size; /* 0: PCI_MMIO64_SIZE */
};

/* Fills (cfg) with the standard machine: IOAPIC, 8259 PIC, PCI, COM1/COM2, i8042 and RTC
 * present, no VGA, no IRQ0 override (KVM's default GSI routing). */
void acpi_config_default(struct acpi_config *cfg, unsigned ncpus, uint64_t ram_bytes);

/*
 * Base of the 64-bit PCI MMIO window of a guest with (ram_bytes) of RAM: the end of the RAM
 * above 4 GiB (HIGH_RAM_BASE when there is none) rounded up to 1 GiB. The PCI BAR allocator
 * must use the same value.
 */
uint64_t acpi_pci_mmio64_base(uint64_t ram_bytes);

/*
 * Writes all tables into [ACPI_GPA, MPTABLE_GPA) of (gm), which must be RAM (the whole range:
 * zeros after the last table), and stores the RSDP's guest-physical address (for
 * boot_params.acpi_rsdp_addr / PVH rsdp_paddr) in (*rsdp_gpa). Returns 0, -EINVAL (bad config, e.g.
 * ncpus 0 or > MAX_VCPUS), -EFAULT (the area is not RAM) or -ENOSPC (the tables do not fit). Called
 * once while the machine is built.
 */
MUST_CHECK int acpi_build(struct gmem *gm, const struct acpi_config *cfg, uint64_t *rsdp_gpa);

/*
 * Appends the DSDT's definition block body (everything after the table header) for (cfg) to
 * (a): \_S5, the processor devices, \_SB.PCI0 with _CRS and _PRT, the ECAM reservation and
 * the ISA devices. Returns aml_finish(a).
 */
MUST_CHECK int acpi_dsdt_build(struct aml *a, const struct acpi_config *cfg);

#endif
