/* SPDX-License-Identifier: MIT */
/*
 * The PS/2 keyboard controller (Intel 8042 as found in PCs; command set per the IBM PS/2
 * Technical Reference and Linux drivers/input/serio/i8042.c): status and data ports, the
 * command byte, controller self-test (0xAA -> 0x55), interface tests, enable/disable of the
 * keyboard and aux ports, the output-port pulse 0xFE that resets the machine, and enough of
 * the keyboard (i8042_kbd.c: reset 0xFF -> FA AA, identify, echo, LEDs, scan-code sets 1-3,
 * typematic, enable/disable) and the mouse (i8042_mouse.c: reset, identify, status, stream mode,
 * sample rate, resolution, scaling, the IntelliMouse wheel) for guests to drive them, and host
 * input turned into scan codes and mouse packets (i8042_kbd_key, i8042_aux_motion). IRQ1 and
 * IRQ12 are level lines raised while the output buffer holds a byte of that device and its
 * interrupt is enabled in the command byte. Every queue holds I8042_QUEUE_SIZE bytes: input
 * that does not fit is dropped.
 *
 * Threading: one mutex per device (port handlers on vCPU threads, input queueing from the VNC
 * or event-loop thread).
 */
#ifndef BAREIRON_DEV_LEGACY_I8042_H
#define BAREIRON_DEV_LEGACY_I8042_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/compiler.h"
#include "dev/bus.h"
#include "core/platform.h"

#define I8042_QUEUE_SIZE 64

struct i8042;

/* A byte queue (ring buffer) of the controller, the keyboard or the mouse. */
struct i8042_queue {
    uint8_t buf[I8042_QUEUE_SIZE];
    uint8_t head, count;
};

/* The whole device state, for snapshots and tests. */
struct i8042_state {
    uint8_t ctr;         /* command byte */
    uint8_t status_cmd;  /* status bit 3: last write went to the command port */
    uint8_t pending_cmd; /* controller command waiting for its data byte (0: none) */
    uint8_t obuf;
    bool obuf_full, obuf_aux;
    struct i8042_queue ctrl_q, kbd_q, aux_q;
    bool ctrl_q_aux[I8042_QUEUE_SIZE]; /* source tag of each ctrl_q slot */
    uint8_t kbd_expect;                /* keyboard command waiting for its parameter */
    bool kbd_scanning;
    uint8_t kbd_set, kbd_leds;
    uint8_t kbd_typematic; /* the F3 command's rate/delay byte */
    uint8_t aux_expect;    /* mouse command waiting for its parameter */
    bool aux_reporting;
    uint8_t aux_rate, aux_res, aux_scaling;
    uint8_t aux_id;       /* 0: standard PS/2 mouse, 3: IntelliMouse (4-byte packets) */
    uint8_t aux_rates[3]; /* the last three sample rates set, oldest first */
};

/* Creates a controller whose interrupts go to GSI_I8042_KBD/GSI_I8042_AUX and whose reset
 * pulse calls (plat)->request_reset. (plat) is copied. Returns 0 or -ENOMEM. */
MUST_CHECK int i8042_create(const struct platform *plat, struct i8042 **out);
/* Frees (k); NULL is a no-op. */
void i8042_destroy(struct i8042 *k);
/* Registers the data port (PORT_I8042_DATA) and the status/command port (PORT_I8042_CMD),
 * one byte each, on (pio). Returns 0 or bus_register's error. */
MUST_CHECK int i8042_attach(struct i8042 *k, struct bus *pio);
/* Handlers of the two 1-byte ranges (offset is always 0). */
extern const struct io_ops i8042_data_io_ops;
extern const struct io_ops i8042_cmd_io_ops;

struct keymap_entry;
/*
 * Host input: key (e) (dev/input/keymap.h) pressed or released. The keyboard sends its make or
 * break code in the scan-code set the guest chose, as set 1 when the controller translates
 * (command byte bit 6). The whole code or nothing: returns false (dropped) while scanning is
 * disabled or when the keyboard's queue has no room for it. Thread-safe.
 */
bool i8042_kbd_key(struct i8042 *k, const struct keymap_entry *e, bool is_down);
/*
 * Host input: the pointer moved by (dx, dy) (screen directions: right, down), the wheel by (dz)
 * notches (positive: towards the user; only an IntelliMouse reports it) with (buttons) held
 * (bit 0 left, 1 right, 2 middle). Queued as one packet or several for a long move, as many as
 * the mouse's queue holds. Returns false (dropped) while the guest has reporting off or the
 * queue is full. Thread-safe.
 */
bool i8042_aux_motion(struct i8042 *k, int32_t dx, int32_t dy, int32_t dz, uint8_t buttons);

/* Queues (len) keyboard scan-code bytes (set 2 as the guest sees them after translation is
 * decided by the command byte: bareiron queues exactly what the guest should read). Returns
 * how many were queued (the queue holds 64 bytes). Thread-safe. */
size_t i8042_queue_kbd(struct i8042 *k, const uint8_t *buf, size_t len);
/* Queues (len) mouse packet bytes (only while the guest enabled mouse streaming). Returns how
 * many were queued. Thread-safe. */
size_t i8042_queue_aux(struct i8042 *k, const uint8_t *buf, size_t len);

/* Copies the state out / in (snapshots). i8042_load validates it and re-evaluates IRQ1/IRQ12;
 * returns 0 or -EINVAL. Thread-safe. */
void i8042_save(struct i8042 *k, struct i8042_state *st);
MUST_CHECK int i8042_load(struct i8042 *k, const struct i8042_state *st);

#endif
