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
#include "dev/legacy/i8042_internal.h"

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
#define CTR_KBDINT I8042_CTR_KBDINT
#define CTR_AUXINT I8042_CTR_AUXINT
#define CTR_SYS I8042_CTR_SYS
#define CTR_KBDDIS I8042_CTR_KBDDIS
#define CTR_AUXDIS I8042_CTR_AUXDIS
#define CTR_XLATE I8042_CTR_XLATE
#define CTR_DEFAULT (CTR_XLATE | CTR_SYS | CTR_AUXINT | CTR_KBDINT)
#define QUEUE_SIZE I8042_QUEUE_SIZE

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

void i8042_sync(struct i8042 *k)
{
    refill(k);
    update_irq(k);
}

static void ctrl_reply(struct i8042 *k, uint8_t b, bool is_aux)
{
    unsigned slot = (k->st.ctrl_q.head + k->st.ctrl_q.count) % QUEUE_SIZE;
    if (i8042_q_push(&k->st.ctrl_q, b))
        k->st.ctrl_q_aux[slot] = is_aux;
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
        i8042_aux_write(k, val);
        break;
    case 0:
        i8042_kbd_write(k, val);
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
    i8042_kbd_reset(k);
    i8042_aux_reset(k);
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
    while (is_on && n < len && i8042_q_push(q, buf[n]))
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
        (st->status_cmd & ~STS_CMD) != 0 || st->kbd_set < 1 || st->kbd_set > 3 ||
        (st->aux_id != 0 && st->aux_id != 3))
        return -EINVAL;
    pthread_mutex_lock(&k->lock);
    k->st = *st;
    refill(k);
    update_irq(k);
    pthread_mutex_unlock(&k->lock);
    return 0;
}
