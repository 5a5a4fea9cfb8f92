/* SPDX-License-Identifier: MIT */
/* proc_media_change of mgr/proc.h: a running VM's removable drive gets a new medium. */
#define LOG_TAG "proc"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "mgr/client.h"
#include "mgr/control_media.h"
#include "mgr/proc.h"
#include "mgr/store.h"

int proc_media_change(const struct store *st, const char *name, const char *drive, const char *path,
                      bool is_readonly, struct error *err)
{
    char sock[PATH_MAX];
    struct client c;
    json_t *args = json_object();
    int fd = -1, ret;
    if (args == NULL)
        return error_set(err, -ENOMEM, "out of memory");
    json_object_set_new(args, "drive", json_string(drive));
    if (path != NULL) {
        /* the monitor opens no file once running: it gets the descriptor */
        fd = open(path, (is_readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
        if (fd < 0) {
            json_decref(args);
            return error_set(err, -errno, "%s: %s", path, strerror(errno));
        }
        json_object_set_new(args, "path", json_string(path));
        if (is_readonly)
            json_object_set_new(args, "readonly", json_true());
    } else {
        json_object_set_new(args, "eject", json_true());
    }
    ret = store_vm_path(st, name, "run/control.sock", sock, sizeof(sock));
    if (ret < 0)
        ret = error_set(err, -ENAMETOOLONG, "path too long");
    else if (client_connect(&c, sock, NULL) < 0)
        ret =
            error_set(err, -ESRCH, "VM '%s' is not running (no monitor answers on %s)", name, sock);
    else {
        ret = client_call_fd(&c, "media-change", args, fd, PROC_CALL_TIMEOUT_MS, NULL, err);
        client_close(&c);
    }
    if (fd >= 0)
        close(fd);
    json_decref(args);
    return ret;
}
