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
