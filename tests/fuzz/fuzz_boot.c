/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the kernel loaders behind boot_load_image(): bzImage (boot/bzimage.c,
 * boot/decompress.c) and ELF (boot/elf.c, boot/pvh.c, boot/multiboot.c). The input is a whole
 * kernel file, loaded into a 64 MiB bareiron PC's guest memory with a small initrd. Whatever
 * the input, the loader must return 0 or a negative errno with a message, never crash, read
 * out of bounds, write outside guest RAM or allocate without bound
 * (Documentation/arch/x86/boot.rst, System V gABI, PVH, Multiboot 0.6.96). It is built twice,
 * as fuzz_bzimage and fuzz_elf, each with its own corpus (corpus/bzimage, corpus/elf), so that
 * each family of formats keeps its fuzzing time.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "base/log.h"
#include "boot/boot.h"
#include "core/gmem.h"
#include "core/x86/e820.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct gmem *gm;
static struct e820_map map;

static void setup(void)
{
    log_set_level(LOG_ERROR);
    if (gmem_create(&gm) < 0 || gmem_add_pc_ram(gm, 64ull << 20) < 0 || e820_build_pc(&map, gm) < 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t initrd[4096] = {'0', '7', '0', '7', '0', '1'};
    struct boot_config cfg = {
        .kernel_path = "fuzz",
        .cmdline = "console=ttyS0",
        .e820 = &map,
        .acpi_rsdp_gpa = 0xe0000,
    };
    struct boot_result res;
    struct error err = {0};

    if (!gm)
        setup();
    if (boot_load_image(gm, &cfg, data, size, initrd, sizeof(initrd), &res, &err) == 0) {
        if (res.entry_gpa == 0 || res.kernel_end_gpa <= res.kernel_start_gpa)
            abort();
    } else if (err.message[0] == '\0') {
        abort(); /* every refusal says why */
    }
    return 0;
}
