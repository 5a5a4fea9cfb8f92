/* SPDX-License-Identifier: MIT */
/*
 * --kernel under firmware (vmm/machine_internal.h): the bzImage, initrd and command line go to
 * the firmware through QEMU's fw_cfg kernel items (boot/fwboot.h splits and patches the
 * image), with the option ROM QEMU ships for them, linuxboot_dma.bin (Debian's
 * qemu-system-data), as fw_cfg file genroms/linuxboot_dma.bin: SeaBIOS runs it as a boot
 * device, first in the boot order; it copies the pieces into place and enters the kernel's
 * real-mode setup. The files are read when the machine is loaded (bad input is reported
 * before /dev/kvm is opened; reboots read them from the descriptor cache).
 */
#define LOG_TAG "machine"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "boot/boot.h"
#include "boot/fwboot.h"
#include "core/gmem.h"
#include "dev/legacy/fw_cfg.h"
#include "vmm/machine_internal.h"

#define FW_CFG_INITRD_DATA 0x12
#define FW_CFG_KERNEL_DATA 0x11
#define FW_CFG_CMDLINE_ADDR 0x13
#define FW_CFG_CMDLINE_SIZE 0x14
#define FW_CFG_CMDLINE_DATA 0x15
#define FW_CFG_SETUP_ADDR 0x16
#define FW_CFG_SETUP_SIZE 0x17
#define FW_CFG_SETUP_DATA 0x18
#define FILE_MAX_BYTES (1ULL << 30)

struct machine_fw_kernel {
    char *kernel, *initrd, *rom;
    size_t kernel_len, initrd_len, rom_len;
    struct fwboot fb;
};

static int read_one(const char *path, const char *what, char **buf, size_t *len, struct error *err)
{
    int ret = read_file_all(path, FILE_MAX_BYTES, buf, len);
    if (ret < 0)
        return error_set(err, ret == -EFBIG ? -ENOEXEC : ret, "%s %s: %s", what, path,
                         ret == -EFBIG ? "larger than 1 GiB" : strerror(-ret));
    return 0;
}

int machine_fw_load_kernel(struct machine *m, struct error *err)
{
    const struct vmm_options *o = m->opts;
    struct machine_fw_kernel *k;
    int ret;
    if (o->kernel == NULL)
        return 0;
    k = calloc(1, sizeof(*k));
    if (k == NULL)
        return error_set(err, -ENOMEM, "out of memory");
    m->fw_kernel = k;
    ret = read_one(o->kernel, "kernel", &k->kernel, &k->kernel_len, err);
    if (ret == 0 && o->initrd != NULL)
        ret = read_one(o->initrd, "initrd", &k->initrd, &k->initrd_len, err);
    if (ret == 0) {
        ret = read_one(VMM_LINUXBOOT_ROM, "option ROM", &k->rom, &k->rom_len, err);
        if (ret == -ENOENT)
            error_set(err, ret,
                      "--kernel with --firmware bios needs %s (Debian package "
                      "qemu-system-data)",
                      VMM_LINUXBOOT_ROM);
    }
    if (ret == 0)
        ret = fwboot_prepare((const uint8_t *)k->kernel, k->kernel_len, o->kernel,
                             o->cmdline ? strlen(o->cmdline) : 0, k->initrd_len,
                             gmem_low_ram_end(m->gm), &k->fb, err);
    return ret;
}

void machine_fw_free_kernel(struct machine *m)
{
    struct machine_fw_kernel *k = m->fw_kernel;
    if (k == NULL)
        return;
    fwboot_free(&k->fb);
    free(k->kernel);
    free(k->initrd);
    free(k->rom);
    free(k);
    m->fw_kernel = NULL;
}

static int add_u32(struct fw_cfg *c, uint16_t key, uint32_t v)
{
    return fw_cfg_add_item(c, key, &v, sizeof(v)); /* little-endian, as QEMU's */
}

int machine_fw_add_kernel(struct machine *m)
{
    const struct machine_fw_kernel *k = m->fw_kernel;
    const char *cmdline = m->opts->cmdline ? m->opts->cmdline : "";
    size_t cmdline_len = strlen(cmdline) + 1;
    struct fw_cfg *c = m->fw_cfg;
    int ret;
    if (k == NULL)
        return 0;
    ret = add_u32(c, FW_CFG_KERNEL_ADDR, FWBOOT_KERNEL_ADDR);
    if (ret == 0)
        ret = add_u32(c, FW_CFG_KERNEL_SIZE, (uint32_t)k->fb.kernel_len);
    if (ret == 0)
        ret = fw_cfg_add_item(c, FW_CFG_KERNEL_DATA, k->fb.kernel, k->fb.kernel_len);
    if (ret == 0)
        ret = add_u32(c, FW_CFG_SETUP_ADDR, FWBOOT_SETUP_ADDR);
    if (ret == 0)
        ret = add_u32(c, FW_CFG_SETUP_SIZE, (uint32_t)k->fb.setup_len);
    if (ret == 0)
        ret = fw_cfg_add_item(c, FW_CFG_SETUP_DATA, k->fb.setup, k->fb.setup_len);
    if (ret == 0)
        ret = add_u32(c, FW_CFG_CMDLINE_ADDR, FWBOOT_CMDLINE_ADDR);
    if (ret == 0)
        ret = add_u32(c, FW_CFG_CMDLINE_SIZE, (uint32_t)cmdline_len);
    if (ret == 0)
        ret = fw_cfg_add_item(c, FW_CFG_CMDLINE_DATA, cmdline, cmdline_len);
    if (ret == 0)
        ret = add_u32(c, FW_CFG_INITRD_ADDR, k->fb.initrd_addr);
    if (ret == 0)
        ret = add_u32(c, FW_CFG_INITRD_SIZE, (uint32_t)k->initrd_len);
    if (ret == 0 && k->initrd_len > 0)
        ret = fw_cfg_add_item(c, FW_CFG_INITRD_DATA, k->initrd, k->initrd_len);
    if (ret == 0)
        ret = fw_cfg_add_file(c, "genroms/linuxboot_dma.bin", k->rom, k->rom_len);
    return ret;
}
