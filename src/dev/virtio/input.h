/* SPDX-License-Identifier: MIT */
/*
 * virtio-input (virtio 1.2 §5.8): a keyboard or an absolute pointer (a tablet) as evdev
 * events. eventq (queue 0) carries host input to the guest, one struct virtio_input_event per
 * device-writable buffer; statusq (queue 1) carries the guest's events back (the keyboard
 * LEDs), which are logged and dropped.
 *
 * Configuration (§5.8.4): the driver writes select and subsel, then reads size and the union:
 *
 *   0x00 select u8  0x01 subsel u8  0x02 size u8  0x03 reserved[5]  0x08 u[128]
 *   ID_NAME 0x01: the name  ID_SERIAL 0x02: a serial  ID_DEVIDS 0x03: bus, vendor, product,
 *   version (u16 each)  PROP_BITS 0x10: input properties (none)  EV_BITS 0x11 (subsel: an
 *   event type): the bitmap of its codes  ABS_INFO 0x12 (subsel: an axis): min, max, fuzz,
 *   flat, res (u32 each)
 *
 * The keyboard has EV_KEY (every key of dev/input/keymap.h) and EV_LED (num, caps, scroll
 * lock); the tablet EV_KEY (left, right, middle button), EV_ABS (ABS_X and ABS_Y, 0..32767)
 * and EV_REL (REL_WHEEL).
 *
 * Host events wait in a bounded queue (VIRTIO_INPUT_PENDING events) until the guest posts
 * buffers; a batch that does not fit is dropped whole, so a flood never grows memory. A buffer
 * smaller than one event, or a status buffer shorter than one, is a broken driver: the device
 * goes to NEEDS_RESET.
 */
#ifndef BAREIRON_DEV_VIRTIO_INPUT_H
#define BAREIRON_DEV_VIRTIO_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/compiler.h"
#include "dev/virtio/virtio.h"

struct gmem;

#define VIRTIO_INPUT_EVENTQ 0
#define VIRTIO_INPUT_STATUSQ 1
#define VIRTIO_INPUT_PENDING 256u
#define VIRTIO_INPUT_ABS_MAX 32767u

/* Configuration selectors (§5.8.4). */
#define VIRTIO_INPUT_CFG_UNSET 0x00
#define VIRTIO_INPUT_CFG_ID_NAME 0x01
#define VIRTIO_INPUT_CFG_ID_SERIAL 0x02
#define VIRTIO_INPUT_CFG_ID_DEVIDS 0x03
#define VIRTIO_INPUT_CFG_PROP_BITS 0x10
#define VIRTIO_INPUT_CFG_EV_BITS 0x11
#define VIRTIO_INPUT_CFG_ABS_INFO 0x12

/* The evdev values used (linux/input-event-codes.h). */
#define EVDEV_SYN 0x00
#define EVDEV_KEY 0x01
#define EVDEV_REL 0x02
#define EVDEV_ABS 0x03
#define EVDEV_LED 0x11
#define EVDEV_SYN_REPORT 0
#define EVDEV_REL_WHEEL 0x08
#define EVDEV_ABS_X 0x00
#define EVDEV_ABS_Y 0x01
#define EVDEV_BTN_LEFT 0x110
#define EVDEV_BTN_RIGHT 0x111
#define EVDEV_BTN_MIDDLE 0x112

enum virtio_input_kind {
    VIRTIO_INPUT_KEYBOARD,
    VIRTIO_INPUT_TABLET,
};

/* One event as the guest sees it (little endian in guest memory). */
struct virtio_input_event {
    uint16_t type;
    uint16_t code;
    uint32_t value;
};
_Static_assert(sizeof(struct virtio_input_event) == 8, "virtio_input_event is 8 bytes");

struct virtio_input_config {
    uint8_t select;
    uint8_t subsel;
    uint8_t size;
    uint8_t reserved[5];
    uint8_t u[128];
};
_Static_assert(sizeof(struct virtio_input_config) == 136, "virtio_input_config is 136 bytes");

struct virtio_input {
    struct virtio_dev vd; /* first: container_of */
    enum virtio_input_kind kind;
    struct virtio_input_config cfg; /* select/subsel as written, the rest derived from them */
    struct virtio_input_event pending[VIRTIO_INPUT_PENDING];
    unsigned head, count; /* of pending[] */
    uint32_t leds;        /* last EV_LED values from the statusq, one bit per LED */
};

/* Creates a device of (kind) over guest memory (gm). Returns 0 and (*out), or -ENOMEM. */
MUST_CHECK int virtio_input_create(const struct gmem *gm, enum virtio_input_kind kind,
                                   struct virtio_input **out);
/* Frees (vi). NULL allowed. */
void virtio_input_destroy(struct virtio_input *vi);
/* True when the guest's driver has the device running (DRIVER_OK, eventq live). Thread-safe. */
bool virtio_input_is_ready(struct virtio_input *vi);
/*
 * Sends (n) events (host byte order; the caller ends the batch with SYN_REPORT) to the guest.
 * The whole batch or nothing: returns false (dropped) when the device is not ready or fewer
 * than (n) pending slots are free. Thread-safe (takes the device lock).
 */
bool virtio_input_send(struct virtio_input *vi, const struct virtio_input_event *ev, size_t n);

struct sf_buf;
struct sf_in;
/* Saved state of the device (after virtio_pci_save's): select, subsel and the pending
 * events. Load returns 0 or -EINVAL. */
void virtio_input_save(struct virtio_input *vi, struct sf_buf *b);
MUST_CHECK int virtio_input_load(struct virtio_input *vi, struct sf_in *in);

#endif
