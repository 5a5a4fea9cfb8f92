/* SPDX-License-Identifier: MIT */
/*
 * A CFI parallel flash bank with the Intel/Sharp command set (CFI primary command set 0x0001),
 * as QEMU's pflash_cfi01 with an 8-bit device that OVMF drives on the i440FX: the state machine
 * only, over an array the caller owns. Commands (written at any offset inside the bank):
 *   0xff read array, 0x70 read status, 0x50 clear status, 0x90 read identifier,
 *   0x98 CFI query, 0x10/0x40 then one data write (program), 0x20 then 0xd0 (block erase).
 * A program stores the value written (size 1, 2, 4 or 8, little endian), an erase fills the
 * block of the 0x20 write with 0xff; both leave the bank in read status mode with the ready bit
 * (0x80). Any other command, or a second write of an erase other than 0xd0, sets the
 * command-sequence error bits (0x30) and returns the bank to read array mode. Every offset and
 * size comes from the guest and is checked; the device never reads or writes outside the array.
 *
 * In read array mode the caller maps the array for the guest to read directly; in every other
 * mode reads must come through pflash_read (hooks.set_array_mode tells which). Changes reach
 * the caller through hooks.persist (the bytes changed) and hooks.sync (when the bank returns to
 * read array mode after a change). Not thread-safe: the caller serialises calls.
 */
#ifndef BAREIRON_DEV_LEGACY_PFLASH_H
#define BAREIRON_DEV_LEGACY_PFLASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PFLASH_MANUFACTURER 0x89 /* Intel */
#define PFLASH_DEVICE 0x18
#define PFLASH_STATUS_READY 0x80
#define PFLASH_STATUS_SEQ_ERROR 0x30
#define PFLASH_CFI_LEN 0x40

enum pflash_mode {
    PFLASH_READ_ARRAY,
    PFLASH_READ_STATUS,
    PFLASH_READ_ID,
    PFLASH_CFI_QUERY,
    PFLASH_PROGRAM,     /* the next write is the data */
    PFLASH_ERASE_SETUP, /* the next write must be 0xd0 */
};

struct pflash_hooks {
    /* bytes [off, off + len) of the array changed */
    void (*persist)(void *opaque, uint64_t off, size_t len);
    /* the bank returned to read array mode after a change */
    void (*sync)(void *opaque);
    /* reads go straight to the array (true) or through pflash_read (false) */
    void (*set_array_mode)(void *opaque, bool is_array);
};

struct pflash {
    uint8_t *array;
    uint64_t size;
    uint32_t block_size;
    enum pflash_mode mode;
    uint8_t status;
    uint64_t erase_off; /* the block of the pending erase */
    bool is_dirty;      /* changed since the last sync */
    uint8_t cfi[PFLASH_CFI_LEN];
    struct pflash_hooks hooks; /* any may be NULL */
    void *opaque;
};

/* Sets (f) up over (array, size) with erase blocks of (block_size) (a power of two dividing
 * size), in read array mode with the ready bit set. Returns 0 or -EINVAL. */
int pflash_init(struct pflash *f, uint8_t *array, uint64_t size, uint32_t block_size,
                const struct pflash_hooks *hooks, void *opaque);
/* A guest read of (size) bytes at (off) inside the bank; out of range reads give all-ones. */
uint64_t pflash_read(struct pflash *f, uint64_t off, unsigned size);
/* A guest write of (size) bytes at (off) inside the bank; out of range writes are dropped. */
void pflash_write(struct pflash *f, uint64_t off, uint64_t val, unsigned size);
/* Machine reset: read array mode, status ready. */
void pflash_reset(struct pflash *f);

struct sf_buf;
struct sf_in;
/*
 * Saved state (docs/vmm.md "Saved state"): size and block size, mode, status, the pending
 * erase's offset, the dirty bit and the whole array. Load takes a bank of the same size and
 * block size in read array mode (the state of pflash_init) and returns -EINVAL, with nothing
 * changed, for another geometry, an unknown mode, an erase offset outside the bank or a flag
 * that is not 0 or 1. Otherwise each erase block that differs is copied in and given to
 * hooks.persist (then hooks.sync once), and a mode other than read array is entered through
 * hooks.set_array_mode; returns 0.
 */
void pflash_save(const struct pflash *f, struct sf_buf *b);
int pflash_load(struct pflash *f, struct sf_in *in);

#endif
