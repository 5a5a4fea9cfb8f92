/* SPDX-License-Identifier: MIT */
/*
 * Scatter-gather list cursor and byte-offset helpers (see iov.h). Zero-length entries are
 * stepped over; nothing here reads past (cnt) entries or past an entry's iov_len.
 */
#include "base/iov.h"

#include <errno.h>
#include <string.h>

uint64_t iov_size(const struct iovec *iov, unsigned cnt)
{
    uint64_t n = 0;
    for (unsigned i = 0; i < cnt; i++)
        n += iov[i].iov_len;
    return n;
}

void iov_iter_init(struct iov_iter *it, const struct iovec *iov, unsigned cnt)
{
    *it = (struct iov_iter){.iov = iov, .cnt = cnt, .left = iov_size(iov, cnt)};
}

void iov_iter_truncate(struct iov_iter *it, uint64_t n)
{
    it->left -= MIN(n, it->left);
}

bool iov_iter_peek(const struct iov_iter *it, uint64_t max, struct iovec *piece)
{
    unsigned i = it->idx;
    size_t off = it->off;

    max = MIN(max, it->left);
    /* left > 0 guarantees a non-empty entry at or after idx */
    while (max > 0 && i < it->cnt && off >= it->iov[i].iov_len) {
        i++;
        off = 0;
    }
    if (max == 0 || i >= it->cnt) {
        *piece = (struct iovec){NULL, 0};
        return false;
    }
    piece->iov_base = (char *)it->iov[i].iov_base + off;
    piece->iov_len = (size_t)MIN(max, it->iov[i].iov_len - off);
    return true;
}

uint64_t iov_iter_advance(struct iov_iter *it, uint64_t n)
{
    uint64_t moved = 0;

    n = MIN(n, it->left);
    while (moved < n && it->idx < it->cnt) {
        size_t take = (size_t)MIN(n - moved, it->iov[it->idx].iov_len - it->off);
        it->off += take;
        moved += take;
        if (it->off == it->iov[it->idx].iov_len) {
            it->idx++;
            it->off = 0;
        }
    }
    it->left -= moved;
    it->done += moved;
    return moved;
}

size_t iov_iter_to_buf(struct iov_iter *it, void *buf, size_t len)
{
    struct iovec p;
    size_t done = 0;

    while (done < len && iov_iter_peek(it, len - done, &p)) {
        memcpy((char *)buf + done, p.iov_base, p.iov_len);
        done += (size_t)iov_iter_advance(it, p.iov_len);
    }
    return done;
}

size_t iov_iter_from_buf(struct iov_iter *it, const void *buf, size_t len)
{
    struct iovec p;
    size_t done = 0;

    while (done < len && iov_iter_peek(it, len - done, &p)) {
        memcpy(p.iov_base, (const char *)buf + done, p.iov_len);
        done += (size_t)iov_iter_advance(it, p.iov_len);
    }
    return done;
}

/* Slices up to (len) bytes into at most (max) entries; returns the count and the bytes taken. */
static unsigned slice_some(struct iov_iter *it, uint64_t len, struct iovec *dst, unsigned max,
                           uint64_t *taken)
{
    unsigned n = 0;

    *taken = 0;
    while (n < max && *taken < len && iov_iter_peek(it, len - *taken, &dst[n])) {
        *taken += iov_iter_advance(it, dst[n].iov_len);
        n++;
    }
    return n;
}

int iov_iter_slice(struct iov_iter *it, uint64_t len, struct iovec *dst, unsigned max)
{
    struct iov_iter saved = *it;
    uint64_t taken;
    unsigned n;

    if (len > it->left)
        return -EINVAL;
    n = slice_some(it, len, dst, max, &taken);
    if (taken < len) {
        *it = saved;
        return -EINVAL;
    }
    return (int)n;
}

/* An iterator over (iov)[0..cnt) whose cursor sits (skip) bytes in. */
static struct iov_iter iter_at(const struct iovec *iov, int cnt, uint64_t skip)
{
    struct iov_iter it;
    iov_iter_init(&it, iov, cnt > 0 ? (unsigned)cnt : 0);
    iov_iter_advance(&it, skip);
    return it;
}

int iov_slice(struct iovec *dst, int max, const struct iovec *iov, int cnt, uint64_t skip,
              uint64_t len)
{
    struct iov_iter it = iter_at(iov, cnt, skip);
    uint64_t taken;

    return (int)slice_some(&it, len, dst, max > 0 ? (unsigned)max : 0, &taken);
}

void iov_memset(const struct iovec *iov, int cnt, uint64_t skip, int c, uint64_t len)
{
    struct iov_iter it = iter_at(iov, cnt, skip);
    struct iovec p;

    while (len > 0 && iov_iter_peek(&it, len, &p)) {
        memset(p.iov_base, c, p.iov_len);
        len -= iov_iter_advance(&it, p.iov_len);
    }
}

void iov_from_buf(const struct iovec *iov, int cnt, uint64_t skip, const void *buf, uint64_t len)
{
    struct iov_iter it = iter_at(iov, cnt, skip);
    (void)iov_iter_from_buf(&it, buf, (size_t)len);
}

void iov_to_buf(const struct iovec *iov, int cnt, uint64_t skip, void *buf, uint64_t len)
{
    struct iov_iter it = iter_at(iov, cnt, skip);
    (void)iov_iter_to_buf(&it, buf, (size_t)len);
}
