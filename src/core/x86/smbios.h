/* SPDX-License-Identifier: MIT */
/*
 * SMBIOS tables for a firmware boot (DMTF DSP0134 3.0): the 64-bit entry point ("_SM3_", §5.2.2)
 * and the structure table, handed to SeaBIOS and OVMF as the fw_cfg files SMBIOS_FW_FILE_ANCHOR
 * and SMBIOS_FW_FILE_TABLES, the way QEMU hands over its own. The firmware copies the table into
 * its memory, fills in the entry point's table address and checksum, and uses the structures
 * unchanged (SeaBIOS adds a type 0 only when there is none; so does OVMF).
 *
 * Structures, in this order (handles: type << 8 | index, as QEMU numbers them):
 *   type 0   BIOS information (vendor, version, release date; "virtual machine")
 *   type 1   system information, with the VM's UUID
 *   type 3   system enclosure (chassis "Other")
 *   type 4   one processor per vCPU ("CPU n", one core, one thread, enabled)
 *   type 16  the physical memory array (system memory, all the RAM)
 *   type 17  memory devices ("DIMM n"), one per 16 GiB of RAM
 *   type 19  memory array mapped addresses: RAM below the PCI hole, and above 4 GiB if any
 *            (split at LOW_RAM_MAX as gmem_add_pc_ram and the e820 map split it)
 *   type 32  system boot information (no errors)
 *   type 127 end of table
 */
#ifndef BAREIRON_CORE_X86_SMBIOS_H
#define BAREIRON_CORE_X86_SMBIOS_H

#include <stddef.h>
#include <stdint.h>

#include "base/compiler.h"

#define SMBIOS_FW_FILE_ANCHOR "etc/smbios/smbios-anchor"
#define SMBIOS_FW_FILE_TABLES "etc/smbios/smbios-tables"
/* The longest string a structure may carry (bytes, without the NUL). */
#define SMBIOS_STRING_MAX 64

struct smbios_config {
    unsigned ncpus;     /* 1..MAX_VCPUS: one type 4 each */
    uint64_t ram_bytes; /* guest RAM, > 0 */
    /* The VM's UUID in RFC 4122 byte order (as its text form reads); type 1 stores it with its
     * first three fields little-endian, as SMBIOS 2.6+ wants and `dmidecode` reads it back. */
    uint8_t uuid[16];
    /* CPUID leaf 1 EAX (signature) and EDX (features) of the vCPUs, for type 4's Processor ID;
     * 0 when unknown. */
    uint32_t cpuid_1_eax, cpuid_1_edx;
    /* Strings: NULL for the default in brackets, "" for none. Printable ASCII, at most
     * SMBIOS_STRING_MAX bytes each. */
    const char *bios_vendor;  /* ["bareiron"] */
    const char *bios_version; /* [BAREIRON_VERSION] */
    const char *bios_date;    /* ["01/01/2026"], mm/dd/yyyy */
    const char *manufacturer; /* types 1 and 3 ["bareiron"] */
    const char *product;      /* type 1 ["bareiron PC"] */
    const char *version;      /* types 1 and 3 [BAREIRON_VERSION] */
    const char *serial;       /* types 1 and 3 [""] */
};

/* The two files, each malloc'ed and owned by the struct. */
struct smbios_blob {
    uint8_t *anchor; /* the 24-byte 3.0 entry point: table address 0, checksum right for it */
    size_t anchor_len;
    uint8_t *tables; /* the structures, ended by type 127 */
    size_t tables_len;
};

/* Fills (cfg) with (ncpus), (ram_bytes), (uuid) and the defaults (strings NULL, CPUID 0). */
void smbios_config_default(struct smbios_config *cfg, unsigned ncpus, uint64_t ram_bytes,
                           const uint8_t uuid[16]);

/*
 * Builds the entry point and structure table of (cfg) into (*out). Returns 0, -EINVAL (ncpus 0 or
 * > MAX_VCPUS, no RAM, a string too long or not printable ASCII) or -ENOMEM; on error (*out) is
 * left empty. Free with smbios_blob_free(). Thread-safe (no shared state).
 */
MUST_CHECK int smbios_build(const struct smbios_config *cfg, struct smbios_blob *out);

/* Frees the buffers of (b) and zeroes it; NULL-safe and idempotent. */
void smbios_blob_free(struct smbios_blob *b);

#endif
