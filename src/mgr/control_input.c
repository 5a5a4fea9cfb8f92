/* SPDX-License-Identifier: MIT */
/* Implementation of mgr/control_input.h: argument checks of send-key and input-pointer. */
#include "mgr/control_input.h"

#include <errno.h>

#include "mgr/api.h"

/* send-key: {"keys": "ctrl-alt-delete"} or {"text": "hello\n"}. */
int control_send_key(const struct control_ops *ops, void *opaque, json_t *args, json_t *result,
                     struct error *err)
{
    static const char *const keys[] = {"keys", "text", NULL};
    const char *combo = NULL, *text = NULL;
    int ret;
    (void)result;
    if (ops->send_key == NULL)
        return error_set(err, -ENOTSUP, "send-key is not supported by this monitor");
    if ((ret = api_check_args(args, keys, err)) < 0 ||
        (ret = api_arg_str(args, "keys", false, CONTROL_INPUT_MAX_KEYS, &combo, err)) < 0 ||
        (ret = api_arg_text(args, "text", false, CONTROL_INPUT_MAX_TEXT, &text, err)) < 0)
        return ret;
    if ((combo == NULL) == (text == NULL))
        return error_set(err, -EINVAL, "send-key takes one of \"keys\" and \"text\"");
    return ops->send_key(opaque, combo, text, err);
}

/* One 32-bit argument. */
static int arg_u32(json_t *args, const char *key, uint32_t min, uint32_t *out, struct error *err)
{
    uint64_t v = 0;
    int ret = api_arg_uint(args, key, true, &v, err);
    if (ret < 0)
        return ret;
    if (v < min || v > UINT32_MAX)
        return error_set(err, -EINVAL, "argument \"%s\" must be %u to %u", key, min, UINT32_MAX);
    *out = (uint32_t)v;
    return 0;
}

/* input-pointer: {"x": X, "y": Y, "width": W, "height": H, "buttons": MASK}. */
int control_input_pointer(const struct control_ops *ops, void *opaque, json_t *args, json_t *result,
                          struct error *err)
{
    static const char *const keys[] = {"x", "y", "width", "height", "buttons", NULL};
    struct control_pointer p = {0};
    int ret;
    (void)result;
    if (ops->input_pointer == NULL)
        return error_set(err, -ENOTSUP, "input-pointer is not supported by this monitor");
    if ((ret = api_check_args(args, keys, err)) < 0 ||
        (ret = arg_u32(args, "x", 0, &p.x, err)) < 0 ||
        (ret = arg_u32(args, "y", 0, &p.y, err)) < 0 ||
        (ret = arg_u32(args, "width", 1, &p.width, err)) < 0 ||
        (ret = arg_u32(args, "height", 1, &p.height, err)) < 0 ||
        (ret = arg_u32(args, "buttons", 0, &p.buttons, err)) < 0)
        return ret;
    if (p.x >= p.width || p.y >= p.height)
        return error_set(err, -EINVAL, "the point (%u, %u) is outside the %ux%u screen", p.x, p.y,
                         p.width, p.height);
    return ops->input_pointer(opaque, &p, err);
}
