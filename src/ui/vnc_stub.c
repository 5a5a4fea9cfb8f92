/* SPDX-License-Identifier: MIT */
/* ui/vnc.h for a build without libvncserver: no server can be created. */
#include "ui/vnc.h"

#include <errno.h>

int ui_vnc_create(const struct ui_vnc_config *cfg, struct ui_vnc **out, struct error *err)
{
    (void)cfg;
    (void)out;
    return error_set(err, -ENOTSUP, "--display vnc: not supported by this build (no libvncserver)");
}

int ui_vnc_start(struct ui_vnc *vnc, struct error *err)
{
    (void)vnc;
    return error_set(err, -ENOTSUP, "--display vnc: not supported by this build");
}

void ui_vnc_destroy(struct ui_vnc *vnc)
{
    (void)vnc;
}

void ui_vnc_set_source(struct ui_vnc *vnc, const struct ui_vnc_source_ops *ops, void *opaque)
{
    (void)vnc;
    (void)ops;
    (void)opaque;
}

void ui_vnc_set_input(struct ui_vnc *vnc, const struct ui_input_ops *ops, void *opaque)
{
    (void)vnc;
    (void)ops;
    (void)opaque;
}

void ui_vnc_resize(struct ui_vnc *vnc, unsigned width, unsigned height)
{
    (void)vnc;
    (void)width;
    (void)height;
}

void ui_vnc_damage(struct ui_vnc *vnc, const struct ui_image *img, unsigned x, unsigned y,
                   unsigned w, unsigned h)
{
    (void)vnc;
    (void)img;
    (void)x;
    (void)y;
    (void)w;
    (void)h;
}

unsigned ui_vnc_client_count(struct ui_vnc *vnc)
{
    (void)vnc;
    return 0;
}

unsigned long long ui_vnc_bytes_sent(struct ui_vnc *vnc)
{
    (void)vnc;
    return 0;
}
