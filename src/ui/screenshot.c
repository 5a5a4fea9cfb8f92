/* SPDX-License-Identifier: MIT */
/*
 * Implementation of ui/screenshot.h over libpng's write API (libpng manual §IV "Writing"), one row
 * at a time from the XRGB8888 image, into a temporary file beside (path) that is renamed over it.
 */
#include "ui/screenshot.h"

#include <errno.h>
#include <fcntl.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* libpng reports errors by longjmp; a volatile status keeps the cleanup straight. */
static int write_rows(FILE *f, const struct ui_image *img, uint8_t *row)
{
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    volatile int ret = -EIO;
    if (png == NULL || info == NULL)
        goto out;
    if (setjmp(png_jmpbuf(png)))
        goto out;
    png_init_io(png, f);
    png_set_IHDR(png, info, img->width, img->height, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_set_compression_level(png, 1); /* fast: screenshots are taken while the guest runs */
    png_write_info(png, info);
    for (unsigned y = 0; y < img->height; y++) {
        const uint32_t *src = &img->pixels[(size_t)y * img->stride];
        for (unsigned x = 0; x < img->width; x++) {
            row[3 * x] = (uint8_t)(src[x] >> 16);
            row[3 * x + 1] = (uint8_t)(src[x] >> 8);
            row[3 * x + 2] = (uint8_t)src[x];
        }
        png_write_row(png, row);
    }
    png_write_end(png, NULL);
    ret = 0;
out:
    png_destroy_write_struct(&png, &info);
    return ret;
}

int ui_screenshot_png(const char *path, const struct ui_image *img, struct error *err)
{
    char tmp[4200];
    uint8_t *row;
    FILE *f;
    int fd, ret;
    if (img->width == 0 || img->height == 0)
        return error_set(err, -EINVAL, "screenshot: the screen is empty");
    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
        return error_set(err, -ENAMETOOLONG, "screenshot: path too long");
    row = malloc((size_t)img->width * 3);
    if (row == NULL)
        return error_set(err, -ENOMEM, "out of memory");
    /* the monitor's seccomp filter lets exactly these flags create a file (as save does) */
    fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0 || (f = fdopen(fd, "wb")) == NULL) {
        ret = -errno;
        if (fd >= 0)
            close(fd);
        free(row);
        return error_set(err, ret, "screenshot: cannot create %s: %s", tmp, strerror(-ret));
    }
    ret = write_rows(f, img, row);
    free(row);
    if (fclose(f) != 0 && ret == 0)
        ret = -errno;
    if (ret == 0 && rename(tmp, path) < 0)
        ret = -errno;
    if (ret < 0) {
        unlink(tmp);
        return error_set(err, ret, "screenshot: cannot write %s: %s", path, strerror(-ret));
    }
    return 0;
}
