/* SPDX-License-Identifier: MIT */
/* Implementation of mgr/control_media.h: the arguments of media-change, checked. */
#include "mgr/control_media.h"

#include <errno.h>
#include <string.h>

#include "mgr/api.h"

int control_media_change(const struct control_ops *ops, void *opaque, int fd, json_t *args,
                         json_t *result, struct error *err)
{
    static const char *const keys[] = {"drive", "path", "eject", "readonly", NULL};
    struct control_media_change req = {.fd = fd};
    bool is_eject = false;
    int ret;
    (void)result;
    if (ops->media_change == NULL)
        return error_set(err, -ENOTSUP, "media-change is not supported by this monitor");
    if ((ret = api_check_args(args, keys, err)) < 0 ||
        (ret = api_arg_str(args, "drive", true, 16, &req.drive, err)) < 0 ||
        (ret = api_arg_str(args, "path", false, CONTROL_MAX_PATH, &req.path, err)) < 0 ||
        (ret = api_arg_bool(args, "eject", false, &is_eject, err)) < 0 ||
        (ret = api_arg_bool(args, "readonly", false, &req.is_readonly, err)) < 0)
        return ret;
    if (strcmp(req.drive, CONTROL_DRIVE_FLOPPY) != 0 && strcmp(req.drive, CONTROL_DRIVE_CDROM) != 0)
        return error_set(err, -EINVAL, "argument \"drive\" must be \"floppy\" or \"cdrom\"");
    if ((req.path != NULL) == is_eject)
        return error_set(err, -EINVAL, "give either \"path\" or \"eject\": true");
    if (req.path != NULL && req.path[0] == '\0')
        return error_set(err, -EINVAL, "argument \"path\" is empty");
    if (is_eject && req.is_readonly)
        return error_set(err, -EINVAL, "\"readonly\" goes with \"path\", not with \"eject\"");
    return ops->media_change(opaque, &req, err);
}
