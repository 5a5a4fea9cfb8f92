/* SPDX-License-Identifier: MIT */
/*
 * Scatter-gather lists (struct iovec arrays, readv(2)): the one place that walks them. An
 * iov_iter is a cursor over a list that moves forward only: it hands out contiguous pieces,
 * copies to and from flat buffers, and slices the next bytes into another iovec array, each in
 * time proportional to the pieces touched (a 1024-segment chain is walked once, not once per
 * operation). The skip-based helpers below it serve callers that address a list by byte
 * offset (the block formats).
 *
 * An iterator never owns the array or the memory it points at. Threading: none; the caller
 * serialises.
 */
#ifndef BAREIRON_BASE_IOV_H
#define BAREIRON_BASE_IOV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "base/compiler.h"

struct iov_iter {
    const struct iovec *iov;
    unsigned cnt;
    unsigned idx;  /* current entry */
    size_t off;    /* bytes of iov[idx] already consumed */
    uint64_t left; /* bytes still available through this iterator */
    uint64_t done; /* bytes consumed so far */
};

/* Total length of (iov)[0..cnt). */
uint64_t iov_size(const struct iovec *iov, unsigned cnt);

/* Starts (it) at byte 0 of (iov)[0..cnt), covering all of it. */
void iov_iter_init(struct iov_iter *it, const struct iovec *iov, unsigned cnt);
/* Bytes still available through (it). */
static inline uint64_t iov_iter_left(const struct iov_iter *it)
{
    return it->left;
}
/* Entries of the list at or after the cursor: enough for any iov_iter_slice of (it). */
static inline unsigned iov_iter_entries(const struct iov_iter *it)
{
    return it->cnt - it->idx;
}
/* Stops (it) (n) bytes before its current end, or at once when fewer are left. */
void iov_iter_truncate(struct iov_iter *it, uint64_t n);
/*
 * Sets (piece) to the next contiguous bytes at the cursor, at most (max) of them, without
 * moving it. Returns false (and an empty piece) when nothing is left or (max) is 0.
 */
bool iov_iter_peek(const struct iov_iter *it, uint64_t max, struct iovec *piece);
/* Moves the cursor (n) bytes forward (at most what is left). Returns the bytes skipped. */
uint64_t iov_iter_advance(struct iov_iter *it, uint64_t n);
/* Copies min(len, left) bytes at the cursor into (buf) and advances. Returns the bytes copied. */
size_t iov_iter_to_buf(struct iov_iter *it, void *buf, size_t len);
/* Copies min(len, left) bytes of (buf) to the cursor and advances. Returns the bytes copied. */
size_t iov_iter_from_buf(struct iov_iter *it, const void *buf, size_t len);
/*
 * Describes the next (len) bytes at the cursor in (dst)[0..max) and advances past them.
 * Returns the number of entries, or -EINVAL (cursor unchanged) when fewer than (len) bytes are
 * left or they need more than (max) entries.
 */
MUST_CHECK int iov_iter_slice(struct iov_iter *it, uint64_t len, struct iovec *dst, unsigned max);

/*
 * Byte-offset helpers over (iov)[0..cnt): (skip) bytes are skipped at the start, and each
 * stops at the end of the list. iov_slice fills (dst, at most max entries) with the
 * [skip, skip+len) slice and returns the count.
 */
int iov_slice(struct iovec *dst, int max, const struct iovec *iov, int cnt, uint64_t skip,
              uint64_t len);
void iov_memset(const struct iovec *iov, int cnt, uint64_t skip, int c, uint64_t len);
void iov_from_buf(const struct iovec *iov, int cnt, uint64_t skip, const void *buf, uint64_t len);
void iov_to_buf(const struct iovec *iov, int cnt, uint64_t skip, void *buf, uint64_t len);

#endif
