/* SPDX-License-Identifier: MIT */
/*
 * The Intel MultiProcessor Specification 1.4 table (chapter 4: MP floating pointer structure
 * and MP configuration table), for guests that boot with acpi=off: one processor entry per
 * vCPU, the PCI bus 0 and an ISA bus, the IOAPIC, an I/O interrupt entry per ISA IRQ and per
 * PCI slot/pin (the same routing as the DSDT's _PRT and the MADT overrides), and the local
 * ExtINT (LINT0, only with an 8259) and NMI (LINT1) entries. Written at
 * [MPTABLE_GPA, MPTABLE_GPA + MPTABLE_SIZE), inside the 0xf0000-0xfffff range where the
 * specification says to look for it.
 */
#ifndef BAREIRON_CORE_X86_MPTABLE_H
#define BAREIRON_CORE_X86_MPTABLE_H

#include <stdint.h>

#include "base/compiler.h"
#include "core/gmem.h"
#include "core/x86/acpi.h"

/*
 * Writes the MP table for the machine (cfg) (ncpus, has_ioapic, has_pic, has_irq0_override,
 * has_pci are used) into (gm) and returns the floating pointer's gpa in (*gpa) (may be NULL).
 * Without an IOAPIC no table is written and -ENODEV is returned: 64-bit Linux that finds an MP
 * table runs in symmetric I/O mode and masks LINT0, cutting the 8259 off; without one it keeps
 * the virtual wire (and takes its CPUs from the MADT). Returns 0, -EINVAL (ncpus 0 or >
 * MAX_VCPUS), -ENODEV, -EFAULT (the area is not RAM) or -ENOSPC. Called
 * once while the machine is built.
 */
MUST_CHECK int mptable_build(struct gmem *gm, const struct acpi_config *cfg, uint64_t *gpa);

#endif
