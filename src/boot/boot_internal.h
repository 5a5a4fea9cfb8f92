/* SPDX-License-Identifier: MIT */
/*
 * What the loaders (bzimage.c, elf.c, pvh.c, multiboot.c) share: the load context and the
 * helpers that check a guest range against the memory map, write the command line and place
 * the initrd. Private to src/boot/.
 */
#ifndef BAREIRON_BOOT_BOOT_INTERNAL_H
#define BAREIRON_BOOT_BOOT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/compiler.h"
#include "base/error.h"
#include "boot/boot.h"

/* Hard limit on a decompressed kernel, whatever its header claims. */
#define BOOT_KERNEL_MAX_BYTES (512ull << 20)

struct boot_ctx {
    struct gmem *gm;
    const struct boot_config *cfg;
    const char *name;        /* the kernel, for messages */
    const char *initrd_name; /* the initrd, for messages */
    const uint8_t *initrd;   /* NULL: none */
    size_t initrd_len;
    struct error *err;
};

/*
 * Checks that [gpa, gpa+len) lies inside one E820_RAM range of the memory map and inside guest
 * memory. Returns 0, or -ENOSPC (beyond the end of RAM) / -ENOEXEC (overlaps a hole or a
 * reserved range) with a message naming (what).
 */
MUST_CHECK int boot_check_ram(const struct boot_ctx *c, uint64_t gpa, uint64_t len,
                              const char *what);

/* Highest end (exclusive) of any E820_RAM range below (limit), or 0. */
uint64_t boot_ram_top(const struct boot_ctx *c, uint64_t limit);

/*
 * Copies (filesz) bytes of (src) to guest (gpa) and zero-fills up to (memsz), after checking the
 * range with boot_check_ram(). Returns 0 or its errors.
 */
MUST_CHECK int boot_copy(const struct boot_ctx *c, uint64_t gpa, const void *src, uint64_t filesz,
                         uint64_t memsz, const char *what);

/* Writes a zeroed (len)-byte structure area at (gpa) inside the boot area. Returns 0 or
 * -ENOSPC when the guest has no memory there. */
MUST_CHECK int boot_zero(const struct boot_ctx *c, uint64_t gpa, size_t len);

/*
 * Writes the command line, NUL-terminated, at BOOT_CMDLINE_GPA. (max_bytes) is the kernel's
 * limit including the NUL (also capped at BOOT_CMDLINE_MAX). Returns 0 and the length without
 * the NUL in (*len), or -EINVAL when it is too long.
 */
MUST_CHECK int boot_write_cmdline(const struct boot_ctx *c, uint64_t max_bytes, uint32_t *len);

/*
 * Copies the initrd (when there is one) page-aligned as high as possible in an E820_RAM range,
 * above (lowest) and ending at or below (limit). Returns 0 and the gpa in (*gpa) (0 when there
 * is no initrd), or -ENOSPC.
 */
MUST_CHECK int boot_place_initrd(const struct boot_ctx *c, uint64_t lowest, uint64_t limit,
                                 uint64_t *gpa);

/*
 * What every loader does once the kernel is in place: boot_write_cmdline() with
 * (cmdline_max_bytes), then boot_place_initrd() between (initrd_lowest) and (initrd_limit),
 * recording the initrd's gpa and size in (out). Returns 0 or their errors.
 */
MUST_CHECK int boot_place_cmdline_initrd(const struct boot_ctx *c, uint64_t cmdline_max_bytes,
                                         uint64_t initrd_lowest, uint64_t initrd_limit,
                                         struct boot_result *out);

/* Little-endian field readers over an already bounds-checked buffer. */
static inline uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}
static inline uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t rd64(const uint8_t *p)
{
    return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

/* The loaders, each filling (out) on success. (kernel, len) is the whole file. */
MUST_CHECK int bzimage_probe(const uint8_t *kernel, size_t len, const char *name,
                             struct error *err);
MUST_CHECK int bzimage_load(const struct boot_ctx *c, const uint8_t *kernel, size_t len,
                            struct boot_result *out);
/* True when (kernel) holds a multiboot v1 header in its first 8 KiB. */
bool multiboot_detect(const uint8_t *kernel, size_t len);
MUST_CHECK int multiboot_probe(const uint8_t *kernel, size_t len, const char *name,
                               struct error *err);
MUST_CHECK int multiboot_load(const struct boot_ctx *c, const uint8_t *kernel, size_t len,
                              struct boot_result *out);
MUST_CHECK int pvh_probe(const uint8_t *kernel, size_t len, const char *name, struct error *err);
MUST_CHECK int pvh_load(const struct boot_ctx *c, const uint8_t *kernel, size_t len,
                        struct boot_result *out);

#endif
