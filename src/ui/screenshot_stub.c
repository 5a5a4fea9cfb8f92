/* SPDX-License-Identifier: MIT */
/* ui/screenshot.h for a build without libpng: PNG screenshots are refused. */
#include "ui/screenshot.h"

#include <errno.h>

int ui_screenshot_png(const char *path, const struct ui_image *img, struct error *err)
{
    (void)path;
    (void)img;
    return error_set(err, -ENOTSUP, "screenshot: PNG not supported by this build (no libpng)");
}

int ui_screenshot_png_mem(const struct ui_image *img, uint8_t **out, size_t *len, struct error *err)
{
    (void)img;
    (void)out;
    (void)len;
    return error_set(err, -ENOTSUP, "screenshot: PNG not supported by this build (no libpng)");
}

int ui_screenshot_init(struct error *err)
{
    return error_set(err, -ENOTSUP, "screenshot: PNG not supported by this build (no libpng)");
}
