/* SPDX-License-Identifier: MIT */
/*
 * The PS/2 mouse behind the i8042 (IBM PS/2 Technical Reference, "Pointing Device"; the
 * IntelliMouse extension as Linux's psmouse-base.c and Windows probe it): reset (FF -> FA AA
 * 00), identify (F2), status (E9), sample rate (F3), resolution (E8), scaling (E6/E7), stream
 * mode with reporting on/off (F4/F5), defaults (F6), read data (EB), and relative movement
 * packets for host pointer input.
 *
 * IntelliMouse: setting the sample rate to 200, 100 then 80 switches the mouse to ID 3, whose
 * packets have a fourth byte, the wheel movement (signed, positive is a notch towards the
 * user, as Linux's psmouse reads it). A reset goes back to ID 0.
 *
 * Packets: byte 0 is 1 0 0 0 1 M R L with the X and Y sign bits in bits 4 and 5 (9-bit
 * two's complement with bytes 1 and 2); PS/2 Y grows upwards. A move larger than 255 counts
 * is split in several packets; what does not fit in the mouse's queue is dropped.
 */
#include "dev/legacy/i8042.h"
#include "dev/legacy/i8042_internal.h"

#define LOG_TAG "i8042"
#include "base/log.h"

static void reply(struct i8042 *k, uint8_t b)
{
    i8042_q_push(&k->st.aux_q, b);
}

static void set_defaults(struct i8042 *k)
{
    k->st.aux_reporting = false;
    k->st.aux_rate = 100;
    k->st.aux_res = 2;
    k->st.aux_scaling = 0;
}

void i8042_aux_reset(struct i8042 *k)
{
    k->st.aux_q.count = 0;
    k->st.aux_expect = 0;
    set_defaults(k);
    k->st.aux_id = 0;
    for (unsigned i = 0; i < sizeof(k->st.aux_rates); i++)
        k->st.aux_rates[i] = 0;
}

/* A new sample rate: the last three decide the IntelliMouse mode. */
static void set_rate(struct i8042 *k, uint8_t rate)
{
    k->st.aux_rate = rate;
    k->st.aux_rates[0] = k->st.aux_rates[1];
    k->st.aux_rates[1] = k->st.aux_rates[2];
    k->st.aux_rates[2] = rate;
    if (k->st.aux_rates[0] == 200 && k->st.aux_rates[1] == 100 && k->st.aux_rates[2] == 80)
        k->st.aux_id = 3;
}

static void aux_status(struct i8042 *k)
{
    reply(k, I8042_ACK);
    reply(k, (uint8_t)((k->st.aux_reporting ? 0x20 : 0) | (k->st.aux_scaling ? 0x10 : 0)));
    reply(k, k->st.aux_res);
    reply(k, k->st.aux_rate);
}

void i8042_aux_write(struct i8042 *k, uint8_t val)
{
    if (k->st.aux_expect) {
        if (k->st.aux_expect == 0xf3)
            set_rate(k, val);
        else
            k->st.aux_res = val & 3;
        k->st.aux_expect = 0;
        reply(k, I8042_ACK);
        return;
    }
    switch (val) {
    case 0xe8: /* set resolution */
    case 0xf3: /* set sample rate */
        k->st.aux_expect = val;
        reply(k, I8042_ACK);
        break;
    case 0xe6:
    case 0xe7:
        k->st.aux_scaling = val == 0xe7;
        reply(k, I8042_ACK);
        break;
    case 0xe9:
        aux_status(k);
        break;
    case 0xeb: /* read data: an empty packet */
        reply(k, I8042_ACK);
        reply(k, 0x08);
        reply(k, 0);
        reply(k, 0);
        if (k->st.aux_id == 3)
            reply(k, 0);
        break;
    case 0xf2: /* identify: standard PS/2 mouse (0) or IntelliMouse (3) */
        reply(k, I8042_ACK);
        reply(k, k->st.aux_id);
        break;
    case 0xea: /* stream mode */
    case 0xec: /* reset wrap mode */
    case 0xf0: /* remote mode */
        reply(k, I8042_ACK);
        break;
    case 0xf4:
    case 0xf5:
        k->st.aux_reporting = val == 0xf4;
        reply(k, I8042_ACK);
        break;
    case 0xf6:
        set_defaults(k);
        reply(k, I8042_ACK);
        break;
    case 0xff:
        i8042_aux_reset(k);
        reply(k, I8042_ACK);
        reply(k, 0xaa);
        reply(k, 0x00);
        break;
    default:
        log_ratelimited(LOG_DEBUG, "unknown mouse command 0x%02x", val);
        reply(k, I8042_NAK);
    }
}

static int clamp(int64_t v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : (int)v;
}

bool i8042_aux_motion(struct i8042 *k, int32_t dx, int32_t dy, int32_t dz, uint8_t buttons)
{
    int64_t x = dx, y = -(int64_t)dy; /* PS/2 Y grows upwards */
    bool is_sent = false;
    pthread_mutex_lock(&k->lock);
    unsigned len = k->st.aux_id == 3 ? 4 : 3;
    while (k->st.aux_reporting && i8042_q_room(&k->st.aux_q) >= len) {
        int px = clamp(x, -255, 255), py = clamp(y, -255, 255);
        i8042_q_push(&k->st.aux_q,
                     (uint8_t)(0x08 | (buttons & 7) | (px < 0 ? 0x10 : 0) | (py < 0 ? 0x20 : 0)));
        i8042_q_push(&k->st.aux_q, (uint8_t)px);
        i8042_q_push(&k->st.aux_q, (uint8_t)py);
        if (len == 4)
            i8042_q_push(&k->st.aux_q, (uint8_t)clamp(is_sent ? 0 : dz, -8, 7));
        x -= px;
        y -= py;
        is_sent = true;
        if (x == 0 && y == 0)
            break;
    }
    if (is_sent)
        i8042_sync(k);
    pthread_mutex_unlock(&k->lock);
    return is_sent;
}
