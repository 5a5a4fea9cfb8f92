/* SPDX-License-Identifier: MIT */
/*
 * ACPI tables of a bareiron PC (ACPI 6.5 chapter 5): RSDP (rev 2) in the BIOS area where a
 * legacy scan finds it, RSDT and XSDT, FADT (rev 6, full hardware model with the fixed-feature
 * PM block of dev/legacy/acpi_pm at PORT_ACPI_PM_BASE), FACS, MADT, MCFG and a DSDT written in
 * AML by core/x86/acpi_dsdt.c (\_S5, \_SB.PCI0 with its resources, COM1/COM2, i8042, RTC; on the
 * pc machine the i440FX/PIIX3/PIIX4 description of core/x86/acpi_pc.c).
 *
 * One set of table builders, two outlets:
 *   - direct boot (acpi_build): the tables are written into guest RAM at [ACPI_GPA,
 *     MPTABLE_GPA) (core/x86/layout.h) with their final addresses;
 *   - firmware boot (acpi_build_fw): the same tables in a blob whose pointers are offsets inside
 *     it, the RSDP in a second blob, and QEMU's linker/loader script (core/x86/acpi_loader.h)
 *     with which SeaBIOS or OVMF allocates both, patches the pointers and fixes the checksums.
 *     They are the fw_cfg files ACPI_FW_FILE_TABLES, ACPI_FW_FILE_RSDP and ACPI_FW_FILE_LOADER.
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
    /* 32-bit PCI window [base, base + size) in \_SB.PCI0._CRS; size 0: PCI_MMIO32_BASE and
     * PCI_MMIO32_SIZE. */
    uint32_t pci_mmio32_base, pci_mmio32_size;

    /*
     * The pc machine (i440FX host bridge 00.0, PIIX3 ISA bridge 01.0, PIIX4 PM 01.3), as
     * QEMU's "-M pc" describes it: \_SB.PCI0 is a PNP0A03 PCI bus (no MCFG, no ECAM), PCI INTx
     * goes through the PIIX3 PIRQ route registers 0x60-0x63 to the link devices LNKA..LNKD (ISA
     * IRQs 5, 10, 11, level, active high, shared; the _PRT maps slot s pin p (0 = INTA) to
     * link (s + p - 1) & 3, except 01.0 INTA -> LNKS, the SCI's IRQ 9), the ISA devices sit in
     * \_SB.PCI0.ISA_ (01.0), the MADT overrides IRQs 5, 9, 10 and 11 to level/active high, the
     * FADT is revision 1 (ACPI 1.0, what older OSes parse) and the PM block is at (pm_base).
     * false: the microvm-style machine of a direct boot, unchanged.
     */
    bool is_pc;
    bool has_fdc;       /* pc: floppy controller 0x3f0-0x3f7, IRQ 6, DMA 2, drive A present */
    uint16_t pm_base;   /* pc: PM1a_EVT = base, PM1a_CNT = base + 4, PM_TMR = base + 8 */
    uint16_t gpe0_port; /* pc: GPE0_BLK (STS then EN halves) */
    uint8_t gpe0_len;   /* pc: GPE0_BLK_LEN, even, 2..254 */
    uint16_t smi_cmd;   /* pc: SMI_CMD port (ACPI_ENABLE 0xf1, ACPI_DISABLE 0xf0), 0: none */
};

/*
 * The pc machine's PM block follows the PIIX4 PMBA register (PCI config 0x40 of 01.3), which the
 * firmware programs, so the FADT must name the base the firmware will choose: SeaBIOS uses
 * 0x600 when fw_cfg has "etc/table-loader" (0xb000 only without one, when it builds its own
 * tables); OVMF programs 0xb000 on the i440FX. QEMU avoids the question by building its tables
 * when the firmware reads them; ours are built before the boot. GPE0 follows dev/legacy/acpi_pm's
 * layout (base + 0x20, 8 bytes; QEMU puts it at 0xafe0 with 4 bytes).
 */
#define ACPI_PC_PM_BASE_SEABIOS 0x600
#define ACPI_PC_PM_BASE_OVMF 0xb000
#define ACPI_PC_GPE0_OFFSET 0x20
#define ACPI_PC_GPE0_LEN 8

/* Fills (cfg) with the standard machine: IOAPIC, 8259 PIC, PCI, COM1/COM2, i8042 and RTC
 * present, no VGA, no IRQ0 override (KVM's default GSI routing). */
void acpi_config_default(struct acpi_config *cfg, unsigned ncpus, uint64_t ram_bytes);

/* Fills (cfg) with the pc machine: acpi_config_default() plus is_pc, COM1 only, VGA present,
 * no floppy controller, the PM block at ACPI_PC_PM_BASE_SEABIOS (set pm_base and gpe0_port
 * from ACPI_PC_PM_BASE_OVMF for a UEFI boot) with GPE0 at + ACPI_PC_GPE0_OFFSET, no SMI_CMD
 * (SCI_EN reads 1, as dev/legacy/acpi_pm does), and the 32-bit PCI window from
 * PCI_MMIO32_BASE up to the IOAPIC (SeaBIOS places BARs downwards from 0xfec00000). */
void acpi_config_pc(struct acpi_config *cfg, unsigned ncpus, uint64_t ram_bytes);

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

/* The fw_cfg names of the three files of a firmware boot. */
#define ACPI_FW_FILE_TABLES "etc/acpi/tables"
#define ACPI_FW_FILE_RSDP "etc/acpi/rsdp"
#define ACPI_FW_FILE_LOADER "etc/table-loader"

/* The files of a firmware boot, each malloc'ed and owned by the struct. */
struct acpi_fw_blob {
    uint8_t *tables; /* ACPI_FW_FILE_TABLES: FACS first, then the tables; pointers are offsets */
    size_t tables_len;
    uint8_t *rsdp; /* ACPI_FW_FILE_RSDP: the 36-byte RSDP (rev 2); pointers are offsets */
    size_t rsdp_len;
    uint8_t *loader; /* ACPI_FW_FILE_LOADER: 128-byte commands (core/x86/acpi_loader.h) */
    size_t loader_len;
};

/*
 * Builds the tables of (cfg) for a firmware boot into (*out): the same tables as acpi_build(),
 * relocated by the firmware through the loader script (tables blob: ALLOCATE zone HIGH, 64-byte
 * aligned for the FACS; RSDP: zone FSEG, 16-byte aligned). Every checksum field the script
 * names is 0 in the blobs, as the loader contract wants (OVMF overwrites the field with the
 * sum of a range that includes it); the script computes them after patching.
 * Returns 0, -EINVAL (bad config), -ENOSPC (tables too big) or -ENOMEM; on error (*out) is
 * left empty. Free with acpi_fw_blob_free(). Thread-safe (no shared state).
 */
MUST_CHECK int acpi_build_fw(const struct acpi_config *cfg, struct acpi_fw_blob *out);

/* Frees the three buffers of (b) and zeroes it; NULL-safe and idempotent. */
void acpi_fw_blob_free(struct acpi_fw_blob *b);

/*
 * Appends the DSDT's definition block body (everything after the table header) for (cfg) to
 * (a): \_S5, the processor devices, \_SB.PCI0 with _CRS and _PRT, the ECAM reservation and
 * the ISA devices (on the pc machine: the PIRQ links and \_SB.PCI0.ISA_ instead of the ECAM
 * reservation). Returns aml_finish(a). Implemented in core/x86/acpi_dsdt.c.
 */
MUST_CHECK int acpi_dsdt_build(struct aml *a, const struct acpi_config *cfg);

#endif
