/* SPDX-License-Identifier: MIT */
/*
 * Small host-side helpers: size and number parsing for users, whole-file reads and atomic
 * whole-file writes (temp file + fsync + rename + directory fsync).
 */
#ifndef BAREIRON_BASE_UTIL_H
#define BAREIRON_BASE_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "base/compiler.h"

/*
 * Parses a size such as "512M", "2G", "4096", "64K", "1T" (binary units, optional trailing
 * "B"/"iB": "512MiB") into bytes in (out). A bare number is bytes unless (default_unit) is
 * non-zero, in which case it is multiplied by it (memory sizes default to MiB as in QEMU).
 * Returns 0, or -EINVAL for a malformed string, -ERANGE for overflow.
 */
MUST_CHECK int parse_size(const char *s, uint64_t default_unit, uint64_t *out);

/* Parses a decimal unsigned integer with no sign, no spaces and no trailing garbage.
 * Returns 0, -EINVAL or -ERANGE. */
MUST_CHECK int parse_u64(const char *s, uint64_t *out);

/*
 * Reads the whole of (path) into a malloc'd buffer (*buf, NUL-terminated for convenience) of
 * (*len) bytes, refusing files larger than (max_bytes). Returns 0 or a negative errno
 * (-EFBIG for too large).
 */
MUST_CHECK int read_file_all(const char *path, size_t max_bytes, char **buf, size_t *len);

/*
 * Atomically replaces (path) with (len) bytes of (data): writes "<path>.tmp.<pid>", fsyncs it,
 * renames it over (path) and fsyncs the directory. On failure (path) is untouched and the temp
 * file removed. Returns 0 or a negative errno.
 */
/* fsync(2)s the directory that holds (path) (after a rename into it). Returns 0 or -errno. */
MUST_CHECK int fsync_dir_of(const char *path);
MUST_CHECK int write_file_atomic(const char *path, const void *data, size_t len, unsigned mode);

/* write(2)/pread/pwrite loops that handle short transfers and EINTR. Return 0 or -errno;
 * read_full returns -EIO on a premature end of file. */
MUST_CHECK int write_full(int fd, const void *buf, size_t len);
MUST_CHECK int pread_full(int fd, void *buf, size_t len, uint64_t off);
MUST_CHECK int pwrite_full(int fd, const void *buf, size_t len, uint64_t off);

/* send(2) loop for a stream socket: sends all (len) bytes of (buf) on (fd), retrying short
 * sends and EINTR, with MSG_NOSIGNAL so that a peer that went away is -EPIPE, not SIGPIPE.
 * Blocks unless (fd) is non-blocking (then -EAGAIN). Returns 0 or -errno. */
MUST_CHECK int send_full(int fd, const void *buf, size_t len);

/* Monotonic clock in nanoseconds. */
uint64_t time_now_ns(void);

#endif
