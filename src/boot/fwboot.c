/* SPDX-License-Identifier: MIT */
/* Implementation of boot/fwboot.h (header offsets: Documentation/arch/x86/boot.rst). */
#include "boot/fwboot.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define HDR_SETUP_SECTS 0x1f1
#define HDR_BOOT_FLAG 0x1fe
#define HDR_MAGIC 0x202
#define HDR_VERSION 0x206
#define HDR_TYPE_OF_LOADER 0x210
#define HDR_LOADFLAGS 0x211
#define HDR_RAMDISK_IMAGE 0x218
#define HDR_RAMDISK_SIZE 0x21c
#define HDR_HEAP_END_PTR 0x224
#define HDR_CMD_LINE_PTR 0x228
#define HDR_INITRD_ADDR_MAX 0x22c
#define HDR_CMDLINE_SIZE 0x238
#define LOADED_HIGH 0x01
#define CAN_USE_HEAP 0x80
#define LOADER_UNDEFINED 0xff /* no assigned loader id */
#define FW_RESERVED_BYTES (128u << 10)

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
    for (unsigned i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Where the initrd goes: as high as allowed, page aligned. Returns 0 or -ENOSPC. */
static int place_initrd(const uint8_t *hdr, uint16_t version, uint64_t initrd_len,
                        uint64_t ram_below_4g, uint32_t *addr)
{
    uint64_t top = version >= 0x203 ? (uint64_t)get32(hdr + HDR_INITRD_ADDR_MAX) + 1 : 0x38000000;
    if (ram_below_4g < FW_RESERVED_BYTES)
        return -ENOSPC;
    top = MIN(top, ram_below_4g - FW_RESERVED_BYTES);
    if (initrd_len > top || ((top - initrd_len) & ~0xfffULL) < FWBOOT_KERNEL_ADDR)
        return -ENOSPC;
    *addr = (uint32_t)((top - initrd_len) & ~0xfffULL);
    return 0;
}

int fwboot_prepare(const uint8_t *image, size_t len, const char *path, size_t cmdline_len,
                   uint64_t initrd_len, uint64_t ram_below_4g, struct fwboot *out,
                   struct error *err)
{
    size_t setup_len;
    uint16_t version;
    uint32_t max_cmdline = 255, initrd_addr = 0;
    uint8_t *s;
    memset(out, 0, sizeof(*out));
    if (len < 0x400 || get16(image + HDR_BOOT_FLAG) != 0xaa55 ||
        memcmp(image + HDR_MAGIC, "HdrS", 4) != 0)
        return error_set(err, -ENOEXEC, "%s: not a bzImage (no setup header)", path);
    version = get16(image + HDR_VERSION);
    if (version < 0x202 || !(image[HDR_LOADFLAGS] & LOADED_HIGH))
        return error_set(err, -ENOEXEC,
                         "%s: boot protocol %u.%02u without LOADED_HIGH: too old to boot "
                         "through the firmware",
                         path, version >> 8, version & 0xff);
    setup_len = ((size_t)(image[HDR_SETUP_SECTS] ? image[HDR_SETUP_SECTS] : 4) + 1) * 512;
    if (setup_len >= len)
        return error_set(err, -ENOEXEC, "%s: truncated (setup of %zu bytes)", path, setup_len);
    if (version >= 0x206)
        max_cmdline = get32(image + HDR_CMDLINE_SIZE);
    if (cmdline_len > max_cmdline || cmdline_len >= FWBOOT_CMDLINE_MAX)
        return error_set(err, -EINVAL, "%s: the command line is longer than the kernel takes (%u)",
                         path, (unsigned)MIN(max_cmdline, FWBOOT_CMDLINE_MAX - 1));
    if (initrd_len > 0 && place_initrd(image, version, initrd_len, ram_below_4g, &initrd_addr) < 0)
        return error_set(err, -ENOSPC, "%s: the initrd (%llu bytes) does not fit below 4 GiB", path,
                         (unsigned long long)initrd_len);
    s = malloc(setup_len);
    if (s == NULL)
        return error_set(err, -ENOMEM, "out of memory");
    memcpy(s, image, setup_len);
    s[HDR_TYPE_OF_LOADER] = LOADER_UNDEFINED;
    s[HDR_LOADFLAGS] |= CAN_USE_HEAP;
    put16(s + HDR_HEAP_END_PTR, (uint16_t)(FWBOOT_CMDLINE_ADDR - FWBOOT_SETUP_ADDR - 0x200));
    put32(s + HDR_CMD_LINE_PTR, FWBOOT_CMDLINE_ADDR);
    put32(s + HDR_RAMDISK_IMAGE, initrd_addr);
    put32(s + HDR_RAMDISK_SIZE, (uint32_t)initrd_len);
    *out = (struct fwboot){
        .setup = s,
        .setup_len = setup_len,
        .kernel = image + setup_len,
        .kernel_len = len - setup_len,
        .initrd_addr = initrd_addr,
    };
    return 0;
}

void fwboot_free(struct fwboot *fb)
{
    free(fb->setup);
    fb->setup = NULL;
}
