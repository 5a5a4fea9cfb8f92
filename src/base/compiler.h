/* SPDX-License-Identifier: MIT */
/*
 * Compiler helpers shared by every module: MUST_CHECK, PRINTF_FMT, ARRAY_SIZE, PANIC and
 * container_of. PANIC is the only way below main() to end the process, and only for monitor
 * bugs, never for guest or user input.
 */
#ifndef BAREIRON_BASE_COMPILER_H
#define BAREIRON_BASE_COMPILER_H

#include <stddef.h>

#define MUST_CHECK __attribute__((warn_unused_result))
#define PRINTF_FMT(a, b) __attribute__((format(printf, a, b)))
#define NORETURN __attribute__((noreturn))
#define UNUSED __attribute__((unused))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define container_of(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define ALIGN_UP(x, a) (((x) + ((a)-1)) & ~((__typeof__(x))(a)-1))
#define ALIGN_DOWN(x, a) ((x) & ~((__typeof__(x))(a)-1))
#define IS_POW2(x) ((x) != 0 && ((x) & ((x)-1)) == 0)

/*
 * Prints "PANIC file:line: message" to stderr and aborts. For monitor bugs only.
 */
NORETURN PRINTF_FMT(3, 4) void panic_at(const char *file, int line, const char *fmt, ...);
#define PANIC(...) panic_at(__FILE__, __LINE__, __VA_ARGS__)

#endif
