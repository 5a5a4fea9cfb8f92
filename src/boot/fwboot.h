/* SPDX-License-Identifier: MIT */
/*
 * A Linux bzImage handed to firmware instead of loaded by the monitor: the split and patched
 * pieces that QEMU's fw_cfg kernel items carry (KERNEL_*, SETUP_*, CMDLINE_*, INITRD_*), which
 * the option ROM QEMU ships for this (linuxboot_dma.bin) copies into place and enters in real
 * mode (Documentation/arch/x86/boot.rst, "Loading the rest of the kernel" and "Running the
 * kernel"). Only boot protocol 2.02 and later with LOADED_HIGH (every kernel since 2.4.x): the
 * setup at 0x10000, the command line at 0x20000, the protected-mode part at 0x100000, the
 * initrd as high as the kernel allows below (ram_below_4g) minus 128 KiB for the firmware's
 * tables. Pure: unit-tested, no guest memory.
 */
#ifndef BAREIRON_BOOT_FWBOOT_H
#define BAREIRON_BOOT_FWBOOT_H

#include <stddef.h>
#include <stdint.h>

#include "base/compiler.h"
#include "base/error.h"

#define FWBOOT_SETUP_ADDR 0x10000u
#define FWBOOT_CMDLINE_ADDR 0x20000u
#define FWBOOT_KERNEL_ADDR 0x100000u
#define FWBOOT_CMDLINE_MAX 0xfe00u /* up to the heap end below 0x20000 + its size */

struct fwboot {
    uint8_t *setup; /* malloc'd copy of the real-mode part with the header patched */
    size_t setup_len;
    const uint8_t *kernel; /* the protected-mode part, inside the image given */
    size_t kernel_len;
    uint32_t initrd_addr; /* 0 without an initrd */
};

/*
 * Splits (image, len) (a bzImage), patches a copy of its setup for a command line of
 * (cmdline_len) bytes without its NUL (checked against the kernel's cmdline_size) and an initrd
 * of (initrd_len) bytes (0: none) placed below (ram_below_4g). Returns 0 and (out) (free with
 * fwboot_free), -ENOEXEC (not a bzImage, too old a protocol, truncated), -EINVAL (command
 * line too long) or -ENOSPC (initrd does not fit), with (err) naming (path).
 */
MUST_CHECK int fwboot_prepare(const uint8_t *image, size_t len, const char *path,
                              size_t cmdline_len, uint64_t initrd_len, uint64_t ram_below_4g,
                              struct fwboot *out, struct error *err);
void fwboot_free(struct fwboot *fb);

#endif
