/* SPDX-License-Identifier: MIT */
/*
 * Kernel format detection and dispatch to the loaders (boot.h). Placeholder until the loaders
 * land: every load fails with -ENOEXEC.
 */
#include "boot/boot.h"

#include <errno.h>

#include "core/gmem.h"

int boot_load(struct gmem *gm, const struct boot_config *cfg, struct boot_result *out,
              struct error *err)
{
    (void)gm;
    (void)out;
    return error_set(err, -ENOEXEC, "%s: kernel loading not implemented yet", cfg->kernel_path);
}

int boot_load_image(struct gmem *gm, const struct boot_config *cfg, const uint8_t *kernel,
                    size_t kernel_len, const uint8_t *initrd, size_t initrd_len,
                    struct boot_result *out, struct error *err)
{
    (void)gm;
    (void)kernel;
    (void)kernel_len;
    (void)initrd;
    (void)initrd_len;
    (void)out;
    return error_set(err, -ENOEXEC, "%s: kernel loading not implemented yet",
                     cfg->kernel_path ? cfg->kernel_path : "kernel");
}

int boot_probe(const char *path, enum boot_format *fmt, struct error *err)
{
    (void)fmt;
    return error_set(err, -ENOEXEC, "%s: kernel loading not implemented yet", path);
}

const char *boot_format_name(enum boot_format fmt)
{
    switch (fmt) {
    case BOOT_FORMAT_BZIMAGE:
        return "bzImage";
    case BOOT_FORMAT_MULTIBOOT:
        return "multiboot";
    case BOOT_FORMAT_ELF_PVH:
        return "elf-pvh";
    }
    return "unknown";
}

const char *boot_entry_mode_name(enum boot_entry_mode mode)
{
    switch (mode) {
    case BOOT_ENTRY_LINUX64:
        return "linux64";
    case BOOT_ENTRY_PVH32:
        return "pvh32";
    case BOOT_ENTRY_MULTIBOOT32:
        return "multiboot32";
    }
    return "unknown";
}
