/* SPDX-License-Identifier: MIT */
/*
 * Implementation of mgr/savestate.h: the saved state of a VM in its directory, written by the
 * monitor (the control command save), checked with the state file parser (base/statefile.h)
 * and moved into place with rename(2), so that only a verified state is ever installed.
 */
#define LOG_TAG "savestate"
#include "mgr/savestate.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "base/statefile.h"
#include "base/util.h"
#include "mgr/client.h"

int savestate_path(const struct store *st, const char *name, char *buf, size_t size)
{
    return store_vm_path(st, name, SAVESTATE_LEAF, buf, size);
}

bool savestate_exists(const struct store *st, const char *name)
{
    char path[PATH_MAX];
    struct stat sb;
    return savestate_path(st, name, path, sizeof(path)) == 0 && lstat(path, &sb) == 0;
}

int savestate_verify(const char *path, struct error *err)
{
    struct sf_file *f = malloc(sizeof(*f));
    struct stat sb;
    void *map = MAP_FAILED;
    int ret = 0, fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (f == NULL)
        ret = error_set(err, -ENOMEM, "out of memory");
    else if (fd < 0)
        ret = error_set(err, -errno, "%s: %s", path, strerror(errno));
    else if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) || sb.st_size <= 0)
        ret = error_set(err, -EINVAL, "%s: not a state file", path);
    else if ((map = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0)) == MAP_FAILED)
        ret = error_set(err, -errno, "%s: %s", path, strerror(errno));
    if (ret == 0) {
        struct error perr = {0};
        ret = sf_parse(map, (size_t)sb.st_size, f, &perr);
        if (ret < 0)
            error_set(err, ret, "%s: %s", path, perr.message);
        munmap(map, (size_t)sb.st_size);
    }
    if (fd >= 0)
        close(fd);
    free(f);
    return ret;
}

/* Renames the verified (tmp) over (path) and syncs the directory. */
static int install(const char *tmp, const char *path, struct error *err)
{
    int ret = savestate_verify(tmp, err);
    if (ret < 0) {
        unlink(tmp);
        return ret;
    }
    if (rename(tmp, path) < 0) {
        ret = error_set(err, -errno, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
        unlink(tmp);
        return ret;
    }
    if ((ret = fsync_dir_of(path)) < 0)
        return error_set(err, ret, "cannot sync the directory of %s: %s", path, strerror(-ret));
    return 0;
}

/* The paths of the saved state and of its next version. */
static int paths(const struct store *st, const char *name, char *path, char *tmp, struct error *err)
{
    if (savestate_path(st, name, path, PATH_MAX) < 0 ||
        snprintf(tmp, PATH_MAX, "%s.new", path) >= PATH_MAX)
        return error_set(err, -ENAMETOOLONG, "VM '%s': path too long", name);
    return 0;
}

/*
 * Creates (tmp) and has the monitor of VM (name) (its control socket (sock)) save into it:
 * the file's descriptor goes with the request (docs/control-api.md "save"), so a monitor in
 * its jail, which can open no path, writes it as well as one outside.
 */
static int save_into(const char *name, const char *sock, const char *tmp, unsigned flags,
                     struct error *err)
{
    struct client c;
    json_t *args;
    int ret, fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return error_set(err, -errno, "cannot create %s: %s", tmp, strerror(errno));
    if (client_connect(&c, sock, NULL) < 0) {
        close(fd);
        return error_set(err, -ESRCH, "VM '%s' is not running (no monitor answers on %s)", name,
                         sock);
    }
    args = json_object();
    if (args != NULL && (flags & SAVESTATE_ZSTD))
        json_object_set_new(args, "compress", json_string("zstd"));
    if (args != NULL && (flags & SAVESTATE_LIVE))
        json_object_set_new(args, "live", json_true());
    if (args == NULL) {
        ret = error_set(err, -ENOMEM, "out of memory");
    } else {
        /* named after the VM: `snapshot take` saves through here too, and "save: cannot
         * save: ..." said the request's name twice */
        struct error e = {0};
        ret = client_call_fd(&c, "save", args, fd, SAVESTATE_CALL_TIMEOUT_MS, NULL, &e);
        if (ret < 0)
            error_set(err, ret, "VM '%s': %s", name,
                      strncmp(e.message, "save: cannot save", 17) == 0 ? e.message + 6 : e.message);
    }
    json_decref(args);
    client_close(&c);
    close(fd);
    return ret;
}

int savestate_save_to(const struct store *st, const char *name, const char *path, unsigned flags,
                      struct error *err)
{
    char tmp[PATH_MAX], sock[PATH_MAX];
    int ret;
    if (snprintf(tmp, sizeof(tmp), "%s.new", path) >= (int)sizeof(tmp) ||
        store_vm_path(st, name, "run/control.sock", sock, sizeof(sock)) < 0)
        return error_set(err, -ENAMETOOLONG, "VM '%s': path too long", name);
    unlink(tmp); /* what a save that crashed half-way left */
    ret = save_into(name, sock, tmp, flags, err);
    if (ret < 0) {
        unlink(tmp);
        return ret;
    }
    return install(tmp, path, err);
}

int savestate_save(const struct store *st, const char *name, struct error *err)
{
    char path[PATH_MAX];
    if (savestate_path(st, name, path, sizeof(path)) < 0)
        return error_set(err, -ENAMETOOLONG, "VM '%s': path too long", name);
    return savestate_save_to(st, name, path, 0, err);
}

int savestate_install(const struct store *st, const char *name, const char *from, struct error *err)
{
    char path[PATH_MAX], tmp[PATH_MAX];
    int ret = paths(st, name, path, tmp, err);
    if (ret < 0)
        return ret;
    unlink(tmp);
    if (link(from, tmp) < 0)
        return error_set(err, -errno, "cannot link %s to %s: %s", from, tmp, strerror(errno));
    return install(tmp, path, err);
}

int savestate_discard(const struct store *st, const char *name, struct error *err)
{
    char path[PATH_MAX], tmp[PATH_MAX];
    int ret = paths(st, name, path, tmp, err);
    if (ret < 0)
        return ret;
    unlink(tmp);
    if (unlink(path) < 0 && errno != ENOENT)
        return error_set(err, -errno, "cannot remove %s: %s", path, strerror(errno));
    if ((ret = fsync_dir_of(path)) < 0)
        return error_set(err, ret, "cannot sync the directory of %s: %s", path, strerror(-ret));
    return 0;
}
