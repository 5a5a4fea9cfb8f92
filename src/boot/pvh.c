/* SPDX-License-Identifier: MIT */
/*
 * PVH direct boot of an ELF kernel (Xen's "x86/HVM direct boot ABI", docs/misc/pvh.pandoc, and
 * xen/include/public/arch-x86/hvm/start_info.h): the entry point is the 32-bit physical address
 * in the note "Xen" / XEN_ELFNOTE_PHYS32_ENTRY (18), a 4-byte or (Linux, .quad) 8-byte
 * descriptor; EBX points at an hvm_start_info (version 1) with the command line, the initrd as
 * module 0 and the e820 map as the memmap table.
 */
#define LOG_TAG "boot"

#include <errno.h>
#include <string.h>

#include "base/ckd.h"
#include "base/log.h"
#include "boot/boot_internal.h"
#include "boot/elf.h"
#include "core/gmem.h"
#include "core/x86/e820.h"
#include "core/x86/layout.h"

#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define HVM_START_MAGIC 0x336ec578u

struct hvm_start_info {
    uint32_t magic;
    uint32_t version;
    uint32_t flags;
    uint32_t nr_modules;
    uint64_t modlist_paddr;
    uint64_t cmdline_paddr;
    uint64_t rsdp_paddr;
    uint64_t memmap_paddr; /* version 1 */
    uint32_t memmap_entries;
    uint32_t reserved;
};
_Static_assert(sizeof(struct hvm_start_info) == 56, "hvm_start_info layout");

struct hvm_modlist_entry {
    uint64_t paddr;
    uint64_t size;
    uint64_t cmdline_paddr;
    uint64_t reserved;
};
_Static_assert(sizeof(struct hvm_modlist_entry) == 32, "hvm_modlist_entry layout");

struct hvm_memmap_table_entry {
    uint64_t addr;
    uint64_t size;
    uint32_t type;
    uint32_t reserved;
};
_Static_assert(sizeof(struct hvm_memmap_table_entry) == 24, "hvm_memmap_table_entry layout");

/* Inside BOOT_INFO_GPA's 64 KiB (layout.h) */
#define PVH_START_INFO_GPA BOOT_INFO_GPA
#define PVH_MODLIST_GPA (BOOT_INFO_GPA + 0x100)
#define PVH_MEMMAP_GPA (BOOT_INFO_GPA + 0x200)
#define PVH_INFO_BYTES (0x200 + E820_MAX * sizeof(struct hvm_memmap_table_entry))

/* Parses (kernel) as an ELF and finds its PVH entry point. */
static int pvh_parse(const uint8_t *kernel, size_t len, const char *name, struct elf_file *ef,
                     uint32_t *entry, struct error *err)
{
    const uint8_t *desc;
    uint32_t desc_len;
    uint64_t e;
    int rc;

    rc = elf_parse(kernel, len, ef, name, err);
    if (rc < 0)
        return rc;
    rc = elf_find_note(ef, "Xen", XEN_ELFNOTE_PHYS32_ENTRY, &desc, &desc_len);
    if (rc == -ENOENT)
        return error_set(err, -ENOEXEC,
                         "%s: ELF kernel has neither a multiboot header nor a PVH entry note",
                         name);
    if (rc < 0)
        return error_set(err, -ENOEXEC, "%s: malformed ELF note segment", name);
    if (desc_len != 4 && desc_len != 8)
        return error_set(err, -ENOEXEC, "%s: PVH entry note has %u bytes (want 4 or 8)", name,
                         desc_len);
    e = desc_len == 4 ? rd32(desc) : rd64(desc);
    if (e == 0 || e > UINT32_MAX)
        return error_set(err, -ENOEXEC, "%s: PVH entry point %#llx is not a 32-bit address", name,
                         (unsigned long long)e);
    *entry = (uint32_t)e;
    return 0;
}

int pvh_probe(const uint8_t *kernel, size_t len, const char *name, struct error *err)
{
    struct elf_file ef;
    uint32_t entry;
    return pvh_parse(kernel, len, name, &ef, &entry, err);
}

/* Writes hvm_start_info, the module list and the memmap at BOOT_INFO_GPA. */
static int fill_start_info(const struct boot_ctx *c, const struct boot_result *out)
{
    const struct e820_map *m = c->cfg->e820;
    struct hvm_start_info si = {
        .magic = HVM_START_MAGIC,
        .version = 1,
        .cmdline_paddr = BOOT_CMDLINE_GPA,
        .rsdp_paddr = c->cfg->acpi_rsdp_gpa,
        .memmap_paddr = PVH_MEMMAP_GPA,
        .memmap_entries = m->n,
    };
    int rc = boot_zero(c, BOOT_INFO_GPA, PVH_INFO_BYTES);
    if (rc < 0)
        return rc;
    if (c->initrd) {
        struct hvm_modlist_entry mod = {.paddr = out->initrd_gpa, .size = out->initrd_size};
        si.nr_modules = 1;
        si.modlist_paddr = PVH_MODLIST_GPA;
        if (gmem_write(c->gm, PVH_MODLIST_GPA, &mod, sizeof(mod)) < 0)
            return error_set(c->err, -ENOSPC, "%s: cannot write the PVH module list", c->name);
    }
    for (unsigned i = 0; i < m->n; i++) {
        struct hvm_memmap_table_entry e = {
            .addr = m->entries[i].addr, .size = m->entries[i].size, .type = m->entries[i].type};
        if (gmem_write(c->gm, PVH_MEMMAP_GPA + i * sizeof(e), &e, sizeof(e)) < 0)
            return error_set(c->err, -ENOSPC, "%s: cannot write the PVH memory map", c->name);
    }
    if (gmem_write(c->gm, PVH_START_INFO_GPA, &si, sizeof(si)) < 0)
        return error_set(c->err, -ENOSPC, "%s: cannot write hvm_start_info", c->name);
    return 0;
}

int pvh_load(const struct boot_ctx *c, const uint8_t *kernel, size_t len, struct boot_result *out)
{
    struct elf_file ef;
    uint32_t entry;
    uint64_t lo, hi;
    int rc;

    rc = pvh_parse(kernel, len, c->name, &ef, &entry, c->err);
    if (rc < 0)
        return rc;
    rc = elf_load_segments(c, &ef, &lo, &hi);
    if (rc < 0)
        return rc;
    if (entry < lo || entry >= hi)
        return error_set(c->err, -ENOEXEC, "%s: PVH entry point %#x is outside the kernel", c->name,
                         entry);
    rc = boot_place_cmdline_initrd(c, BOOT_CMDLINE_MAX, hi, LOW_RAM_MAX, out);
    if (rc < 0)
        return rc;
    rc = fill_start_info(c, out);
    if (rc < 0)
        return rc;
    out->format = BOOT_FORMAT_ELF_PVH;
    out->mode = BOOT_ENTRY_PVH32;
    out->entry_gpa = entry;
    out->info_gpa = PVH_START_INFO_GPA;
    out->kernel_start_gpa = lo;
    out->kernel_end_gpa = hi;
    return 0;
}
