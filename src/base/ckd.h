/* SPDX-License-Identifier: MIT */
/*
 * Checked arithmetic for values a guest or a file controls (C23 <stdckdint.h> style, over
 * the GCC/Clang __builtin_*_overflow builtins). Each returns true when the result overflowed,
 * so a typical use is: if (ckd_add(&end, gpa, len) || end > limit) return -EINVAL;
 */
#ifndef BAREIRON_BASE_CKD_H
#define BAREIRON_BASE_CKD_H

#include <stdbool.h>
#include <stdint.h>

#define ckd_add(r, a, b) __builtin_add_overflow((a), (b), (r))
#define ckd_sub(r, a, b) __builtin_sub_overflow((a), (b), (r))
#define ckd_mul(r, a, b) __builtin_mul_overflow((a), (b), (r))

/* True when [off, off+len) does not fit inside [0, size). len 0 always fits when off <= size. */
static inline bool range_outside(uint64_t off, uint64_t len, uint64_t size)
{
    uint64_t end;
    return ckd_add(&end, off, len) || end > size;
}

#endif
