/* SPDX-License-Identifier: MIT */
/*
 * The guest's physical memory map as the BIOS E820 call (INT 15h, AX=E820h; ACPI 6.5 §15.1,
 * "Address Range Types") would report it. e820_build_pc() derives the map of a bareiron PC from
 * its guest memory and core/x86/layout.h; the boot loaders copy it into boot_params.e820_table
 * (Documentation/arch/x86/zero-page.rst), the multiboot mmap or the PVH memmap. Entries are kept
 * sorted by address and never overlap.
 */
#ifndef BAREIRON_CORE_X86_E820_H
#define BAREIRON_CORE_X86_E820_H

#include <stdint.h>

#include "base/compiler.h"
#include "core/gmem.h"

/* boot_params holds at most 128 entries (E820_MAX_ENTRIES_ZEROPAGE). */
#define E820_MAX 128

enum e820_type {
    E820_RAM = 1,      /* usable RAM */
    E820_RESERVED = 2, /* not usable (boot structures, EBDA, ECAM, ...) */
    E820_ACPI = 3,     /* ACPI tables: reclaimable once the OS has read them */
    E820_NVS = 4,      /* ACPI NVS: must be preserved across sleep */
};

/*
 * One range, laid out exactly like Linux's struct boot_e820_entry (20 bytes, packed), so the
 * array can be copied into boot_params.e820_table as it is.
 */
struct e820_entry {
    uint64_t addr;
    uint64_t size;
    uint32_t type; /* enum e820_type */
} __attribute__((packed));
_Static_assert(sizeof(struct e820_entry) == 20, "e820 entry layout");

struct e820_map {
    struct e820_entry entries[E820_MAX];
    unsigned n;
};

/* Empties (m). */
void e820_init(struct e820_map *m);

/*
 * Inserts the range [addr, addr+size) of (type) into (m), keeping it sorted. Adjacent ranges of
 * the same type are merged. Returns 0, -EINVAL (size 0 or wraps), -EEXIST (overlaps an entry)
 * or -ENOSPC (map full).
 */
MUST_CHECK int e820_add(struct e820_map *m, uint64_t addr, uint64_t size, uint32_t type);

/*
 * Builds the map of a PC with the RAM of (gm) (laid out by gmem_add_pc_ram):
 *   [0, BOOT_AREA_END)              reserved (GDT, zero page, page tables, cmdline, boot info)
 *   [BOOT_AREA_END, EBDA_GPA)       RAM
 *   [EBDA_GPA, ACPI_GPA)            reserved (EBDA, VGA hole, option ROM area)
 *   [ACPI_GPA, MPTABLE_GPA)         ACPI (tables, RSDP)
 *   [MPTABLE_GPA, 1 MiB)            reserved (MP table)
 *   [1 MiB, low RAM end)            RAM
 *   [PCI_ECAM_BASE, +PCI_ECAM_SIZE) reserved (so Linux accepts the MCFG window)
 *   [HIGH_RAM_BASE, ...)            RAM above 4 GiB, if any
 * Returns 0, or -EINVAL when the guest has less than 2 MiB of RAM.
 */
MUST_CHECK int e820_build_pc(struct e820_map *m, const struct gmem *gm);

/* Returns the RAM bytes the map reports (sum of E820_RAM entries). */
uint64_t e820_ram_bytes(const struct e820_map *m);

/* Returns a short name for (type): "ram", "reserved", "acpi", "nvs" or "unknown". */
const char *e820_type_name(uint32_t type);

#endif
