/* SPDX-License-Identifier: MIT */
/*
 * The PS/2 keyboard behind the i8042 (IBM PS/2 Technical Reference, "Keyboard and Auxiliary
 * Device Controller" and the MF2 keyboard's command set; what Linux's atkbd.c and SeaBIOS's
 * ps2port.c send): reset (FF -> FA AA), identify (F2 -> FA AB 41/83), echo, LEDs (ED),
 * typematic rate (F3), scan-code set (F0: get, or select 1..3), enable/disable scanning
 * (F4/F5), defaults (F6), and host key presses turned into scan codes.
 *
 * Scan codes: the keyboard sends the set the guest selected (set 3 keyboards are not
 * emulated; a keyboard told to use set 3 keeps sending set 2). When the controller translates
 * (command byte bit 6, the PC default), what reaches the guest of a set-2 keyboard is set 1,
 * which is what the keymap's set-1 code is; a set-1 keyboard behind translation is sent set 1
 * as well (real hardware would garble it; no OS does this).
 */
#include "dev/input/keymap.h"
#include "dev/legacy/i8042.h"
#include "dev/legacy/i8042_internal.h"

#define LOG_TAG "i8042"
#include "base/log.h"

static void reply(struct i8042 *k, uint8_t b)
{
    i8042_q_push(&k->st.kbd_q, b);
}

void i8042_kbd_reset(struct i8042 *k)
{
    k->st.kbd_q.count = 0;
    k->st.kbd_expect = 0;
    k->st.kbd_scanning = true;
    k->st.kbd_set = 2;
    k->st.kbd_leds = 0;
    k->st.kbd_typematic = 0x2b; /* 10.9 characters/s after 500 ms */
}

/* A parameter byte for a keyboard command (LEDs, typematic, scan-code set). */
static void kbd_param(struct i8042 *k, uint8_t cmd, uint8_t val)
{
    k->st.kbd_expect = 0;
    if (cmd == 0xf0 && val > 3) {
        reply(k, I8042_NAK);
        return;
    }
    reply(k, I8042_ACK);
    if (cmd == 0xed) {
        k->st.kbd_leds = val & 7;
        log_debug("keyboard LEDs: scroll %d num %d caps %d", val & 1, (val >> 1) & 1,
                  (val >> 2) & 1);
    } else if (cmd == 0xf3) {
        k->st.kbd_typematic = val & 0x7f;
    } else if (cmd == 0xf0 && val == 0) {
        reply(k, (k->st.ctr & I8042_CTR_XLATE) ? (uint8_t)(k->st.kbd_set == 1 ? 0x43 : 0x41)
                                               : k->st.kbd_set);
    } else if (cmd == 0xf0) {
        k->st.kbd_set = val;
    }
}

void i8042_kbd_write(struct i8042 *k, uint8_t val)
{
    if (k->st.kbd_expect && val < 0xed) {
        kbd_param(k, k->st.kbd_expect, val);
        return;
    }
    k->st.kbd_expect = 0;
    switch (val) {
    case 0xed: /* set LEDs */
    case 0xf0: /* get/set scan-code set */
    case 0xf3: /* typematic rate */
        k->st.kbd_expect = val;
        reply(k, I8042_ACK);
        break;
    case 0xee: /* echo */
        reply(k, 0xee);
        break;
    case 0xf2: /* identify: MF2 keyboard, translated or not */
        reply(k, I8042_ACK);
        reply(k, 0xab);
        reply(k, (k->st.ctr & I8042_CTR_XLATE) ? 0x41 : 0x83);
        break;
    case 0xf4:
        k->st.kbd_scanning = true;
        reply(k, I8042_ACK);
        break;
    case 0xf5: /* disable: defaults, not scanning */
    case 0xf6: /* defaults, scanning */
        k->st.kbd_scanning = val == 0xf6;
        k->st.kbd_typematic = 0x2b;
        reply(k, I8042_ACK);
        break;
    case 0xff:
        i8042_kbd_reset(k);
        reply(k, I8042_ACK);
        reply(k, 0xaa);
        break;
    default:
        if (val >= 0xf7 && val <= 0xfd) {
            reply(k, I8042_ACK); /* set-3 key types: accepted, ignored */
            break;
        }
        log_ratelimited(LOG_DEBUG, "unknown keyboard command 0x%02x", val);
        reply(k, I8042_NAK);
    }
}

bool i8042_kbd_key(struct i8042 *k, const struct keymap_entry *e, bool is_down)
{
    uint8_t bytes[KEYMAP_MAX_BYTES];
    size_t n;
    bool is_sent = false, is_scanning;
    pthread_mutex_lock(&k->lock);
    is_scanning = k->st.kbd_scanning;
    n = keymap_scancode(e, (k->st.ctr & I8042_CTR_XLATE) || k->st.kbd_set == 1 ? 1 : 2, is_down,
                        bytes);
    /* the whole code or nothing: half a code would make the guest see another key */
    if (is_scanning && i8042_q_room(&k->st.kbd_q) >= n) {
        for (size_t i = 0; i < n; i++)
            i8042_q_push(&k->st.kbd_q, bytes[i]);
        is_sent = true;
        i8042_sync(k);
    }
    pthread_mutex_unlock(&k->lock);
    if (!is_sent)
        log_ratelimited(LOG_DEBUG, "keyboard input dropped (%s)",
                        is_scanning ? "buffer full" : "scanning disabled");
    return is_sent;
}
