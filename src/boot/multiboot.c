/* SPDX-License-Identifier: MIT */
/*
 * Multiboot v1 loader (the Multiboot Specification 0.6.96, §3.1 "OS image format", §3.2
 * "Machine state", §3.3 "Boot information format"), accepting what QEMU's -kernel accepts:
 * the header (magic 0x1badb002, flags, checksum) 4-byte aligned in the first 8 KiB; with flag
 * bit 16 the a.out kludge addresses (header/load/load_end/bss_end/entry) say where the image
 * goes, otherwise the file must be a 32-bit ELF loaded by its program headers. The
 * multiboot_info at BOOT_INFO_GPA carries memory sizes, the command line, the initrd as module
 * 0, the e820 map as mmap and the loader name.
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

#define MB_MAGIC 0x1badb002u
#define MB_BOOT_MAGIC 0x2badb002u
#define MB_SEARCH_BYTES 8192
#define MB_FLAG_PAGE_ALIGN (1u << 0)
#define MB_FLAG_MEMINFO (1u << 1)
#define MB_FLAG_VIDEO (1u << 2)
#define MB_FLAG_AOUT_KLUDGE (1u << 16)
#define MB_FLAGS_KNOWN (MB_FLAG_PAGE_ALIGN | MB_FLAG_MEMINFO | MB_FLAG_VIDEO)

/* multiboot_info flags */
#define MBI_MEMORY (1u << 0)
#define MBI_CMDLINE (1u << 2)
#define MBI_MODS (1u << 3)
#define MBI_MMAP (1u << 6)
#define MBI_LOADER_NAME (1u << 9)

struct mb_info {
    uint32_t flags;
    uint32_t mem_lower; /* KiB from 0 */
    uint32_t mem_upper; /* KiB from 1 MiB */
    uint32_t boot_device;
    uint32_t cmdline;
    uint32_t mods_count;
    uint32_t mods_addr;
    uint32_t syms[4];
    uint32_t mmap_length;
    uint32_t mmap_addr;
    uint32_t drives_length;
    uint32_t drives_addr;
    uint32_t config_table;
    uint32_t boot_loader_name;
    uint32_t apm_table;
    uint32_t vbe[4];
};
_Static_assert(sizeof(struct mb_info) == 88, "multiboot_info layout");

struct mb_module {
    uint32_t mod_start;
    uint32_t mod_end;
    uint32_t string;
    uint32_t reserved;
};

struct mb_mmap_entry {
    uint32_t size; /* of the rest: 20 */
    uint64_t addr;
    uint64_t len;
    uint32_t type;
} __attribute__((packed));
_Static_assert(sizeof(struct mb_mmap_entry) == 24, "multiboot mmap entry layout");

#define MB_MODS_GPA (BOOT_INFO_GPA + 0x100)
#define MB_MOD_STRING_GPA (BOOT_INFO_GPA + 0x180)
#define MB_LOADER_NAME_GPA (BOOT_INFO_GPA + 0x1c0)
#define MB_MMAP_GPA (BOOT_INFO_GPA + 0x200)
#define MB_INFO_BYTES (0x200 + E820_MAX * sizeof(struct mb_mmap_entry))

struct mb_header {
    size_t offset; /* in the file */
    uint32_t flags;
    uint32_t header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr;
};

/* Finds a header with a good checksum; returns its offset or -1. */
static long find_header(const uint8_t *k, size_t len)
{
    size_t end = MIN(len, (size_t)MB_SEARCH_BYTES);

    for (size_t off = 0; off + 12 <= end; off += 4) {
        if (rd32(k + off) != MB_MAGIC)
            continue;
        if ((uint32_t)(rd32(k + off) + rd32(k + off + 4) + rd32(k + off + 8)) == 0)
            return (long)off;
    }
    return -1;
}

bool multiboot_detect(const uint8_t *kernel, size_t len)
{
    size_t end = MIN(len, (size_t)MB_SEARCH_BYTES);

    /* a magic with a bad checksum still counts, so that the error says what is wrong */
    for (size_t off = 0; off + 4 <= end; off += 4)
        if (rd32(kernel + off) == MB_MAGIC)
            return true;
    return false;
}

static int parse_header(const uint8_t *k, size_t len, const char *name, struct mb_header *h,
                        struct error *err)
{
    long off = find_header(k, len);

    memset(h, 0, sizeof(*h));
    if (off < 0)
        return error_set(err, -ENOEXEC, "%s: multiboot header checksum is wrong", name);
    h->offset = (size_t)off;
    h->flags = rd32(k + off + 4);
    if (h->flags & 0xffffu & ~MB_FLAGS_KNOWN)
        return error_set(err, -ENOEXEC, "%s: multiboot header requires unsupported flags %#x", name,
                         h->flags & 0xffffu & ~MB_FLAGS_KNOWN);
    if (!(h->flags & MB_FLAG_AOUT_KLUDGE))
        return 0;
    if (range_outside(h->offset, 32, len))
        return error_set(err, -ENOEXEC, "%s: truncated multiboot header", name);
    h->header_addr = rd32(k + off + 12);
    h->load_addr = rd32(k + off + 16);
    h->load_end_addr = rd32(k + off + 20);
    h->bss_end_addr = rd32(k + off + 24);
    h->entry_addr = rd32(k + off + 28);
    if (h->header_addr < h->load_addr || h->header_addr - h->load_addr > h->offset)
        return error_set(err, -ENOEXEC, "%s: multiboot header_addr/load_addr are inconsistent",
                         name);
    if ((h->load_end_addr && h->load_end_addr < h->load_addr) ||
        (h->bss_end_addr && h->bss_end_addr < MAX(h->load_end_addr, h->load_addr)))
        return error_set(err, -ENOEXEC, "%s: multiboot load_end/bss_end addresses out of order",
                         name);
    return 0;
}

/* The a.out kludge: copy [load_addr, load_end_addr) from the file, zero up to bss_end_addr. */
static int load_kludge(const struct boot_ctx *c, const uint8_t *k, size_t len,
                       const struct mb_header *h, struct boot_result *out)
{
    uint64_t file_off = h->offset - (h->header_addr - h->load_addr);
    uint64_t filesz =
        h->load_end_addr ? (uint64_t)h->load_end_addr - h->load_addr : (uint64_t)len - file_off;
    uint64_t memsz = h->bss_end_addr ? (uint64_t)h->bss_end_addr - h->load_addr : filesz;
    int rc;

    if (memsz < filesz) /* bss_end_addr below the end of a load_end_addr 0 (whole file) image */
        return error_set(c->err, -ENOEXEC, "%s: multiboot bss_end_addr is below the loaded image",
                         c->name);
    if (range_outside(file_off, filesz, len))
        return error_set(c->err, -ENOEXEC, "%s: multiboot load range lies outside the file",
                         c->name);
    rc = boot_copy(c, h->load_addr, k + file_off, filesz, memsz, "multiboot image");
    if (rc < 0)
        return rc;
    if (h->entry_addr < h->load_addr || h->entry_addr - h->load_addr >= memsz)
        return error_set(c->err, -ENOEXEC, "%s: multiboot entry point is outside the image",
                         c->name);
    out->entry_gpa = h->entry_addr;
    out->kernel_start_gpa = h->load_addr;
    out->kernel_end_gpa = h->load_addr + memsz;
    return 0;
}

static int load_elf(const struct boot_ctx *c, const uint8_t *k, size_t len, struct boot_result *out)
{
    struct elf_file ef;
    int rc = elf_parse(k, len, &ef, c->name, c->err);

    if (rc < 0)
        return rc;
    if (ef.is_64)
        return error_set(c->err, -ENOEXEC,
                         "%s: multiboot kernel is a 64-bit ELF; give a 32-bit one (or use the "
                         "a.out kludge)",
                         c->name);
    rc = elf_load_segments(c, &ef, &out->kernel_start_gpa, &out->kernel_end_gpa);
    if (rc < 0)
        return rc;
    if (elf_entry_phys(&ef, &out->entry_gpa) < 0)
        return error_set(c->err, -ENOEXEC, "%s: ELF entry point is not in a loaded segment",
                         c->name);
    return 0;
}

int multiboot_probe(const uint8_t *kernel, size_t len, const char *name, struct error *err)
{
    struct mb_header h;
    struct elf_file ef;
    int rc = parse_header(kernel, len, name, &h, err);

    if (rc < 0 || (h.flags & MB_FLAG_AOUT_KLUDGE))
        return rc;
    rc = elf_parse(kernel, len, &ef, name, err);
    if (rc == 0 && ef.is_64)
        rc = error_set(err, -ENOEXEC, "%s: multiboot kernel is a 64-bit ELF", name);
    return rc;
}

/* mem_upper: KiB of RAM contiguous from 1 MiB */
static uint32_t mem_upper_kib(const struct e820_map *m)
{
    for (unsigned i = 0; i < m->n; i++)
        if (m->entries[i].type == E820_RAM && m->entries[i].addr <= 0x100000 &&
            m->entries[i].addr + m->entries[i].size > 0x100000)
            return (uint32_t)MIN((m->entries[i].addr + m->entries[i].size - 0x100000) >> 10,
                                 (uint64_t)UINT32_MAX);
    return 0;
}

static int fill_info(const struct boot_ctx *c, const struct boot_result *out)
{
    const struct e820_map *m = c->cfg->e820;
    static const char loader[] = "bareiron", modname[] = "initrd";
    struct mb_info mbi = {
        .flags = MBI_MEMORY | MBI_CMDLINE | MBI_MMAP | MBI_LOADER_NAME,
        .mem_lower = (uint32_t)(EBDA_GPA >> 10),
        .mem_upper = mem_upper_kib(m),
        .cmdline = (uint32_t)BOOT_CMDLINE_GPA,
        .mmap_length = (uint32_t)(m->n * sizeof(struct mb_mmap_entry)),
        .mmap_addr = (uint32_t)MB_MMAP_GPA,
        .boot_loader_name = (uint32_t)MB_LOADER_NAME_GPA,
    };
    int rc = boot_zero(c, BOOT_INFO_GPA, MB_INFO_BYTES);

    if (rc < 0)
        return rc;
    if (c->initrd) {
        struct mb_module mod = {(uint32_t)out->initrd_gpa,
                                (uint32_t)(out->initrd_gpa + out->initrd_size),
                                (uint32_t)MB_MOD_STRING_GPA, 0};
        mbi.flags |= MBI_MODS;
        mbi.mods_count = 1;
        mbi.mods_addr = (uint32_t)MB_MODS_GPA;
        rc |= gmem_write(c->gm, MB_MODS_GPA, &mod, sizeof(mod));
        rc |= gmem_write(c->gm, MB_MOD_STRING_GPA, modname, sizeof(modname));
    }
    for (unsigned i = 0; i < m->n; i++) {
        struct mb_mmap_entry e = {20, m->entries[i].addr, m->entries[i].size, m->entries[i].type};
        rc |= gmem_write(c->gm, MB_MMAP_GPA + i * sizeof(e), &e, sizeof(e));
    }
    rc |= gmem_write(c->gm, MB_LOADER_NAME_GPA, loader, sizeof(loader));
    rc |= gmem_write(c->gm, BOOT_INFO_GPA, &mbi, sizeof(mbi));
    if (rc != 0) /* boot_zero() checked the whole area */
        return error_set(c->err, -ENOSPC, "%s: cannot write the multiboot info", c->name);
    return 0;
}

int multiboot_load(const struct boot_ctx *c, const uint8_t *kernel, size_t len,
                   struct boot_result *out)
{
    struct mb_header h;
    int rc;

    rc = parse_header(kernel, len, c->name, &h, c->err);
    if (rc < 0)
        return rc;
    if (h.flags & MB_FLAG_AOUT_KLUDGE)
        rc = load_kludge(c, kernel, len, &h, out);
    else
        rc = load_elf(c, kernel, len, out);
    if (rc < 0)
        return rc;
    if (out->entry_gpa > UINT32_MAX || out->kernel_end_gpa > LOW_RAM_MAX)
        return error_set(c->err, -ENOEXEC, "%s: multiboot kernel must lie below 4 GiB", c->name);
    rc = boot_place_cmdline_initrd(c, BOOT_CMDLINE_MAX, out->kernel_end_gpa, LOW_RAM_MAX, out);
    if (rc < 0)
        return rc;
    rc = fill_info(c, out);
    if (rc < 0)
        return rc;
    out->format = BOOT_FORMAT_MULTIBOOT;
    out->mode = BOOT_ENTRY_MULTIBOOT32;
    out->info_gpa = BOOT_INFO_GPA;
    out->boot_magic = MB_BOOT_MAGIC;
    return 0;
}
