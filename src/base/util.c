/* SPDX-License-Identifier: MIT */
/* Implementation of base/util.h. */
#include "base/util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/ckd.h"
#include "base/fdcache.h"

int parse_u64(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    if (s == NULL || *s == '\0')
        return -EINVAL;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -EINVAL;
        if (ckd_mul(&v, v, 10) || ckd_add(&v, v, (uint64_t)(*s - '0')))
            return -ERANGE;
    }
    *out = v;
    return 0;
}

int parse_size(const char *s, uint64_t default_unit, uint64_t *out)
{
    char num[32];
    size_t n = 0;
    uint64_t v, mult;
    int ret;
    if (s == NULL)
        return -EINVAL;
    while (s[n] >= '0' && s[n] <= '9')
        n++;
    if (n == 0 || n >= sizeof(num))
        return n == 0 ? -EINVAL : -ERANGE;
    memcpy(num, s, n);
    num[n] = '\0';
    ret = parse_u64(num, &v);
    if (ret < 0)
        return ret;
    s += n;
    if (*s == '\0') {
        mult = default_unit ? default_unit : 1;
    } else {
        /* B, K, M, G or T in either case; K to T may add "i", "B" or "iB" */
        static const char units[] = "bkmgt";
        const char *u = strchr(units, tolower((unsigned char)*s));
        if (u == NULL)
            return -EINVAL;
        mult = 1ULL << (10 * (u - units));
        s++;
        if (u != units && *s == 'i')
            s++;
        if (u != units && *s == 'B')
            s++;
    }
    if (*s != '\0')
        return -EINVAL;
    if (ckd_mul(&v, v, mult))
        return -ERANGE;
    *out = v;
    return 0;
}

int read_file_all(const char *path, size_t max_bytes, char **buf, size_t *len)
{
    struct stat st;
    char *p;
    int fd, ret;
    fd = fdcache_open(path, O_RDONLY);
    if (fd < 0)
        return fd;
    if (fstat(fd, &st) < 0) {
        ret = -errno;
        goto err_close_fd;
    }
    if (!S_ISREG(st.st_mode)) {
        ret = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
        goto err_close_fd;
    }
    if ((uint64_t)st.st_size > max_bytes) {
        ret = -EFBIG;
        goto err_close_fd;
    }
    p = malloc((size_t)st.st_size + 1);
    if (p == NULL) {
        ret = -ENOMEM;
        goto err_close_fd;
    }
    ret = pread_full(fd, p, (size_t)st.st_size, 0);
    if (ret < 0)
        goto err_free;
    p[st.st_size] = '\0';
    *buf = p;
    *len = (size_t)st.st_size;
    close(fd);
    return 0;
err_free:
    free(p);
err_close_fd:
    close(fd);
    return ret;
}

/* How out_full writes: write(2), send(2) with MSG_NOSIGNAL, or pwrite(2) at an offset. */
enum out_kind { OUT_WRITE, OUT_SEND, OUT_PWRITE };

/* The loop of write_full, send_full and pwrite_full. */
static int out_full(int fd, const void *buf, size_t len, uint64_t off, enum out_kind kind)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = kind == OUT_SEND     ? send(fd, p, len, MSG_NOSIGNAL)
                    : kind == OUT_PWRITE ? pwrite(fd, p, len, (off_t)off)
                                         : write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += n;
        len -= (size_t)n;
        off += (uint64_t)n;
    }
    return 0;
}

int write_full(int fd, const void *buf, size_t len)
{
    return out_full(fd, buf, len, 0, OUT_WRITE);
}

int send_full(int fd, const void *buf, size_t len)
{
    return out_full(fd, buf, len, 0, OUT_SEND);
}

int pread_full(int fd, void *buf, size_t len, uint64_t off)
{
    char *p = buf;
    while (len > 0) {
        ssize_t n = pread(fd, p, len, (off_t)off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (n == 0)
            return -EIO;
        p += n;
        len -= (size_t)n;
        off += (uint64_t)n;
    }
    return 0;
}

int pwrite_full(int fd, const void *buf, size_t len, uint64_t off)
{
    return out_full(fd, buf, len, off, OUT_PWRITE);
}

int fsync_dir_of(const char *path)
{
    char copy[PATH_MAX];
    int fd, ret = 0;
    if (snprintf(copy, sizeof(copy), "%s", path) >= (int)sizeof(copy))
        return -ENAMETOOLONG;
    fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (fsync(fd) < 0)
        ret = -errno;
    close(fd);
    return ret;
}

int write_file_atomic(const char *path, const void *data, size_t len, unsigned mode)
{
    char tmp[PATH_MAX];
    int fd, ret;
    if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof(tmp))
        return -ENAMETOOLONG;
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, (mode_t)mode);
    if (fd < 0)
        return -errno;
    ret = write_full(fd, data, len);
    if (ret == 0 && fsync(fd) < 0)
        ret = -errno;
    if (close(fd) < 0 && ret == 0)
        ret = -errno;
    if (ret == 0 && rename(tmp, path) < 0)
        ret = -errno;
    if (ret < 0) {
        unlink(tmp);
        return ret;
    }
    return fsync_dir_of(path);
}

uint64_t time_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}
