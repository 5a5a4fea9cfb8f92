/* SPDX-License-Identifier: MIT */
/*
 * The guest-physical and I/O-port map of a bareiron PC, in one place. Every module that puts
 * something at a fixed address takes it from here; docs/architecture.md repeats this table.
 *
 *   0x0000_0000  real-mode IVT/BDA (left zero)
 *   0x0000_0500  boot GDT            (BOOT_GDT_GPA)
 *   0x0000_7000  zero page           (BOOT_PARAMS_GPA, Linux boot_params)
 *   0x0000_9000  boot page tables    (BOOT_PML4_GPA .. +0x6000, identity map of the first 4 GiB)
 *   0x0002_0000  kernel command line (BOOT_CMDLINE_GPA, up to BOOT_CMDLINE_MAX bytes)
 *   0x0003_0000  multiboot info / PVH start_info
 *   0x0009_fc00  top of conventional memory (EBDA from here to 0xa0000, reserved)
 *   0x000a_0000  legacy VGA window (LEGACY_VGA_GPA .. LEGACY_VGA_END): RAM, or on pc with
 *                --video std the display's planar memory
 *   0x000e_0000  ACPI tables + RSDP, MP table (ACPI_GPA .. 0x100000, reserved in e820)
 *   0x0010_0000  kernel (bzImage protected-mode part, or vmlinux at its own LMA)
 *   ...          RAM up to min(memory, LOW_RAM_MAX)
 *   0xc000_0000  PCI 32-bit MMIO window (PCI_MMIO32_BASE, PCI_MMIO32_SIZE)
 *   0xe000_0000  PCI ECAM, bus 0..255 (PCI_ECAM_BASE, 256 MiB)
 *   0xfec0_0000  IOAPIC
 *   0xfee0_0000  LAPIC
 *   0x1_0000_0000 RAM above 4 GiB (HIGH_RAM_BASE), then the 64-bit PCI window
 */
#ifndef BAREIRON_CORE_X86_LAYOUT_H
#define BAREIRON_CORE_X86_LAYOUT_H

#include "base/vm_limits.h"

#define BOOT_GDT_GPA 0x500ULL
#define BOOT_IDT_GPA 0x540ULL /* after the 6-entry boot GDT (core/x86/regs.h) */
#define BOOT_PARAMS_GPA 0x7000ULL
#define BOOT_PML4_GPA 0x9000ULL
#define BOOT_PDPT_GPA 0xa000ULL
#define BOOT_PD_GPA 0xb000ULL /* four 4 KiB page directories: 0xb000..0xefff */
#define BOOT_STACK_GPA 0x8ff0ULL
#define BOOT_CMDLINE_GPA 0x20000ULL
#define BOOT_CMDLINE_MAX 0x10000ULL
#define BOOT_INFO_GPA 0x30000ULL /* multiboot info / PVH hvm_start_info */
#define BOOT_AREA_END 0x40000ULL /* end of the boot structures above (reserved in e820) */
#define EBDA_GPA 0x9fc00ULL
/* The legacy VGA window: RAM on the microvm machine, a hole (planar memory) on pc with std-VGA. */
#define LEGACY_VGA_GPA 0xa0000ULL
#define LEGACY_VGA_END 0xc0000ULL
#define ACPI_GPA 0xe0000ULL
#define ACPI_SIZE 0x20000ULL
/* The MP table (floating pointer + configuration table) takes the last 16 KiB of the ACPI area,
 * inside the 0xf0000-0xfffff range the MP spec scans; the ACPI tables end below it. */
#define MPTABLE_GPA 0xfc000ULL
#define MPTABLE_SIZE 0x4000ULL
#define KERNEL_DEFAULT_GPA 0x100000ULL

#define LOW_RAM_MAX 0xc0000000ULL
#define PCI_MMIO32_BASE 0xc0000000ULL
#define PCI_MMIO32_SIZE 0x20000000ULL
#define PCI_ECAM_BASE 0xe0000000ULL
#define PCI_ECAM_SIZE 0x10000000ULL
#define IOAPIC_GPA 0xfec00000ULL
#define LAPIC_GPA 0xfee00000ULL
/* KVM's real-mode helpers (VMX): one identity-map page and three TSS pages, not RAM. */
#define KVM_IDENTITY_MAP_GPA 0xfeffc000ULL
#define KVM_TSS_GPA 0xfeffd000ULL
#define HIGH_RAM_BASE 0x100000000ULL
#define PCI_MMIO64_SIZE 0x4000000000ULL /* 256 GiB after the end of high RAM, 1 GiB aligned */

/* I/O ports */
#define PORT_PIT 0x40
#define PORT_I8042_DATA 0x60
#define PORT_I8042_CMD 0x64
#define PORT_CMOS 0x70
#define PORT_PORT92 0x92
#define PORT_DEBUG_EXIT 0xf4  /* QEMU isa-debug-exit: exit status (value << 1) | 1 */
#define PORT_BIOS_DEBUG 0x402 /* SeaBIOS's debug output (QEMU's isa-debugcon) */
#define PORT_FW_CFG 0x510     /* fw_cfg selector (16-bit) and data (0x511) */
#define PORT_FW_CFG_DMA 0x514 /* fw_cfg DMA address, big-endian, high half first */
#define PORT_COM1 0x3f8
#define PORT_COM2 0x2f8
#define PORT_COM3 0x3e8
#define PORT_COM4 0x2e8
#define PORT_PCI_CONFIG 0xcf8 /* CF8 address, CFC..CFF data */
#define PCI_IO_BASE 0xc000    /* I/O window for PCI I/O BARs (DSDT _CRS), up to 0xffff */
#define PCI_IO_SIZE 0x4000
#define PORT_ACPI_PM_BASE 0x600
#define PORT_ACPI_PM1_EVT (PORT_ACPI_PM_BASE + 0x0) /* PM1a_STS (2) + PM1a_EN (2) */
#define PORT_ACPI_PM1_CNT (PORT_ACPI_PM_BASE + 0x4) /* 2 bytes */
#define PORT_ACPI_PM_TMR (PORT_ACPI_PM_BASE + 0x8)  /* 4 bytes, 3.579545 MHz */
#define PORT_ACPI_GPE0 (PORT_ACPI_PM_BASE + 0x20)   /* GPE0_STS (4) + GPE0_EN (4) */
/* FADT RESET_REG: the i8042 command port, value 0xfe (pulse the CPU reset line). */
#define PORT_ACPI_RESET PORT_I8042_CMD
#define ACPI_RESET_VALUE 0xfe
/* SLP_TYP values in PM1_CNT (bits 10..12) that the DSDT's \_S5 / \_S3 packages announce. */
#define ACPI_SLP_TYP_S5 0
#define ACPI_SLP_TYP_S3 1

/* Legacy interrupt lines (GSIs on the IOAPIC, same numbers on the PIC) */
#define GSI_PIT 0
#define GSI_I8042_KBD 1
#define GSI_COM2 3
#define GSI_COM1 4
#define GSI_RTC 8
#define GSI_ACPI_SCI 9
#define GSI_I8042_AUX 12
#define GSI_PCI_FIRST 16 /* PCI INTx lines 16..23 (slot-swizzled), MSI routes above 24 */
/* INTx of PCI (slot) and (pin) (1..4 = INTA..INTD): the swizzle the DSDT _PRT announces. */
#define PCI_INTX_GSI(slot, pin) (GSI_PCI_FIRST + (((slot) + (pin)-1) & 7))
/* Without an IOAPIC (--ioapic off) only the 8259's IRQs 0..15 exist: PCI INTx then shares ISA
 * IRQs 10 and 11 (free on this machine), level-triggered through the ELCR. */
#define GSI_PCI_PIC_FIRST 10
#define PCI_INTX_PIC_IRQ(slot, pin) (GSI_PCI_PIC_FIRST + (((slot) + (pin)-1) & 1))
/* The INTx line of (slot)/(pin) on a machine with or without an IOAPIC (has_ioapic). */
#define PCI_INTX_LINE(has_ioapic, slot, pin)                                                       \
    ((has_ioapic) ? PCI_INTX_GSI(slot, pin) : PCI_INTX_PIC_IRQ(slot, pin))
#define IOAPIC_NUM_PINS 24

/* SMP limits: one number for the manager and the monitor (base/vm_limits.h) */
#define MAX_VCPUS VM_MAX_CPUS

#endif
