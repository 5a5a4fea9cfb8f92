/* SPDX-License-Identifier: MIT */
/*
 * Creating image files safely (block/image.h, struct disk_new): a new image is written into a
 * temporary file in its destination's directory, made durable with fsync, and only then given
 * its name: rename(2) over the old file when the user asked to replace it (atomic: the old
 * image stays whole until the new one is complete), renameat2(2) RENAME_NOREPLACE (or link(2)
 * where the filesystem lacks it) otherwise, so a file that appeared meanwhile is never lost.
 * The directory is synced last. A failure on the way removes the temporary file.
 */
#define LOG_TAG "blk-image"
#include "block/image.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"

/* Returns -EBUSY when another process holds an OFD (or POSIX) lock on (path), else 0. */
static int check_unlocked(const char *path)
{
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC), ret = 0;

    if (fd < 0)
        return errno == ENOENT ? 0 : -errno;
    if (fcntl(fd, F_OFD_GETLK, &fl) == 0 && fl.l_type != F_UNLCK)
        ret = -EBUSY;
    close(fd);
    return ret;
}

/* Looks at an existing destination: refuses it or records what replacing it needs. */
static int check_existing(struct disk_new *n, const struct stat *st, struct error *err)
{
    char *real;
    int ret;

    if (!S_ISREG(st->st_mode))
        return error_set(err, -EINVAL, "%s: not a regular file", n->name);
    if (!n->is_force)
        return error_set(err, -EEXIST, "%s: file exists (--force replaces it)", n->name);
    ret = check_unlocked(n->path);
    if (ret == -EBUSY)
        return error_set(err, ret, "%s: in use by another process", n->name);
    if (ret < 0)
        return error_set(err, ret, "%s: %s", n->name, strerror(-ret));
    n->mode = st->st_mode & 07777;
    n->uid = st->st_uid;
    n->gid = st->st_gid;
    /* Replace the file a symbolic link names, not the link. */
    real = realpath(n->name, NULL);
    if (real && strlen(real) < sizeof(n->path))
        snprintf(n->path, sizeof(n->path), "%s", real);
    free(real);
    return 0;
}

static int open_tmp(struct disk_new *n, struct error *err)
{
    char dir[PATH_MAX], base[PATH_MAX];

    snprintf(dir, sizeof(dir), "%s", n->path);
    snprintf(base, sizeof(base), "%s", n->path);
    for (unsigned i = 0; i < 100; i++) {
        if ((size_t)snprintf(n->tmp, sizeof(n->tmp), "%s/.%s.%d-%u.tmp", dirname(dir),
                             basename(base), (int)getpid(), i) >= sizeof(n->tmp))
            return error_set(err, -ENAMETOOLONG, "%s: file name too long", n->name);
        n->fd = open(n->tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (n->fd >= 0)
            break;
        if (errno != EEXIST)
            return error_set(err, -errno, "%s: cannot create a file in its directory: %s", n->name,
                             strerror(errno));
    }
    if (n->fd < 0)
        return error_set(err, -EEXIST, "%s: cannot find a temporary file name", n->name);
    /* The owner is kept where we may (root replacing a user's image): best effort. */
    if (n->mode && fchown(n->fd, n->uid, n->gid) < 0)
        log_debug("%s: owner not kept: %s", n->name, strerror(errno));
    if (n->mode && fchmod(n->fd, n->mode) < 0) {
        int e = errno;
        disk_new_abort(n);
        return error_set(err, -e, "%s: %s", n->name, strerror(e));
    }
    return 0;
}

int disk_new_begin(struct disk_new *n, const char *path, bool is_force, struct error *err)
{
    struct stat st;
    int ret;

    memset(n, 0, sizeof(*n));
    n->fd = -1;
    n->name = path;
    n->is_force = is_force;
    size_t len = strlen(path);
    if (len >= sizeof(n->path))
        return error_set(err, -ENAMETOOLONG, "%s: file name too long", path);
    memcpy(n->path, path, len + 1);
    if (stat(path, &st) == 0) {
        ret = check_existing(n, &st, err);
        if (ret < 0)
            return ret;
    } else if (errno != ENOENT) {
        return error_set(err, -errno, "%s: %s", path, strerror(errno));
    } else if (lstat(path, &st) == 0 && !is_force) { /* a dangling symbolic link */
        return error_set(err, -EEXIST, "%s: file exists (--force replaces it)", path);
    }
    return open_tmp(n, err);
}

void disk_new_abort(struct disk_new *n)
{
    if (n->fd >= 0) {
        unlink(n->tmp);
        close(n->fd);
    }
    n->fd = -1;
}

/* Gives the temporary file its name without replacing anything. */
static int publish_noreplace(struct disk_new *n)
{
    if (renameat2(AT_FDCWD, n->tmp, AT_FDCWD, n->path, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno != EINVAL && errno != ENOSYS)
        return -errno;
    if (link(n->tmp, n->path) < 0) /* filesystems without RENAME_NOREPLACE */
        return -errno;
    unlink(n->tmp);
    return 0;
}

int disk_new_commit(struct disk_new *n, struct error *err)
{
    char dir[PATH_MAX];
    int ret = 0, dfd;

    if (fsync(n->fd) < 0)
        ret = -errno;
    else if (n->is_force)
        ret = check_unlocked(n->path);
    if (ret == 0)
        ret = n->is_force ? (rename(n->tmp, n->path) < 0 ? -errno : 0) : publish_noreplace(n);
    if (ret < 0) {
        disk_new_abort(n);
        if (ret == -EEXIST)
            return error_set(err, ret, "%s: file exists (--force replaces it)", n->name);
        if (ret == -EBUSY)
            return error_set(err, ret, "%s: in use by another process", n->name);
        return error_set(err, ret, "%s: %s", n->name, strerror(-ret));
    }
    close(n->fd);
    n->fd = -1;
    snprintf(dir, sizeof(dir), "%s", n->path);
    dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        if (fsync(dfd) < 0 && errno != EINVAL)
            ret = error_set(err, -errno, "%s: cannot sync its directory: %s", n->name,
                            strerror(errno));
        close(dfd);
    }
    return ret;
}

int disk_new_raw(struct disk_new *n, uint64_t size, struct error *err)
{
    if (size > INT64_MAX)
        return error_set(err, -EFBIG, "%s: %s", n->name, strerror(EFBIG));
    if (ftruncate(n->fd, (off_t)size) < 0)
        return error_set(err, -errno, "%s: %s", n->name, strerror(errno));
    return 0;
}

int disk_create_raw(const char *path, uint64_t size, bool is_force, struct error *err)
{
    struct disk_new n;
    int ret = disk_new_begin(&n, path, is_force, err);

    if (ret < 0)
        return ret;
    ret = disk_new_raw(&n, size, err);
    if (ret < 0) {
        disk_new_abort(&n);
        return ret;
    }
    return disk_new_commit(&n, err);
}
