/* SPDX-License-Identifier: MIT */
/*
 * Implementation of ui/screenshot.h over libpng's write API (libpng manual §IV "Writing"), one row
 * at a time from the XRGB8888 image into a growing buffer; the file variant writes that buffer
 * to a temporary file beside (path) that is renamed over it. libpng is opened with dlopen by
 * ui_screenshot_init, so that a monitor without a display does not load it.
 */
#include "ui/screenshot.h"

#include <errno.h>
#include <fcntl.h>
#include <dlfcn.h>
#include <png.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/compiler.h"

#define PNG_SONAME "libpng16.so.16"

/* libpng's entry points, from dlopen (ui_screenshot_init). */
#define PNG_FUNCS(X)                                                                               \
    X(png_create_write_struct)                                                                     \
    X(png_create_info_struct)                                                                      \
    X(png_set_longjmp_fn)                                                                          \
    X(png_set_write_fn)                                                                            \
    X(png_set_IHDR)                                                                                \
    X(png_set_compression_level)                                                                   \
    X(png_write_info)                                                                              \
    X(png_write_row)                                                                               \
    X(png_write_end)                                                                               \
    X(png_destroy_write_struct)                                                                    \
    X(png_get_io_ptr)
#define PNG_FIELD(name) __typeof__(name) *name;
static struct {
    void *handle;
    PNG_FUNCS(PNG_FIELD)
} pl;

int ui_screenshot_init(struct error *err)
{
    if (pl.handle != NULL)
        return 0;
    void *h = dlopen(PNG_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (h == NULL)
        return error_set(err, -ENOTSUP, "screenshots: cannot load %s: %s", PNG_SONAME, dlerror());
    bool is_ok = true;
#define PNG_SYM(name) is_ok = is_ok && (pl.name = (__typeof__(name) *)dlsym(h, #name)) != NULL;
    PNG_FUNCS(PNG_SYM)
#undef PNG_SYM
    if (!is_ok) {
        dlclose(h);
        return error_set(err, -ENOTSUP, "screenshots: %s lacks a symbol this build needs",
                         PNG_SONAME);
    }
    pl.handle = h;
    return 0;
}

struct membuf {
    uint8_t *data;
    size_t len, cap;
    bool has_failed;
};

static void mem_write(png_structp png, png_bytep bytes, size_t n)
{
    struct membuf *m = pl.png_get_io_ptr(png);
    if (m->has_failed)
        return;
    if (m->len + n > m->cap) {
        size_t cap = MAX(m->cap * 2, m->len + n + 65536);
        uint8_t *d = realloc(m->data, cap);
        if (d == NULL) {
            m->has_failed = true;
            return;
        }
        m->data = d;
        m->cap = cap;
    }
    memcpy(m->data + m->len, bytes, n);
    m->len += n;
}

static void mem_flush(png_structp png)
{
    (void)png;
}

/* libpng reports errors by longjmp; a volatile status keeps the cleanup straight. */
static int encode(struct membuf *m, const struct ui_image *img, uint8_t *row)
{
    png_structp png = pl.png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? pl.png_create_info_struct(png) : NULL;
    volatile int ret = -ENOMEM;
    if (png == NULL || info == NULL)
        goto out;
    if (setjmp(*pl.png_set_longjmp_fn(png, longjmp, sizeof(jmp_buf))))
        goto out;
    pl.png_set_write_fn(png, m, mem_write, mem_flush);
    pl.png_set_IHDR(png, info, img->width, img->height, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                    PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    pl.png_set_compression_level(png, 1); /* fast: screenshots are taken while the guest runs */
    pl.png_write_info(png, info);
    for (unsigned y = 0; y < img->height; y++) {
        const uint32_t *src = &img->pixels[(size_t)y * img->stride];
        for (unsigned x = 0; x < img->width; x++) {
            row[3 * x] = (uint8_t)(src[x] >> 16);
            row[3 * x + 1] = (uint8_t)(src[x] >> 8);
            row[3 * x + 2] = (uint8_t)src[x];
        }
        pl.png_write_row(png, row);
    }
    pl.png_write_end(png, NULL);
    ret = m->has_failed ? -ENOMEM : 0;
out:
    pl.png_destroy_write_struct(&png, &info);
    return ret;
}

int ui_screenshot_png_mem(const struct ui_image *img, uint8_t **out, size_t *len, struct error *err)
{
    struct membuf m = {0};
    uint8_t *row;
    int ret;
    if (pl.handle == NULL)
        return error_set(err, -ENOTSUP, "screenshot: libpng was not loaded at start");
    if (img->width == 0 || img->height == 0 || img->pixels == NULL)
        return error_set(err, -EINVAL, "screenshot: the screen is empty");
    row = malloc((size_t)img->width * 3);
    if (row == NULL)
        return error_set(err, -ENOMEM, "out of memory");
    ret = encode(&m, img, row);
    free(row);
    if (ret < 0) {
        free(m.data);
        return error_set(err, ret, "screenshot: cannot encode the PNG: %s", strerror(-ret));
    }
    *out = m.data;
    *len = m.len;
    return 0;
}

int ui_screenshot_png(const char *path, const struct ui_image *img, struct error *err)
{
    char tmp[4200];
    uint8_t *png = NULL;
    size_t len = 0;
    int fd, ret;
    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
        return error_set(err, -ENAMETOOLONG, "screenshot: path too long");
    ret = ui_screenshot_png_mem(img, &png, &len, err);
    if (ret < 0)
        return ret;
    /* the monitor's seccomp filter lets exactly these flags create a file (as save does) */
    fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) {
        ret = -errno;
        free(png);
        return error_set(err, ret, "screenshot: cannot create %s: %s", tmp, strerror(-ret));
    }
    for (size_t off = 0; ret == 0 && off < len;) {
        ssize_t n = write(fd, png + off, len - off);
        if (n < 0 && errno != EINTR)
            ret = -errno;
        else if (n > 0)
            off += (size_t)n;
    }
    free(png);
    if (close(fd) < 0 && ret == 0)
        ret = -errno;
    if (ret == 0 && rename(tmp, path) < 0)
        ret = -errno;
    if (ret < 0) {
        unlink(tmp);
        return error_set(err, ret, "screenshot: cannot write %s: %s", path, strerror(-ret));
    }
    return 0;
}
