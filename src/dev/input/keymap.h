/* SPDX-License-Identifier: MIT */
/*
 * One table from host keys to what the emulated keyboards send: X11 keysyms (what a VNC client
 * sends, RFB's KeyEvent) to PC scan codes of set 1 and set 2 (the IBM PC AT / PS/2 keyboard
 * sets; 0xE0xx is the code xx after an E0 prefix) and to Linux evdev key codes
 * (linux/input-event-codes.h, what virtio-input carries). The layout is a US one: a keysym that
 * needs Shift on a US keyboard ('A', '!', '"') names the same key as its unshifted keysym with
 * is_shifted set, which the `text` control op uses to press Shift around it. A VNC client sends
 * Shift itself, so the keyboards ignore is_shifted.
 *
 * Keys have short names as QEMU's sendkey knows them ("ctrl", "alt", "delete", "ret", "f1",
 * "kp_0"...), used by the send-key control op.
 */
#ifndef BAREIRON_DEV_INPUT_KEYMAP_H
#define BAREIRON_DEV_INPUT_KEYMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A few X11 keysyms the monitor uses by name (X11/keysymdef.h values). */
#define KEYSYM_RETURN 0xff0du
#define KEYSYM_TAB 0xff09u
#define KEYSYM_BACKSPACE 0xff08u
#define KEYSYM_SHIFT_L 0xffe1u

/* Scan-code prefix of the extended keys in both sets. */
#define KEYMAP_E0 0xe000u

struct keymap_entry {
    uint32_t keysym;
    const char *name; /* sendkey name; NULL for a keysym that only aliases another key */
    uint16_t set1;    /* make code; break is make | 0x80 (after the E0 prefix) */
    uint16_t set2;    /* make code; break is F0 then the code (after the E0 prefix) */
    uint16_t evdev;   /* KEY_* */
    bool is_shifted;  /* typed with Shift on a US layout */
};

/* The entry of (keysym), or NULL for a key the keyboards do not have. Upper-case letters and
 * shifted symbols find their key with is_shifted set. */
const struct keymap_entry *keymap_find_keysym(uint32_t keysym);
/* The entry named (name) (case-insensitive, e.g. "ctrl", "Delete", "a"), or NULL. */
const struct keymap_entry *keymap_find_name(const char *name);
/* The keysym typing ASCII character (c) ('\n' is Return, '\t' Tab, '\b' BackSpace), or 0 for
 * a character the US layout cannot type. */
uint32_t keymap_keysym_of_char(char c);
/* Entry (i) of the table, i < keymap_count() (to list every evdev code, for instance). */
const struct keymap_entry *keymap_at(size_t i);
size_t keymap_count(void);

/*
 * The bytes a key sends in scan-code set 1 or 2 (set 3 keyboards are not emulated: 2 is used)
 * into (out), which must hold KEYMAP_MAX_BYTES. Returns how many: 1 to 3.
 */
#define KEYMAP_MAX_BYTES 3
size_t keymap_scancode(const struct keymap_entry *e, unsigned set, bool is_down, uint8_t *out);

#endif
