/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the CFI flash state machine (dev/legacy/pflash.c): the input is a
 * program of accesses, 8 bytes each: op u8 (bit 0 write, bits 1-2 the size 1/2/4/8) | offset
 * u24 (up to past the end of the bank) | value u32. The array sits between guard bytes that must
 * stay untouched; every reported change must lie inside the array, and the mode the hooks
 * report must match the device's.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dev/legacy/pflash.h"

#define SIZE 0x84000u
#define BLOCK 0x1000u
#define GUARD 64u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t buf[GUARD + SIZE + GUARD];
static bool is_array;

static void on_persist(void *opaque, uint64_t off, size_t len)
{
    (void)opaque;
    if (off >= SIZE || len > SIZE - off)
        abort();
}

static void on_mode(void *opaque, bool arr)
{
    (void)opaque;
    if (arr == is_array)
        abort(); /* only changes are reported */
    is_array = arr;
}

static const struct pflash_hooks hooks = {.persist = on_persist, .set_array_mode = on_mode};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const unsigned sizes[] = {1, 2, 4, 8};
    struct pflash f;
    memset(buf, 0xa5, sizeof(buf));
    is_array = true;
    if (pflash_init(&f, buf + GUARD, SIZE, BLOCK, &hooks, NULL) != 0)
        abort();
    for (size_t i = 0; i + 8 <= size; i += 8) {
        const uint8_t *p = data + i;
        uint64_t off = (uint64_t)p[1] | (uint64_t)p[2] << 8 | (uint64_t)p[3] << 16;
        uint64_t val =
            (uint64_t)p[4] | (uint64_t)p[5] << 8 | (uint64_t)p[6] << 16 | (uint64_t)p[7] << 24;
        unsigned sz = sizes[(p[0] >> 1) & 3];
        if (p[0] & 0x80)
            off = SIZE - 8 + (off & 15); /* around the end */
        if (p[0] & 1)
            pflash_write(&f, off, val, sz);
        else
            (void)pflash_read(&f, off, sz);
        if (is_array != (f.mode == PFLASH_READ_ARRAY))
            abort();
    }
    for (unsigned g = 0; g < GUARD; g++)
        if (buf[g] != 0xa5 || buf[GUARD + SIZE + g] != 0xa5)
            abort();
    return 0;
}
