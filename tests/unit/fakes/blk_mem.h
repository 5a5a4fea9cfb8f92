/* SPDX-License-Identifier: MIT */
/*
 * An in-memory implementation of block/blk.h for unit tests (link it instead of the block
 * library). A disk is a calloc'ed buffer; blk_submit() records the request and completes
 * nothing until the test calls blk_mem_complete() (so completions never run inside
 * blk_submit, as the real backends promise). The test can make the next submits fail.
 */
#ifndef BAREIRON_TESTS_BLK_MEM_H
#define BAREIRON_TESTS_BLK_MEM_H

#include <stdbool.h>
#include <stdint.h>

#include "block/blk.h"

/* Creates a disk of (size_bytes), read-only if (is_readonly). Aborts on allocation failure. */
struct blk *blk_mem_create(uint64_t size_bytes, bool is_readonly);
/* The disk's bytes (size_bytes long). */
uint8_t *blk_mem_data(struct blk *b);
/* Completes up to (max) queued requests in submission order (performing their I/O). Returns
 * how many completed. */
unsigned blk_mem_complete(struct blk *b, unsigned max);
/* Requests submitted and not yet completed. */
unsigned blk_mem_pending(const struct blk *b);
/* The next blk_submit calls return (err) (0: accept again). */
void blk_mem_set_submit_error(struct blk *b, int err);
/* Unplugs (blk_unplug) that released at least one request submitted while plugged. */
unsigned blk_mem_batches(const struct blk *b);
/* True between blk_plug and blk_unplug. */
bool blk_mem_is_plugged(const struct blk *b);
/* Number of requests of (op) completed so far. */
unsigned blk_mem_count(const struct blk *b, enum blk_op op);

#endif
