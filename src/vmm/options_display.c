/* SPDX-License-Identifier: MIT */
/*
 * The display options of vmm/options.h (docs/vmm.md "Display"): --video, --vram, --display and
 * --display-password-file, and their cross-checks.
 */
#include "vmm/options.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

/* "std|bochs-display|none[,mode=WxH]" */
static int parse_video(const char *v, struct vmm_options *o, struct error *err)
{
    const char *comma = strchr(v, ',');
    size_t len = comma ? (size_t)(comma - v) : strlen(v);
    unsigned w, h;
    char end;
    if (len == 3 && strncmp(v, "std", 3) == 0)
        o->video = VMM_VIDEO_STD;
    else if (len == 13 && strncmp(v, "bochs-display", 13) == 0)
        o->video = VMM_VIDEO_BOCHS;
    else if (len == 4 && strncmp(v, "none", 4) == 0)
        o->video = VMM_VIDEO_NONE;
    else
        return error_set(err, -EINVAL,
                         "--video '%s': expected std, bochs-display or none[,mode=WxH]", v);
    if (comma == NULL)
        return 0;
    if (strncmp(comma, ",mode=", 6) != 0 || sscanf(comma + 6, "%ux%u%c", &w, &h, &end) != 2 ||
        w < 320 || h < 200 || w > VMM_MAX_VIDEO_MODE || h > VMM_MAX_VIDEO_MODE)
        return error_set(err, -EINVAL, "--video '%s': mode=WxH within 320x200..%ux%u", v,
                         VMM_MAX_VIDEO_MODE, VMM_MAX_VIDEO_MODE);
    o->video_width = w;
    o->video_height = h;
    o->has_video_mode = true;
    return 0;
}

/* Bytes of a (w)x(h) frame at 32 bits a pixel, the depth a driver picks for the EDID's mode. */
static uint64_t mode_bytes(unsigned w, unsigned h)
{
    return (uint64_t)w * h * 4;
}

/* mode= must fit --vram (as QEMU refuses an xres/yres its vgamem cannot hold); without mode=
 * the default 1024x768 gives way to the largest of 800x600, 640x480, 320x200 that fits. */
static int check_mode_fits(struct vmm_options *o, struct error *err)
{
    static const unsigned fallback[][2] = {{800, 600}, {640, 480}, {320, 200}};
    if (o->video == VMM_VIDEO_NONE || mode_bytes(o->video_width, o->video_height) <= o->vram_bytes)
        return 0;
    if (o->has_video_mode)
        return error_set(err, -EINVAL,
                         "--video mode=%ux%u needs %llu KiB of video memory at 32 bits a pixel, "
                         "more than --vram %llu KiB",
                         o->video_width, o->video_height,
                         (unsigned long long)(mode_bytes(o->video_width, o->video_height) >> 10),
                         (unsigned long long)(o->vram_bytes >> 10));
    for (size_t i = 0; i < ARRAY_SIZE(fallback); i++) {
        o->video_width = fallback[i][0];
        o->video_height = fallback[i][1];
        if (mode_bytes(o->video_width, o->video_height) <= o->vram_bytes)
            break;
    }
    return 0;
}

static int parse_vram(const char *v, struct vmm_options *o, struct error *err)
{
    uint64_t bytes;
    if (parse_size(v, 1ULL << 20, &bytes) < 0 || bytes < VMM_MIN_VRAM_BYTES ||
        bytes > VMM_MAX_VRAM_BYTES || (bytes & (bytes - 1)) != 0)
        return error_set(err, -EINVAL, "--vram '%s': must be a power of two from 1M to 512M", v);
    o->vram_bytes = bytes;
    o->has_vram = true;
    return 0;
}

/* "vnc=HOST:PORT" (HOST numeric; [v6] in brackets), "vnc=unix:PATH" or "none". */
static int parse_display(const char *v, struct vmm_options *o, struct error *err)
{
    const char *colon;
    char *end;
    struct in6_addr addr;
    if (strcmp(v, "none") == 0) {
        o->display = VMM_DISPLAY_NONE;
        return 0;
    }
    if (strncmp(v, "vnc=unix:", 9) == 0 && v[9] != '\0') {
        o->display = VMM_DISPLAY_VNC_UNIX;
        o->display_path = v + 9;
        return 0;
    }
    colon = strncmp(v, "vnc=", 4) == 0 ? strrchr(v + 4, ':') : NULL;
    if (colon == NULL || colon == v + 4)
        return error_set(err, -EINVAL,
                         "--display '%s': expected vnc=HOST:PORT, vnc=unix:PATH "
                         "or none",
                         v);
    size_t hlen = (size_t)(colon - (v + 4));
    const char *host = v + 4;
    if (host[0] == '[' && hlen >= 2 && host[hlen - 1] == ']')
        host++, hlen -= 2;
    if (hlen >= sizeof(o->display_host))
        return error_set(err, -EINVAL, "--display '%s': host too long", v);
    unsigned long port = strtoul(colon + 1, &end, 10);
    if (colon[1] == '\0' || *end != '\0' || port == 0 || port > 65535)
        return error_set(err, -EINVAL, "--display '%s': port must be 1..65535", v);
    memcpy(o->display_host, host, hlen);
    o->display_host[hlen] = '\0';
    if (inet_pton(AF_INET, o->display_host, &addr) != 1 &&
        inet_pton(AF_INET6, o->display_host, &addr) != 1)
        return error_set(err, -EINVAL,
                         "--display '%s': '%s' is not a numeric address (127.0.0.1, [::1]; no "
                         "host names)",
                         v, o->display_host);
    o->display_port = (unsigned)port;
    o->display = VMM_DISPLAY_VNC_TCP;
    return 0;
}

int vmm_parse_display_opt(const char *opt, const char *v, struct vmm_options *o, struct error *err)
{
    if (strcmp(opt, "video") == 0)
        return parse_video(v, o, err);
    if (strcmp(opt, "vram") == 0)
        return parse_vram(v, o, err);
    if (strcmp(opt, "display") == 0)
        return parse_display(v, o, err);
    if (v[0] == '\0')
        return error_set(err, -EINVAL, "--display-password-file: empty path");
    o->display_password_file = v;
    return 0;
}

int vmm_check_display(struct vmm_options *o, struct error *err)
{
    if (o->video == VMM_VIDEO_NONE && o->has_vram)
        return error_set(err, -EINVAL, "--vram: needs --video std or bochs-display");
    if (o->video == VMM_VIDEO_NONE && o->display != VMM_DISPLAY_NONE)
        return error_set(err, -EINVAL, "--display vnc: needs --video std or bochs-display");
    if (o->display == VMM_DISPLAY_NONE && o->display_password_file != NULL)
        return error_set(err, -EINVAL, "--display-password-file: needs --display vnc=...");
    return check_mode_fits(o, err);
}
