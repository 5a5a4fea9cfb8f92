/* SPDX-License-Identifier: MIT */
/*
 * Descriptors opened once per process: "open everything before the guest runs". The monitor
 * rebuilds its machine on every guest reboot (new guest memory, reloaded kernel, reopened
 * disks); with the cache enabled, the first open of a (path, access mode, O_DIRECT) triple is
 * remembered and every later open of the same triple returns a duplicate of that descriptor,
 * so a reboot never resolves a path again. Once sealed (after the first machine is loaded,
 * before the seccomp filters and the jail), an open that is not in the cache fails with
 * -EACCES instead of reaching the file system, which the filters forbid anyway.
 *
 * Duplicates share the file offset and status flags of the cached descriptor: callers use
 * pread/pwrite only. OFD locks (F_OFD_SETLK) live on the shared open file description, so a
 * lock taken by the first open stays held for the life of the process, reboots included.
 * Disabled (the default, and in the CLI), fdcache_open is a plain open(2).
 */
#ifndef BAREIRON_BASE_FDCACHE_H
#define BAREIRON_BASE_FDCACHE_H

#include <stdbool.h>

#include "base/compiler.h"

/* Starts remembering opens. Main thread, before any open that must be cached. */
void fdcache_enable(void);

/*
 * Refuses every open that is not already cached from now on (-EACCES). Logs a warning for
 * each seeded descriptor no open was answered with.
 */
void fdcache_seal(void);

/*
 * Remembers descriptor (fd), inherited from whoever started the process (the monitor's --fd),
 * as the open of (path) with fd's own access mode and O_DIRECT (F_GETFL): a later
 * fdcache_open(path, flags) with the same access mode and O_DIRECT gets a duplicate of it and
 * never resolves (path), once the cache is enabled. (fd) is kept (not duplicated) with
 * FD_CLOEXEC set. Returns 0, -EEXIST when (path) already has that key, -ENOSPC when the table
 * is full, -EACCES once sealed, -EBADF for a descriptor that is not open, or -ENOMEM.
 */
MUST_CHECK int fdcache_seed(const char *path, int fd);

/*
 * Takes descriptor (fd), handed over at run time (a medium the control API's media-change
 * sent), as the open of (path) with fd's own access mode and O_DIRECT, also once sealed; an
 * entry of (path) with that key is replaced (its descriptor closed). (fd) is kept with
 * FD_CLOEXEC set; on failure it is closed. Returns 0, -ENOSPC, -EBADF or -ENOMEM.
 */
MUST_CHECK int fdcache_adopt(const char *path, int fd);

/* Closes and forgets every descriptor kept for (path), whatever its mode (a medium taken out:
 * its open file description, and the OFD lock on it, go away with the last duplicate).
 * Returns how many were forgotten. */
unsigned fdcache_forget(const char *path);

/*
 * Opens (path) with (flags) (O_CLOEXEC is always added; O_CREAT is refused when the cache is
 * enabled: the monitor creates no file through it). Returns a new descriptor the caller
 * closes, or a negative errno. Thread-safe.
 */
MUST_CHECK int fdcache_open(const char *path, int flags);

/*
 * The same for (name) relative to directory (dirfd) (openat(2)), remembered under (key), the
 * path it stands for (an image's directory and backing file name, for backing=same-dir).
 */
MUST_CHECK int fdcache_openat(int dirfd, const char *name, const char *key, int flags);

/* Number of cached descriptors (for logs and tests). */
unsigned fdcache_count(void);

#endif
