/* SPDX-License-Identifier: MIT */
/*
 * The ISA DMA controllers of a PC (Intel 8237A datasheet; IBM PC/AT Technical Reference, "DMA
 * Controller"): controller 1 serves the 8-bit channels 0-3 at ports 0x00-0x0f, controller 2
 * the 16-bit channels 4-7 at 0xc0-0xdf (registers on even ports), channel 4 cascading
 * controller 1. The page registers at 0x80-0x8f give address bits 16-23 (0x87, 0x83, 0x81,
 * 0x82 for channels 0-3; 0x8b, 0x89, 0x8a for 5-7; the other ports are plain scratch bytes,
 * 0x80 the POST code port among them).
 *
 * Each controller has its byte-pointer flip-flop, command, status (terminal count and request
 * bits, the TC bits cleared when read), request, mask and temporary registers; each channel its
 * base/current address and count and its mode (transfer type, auto-initialise, decrement).
 *
 * A device moves data with i8237_transfer(): bytes flow between the device's buffer and guest
 * RAM at the channel's current address, never more than the channel's count allows, an 8-bit
 * channel wrapping inside its 64 KiB page and a 16-bit channel inside its 128 KiB page as the
 * hardware does; what falls outside guest RAM is dropped (reads from it give 0xff). At terminal
 * count the channel reloads its base registers when auto-initialising, else it is masked.
 *
 * Threading: one mutex; i8237_transfer may be called from any thread (the floppy controller
 * calls it with its own lock held: the DMA controller never calls a device).
 */
#ifndef BAREIRON_DEV_LEGACY_I8237_H
#define BAREIRON_DEV_LEGACY_I8237_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/compiler.h"
#include "base/statefile.h"
#include "dev/bus.h"

struct gmem;
struct i8237;

#define I8237_NR_CHANNELS 8

/* Mode register fields (bits 2-3: transfer type). */
#define I8237_MODE_VERIFY 0x00
#define I8237_MODE_WRITE 0x04 /* device to memory */
#define I8237_MODE_READ 0x08  /* memory to device */
#define I8237_MODE_TYPE_MASK 0x0c
#define I8237_MODE_AUTOINIT 0x10
#define I8237_MODE_DECREMENT 0x20

/* Creates both controllers, every channel masked, transfers into (gm) (not owned). Returns 0
 * or -ENOMEM. */
MUST_CHECK int i8237_create(struct gmem *gm, struct i8237 **out);
/* Frees (d); NULL is a no-op. */
void i8237_destroy(struct i8237 *d);
/* Registers 0x00-0x0f, 0x80-0x8f and 0xc0-0xdf on (pio). Returns 0 or bus_register's error. */
MUST_CHECK int i8237_attach(struct i8237 *d, struct bus *pio);
extern const struct io_ops i8237_io_ops_ctl1, i8237_io_ops_ctl2, i8237_io_ops_page;

/* Whether channel (ch) is unmasked, i.e. the guest has armed it for a transfer. */
bool i8237_is_armed(struct i8237 *d, unsigned ch);
/* Bytes channel (ch) can still move before terminal count (count + 1 units). */
uint32_t i8237_remaining(struct i8237 *d, unsigned ch);
/* The channel's mode byte (I8237_MODE_*). */
uint8_t i8237_mode(struct i8237 *d, unsigned ch);

/*
 * Moves up to (len) bytes between (buf) and guest RAM on channel (ch): (is_to_mem) for a
 * device-to-memory transfer. Stops at terminal count (then (*tc) is set, the TC status bit too)
 * or when (len) is done. A masked channel moves nothing. A verify-mode channel advances without
 * touching memory; on a direction that does not match the channel's mode the transfer still
 * advances, as the hardware only follows the mode: a read-mode channel given (is_to_mem) reads
 * memory into nothing, and a write-mode channel given !(is_to_mem) fills (buf) with 0xff.
 * Returns the bytes moved (a multiple of 2 on a 16-bit channel, the last odd byte counted).
 */
size_t i8237_transfer(struct i8237 *d, unsigned ch, void *buf, size_t len, bool is_to_mem,
                      bool *tc);

/* Saved state: both controllers and the page registers. Load returns 0 or -EINVAL. */
void i8237_save(struct i8237 *d, struct sf_buf *b);
MUST_CHECK int i8237_load(struct i8237 *d, struct sf_in *in);

#endif
