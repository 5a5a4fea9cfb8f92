/* SPDX-License-Identifier: MIT */
/*
 * QEMU's ACPI linker/loader script, the fw_cfg file "etc/table-loader" that SeaBIOS
 * (romfile_loader) and OVMF (AcpiPlatformDxe) run to install tables handed over as fw_cfg files:
 * a sequence of 128-byte little-endian commands,
 *
 *   ALLOCATE      file, align, zone     copy fw_cfg (file) into firmware memory aligned to (align)
 *                                       (a power of 2), below 4 GiB (zone HIGH) or in the
 *                                       0xe0000-0xfffff segment (zone FSEG, where an RSDP scan
 * looks) ADD_POINTER   dest, src, off, size  add the address where (src) was allocated to the
 *                                       (size)-byte (1, 2, 4, 8) little-endian value at (off) of
 * (dest) ADD_CHECKSUM  file, off, start, len make bytes [start, start + len) of (file) sum to 0 by
 *                                       adjusting the byte at (off), which lies inside that range
 *
 * File names are NUL-padded to 56 bytes. Every file is allocated before a command names it,
 * and a checksum is computed after the pointers inside its range are patched, so the writer
 * emits the allocations first, then the pointers, then the checksums. The byte at (off) must
 * be 0 when ADD_CHECKSUM runs: OVMF stores the checksum of the range as it stands, that byte
 * included, where SeaBIOS subtracts it from the byte; both agree only from 0.
 */
#ifndef BAREIRON_CORE_X86_ACPI_LOADER_H
#define BAREIRON_CORE_X86_ACPI_LOADER_H

#include <stddef.h>
#include <stdint.h>

#include "core/x86/acpi_tables.h"

#define ACPI_LOADER_FILESZ 56
#define ACPI_LOADER_ENTRY_SIZE 128

enum acpi_loader_command {
    ACPI_LOADER_ALLOCATE = 1,
    ACPI_LOADER_ADD_POINTER = 2,
    ACPI_LOADER_ADD_CHECKSUM = 3,
};

enum acpi_loader_zone {
    ACPI_LOADER_ZONE_HIGH = 1,
    ACPI_LOADER_ZONE_FSEG = 2,
};

struct acpi_loader_entry {
    uint32_t command; /* enum acpi_loader_command; other values are skipped by the firmware */
    union {
        struct {
            char file[ACPI_LOADER_FILESZ];
            uint32_t align;
            uint8_t zone;
        } ACPI_PACKED alloc;
        struct {
            char dest_file[ACPI_LOADER_FILESZ];
            char src_file[ACPI_LOADER_FILESZ];
            uint32_t offset;
            uint8_t size;
        } ACPI_PACKED pointer;
        struct {
            char file[ACPI_LOADER_FILESZ];
            uint32_t offset;
            uint32_t start;
            uint32_t length;
        } ACPI_PACKED checksum;
        uint8_t pad[ACPI_LOADER_ENTRY_SIZE - 4];
    } ACPI_PACKED u;
} ACPI_PACKED;
_Static_assert(sizeof(struct acpi_loader_entry) == ACPI_LOADER_ENTRY_SIZE, "loader entry");

/* A script being written: a growing array of entries. Errors are sticky in (err). */
struct acpi_loader {
    struct acpi_loader_entry *entries;
    size_t n, cap;
    int err; /* first error: -ENOMEM, -EINVAL (a name longer than 55 bytes, a bad size) */
};

/* Starts an empty script (caller-owned struct) / frees it. */
void acpi_loader_init(struct acpi_loader *l);
void acpi_loader_fini(struct acpi_loader *l);
/* Append one command each; see the table above. */
void acpi_loader_allocate(struct acpi_loader *l, const char *file, uint32_t align,
                          enum acpi_loader_zone zone);
void acpi_loader_add_pointer(struct acpi_loader *l, const char *dest_file, const char *src_file,
                             uint32_t offset, uint8_t size);
void acpi_loader_add_checksum(struct acpi_loader *l, const char *file, uint32_t offset,
                              uint32_t start, uint32_t length);

#endif
