/* SPDX-License-Identifier: MIT */
/*
 * The device settings of mgr/config.h that depend on each other: the IDE drives (bus=ide disks
 * and the CD-ROM drive, within the monitor's four), drives without a disc, a display size or
 * video memory that needs a display adapter, and a boot menu that needs firmware.
 */
#include "mgr/config.h"

#include <errno.h>
#include <string.h>

#include "mgr/config_util.h"

const char *const config_disk_bus_names[] = {"virtio", "ide", NULL};

const char *config_disk_bus_name(enum disk_bus b)
{
    return b == DISK_BUS_IDE ? "ide" : "virtio";
}

bool config_has_disc(const char *p)
{
    return p != NULL && strcmp(p, CONFIG_EMPTY_DRIVE) != 0;
}

size_t config_ide_drives(const struct vm_config *cfg)
{
    size_t n = cfg->cdrom != NULL;
    for (size_t i = 0; i < cfg->disk_count; i++)
        n += cfg->disks[i].bus == DISK_BUS_IDE;
    return n;
}

int config_check_devices(const struct vm_config *cfg, struct error *err)
{
    bool has_size = cfg->video_width != CONFIG_DEFAULT_VIDEO_WIDTH ||
                    cfg->video_height != CONFIG_DEFAULT_VIDEO_HEIGHT;
    if (config_video_adapter(cfg) == VIDEO_NONE &&
        (has_size || cfg->video_vram_mib != CONFIG_DEFAULT_VRAM_MIB))
        return error_set(err, -ENOTSUP,
                         "--%s: not supported yet without a display adapter (--video %s%s): "
                         "add --video std, or give --video none alone to drop the display's "
                         "size and memory",
                         has_size ? "video WIDTHxHEIGHT" : "vram",
                         config_video_adapter_name(cfg->video_adapter),
                         cfg->video_adapter == VIDEO_AUTO ? ", none with a kernel" : "");
    if (config_video_adapter(cfg) != VIDEO_NONE &&
        (uint64_t)cfg->video_width * cfg->video_height * 4 > (uint64_t)cfg->video_vram_mib << 20)
        return error_set(err, -ENOTSUP,
                         "--vram %uM cannot hold the display size %ux%u at 32 bits a pixel (%llu "
                         "bytes): give more video memory or a smaller --video WxH",
                         (unsigned)cfg->video_vram_mib, (unsigned)cfg->video_width,
                         (unsigned)cfg->video_height,
                         (unsigned long long)cfg->video_width * cfg->video_height * 4);
    if (cfg->has_boot_menu && config_effective_fw(cfg) == FW_NONE)
        return error_set(err, -ENOTSUP,
                         "--boot-menu on: not supported yet without firmware (a direct kernel "
                         "boot has no boot menu); use --firmware bios or --boot-menu off");
    return 0;
}
