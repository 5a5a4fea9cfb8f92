/* SPDX-License-Identifier: MIT */
/*
 * virtio-input (virtio 1.2 §5.8): the configuration space is computed from (select, subsel)
 * whenever the driver writes either; eventq buffers are filled from the pending queue when
 * host events arrive and when the driver posts buffers; statusq chains are read and dropped.
 */
#include "dev/virtio/input.h"

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/statefile.h"
#include "dev/input/keymap.h"

#define LOG_TAG "virtio-input"
#include "base/log.h"

#define BUS_VIRTUAL 0x06
#define QUEUE_SIZE 64

static void set_bit(uint8_t *map, unsigned bit, uint8_t *size)
{
    map[bit / 8] |= (uint8_t)(1u << (bit % 8));
    if (bit / 8 + 1u > *size)
        *size = (uint8_t)(bit / 8 + 1u);
}

static void set_string(struct virtio_input_config *cfg, const char *s)
{
    size_t n = strlen(s);
    memcpy(cfg->u, s, n);
    cfg->size = (uint8_t)n;
}

/* The bitmap of event type (type)'s codes. */
static void ev_bits(struct virtio_input *vi, unsigned type)
{
    struct virtio_input_config *cfg = &vi->cfg;
    if (vi->kind == VIRTIO_INPUT_KEYBOARD && type == EVDEV_KEY) {
        for (size_t i = 0; i < keymap_count(); i++)
            set_bit(cfg->u, keymap_at(i)->evdev, &cfg->size);
    } else if (vi->kind == VIRTIO_INPUT_KEYBOARD && type == EVDEV_LED) {
        for (unsigned led = 0; led < 3; led++) /* num, caps, scroll lock */
            set_bit(cfg->u, led, &cfg->size);
    } else if (vi->kind == VIRTIO_INPUT_TABLET && type == EVDEV_KEY) {
        set_bit(cfg->u, EVDEV_BTN_LEFT, &cfg->size);
        set_bit(cfg->u, EVDEV_BTN_RIGHT, &cfg->size);
        set_bit(cfg->u, EVDEV_BTN_MIDDLE, &cfg->size);
    } else if (vi->kind == VIRTIO_INPUT_TABLET && type == EVDEV_ABS) {
        set_bit(cfg->u, EVDEV_ABS_X, &cfg->size);
        set_bit(cfg->u, EVDEV_ABS_Y, &cfg->size);
    } else if (vi->kind == VIRTIO_INPUT_TABLET && type == EVDEV_REL) {
        set_bit(cfg->u, EVDEV_REL_WHEEL, &cfg->size);
    }
}

/* Recomputes size and the union from select and subsel. vd->lock held. */
static void update_config(struct virtio_input *vi)
{
    struct virtio_input_config *cfg = &vi->cfg;
    bool is_kbd = vi->kind == VIRTIO_INPUT_KEYBOARD;
    cfg->size = 0;
    memset(cfg->reserved, 0, sizeof(cfg->reserved));
    memset(cfg->u, 0, sizeof(cfg->u));
    switch (cfg->select) {
    case VIRTIO_INPUT_CFG_ID_NAME:
        if (cfg->subsel == 0)
            set_string(cfg, is_kbd ? "bareiron virtio keyboard" : "bareiron virtio tablet");
        break;
    case VIRTIO_INPUT_CFG_ID_SERIAL:
        if (cfg->subsel == 0)
            set_string(cfg, is_kbd ? "bareiron-keyboard-0" : "bareiron-tablet-0");
        break;
    case VIRTIO_INPUT_CFG_ID_DEVIDS:
        if (cfg->subsel == 0) {
            uint16_t ids[4] = {htole16(BUS_VIRTUAL), htole16(VIRTIO_PCI_VENDOR_ID),
                               htole16(is_kbd ? 1 : 3), htole16(1)};
            memcpy(cfg->u, ids, sizeof(ids));
            cfg->size = sizeof(ids);
        }
        break;
    case VIRTIO_INPUT_CFG_EV_BITS:
        ev_bits(vi, cfg->subsel);
        break;
    case VIRTIO_INPUT_CFG_ABS_INFO:
        if (!is_kbd && (cfg->subsel == EVDEV_ABS_X || cfg->subsel == EVDEV_ABS_Y)) {
            uint32_t abs[5] = {0, htole32(VIRTIO_INPUT_ABS_MAX), 0, 0, 0};
            memcpy(cfg->u, abs, sizeof(abs));
            cfg->size = sizeof(abs);
        }
        break;
    default: /* UNSET, PROP_BITS (no properties), anything else: size 0 */
        break;
    }
}

static void input_read_config(struct virtio_dev *vd, size_t off, void *buf, size_t len)
{
    struct virtio_input *vi = container_of(vd, struct virtio_input, vd);
    memcpy(buf, (const uint8_t *)&vi->cfg + off, len);
}

/* Only select (0) and subsel (1) are writable; a wide write may cover both. */
static void input_write_config(struct virtio_dev *vd, size_t off, const void *buf, size_t len)
{
    struct virtio_input *vi = container_of(vd, struct virtio_input, vd);
    const uint8_t *p = buf;
    for (size_t i = 0; i < len; i++) {
        if (off + i == offsetof(struct virtio_input_config, select))
            vi->cfg.select = p[i];
        else if (off + i == offsetof(struct virtio_input_config, subsel))
            vi->cfg.subsel = p[i];
    }
    update_config(vi);
}

/* Moves pending events into eventq buffers. vd->lock held. */
static void deliver(struct virtio_input *vi)
{
    struct virtio_dev *vd = &vi->vd;
    struct virtio_chain c;
    bool has_pushed = false;

    if (!virtio_queue_is_live(vd, VIRTIO_INPUT_EVENTQ))
        return;
    while (vi->count > 0 && virtio_queue_pop_chain(vd, VIRTIO_INPUT_EVENTQ, &c) > 0) {
        const struct virtio_input_event *e = &vi->pending[vi->head];
        struct virtio_input_event le = {htole16(e->type), htole16(e->code), htole32(e->value)};
        if (iov_iter_left(&c.writer) < sizeof(le)) {
            virtio_set_needs_reset(vd, "event buffer smaller than an event");
            return;
        }
        iov_iter_from_buf(&c.writer, &le, sizeof(le));
        vi->head = (vi->head + 1) % VIRTIO_INPUT_PENDING;
        vi->count--;
        virtio_queue_push(vd, VIRTIO_INPUT_EVENTQ, c.head, virtio_chain_used_len(&c));
        has_pushed = true;
    }
    if (has_pushed)
        virtio_queue_notify(vd, VIRTIO_INPUT_EVENTQ);
}

/* One statusq chain: an event from the guest (LEDs). */
static enum virtio_chain_ret status_event(struct virtio_dev *vd, unsigned qidx,
                                          struct virtio_chain *c)
{
    struct virtio_input *vi = container_of(vd, struct virtio_input, vd);
    struct virtio_input_event e;
    (void)qidx;
    if (iov_iter_to_buf(&c->reader, &e, sizeof(e)) != sizeof(e)) {
        virtio_set_needs_reset(vd, "status buffer smaller than an event");
        return VIRTIO_CHAIN_BROKEN;
    }
    if (le16toh(e.type) == EVDEV_LED && le16toh(e.code) < 32) {
        uint32_t bit = 1u << le16toh(e.code);
        vi->leds = e.value ? vi->leds | bit : vi->leds & ~bit;
        log_debug("LEDs: num %u caps %u scroll %u", vi->leds & 1, (vi->leds >> 1) & 1,
                  (vi->leds >> 2) & 1);
    }
    return VIRTIO_CHAIN_DONE;
}

static void input_queue_notify(struct virtio_dev *vd, unsigned qidx)
{
    struct virtio_input *vi = container_of(vd, struct virtio_input, vd);
    if (qidx == VIRTIO_INPUT_STATUSQ)
        virtio_queue_drain(vd, qidx, status_event);
    else
        deliver(vi);
}

static void input_reset(struct virtio_dev *vd)
{
    struct virtio_input *vi = container_of(vd, struct virtio_input, vd);
    vi->head = vi->count = 0;
    vi->leds = 0;
    vi->cfg.select = vi->cfg.subsel = 0;
    update_config(vi);
}

static const struct virtio_dev_ops input_ops = {
    .features = 0,
    .config_size = sizeof(struct virtio_input_config),
    .read_config = input_read_config,
    .write_config = input_write_config,
    .reset = input_reset,
    .queue_notify = input_queue_notify,
};

int virtio_input_create(const struct gmem *gm, enum virtio_input_kind kind,
                        struct virtio_input **out)
{
    struct virtio_input *vi = calloc(1, sizeof(*vi));
    int ret;

    if (vi == NULL)
        return -ENOMEM;
    ret = virtio_dev_init(&vi->vd,
                          kind == VIRTIO_INPUT_KEYBOARD ? "virtio-keyboard" : "virtio-tablet",
                          VIRTIO_ID_INPUT, &input_ops, gm, 2, QUEUE_SIZE);
    if (ret < 0) {
        free(vi);
        return ret;
    }
    vi->kind = kind;
    *out = vi;
    return 0;
}

void virtio_input_destroy(struct virtio_input *vi)
{
    if (vi == NULL)
        return;
    virtio_dev_fini(&vi->vd);
    free(vi);
}

bool virtio_input_is_ready(struct virtio_input *vi)
{
    bool is_ready;
    pthread_mutex_lock(&vi->vd.lock);
    is_ready = virtio_queue_is_live(&vi->vd, VIRTIO_INPUT_EVENTQ);
    pthread_mutex_unlock(&vi->vd.lock);
    return is_ready;
}

bool virtio_input_send(struct virtio_input *vi, const struct virtio_input_event *ev, size_t n)
{
    bool is_sent = false;
    pthread_mutex_lock(&vi->vd.lock);
    if (virtio_queue_is_live(&vi->vd, VIRTIO_INPUT_EVENTQ) &&
        n <= VIRTIO_INPUT_PENDING - vi->count) {
        for (size_t i = 0; i < n; i++)
            vi->pending[(vi->head + vi->count++) % VIRTIO_INPUT_PENDING] = ev[i];
        is_sent = true;
        deliver(vi);
    }
    pthread_mutex_unlock(&vi->vd.lock);
    if (!is_sent)
        log_ratelimited(LOG_DEBUG, "%s: input dropped", vi->vd.name);
    return is_sent;
}

void virtio_input_save(struct virtio_input *vi, struct sf_buf *b)
{
    pthread_mutex_lock(&vi->vd.lock);
    sf_put_u8(b, vi->cfg.select);
    sf_put_u8(b, vi->cfg.subsel);
    sf_put_u32(b, vi->leds);
    sf_put_u32(b, vi->count);
    for (unsigned i = 0; i < vi->count; i++) {
        const struct virtio_input_event *e = &vi->pending[(vi->head + i) % VIRTIO_INPUT_PENDING];
        sf_put_u16(b, e->type);
        sf_put_u16(b, e->code);
        sf_put_u32(b, e->value);
    }
    pthread_mutex_unlock(&vi->vd.lock);
}

int virtio_input_load(struct virtio_input *vi, struct sf_in *in)
{
    uint8_t select = sf_get_u8(in), subsel = sf_get_u8(in);
    uint32_t leds = sf_get_u32(in), count = sf_get_u32(in);

    if (in->bad || count > VIRTIO_INPUT_PENDING)
        return -EINVAL;
    pthread_mutex_lock(&vi->vd.lock);
    vi->cfg.select = select;
    vi->cfg.subsel = subsel;
    vi->leds = leds;
    vi->head = 0;
    for (vi->count = 0; vi->count < count; vi->count++) {
        struct virtio_input_event *e = &vi->pending[vi->count];
        e->type = sf_get_u16(in);
        e->code = sf_get_u16(in);
        e->value = sf_get_u32(in);
    }
    if (in->bad)
        vi->count = 0;
    update_config(vi);
    pthread_mutex_unlock(&vi->vd.lock);
    return in->bad ? -EINVAL : 0;
}
