/* SPDX-License-Identifier: MIT */
/*
 * Screenshots as PNG files (libpng; PNG specification, W3C 2003): 8-bit RGB, no alpha.
 */
#ifndef BAREIRON_UI_SCREENSHOT_H
#define BAREIRON_UI_SCREENSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "base/compiler.h"
#include "base/error.h"
#include "ui/ui.h"

/* Loads libpng (dlopen; the monitor calls it at start when it has a display adapter, before
 * its filters forbid opening files). Returns 0 or -ENOTSUP with (err) set. */
MUST_CHECK int ui_screenshot_init(struct error *err);

/*
 * Writes (img) to a new file at (path) (created mode 0644, replaced if it exists, written to a
 * temporary name first and renamed). Returns 0 or -errno with (err) set (-ENOTSUP: built
 * without libpng, or ui_screenshot_init was not called).
 */
MUST_CHECK int ui_screenshot_png(const char *path, const struct ui_image *img, struct error *err);

/* Encodes (img) as a PNG into a malloc'd buffer: (*out) (the caller frees it) of (*len) bytes.
 * Returns 0 or -errno with (err) set. */
MUST_CHECK int ui_screenshot_png_mem(const struct ui_image *img, uint8_t **out, size_t *len,
                                     struct error *err);

#endif
