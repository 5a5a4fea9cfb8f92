/* SPDX-License-Identifier: MIT */
/*
 * Implementation of mgr/control_display.h: the control server's display commands. The text
 * screen is split into a JSON array of lines; the monitor's strings are copied as they are
 * (NULL ones left out).
 */
#include "mgr/control_display.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mgr/api.h"

static int screenshot_text(const struct control_ops *ops, void *opaque, json_t *result,
                           struct error *err)
{
    char *buf = malloc(CONTROL_MAX_TEXT_BYTES);
    unsigned rows = 0, cols = 0;
    json_t *lines;
    if (buf == NULL)
        return error_set(err, -ENOMEM, "out of memory");
    int ret = ops->screenshot_text(opaque, buf, CONTROL_MAX_TEXT_BYTES, &rows, &cols, err);
    if (ret < 0) {
        free(buf);
        return ret;
    }
    buf[MIN((size_t)ret, (size_t)CONTROL_MAX_TEXT_BYTES - 1)] = '\0';
    lines = json_array();
    for (char *p = buf, *nl; *p != '\0'; p = nl + 1) {
        nl = strchr(p, '\n');
        if (nl == NULL)
            nl = p + strlen(p) - 1;
        json_array_append_new(lines, json_stringn(p, (size_t)(nl - p) + (*nl != '\n')));
    }
    free(buf);
    json_object_set_new(result, "rows", json_integer(rows));
    json_object_set_new(result, "cols", json_integer(cols));
    json_object_set_new(result, "lines", lines);
    return 0;
}

int control_display_screenshot(const struct control_ops *ops, void *opaque, json_t *args,
                               json_t *result, struct error *err)
{
    static const char *const keys[] = {"path", "format", NULL};
    const char *path = NULL, *format = NULL;
    int ret;
    if ((ret = api_check_args(args, keys, err)) < 0 ||
        (ret = api_arg_str(args, "path", false, CONTROL_MAX_PATH, &path, err)) < 0 ||
        (ret = api_arg_str(args, "format", false, 16, &format, err)) < 0)
        return ret;
    if (format == NULL)
        format = "png";
    if (strcmp(format, "text") == 0) {
        if (path != NULL)
            return error_set(err, -EINVAL, "screenshot: format text takes no path");
        if (ops->screenshot_text == NULL)
            return error_set(err, -ENOTSUP, "screenshot is not supported by this monitor");
        return screenshot_text(ops, opaque, result, err);
    }
    if (strcmp(format, "png") != 0)
        return error_set(err, -EINVAL, "screenshot: format must be png or text");
    if (path == NULL || path[0] == '\0')
        return error_set(err, -EINVAL, "screenshot: a png needs a path");
    if (ops->screenshot_png == NULL)
        return error_set(err, -ENOTSUP, "screenshot is not supported by this monitor");
    ret = ops->screenshot_png(opaque, path, err);
    if (ret == 0)
        json_object_set_new(result, "path", json_string(path));
    return ret;
}

int control_display_query(const struct control_ops *ops, void *opaque, json_t *args, json_t *result,
                          struct error *err)
{
    struct control_display d = {0};
    (void)args;
    if (ops->query_display == NULL)
        return error_set(err, -ENOTSUP, "query-display is not supported by this monitor");
    int ret = ops->query_display(opaque, &d, err);
    if (ret < 0)
        return ret;
    if (d.adapter)
        json_object_set_new(result, "adapter", json_string(d.adapter));
    if (d.mode)
        json_object_set_new(result, "mode", json_string(d.mode));
    json_object_set_new(result, "width", json_integer(d.width));
    json_object_set_new(result, "height", json_integer(d.height));
    json_object_set_new(result, "bpp", json_integer(d.bpp));
    json_object_set_new(result, "vram_bytes", json_integer((json_int_t)d.vram_bytes));
    json_object_set_new(result, "vnc", d.vnc ? json_string(d.vnc) : json_null());
    json_object_set_new(result, "viewers", json_integer(d.viewers));
    json_object_set_new(result, "bytes_sent",
                        json_integer((json_int_t)(d.bytes_sent & (uint64_t)INT64_MAX)));
    return 0;
}

int control_display_data(const struct control_ops *ops, void *opaque, json_t *args, json_t *result,
                         struct error *err)
{
    static const char *const keys[] = {"offset", NULL};
    const uint8_t *data = NULL;
    uint64_t offset = 0, total = 0;
    size_t len = 0;
    char *b64 = NULL;
    int ret;
    if ((ret = api_check_args(args, keys, err)) < 0 ||
        (ret = api_arg_uint(args, "offset", false, &offset, err)) < 0)
        return ret;
    if (ops->screenshot_data == NULL)
        return error_set(err, -ENOTSUP, "screenshot-data is not supported by this monitor");
    ret = ops->screenshot_data(opaque, offset, &data, &len, &total, err);
    if (ret < 0)
        return ret;
    if (api_base64_encode(data, MIN(len, (size_t)CONTROL_SCREENSHOT_CHUNK), &b64) < 0)
        return error_set(err, -ENOMEM, "out of memory");
    json_object_set_new(result, "size", json_integer((json_int_t)total));
    json_object_set_new(result, "offset", json_integer((json_int_t)offset));
    json_object_set_new(result, "data", json_string(b64));
    free(b64);
    return 0;
}
