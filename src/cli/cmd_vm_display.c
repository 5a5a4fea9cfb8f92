/* SPDX-License-Identifier: MIT */
/*
 * `bareiron screenshot NAME FILE|--text` and `bareiron display NAME` (docs/cli.md "Display"):
 * the screen of a running VM through its monitor's control socket. The PNG comes in pieces
 * (screenshot-data) and is written here, as the user, relative to the current directory; the
 * text screen of a VGA text mode is printed as lines. display prints where a VNC viewer
 * connects: the unix socket in the VM's run directory.
 */
#include "cli/cmd_vm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"
#include "cli/cli.h"
#include "mgr/api.h"
#include "mgr/proc.h"
#include "mgr/state.h"

#define MAX_PNG_BYTES (256u << 20)
#define CHUNK_BYTES (64 * 1024)

static int print_text(const struct store *st, const char *name, struct error *err)
{
    json_t *res = NULL, *lines;
    int ret = proc_call(st, name, "screenshot", json_pack("{s:s}", "format", "text"), &res, err);
    if (ret < 0)
        return ret;
    lines = json_object_get(res, "lines");
    for (size_t i = 0; i < json_array_size(lines); i++) {
        const char *l = json_string_value(json_array_get(lines, i));
        puts(l ? l : "");
    }
    json_decref(res);
    return 0;
}

/* Reads the PNG piece by piece into (buf) (at most MAX_PNG_BYTES); sets (*len). */
static int fetch_png(const struct store *st, const char *name, uint8_t **buf, size_t *len,
                     struct error *err)
{
    uint64_t size = 1, off = 0;
    *buf = NULL;
    while (off < size) {
        json_t *res = NULL;
        size_t n = 0;
        int ret =
            proc_call(st, name, "screenshot-data", json_pack("{s:I}", "offset", off), &res, err);
        if (ret < 0)
            return ret;
        json_int_t total = json_integer_value(json_object_get(res, "size"));
        const char *data = json_string_value(json_object_get(res, "data"));
        if (off == 0) {
            size = (uint64_t)total;
            if (total <= 0 || size > MAX_PNG_BYTES || (*buf = malloc(size)) == NULL) {
                json_decref(res);
                return error_set(err, -EIO, "VM '%s': bad screenshot size %lld", name,
                                 (long long)total);
            }
        }
        if (data == NULL || (uint64_t)total != size ||
            api_base64_decode(data, *buf + off, size - off, &n) < 0 || n == 0) {
            json_decref(res);
            return error_set(err, -EIO, "VM '%s': bad screenshot data", name);
        }
        off += n;
        json_decref(res);
    }
    *len = size;
    return 0;
}

static int write_png(const char *path, const uint8_t *buf, size_t len, struct error *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return error_set(err, -errno, "cannot create %s: %s", path, strerror(errno));
    int ret = write_full(fd, buf, len);
    if (close(fd) < 0 && ret == 0)
        ret = -errno;
    if (ret < 0)
        return error_set(err, ret, "cannot write %s: %s", path, strerror(-ret));
    return 0;
}

int cmd_screenshot(int argc, char **argv, struct error *err)
{
    const char *name = NULL, *file = NULL;
    bool is_text = false;
    struct store st;
    int ret;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            vm_print_help("screenshot");
            return 0;
        } else if (strcmp(argv[i], "--text") == 0) {
            is_text = true;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            return error_usage(err,
                               "screenshot: unknown option %s (see 'bareiron screenshot "
                               "--help')",
                               argv[i]);
        } else if (name == NULL) {
            name = argv[i];
        } else if (file == NULL) {
            file = argv[i];
        } else {
            return error_usage(err,
                               "screenshot: unexpected argument %s (see 'bareiron "
                               "screenshot --help')",
                               argv[i]);
        }
    }
    if (name == NULL || (file == NULL) == !is_text)
        return error_usage(err, "screenshot: needs NAME and FILE.png, or NAME --text (see "
                                "'bareiron screenshot --help')");
    if ((ret = store_open(&st, err)) < 0 ||
        (ret = vm_check_running(&st, name, "its screen", err)) < 0)
        return ret;
    if (is_text)
        return print_text(&st, name, err);
    uint8_t *buf = NULL;
    size_t len = 0;
    ret = fetch_png(&st, name, &buf, &len, err);
    if (ret == 0)
        ret = write_png(file, buf, len, err);
    free(buf);
    return ret;
}

int cmd_display(int argc, char **argv, struct error *err)
{
    struct vm_args a;
    struct store st;
    json_t *res = NULL;
    char path[PATH_MAX];
    int ret = vm_begin(argc, argv, VM_ARG_NAME, &a, &st, err);
    if (ret < 0 || a.is_help)
        return ret;
    if ((ret = vm_check_running(&st, a.name, "its display", err)) < 0)
        return ret;
    if ((ret = proc_call(&st, a.name, "query-display", NULL, &res, err)) < 0)
        return ret;
    const char *vnc = json_string_value(json_object_get(res, "vnc"));
    if (vnc == NULL) {
        json_decref(res);
        return error_set(err, -ENOENT, "VM '%s' has no VNC display", a.name);
    }
    /* The manager's monitors listen on run/vnc.sock: print it absolute. */
    if (strncmp(vnc, "unix:", 5) == 0 && vnc[5] != '/' &&
        store_vm_path(&st, a.name, "run/" PROC_VNC_SOCKET, path, sizeof(path)) == 0)
        printf("unix:%s\n", path);
    else
        printf("%s\n", vnc);
    json_decref(res);
    return 0;
}
