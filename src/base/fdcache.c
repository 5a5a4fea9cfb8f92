/* SPDX-License-Identifier: MIT */
/* Implementation of base/fdcache.h: a small locked table of (path, flags) -> descriptor. */
#define LOG_TAG "fdcache"
#include "base/fdcache.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"

#define FDCACHE_MAX 64
#define FDCACHE_KEY_FLAGS (O_ACCMODE | O_DIRECT | O_NOFOLLOW | O_DIRECTORY | O_PATH)

struct fdcache_entry {
    char *path;
    int flags;
    int fd;
    bool is_seeded; /* given by fdcache_seed, not opened here */
    bool is_used;   /* a seeded descriptor some open was answered with */
};

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct fdcache_entry entries[FDCACHE_MAX];
static unsigned nentries;
static bool is_enabled, is_sealed;

void fdcache_enable(void)
{
    pthread_mutex_lock(&cache_lock);
    is_enabled = true;
    pthread_mutex_unlock(&cache_lock);
}

void fdcache_seal(void)
{
    pthread_mutex_lock(&cache_lock);
    is_sealed = true;
    for (unsigned i = 0; i < nentries; i++)
        if (entries[i].is_seeded && !entries[i].is_used)
            log_warn("--fd %d:%s: never used (nothing opened that path with its access mode)",
                     entries[i].fd, entries[i].path);
    pthread_mutex_unlock(&cache_lock);
}

unsigned fdcache_count(void)
{
    unsigned n;
    pthread_mutex_lock(&cache_lock);
    n = nentries;
    pthread_mutex_unlock(&cache_lock);
    return n;
}

static struct fdcache_entry *lookup(const char *path, int key)
{
    for (unsigned i = 0; i < nentries; i++)
        if (entries[i].flags == key && strcmp(entries[i].path, path) == 0)
            return &entries[i];
    return NULL;
}

/* Called with the lock held: opens (name) at (dirfd) and keeps a duplicate under (path). */
static int open_and_remember(int dirfd, const char *name, const char *path, int flags, int key)
{
    int fd = openat(dirfd, name, flags | O_CLOEXEC), keep;
    if (fd < 0)
        return -errno;
    if (nentries == FDCACHE_MAX)
        return fd; /* full: still works, but a reboot will fail to reopen it */
    keep = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    entries[nentries].path = strdup(path);
    if (keep < 0 || entries[nentries].path == NULL) {
        if (keep >= 0)
            close(keep);
        free(entries[nentries].path);
        close(fd);
        return -ENOMEM;
    }
    entries[nentries].flags = key;
    entries[nentries].fd = keep;
    nentries++;
    return fd;
}

int fdcache_seed(const char *path, int fd)
{
    int fl = fcntl(fd, F_GETFL), key, ret = 0;

    if (fl < 0)
        return -errno;
    key = fl & (O_ACCMODE | O_DIRECT | O_PATH);
    pthread_mutex_lock(&cache_lock);
    if (is_sealed)
        ret = -EACCES;
    else if (lookup(path, key) != NULL)
        ret = -EEXIST;
    else if (nentries == FDCACHE_MAX)
        ret = -ENOSPC;
    else if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
        ret = -errno;
    else if ((entries[nentries].path = strdup(path)) == NULL)
        ret = -ENOMEM;
    if (ret == 0) {
        entries[nentries].flags = key;
        entries[nentries].fd = fd;
        entries[nentries].is_seeded = true;
        entries[nentries].is_used = false;
        nentries++;
    }
    pthread_mutex_unlock(&cache_lock);
    return ret;
}

int fdcache_adopt(const char *path, int fd)
{
    int fl = fcntl(fd, F_GETFL), key, ret = 0;
    struct fdcache_entry *e;
    char *copy;

    if (fl < 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
        ret = -errno;
        close(fd);
        return ret;
    }
    key = fl & (O_ACCMODE | O_DIRECT | O_PATH);
    if ((copy = strdup(path)) == NULL) {
        close(fd);
        return -ENOMEM;
    }
    pthread_mutex_lock(&cache_lock);
    e = lookup(path, key);
    if (e == NULL && nentries == FDCACHE_MAX) {
        ret = -ENOSPC;
    } else if (e != NULL) {
        close(e->fd);
        free(e->path);
    } else {
        e = &entries[nentries++];
    }
    if (ret == 0) {
        e->path = copy;
        e->flags = key;
        e->fd = fd;
        e->is_seeded = false;
        e->is_used = false;
    }
    pthread_mutex_unlock(&cache_lock);
    if (ret < 0) {
        free(copy);
        close(fd);
    }
    return ret;
}

unsigned fdcache_forget(const char *path)
{
    unsigned n = 0;
    pthread_mutex_lock(&cache_lock);
    for (unsigned i = 0; i < nentries;) {
        if (strcmp(entries[i].path, path) != 0) {
            i++;
            continue;
        }
        close(entries[i].fd);
        free(entries[i].path);
        entries[i] = entries[--nentries];
        n++;
    }
    pthread_mutex_unlock(&cache_lock);
    return n;
}

int fdcache_open(const char *path, int flags)
{
    return fdcache_openat(AT_FDCWD, path, path, flags);
}

int fdcache_openat(int dirfd, const char *name, const char *path, int flags)
{
    int key = flags & FDCACHE_KEY_FLAGS, ret;
    struct fdcache_entry *e;

    pthread_mutex_lock(&cache_lock);
    if (!is_enabled) {
        pthread_mutex_unlock(&cache_lock);
        ret = openat(dirfd, name, flags | O_CLOEXEC);
        return ret < 0 ? -errno : ret;
    }
    if (flags & (O_CREAT | O_TRUNC)) {
        ret = -EINVAL;
    } else if ((e = lookup(path, key)) != NULL) {
        ret = fcntl(e->fd, F_DUPFD_CLOEXEC, 0);
        if (ret < 0)
            ret = -errno;
        else
            e->is_used = true;
    } else if (is_sealed) {
        ret = -EACCES;
    } else {
        ret = open_and_remember(dirfd, name, path, flags, key);
    }
    pthread_mutex_unlock(&cache_lock);
    return ret;
}
