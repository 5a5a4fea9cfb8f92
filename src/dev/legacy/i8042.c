/* SPDX-License-Identifier: MIT */
/*
 * Intel 8042 keyboard controller with a PS/2 keyboard and mouse behind it (IBM PS/2 Technical
 * Reference, "Keyboard/Auxiliary Device Controller"; the command subset Linux's
 * drivers/input/serio/i8042.c, atkbd.c and psmouse-base.c use, and SeaBIOS's ps2port.c).
 *
 * The controller has one output buffer. Bytes wait in three queues and move into it one at a
 * time: controller replies first, then the keyboard's, then the mouse's (a disabled port's queue
 * waits). IRQ1/IRQ12 follow "output buffer full and from this port and its interrupt enabled in
 * the command byte"; reading the data port drops the line before the next byte is loaded, so
 * every byte makes a fresh edge on the (edge-triggered ISA) line.
 */
#include "dev/legacy/i8042.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "core/x86/layout.h"

#define LOG_TAG "i8042"
#include "base/log.h"

#define STS_OBF 0x01
#define STS_SYS 0x04
#define STS_CMD 0x08
#define STS_UNLOCKED 0x10
#define STS_AUXB 0x20
#define CTR_KBDINT 0x01
#define CTR_AUXINT 0x02
#define CTR_SYS 0x04
#define CTR_KBDDIS 0x10
#define CTR_AUXDIS 0x20
#define CTR_XLATE 0x40
#define CTR_DEFAULT (CTR_XLATE | CTR_SYS | CTR_AUXINT | CTR_KBDINT)
#define ACK 0xfa
#define NAK 0xfe
#define QUEUE_SIZE I8042_QUEUE_SIZE

struct i8042 {
    pthread_mutex_t lock;
    struct platform plat;
    bool kbd_line, aux_line;
    struct i8042_state st;
};

static bool q_push(struct i8042_queue *q, uint8_t b)
{
    if (q->count == QUEUE_SIZE)
        return false;
    q->buf[(q->head + q->count) % QUEUE_SIZE] = b;
    q->count++;
    return true;
}

static uint8_t q_pop(struct i8042_queue *q)
{
    uint8_t b = q->buf[q->head];
    q->head = (uint8_t)((q->head + 1) % QUEUE_SIZE);
    q->count--;
    return b;
}

/* Called with k->lock held. */
static void update_irq(struct i8042 *k)
{
    bool kbd = k->st.obuf_full && !k->st.obuf_aux && (k->st.ctr & CTR_KBDINT);
    bool aux = k->st.obuf_full && k->st.obuf_aux && (k->st.ctr & CTR_AUXINT);
    if (kbd != k->kbd_line) {
        k->kbd_line = kbd;
        k->plat.ops->set_irq(k->plat.opaque, GSI_I8042_KBD, kbd);
    }
    if (aux != k->aux_line) {
        k->aux_line = aux;
        k->plat.ops->set_irq(k->plat.opaque, GSI_I8042_AUX, aux);
    }
}

/* Moves the next waiting byte into the output buffer. Called with k->lock held. */
static void refill(struct i8042 *k)
{
    if (k->st.obuf_full)
        return;
    if (k->st.ctrl_q.count) {
        k->st.obuf_aux = k->st.ctrl_q_aux[k->st.ctrl_q.head];
        k->st.obuf = q_pop(&k->st.ctrl_q);
    } else if (k->st.kbd_q.count && !(k->st.ctr & CTR_KBDDIS)) {
        k->st.obuf_aux = false;
        k->st.obuf = q_pop(&k->st.kbd_q);
    } else if (k->st.aux_q.count && !(k->st.ctr & CTR_AUXDIS)) {
        k->st.obuf_aux = true;
        k->st.obuf = q_pop(&k->st.aux_q);
    } else {
        return;
    }
    k->st.obuf_full = true;
}

static void ctrl_reply(struct i8042 *k, uint8_t b, bool is_aux)
{
    unsigned slot = (k->st.ctrl_q.head + k->st.ctrl_q.count) % QUEUE_SIZE;
    if (q_push(&k->st.ctrl_q, b))
        k->st.ctrl_q_aux[slot] = is_aux;
}

static void kbd_reply(struct i8042 *k, uint8_t b)
{
    q_push(&k->st.kbd_q, b);
}

static void aux_reply(struct i8042 *k, uint8_t b)
{
    q_push(&k->st.aux_q, b);
}

static void kbd_reset(struct i8042 *k)
{
    k->st.kbd_q.count = 0;
    k->st.kbd_expect = 0;
    k->st.kbd_scanning = true;
    k->st.kbd_set = 2;
    k->st.kbd_leds = 0;
}

static void aux_reset(struct i8042 *k)
{
    k->st.aux_q.count = 0;
    k->st.aux_expect = 0;
    k->st.aux_reporting = false;
    k->st.aux_rate = 100;
    k->st.aux_res = 2;
    k->st.aux_scaling = 0;
}

/* A parameter byte for a keyboard command (LEDs, typematic, scan-code set). */
static void kbd_param(struct i8042 *k, uint8_t cmd, uint8_t val)
{
    k->st.kbd_expect = 0;
    kbd_reply(k, ACK);
    if (cmd == 0xed)
        k->st.kbd_leds = val & 7;
    else if (cmd == 0xf0 && val == 0)
        kbd_reply(k, (k->st.ctr & CTR_XLATE) ? (uint8_t)(k->st.kbd_set == 1 ? 0x43 : 0x41)
                                             : k->st.kbd_set);
    else if (cmd == 0xf0 && val <= 3)
        k->st.kbd_set = val;
}

/* A byte the guest sends to the keyboard. */
static void kbd_write(struct i8042 *k, uint8_t val)
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
        kbd_reply(k, ACK);
        break;
    case 0xee: /* echo */
        kbd_reply(k, 0xee);
        break;
    case 0xf2: /* identify: MF2 keyboard, translated or not */
        kbd_reply(k, ACK);
        kbd_reply(k, 0xab);
        kbd_reply(k, (k->st.ctr & CTR_XLATE) ? 0x41 : 0x83);
        break;
    case 0xf4:
        k->st.kbd_scanning = true;
        kbd_reply(k, ACK);
        break;
    case 0xf5:
    case 0xf6:
        k->st.kbd_scanning = val == 0xf6;
        kbd_reply(k, ACK);
        break;
    case 0xff:
        kbd_reset(k);
        kbd_reply(k, ACK);
        kbd_reply(k, 0xaa);
        break;
    default:
        if (val >= 0xf7 && val <= 0xfd) {
            kbd_reply(k, ACK); /* set-3 key types: accepted, ignored */
            break;
        }
        log_ratelimited(LOG_DEBUG, "unknown keyboard command 0x%02x", val);
        kbd_reply(k, NAK);
    }
}

static void aux_status(struct i8042 *k)
{
    aux_reply(k, ACK);
    aux_reply(k, (uint8_t)((k->st.aux_reporting ? 0x20 : 0) | (k->st.aux_scaling ? 0x10 : 0)));
    aux_reply(k, k->st.aux_res);
    aux_reply(k, k->st.aux_rate);
}

/* A byte the guest sends to the mouse (after command 0xD4). */
static void aux_write(struct i8042 *k, uint8_t val)
{
    if (k->st.aux_expect) {
        if (k->st.aux_expect == 0xf3)
            k->st.aux_rate = val;
        else
            k->st.aux_res = val & 3;
        k->st.aux_expect = 0;
        aux_reply(k, ACK);
        return;
    }
    switch (val) {
    case 0xe8: /* set resolution */
    case 0xf3: /* set sample rate */
        k->st.aux_expect = val;
        aux_reply(k, ACK);
        break;
    case 0xe6:
    case 0xe7:
        k->st.aux_scaling = val == 0xe7;
        aux_reply(k, ACK);
        break;
    case 0xe9:
        aux_status(k);
        break;
    case 0xeb: /* read data: an empty packet */
        aux_reply(k, ACK);
        aux_reply(k, 0x08);
        aux_reply(k, 0);
        aux_reply(k, 0);
        break;
    case 0xf2: /* identify: standard PS/2 mouse */
        aux_reply(k, ACK);
        aux_reply(k, 0x00);
        break;
    case 0xea: /* stream mode */
    case 0xec: /* reset wrap mode */
    case 0xf0: /* remote mode */
        aux_reply(k, ACK);
        break;
    case 0xf4:
    case 0xf5:
        k->st.aux_reporting = val == 0xf4;
        aux_reply(k, ACK);
        break;
    case 0xf6:
        aux_reset(k);
        aux_reply(k, ACK);
        break;
    case 0xff:
        aux_reset(k);
        aux_reply(k, ACK);
        aux_reply(k, 0xaa);
        aux_reply(k, 0x00);
        break;
    default:
        log_ratelimited(LOG_DEBUG, "unknown mouse command 0x%02x", val);
        aux_reply(k, NAK);
    }
}

/* The output port: bit 0 is the CPU reset line (active low), bit 1 the A20 gate. */
static void write_output_port(struct i8042 *k, uint8_t val)
{
    if (!(val & 1))
        k->plat.ops->request_reset(k->plat.opaque);
}

static void data_write(struct i8042 *k, uint8_t val)
{
    uint8_t cmd = k->st.pending_cmd;
    k->st.pending_cmd = 0;
    k->st.status_cmd = 0;
    switch (cmd) {
    case 0x60:
        k->st.ctr = val;
        break;
    case 0xd1:
        write_output_port(k, val);
        break;
    case 0xd2:
        ctrl_reply(k, val, false);
        break;
    case 0xd3:
        ctrl_reply(k, val, true);
        break;
    case 0xd4:
        aux_write(k, val);
        break;
    case 0:
        kbd_write(k, val);
        break;
    default:
        break; /* 0x61..0x7f: controller RAM, ignored */
    }
}

static void cmd_write(struct i8042 *k, uint8_t cmd)
{
    k->st.status_cmd = STS_CMD;
    k->st.pending_cmd = 0;
    if (cmd == 0x20) {
        ctrl_reply(k, k->st.ctr, false);
    } else if (cmd > 0x20 && cmd < 0x40) {
        ctrl_reply(k, 0, false);
    } else if ((cmd >= 0x60 && cmd < 0x80) || (cmd >= 0xd1 && cmd <= 0xd4)) {
        k->st.pending_cmd = cmd;
    } else if (cmd >= 0xf0) {
        /* Pulse the output lines whose mask bit is 0; bit 0 is the reset line (0xFE). */
        if (!(cmd & 1))
            k->plat.ops->request_reset(k->plat.opaque);
    } else {
        switch (cmd) {
        case 0xa7:
        case 0xa8:
            k->st.ctr = (uint8_t)(cmd == 0xa7 ? k->st.ctr | CTR_AUXDIS : k->st.ctr & ~CTR_AUXDIS);
            break;
        case 0xad:
        case 0xae:
            k->st.ctr = (uint8_t)(cmd == 0xad ? k->st.ctr | CTR_KBDDIS : k->st.ctr & ~CTR_KBDDIS);
            break;
        case 0xa9: /* aux interface test: OK */
        case 0xab: /* kbd interface test: OK */
            ctrl_reply(k, 0x00, false);
            break;
        case 0xaa: /* controller self-test */
            k->st.ctr |= CTR_SYS;
            ctrl_reply(k, 0x55, false);
            break;
        case 0xc0: /* input port: keyboard not locked */
            ctrl_reply(k, 0x80, false);
            break;
        case 0xd0: /* output port: reset high, A20 on, buffer flags */
            ctrl_reply(k,
                       (uint8_t)(0x03 | (k->st.obuf_full && !k->st.obuf_aux ? 0x10 : 0) |
                                 (k->st.obuf_full && k->st.obuf_aux ? 0x20 : 0)),
                       false);
            break;
        case 0xdd:
        case 0xdf:
            break; /* A20 gate: always on under KVM */
        default:
            log_ratelimited(LOG_DEBUG, "unknown controller command 0x%02x", cmd);
        }
    }
}

static uint64_t data_read(void *opaque, uint64_t off, unsigned size)
{
    struct i8042 *k = opaque;
    uint8_t v;
    (void)off;
    (void)size;
    pthread_mutex_lock(&k->lock);
    v = k->st.obuf;
    k->st.obuf_full = false;
    update_irq(k); /* drop the line so that the next byte makes a new edge */
    refill(k);
    update_irq(k);
    pthread_mutex_unlock(&k->lock);
    return v;
}

static void data_io_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct i8042 *k = opaque;
    (void)off;
    (void)size;
    pthread_mutex_lock(&k->lock);
    data_write(k, (uint8_t)val);
    refill(k);
    update_irq(k);
    pthread_mutex_unlock(&k->lock);
}

static uint64_t status_read(void *opaque, uint64_t off, unsigned size)
{
    struct i8042 *k = opaque;
    uint8_t v;
    (void)off;
    (void)size;
    pthread_mutex_lock(&k->lock);
    v = (uint8_t)((k->st.obuf_full ? STS_OBF : 0) |
                  (k->st.obuf_full && k->st.obuf_aux ? STS_AUXB : 0) |
                  (k->st.ctr & CTR_SYS ? STS_SYS : 0) | k->st.status_cmd | STS_UNLOCKED);
    pthread_mutex_unlock(&k->lock);
    return v;
}

static void cmd_io_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct i8042 *k = opaque;
    (void)off;
    (void)size;
    pthread_mutex_lock(&k->lock);
    cmd_write(k, (uint8_t)val);
    refill(k);
    update_irq(k);
    pthread_mutex_unlock(&k->lock);
}

const struct io_ops i8042_data_io_ops = {.read = data_read, .write = data_io_write};
const struct io_ops i8042_cmd_io_ops = {.read = status_read, .write = cmd_io_write};

int i8042_create(const struct platform *plat, struct i8042 **out)
{
    struct i8042 *k = calloc(1, sizeof(*k));
    if (!k)
        return -ENOMEM;
    pthread_mutex_init(&k->lock, NULL);
    k->plat = *plat;
    k->st.ctr = CTR_DEFAULT;
    kbd_reset(k);
    aux_reset(k);
    *out = k;
    return 0;
}

void i8042_destroy(struct i8042 *k)
{
    if (!k)
        return;
    pthread_mutex_destroy(&k->lock);
    free(k);
}

int i8042_attach(struct i8042 *k, struct bus *pio)
{
    int ret = bus_register(pio, PORT_I8042_DATA, 1, &i8042_data_io_ops, k, "i8042-data");
    if (ret < 0)
        return ret;
    ret = bus_register(pio, PORT_I8042_CMD, 1, &i8042_cmd_io_ops, k, "i8042-cmd");
    if (ret < 0)
        bus_unregister(pio, PORT_I8042_DATA, k);
    return ret;
}

static size_t queue_input(struct i8042 *k, bool is_aux, const uint8_t *buf, size_t len)
{
    size_t n = 0;
    pthread_mutex_lock(&k->lock);
    bool is_on = is_aux ? k->st.aux_reporting : k->st.kbd_scanning;
    struct i8042_queue *q = is_aux ? &k->st.aux_q : &k->st.kbd_q;
    while (is_on && n < len && q_push(q, buf[n]))
        n++;
    refill(k);
    update_irq(k);
    pthread_mutex_unlock(&k->lock);
    return n;
}

size_t i8042_queue_kbd(struct i8042 *k, const uint8_t *buf, size_t len)
{
    return queue_input(k, false, buf, len);
}

size_t i8042_queue_aux(struct i8042 *k, const uint8_t *buf, size_t len)
{
    return queue_input(k, true, buf, len);
}

void i8042_save(struct i8042 *k, struct i8042_state *st)
{
    pthread_mutex_lock(&k->lock);
    *st = k->st;
    pthread_mutex_unlock(&k->lock);
}

static bool queue_ok(const struct i8042_queue *q)
{
    return q->head < QUEUE_SIZE && q->count <= QUEUE_SIZE;
}

int i8042_load(struct i8042 *k, const struct i8042_state *st)
{
    if (!queue_ok(&st->ctrl_q) || !queue_ok(&st->kbd_q) || !queue_ok(&st->aux_q) ||
        (st->status_cmd & ~STS_CMD) != 0)
        return -EINVAL;
    pthread_mutex_lock(&k->lock);
    k->st = *st;
    refill(k);
    update_irq(k);
    pthread_mutex_unlock(&k->lock);
    return 0;
}
