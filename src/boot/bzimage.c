/* SPDX-License-Identifier: MIT */
/*
 * bzImage loader (Documentation/arch/x86/boot.rst, "The Linux/x86 Boot Protocol", protocol 2.12
 * or newer; Documentation/arch/x86/zero-page.rst for boot_params). Instead of running the
 * kernel's real-mode setup and decompressor, the payload (payload_offset/payload_length, a
 * compressed vmlinux ELF followed by the 4-byte uncompressed size) is decompressed on the host,
 * its PT_LOAD segments are placed at their physical addresses and the vCPU enters startup_64
 * (the ELF entry, physical) in long mode with RSI pointing at a filled zero page, as
 * "64-bit BOOT PROTOCOL" describes.
 */
#define LOG_TAG "boot"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/ckd.h"
#include "base/log.h"
#include "boot/boot_internal.h"
#include "boot/decompress.h"
#include "boot/elf.h"
#include "core/gmem.h"
#include "core/x86/e820.h"
#include "core/x86/layout.h"

/* Setup header offsets in the file and in boot_params (boot.rst, "THE REAL-MODE KERNEL HEADER") */
#define HDR_START 0x1f1
#define HDR_SETUP_SECTS 0x1f1
#define HDR_SYSSIZE 0x1f4
#define HDR_VID_MODE 0x1fa
#define HDR_BOOT_FLAG 0x1fe
#define HDR_JUMP_LEN 0x201 /* second byte of the jump: the header ends at 0x202 + it */
#define HDR_MAGIC 0x202
#define HDR_VERSION 0x206
#define HDR_TYPE_OF_LOADER 0x210
#define HDR_LOADFLAGS 0x211
#define HDR_RAMDISK_IMAGE 0x218
#define HDR_RAMDISK_SIZE 0x21c
#define HDR_HEAP_END_PTR 0x224
#define HDR_CMD_LINE_PTR 0x228
#define HDR_INITRD_ADDR_MAX 0x22c
#define HDR_KERNEL_ALIGNMENT 0x230
#define HDR_RELOCATABLE 0x234
#define HDR_XLOADFLAGS 0x236
#define HDR_CMDLINE_SIZE 0x238
#define HDR_PAYLOAD_OFFSET 0x248
#define HDR_PAYLOAD_LENGTH 0x24c
#define HDR_PREF_ADDRESS 0x258
#define HDR_INIT_SIZE 0x260
#define HDR_MAX_END 0x290 /* boot_params: the setup header is followed by edd_mbr_sig_buffer */

/* boot_params (zero page) fields outside the setup header */
#define BP_ACPI_RSDP_ADDR 0x070
#define BP_E820_ENTRIES 0x1e8
#define BP_E820_TABLE 0x2d0
#define BP_SIZE 0x1000

#define LOADED_HIGH 0x01
#define KEEP_SEGMENTS 0x40
#define CAN_USE_HEAP 0x80
#define XLF_KERNEL_64 0x01
#define BZ_MIN_VERSION 0x020c /* 2.12: xloadflags, so that a 64-bit kernel can be recognised */
#define BZ_RSDP_VERSION 0x020e

struct bz_hdr {
    uint16_t version;
    size_t setup_bytes; /* real-mode part: (setup_sects + 1) * 512 */
    size_t hdr_end;     /* end of the setup header (exclusive), <= HDR_MAX_END */
    const uint8_t *payload;
    size_t payload_len; /* without the 4-byte size trailer */
    uint32_t out_len;   /* the trailer: uncompressed size */
    uint32_t cmdline_size;
    uint32_t initrd_addr_max;
    uint32_t init_size;
};

static int bad(struct error *err, const char *name, const char *why)
{
    return error_set(err, -ENOEXEC, "%s: bad bzImage: %s", name, why);
}

static int check_payload(const uint8_t *k, size_t len, const char *name, struct bz_hdr *h,
                         struct error *err)
{
    size_t pm_len = len - h->setup_bytes;
    uint64_t sys_bytes;
    uint32_t poff = rd32(k + HDR_PAYLOAD_OFFSET), plen = rd32(k + HDR_PAYLOAD_LENGTH);

    /* syssize counts 16-byte paragraphs of the protected-mode part (rounded up) */
    if (ckd_mul(&sys_bytes, (uint64_t)rd32(k + HDR_SYSSIZE), 16u) || sys_bytes == 0 ||
        sys_bytes > ALIGN_UP((uint64_t)pm_len, 16u))
        return bad(err, name, "syssize does not match the file size (truncated?)");
    if (plen <= 4 || range_outside(poff, plen, pm_len))
        return bad(err, name, "payload lies outside the file (truncated?)");
    h->payload = k + h->setup_bytes + poff;
    h->payload_len = plen - 4;
    h->out_len = rd32(h->payload + h->payload_len);
    if (h->out_len == 0 || h->out_len > BOOT_KERNEL_MAX_BYTES)
        return bad(err, name, "uncompressed kernel size is 0 or above 512 MiB");
    enum decomp_format fmt = decomp_detect(h->payload, h->payload_len);
    if (!decomp_is_supported(fmt))
        return error_set(err, -ENOEXEC,
                         "%s: %s-compressed kernel payload is not supported (use gzip, xz, "
                         "lzma, zstd or lz4)",
                         name, decomp_format_name(fmt));
    return 0;
}

/* Validates the setup header of (k, len) and fills (h). */
static int parse_header(const uint8_t *k, size_t len, const char *name, struct bz_hdr *h,
                        struct error *err)
{
    unsigned sects;

    memset(h, 0, sizeof(*h));
    if (len < 1024 || memcmp(k + HDR_MAGIC, "HdrS", 4) != 0)
        return bad(err, name, "file too short or no HdrS signature");
    if (rd16(k + HDR_BOOT_FLAG) != 0xaa55)
        return bad(err, name, "boot_flag is not 0xaa55");
    h->version = rd16(k + HDR_VERSION);
    if (h->version < BZ_MIN_VERSION)
        return error_set(err, -ENOEXEC, "%s: boot protocol %u.%02u is too old (need 2.12+)", name,
                         h->version >> 8, h->version & 0xff);
    sects = k[HDR_SETUP_SECTS] ? k[HDR_SETUP_SECTS] : 4;
    h->setup_bytes = (sects + 1u) * 512u;
    h->hdr_end = 0x202u + k[HDR_JUMP_LEN];
    if (h->setup_bytes >= len)
        return bad(err, name, "setup_sects points past the end of the file");
    if (h->hdr_end < HDR_INIT_SIZE + 4 || h->hdr_end > HDR_MAX_END)
        return bad(err, name, "setup header length out of range");
    if (!(k[HDR_LOADFLAGS] & LOADED_HIGH))
        return bad(err, name, "not a bzImage (LOADED_HIGH clear)");
    if (!(rd16(k + HDR_XLOADFLAGS) & XLF_KERNEL_64))
        return error_set(err, -ENOEXEC, "%s: not a 64-bit kernel (XLF_KERNEL_64 clear)", name);
    h->cmdline_size = rd32(k + HDR_CMDLINE_SIZE);
    h->initrd_addr_max = rd32(k + HDR_INITRD_ADDR_MAX);
    h->init_size = rd32(k + HDR_INIT_SIZE);
    uint32_t align = rd32(k + HDR_KERNEL_ALIGNMENT);
    uint64_t end;
    if (h->cmdline_size == 0 || h->initrd_addr_max == 0 || h->init_size == 0)
        return bad(err, name, "cmdline_size, initrd_addr_max or init_size is zero");
    if (k[HDR_RELOCATABLE] && !IS_POW2(align))
        return bad(err, name, "kernel_alignment is not a power of two");
    if (ckd_add(&end, rd64(k + HDR_PREF_ADDRESS), (uint64_t)h->init_size))
        return bad(err, name, "pref_address + init_size overflows");
    return check_payload(k, len, name, h, err);
}

int bzimage_probe(const uint8_t *kernel, size_t len, const char *name, struct error *err)
{
    struct bz_hdr h;
    return parse_header(kernel, len, name, &h, err);
}

/* Decompresses the payload and loads the vmlinux ELF inside it. */
static int load_vmlinux(const struct boot_ctx *c, const struct bz_hdr *h, struct boot_result *out)
{
    uint8_t *vmlinux = NULL;
    size_t vmlinux_len = 0;
    struct elf_file ef;
    uint64_t lo, hi, entry;
    int rc;

    /* a vmlinux larger than the guest's RAM cannot fit: refuse before allocating for it */
    if (h->out_len > boot_ram_top(c, UINT64_MAX))
        return error_set(c->err, -ENOSPC,
                         "%s: the %u-byte vmlinux is larger than guest RAM (more memory?)", c->name,
                         h->out_len);
    rc =
        decomp_run(h->payload, h->payload_len, h->out_len, &vmlinux, &vmlinux_len, c->name, c->err);
    if (rc < 0)
        return rc;
    rc = elf_parse(vmlinux, vmlinux_len, &ef, c->name, c->err);
    if (rc < 0)
        goto out_free;
    if (!ef.is_64) {
        rc = error_set(c->err, -ENOEXEC, "%s: the payload is not a 64-bit vmlinux", c->name);
        goto out_free;
    }
    rc = elf_load_segments(c, &ef, &lo, &hi);
    if (rc < 0)
        goto out_free;
    if (elf_entry_phys(&ef, &entry) < 0 || entry >= LOW_RAM_MAX) {
        rc = error_set(c->err, -ENOEXEC, "%s: vmlinux entry point is not in a loaded segment",
                       c->name);
        goto out_free;
    }
    out->entry_gpa = entry;
    out->kernel_start_gpa = lo;
    out->kernel_end_gpa = hi;
out_free:
    free(vmlinux);
    return rc;
}

/* Fills the zero page at BOOT_PARAMS_GPA: the file's setup header, then what a loader sets. */
static int fill_zero_page(const struct boot_ctx *c, const uint8_t *k, const struct bz_hdr *h,
                          struct boot_result *out)
{
    const struct e820_map *m = c->cfg->e820;
    uint8_t *bp;
    uint64_t limit;
    int rc;

    rc = boot_zero(c, BOOT_PARAMS_GPA, BP_SIZE);
    if (rc < 0)
        return rc;
    bp = gmem_ptr(c->gm, BOOT_PARAMS_GPA, BP_SIZE);
    memcpy(bp + HDR_START, k + HDR_START, h->hdr_end - HDR_START);
    /* the kernel takes the initrd up to initrd_addr_max (inclusive), and we stay below 4 GiB */
    limit = MIN((uint64_t)h->initrd_addr_max + 1, LOW_RAM_MAX);
    rc = boot_place_cmdline_initrd(c, (uint64_t)h->cmdline_size + 1, out->kernel_end_gpa, limit,
                                   out);
    if (rc < 0)
        return rc;

    uint16_t vid = 0xffff; /* "normal" */
    uint16_t heap_end = 0xfe00;
    uint32_t cmdline_gpa = (uint32_t)BOOT_CMDLINE_GPA;
    uint32_t rd_gpa = (uint32_t)out->initrd_gpa, rd_len = (uint32_t)c->initrd_len;
    memcpy(bp + HDR_VID_MODE, &vid, 2);
    bp[HDR_TYPE_OF_LOADER] = 0xff; /* undefined loader */
    bp[HDR_LOADFLAGS] = (uint8_t)((bp[HDR_LOADFLAGS] | CAN_USE_HEAP) & ~KEEP_SEGMENTS);
    memcpy(bp + HDR_HEAP_END_PTR, &heap_end, 2);
    memcpy(bp + HDR_CMD_LINE_PTR, &cmdline_gpa, 4);
    memcpy(bp + HDR_RAMDISK_IMAGE, &rd_gpa, 4);
    memcpy(bp + HDR_RAMDISK_SIZE, &rd_len, 4);
    if (h->version >= BZ_RSDP_VERSION)
        memcpy(bp + BP_ACPI_RSDP_ADDR, &c->cfg->acpi_rsdp_gpa, 8);
    bp[BP_E820_ENTRIES] = (uint8_t)m->n;
    memcpy(bp + BP_E820_TABLE, m->entries, m->n * sizeof(struct e820_entry));
    return 0;
}

int bzimage_load(const struct boot_ctx *c, const uint8_t *kernel, size_t len,
                 struct boot_result *out)
{
    struct bz_hdr h;
    int rc;

    _Static_assert(BP_E820_TABLE + E820_MAX * sizeof(struct e820_entry) <= BP_SIZE,
                   "e820 table inside the zero page");
    rc = parse_header(kernel, len, c->name, &h, c->err);
    if (rc < 0)
        return rc;
    rc = load_vmlinux(c, &h, out);
    if (rc < 0)
        return rc;
    rc = fill_zero_page(c, kernel, &h, out);
    if (rc < 0)
        return rc;
    out->format = BOOT_FORMAT_BZIMAGE;
    out->mode = BOOT_ENTRY_LINUX64;
    out->info_gpa = BOOT_PARAMS_GPA;
    log_debug("%s: boot protocol %u.%02u, vmlinux %u bytes", c->name, h.version >> 8,
              h.version & 0xff, h.out_len);
    return 0;
}
