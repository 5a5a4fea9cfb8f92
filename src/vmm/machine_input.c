/* SPDX-License-Identifier: MIT */
/*
 * Host input routed to the machine's keyboards and pointers (vmm/machine.h): the virtio-input
 * keyboard and tablet (--input) once the guest's driver runs them, else the PS/2 keyboard and
 * mouse of the i8042, which every machine has. Runs on the event-loop thread, where the
 * machine is never replaced; each device takes its own lock, as its guest side runs on the
 * vCPU threads.
 *
 * Typed sequences (machine_input_type) wait in machine->input.typing[] and go out one event
 * at a time, as fast as the keyboard takes them: a one-shot timerfd retries every
 * TYPING_RETRY_NS while the keyboard's queue is full.
 */
#define LOG_TAG "input"
#include "vmm/machine_internal.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "base/evloop.h"
#include "base/log.h"
#include "base/util.h"
#include "dev/input/keymap.h"
#include "dev/legacy/i8042.h"
#include "dev/virtio/input.h"

#define TYPING_RETRY_NS (10 * 1000 * 1000)
#define TYPING_GIVE_UP_NS (2ULL * 1000 * 1000 * 1000)

/* RFB's pointer button mask. */
#define RFB_LEFT 0x01u
#define RFB_MIDDLE 0x02u
#define RFB_RIGHT 0x04u
#define RFB_WHEEL_UP 0x08u
#define RFB_WHEEL_DOWN 0x10u

/* Sends one key event; false when the keyboard could not take it. */
static bool send_key(struct machine *m, const struct keymap_entry *e, bool is_down)
{
    if (m->vkbd != NULL && virtio_input_is_ready(m->vkbd)) {
        const struct virtio_input_event ev[] = {{EVDEV_KEY, e->evdev, is_down ? 1 : 0},
                                                {EVDEV_SYN, EVDEV_SYN_REPORT, 0}};
        return virtio_input_send(m->vkbd, ev, ARRAY_SIZE(ev));
    }
    return m->i8042 != NULL && i8042_kbd_key(m->i8042, e, is_down);
}

void machine_input_key(struct machine *m, uint32_t keysym, bool is_down)
{
    const struct keymap_entry *e = keymap_find_keysym(keysym);
    if (e == NULL) {
        log_ratelimited(LOG_DEBUG, "no key for keysym 0x%x", keysym);
        return;
    }
    (void)send_key(m, e, is_down);
}

/* (v) of (size) scaled to 0..VIRTIO_INPUT_ABS_MAX. */
static uint32_t scale(uint32_t v, uint32_t size)
{
    return size > 1 ? (uint32_t)((uint64_t)v * VIRTIO_INPUT_ABS_MAX / (size - 1)) : 0;
}

static void tablet_event(struct machine *m, uint32_t x, uint32_t y, uint32_t width, uint32_t height,
                         uint32_t buttons, int wheel)
{
    struct virtio_input_event ev[8] = {
        {EVDEV_ABS, EVDEV_ABS_X, scale(x, width)},
        {EVDEV_ABS, EVDEV_ABS_Y, scale(y, height)},
        {EVDEV_KEY, EVDEV_BTN_LEFT, (buttons & RFB_LEFT) ? 1 : 0},
        {EVDEV_KEY, EVDEV_BTN_RIGHT, (buttons & RFB_RIGHT) ? 1 : 0},
        {EVDEV_KEY, EVDEV_BTN_MIDDLE, (buttons & RFB_MIDDLE) ? 1 : 0},
    };
    size_t n = 5;
    if (wheel != 0)
        ev[n++] = (struct virtio_input_event){EVDEV_REL, EVDEV_REL_WHEEL, (uint32_t)wheel};
    ev[n++] = (struct virtio_input_event){EVDEV_SYN, EVDEV_SYN_REPORT, 0};
    (void)virtio_input_send(m->vtablet, ev, n);
}

void machine_input_pointer(struct machine *m, uint32_t x, uint32_t y, uint32_t width,
                           uint32_t height, uint32_t buttons)
{
    struct machine_input *in = &m->input;
    uint32_t pressed = buttons & ~in->buttons;
    int wheel = 0; /* notches up (evdev REL_WHEEL's sign) */

    if (width == 0 || height == 0)
        return;
    x = x < width ? x : width - 1;
    y = y < height ? y : height - 1;
    if (pressed & RFB_WHEEL_UP)
        wheel++;
    if (pressed & RFB_WHEEL_DOWN)
        wheel--;
    if (!in->has_pos) {
        in->x = x;
        in->y = y;
    }
    if (m->vtablet != NULL && virtio_input_is_ready(m->vtablet)) {
        tablet_event(m, x, y, width, height, buttons, wheel);
    } else if (m->i8042 != NULL &&
               (x != in->x || y != in->y || wheel != 0 || (buttons ^ in->buttons) & 7)) {
        uint8_t ps2 = (uint8_t)(((buttons & RFB_LEFT) ? 1 : 0) | ((buttons & RFB_RIGHT) ? 2 : 0) |
                                ((buttons & RFB_MIDDLE) ? 4 : 0));
        (void)i8042_aux_motion(m->i8042, (int32_t)((int64_t)x - in->x),
                               (int32_t)((int64_t)y - in->y), -wheel, ps2);
    }
    in->x = x;
    in->y = y;
    in->buttons = buttons;
    in->has_pos = true;
}

/* Arms the one-shot retry timer. */
static void arm(struct machine_input *in)
{
    struct itimerspec its = {.it_value = {.tv_nsec = TYPING_RETRY_NS}};
    if (timerfd_settime(in->timer_fd, 0, &its, NULL) < 0)
        log_ratelimited(LOG_WARN, "typing timer: %s", strerror(errno));
}

/* Sends waiting typed events until the keyboard refuses one. */
static void type_some(struct machine *m)
{
    struct machine_input *in = &m->input;
    while (in->count > 0) {
        const struct machine_key_event *k = &in->typing[in->head];
        const struct keymap_entry *e = keymap_find_keysym(k->keysym);
        if (e != NULL && !send_key(m, e, k->is_down))
            break;
        in->head = (in->head + 1) % MACHINE_TYPING_MAX;
        in->count--;
        in->progress_ns = time_now_ns();
    }
    if (in->count > 0 && time_now_ns() - in->progress_ns > TYPING_GIVE_UP_NS) {
        log_warn("the keyboard takes no input: %u typed key events dropped", in->count);
        in->count = 0;
    }
    if (in->count > 0)
        arm(in);
}

static void on_typing_timer(void *opaque, uint32_t events)
{
    struct machine *m = opaque;
    uint64_t ticks;
    (void)events;
    if (read(m->input.timer_fd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
        log_ratelimited(LOG_WARN, "typing timer: %s", strerror(errno));
    type_some(m);
}

int machine_input_type(struct machine *m, const struct machine_key_event *ev, size_t n)
{
    struct machine_input *in = &m->input;
    if (n > MACHINE_TYPING_MAX - in->count)
        return -ENOSPC;
    if (in->timer_fd < 0) {
        int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        if (fd < 0)
            return -ENOMEM;
        if (evloop_add(m->loop, fd, EPOLLIN, on_typing_timer, m) < 0) {
            close(fd);
            return -ENOMEM;
        }
        in->timer_fd = fd;
    }
    if (in->count == 0)
        in->progress_ns = time_now_ns();
    for (size_t i = 0; i < n; i++)
        in->typing[(in->head + in->count++) % MACHINE_TYPING_MAX] = ev[i];
    type_some(m);
    return 0;
}

int machine_add_input(struct machine *m, struct error *err UNUSED)
{
    m->input.timer_fd = -1;
    return 0;
}

void machine_remove_input(struct machine *m)
{
    if (m->input.timer_fd >= 0) {
        (void)evloop_del(m->loop, m->input.timer_fd);
        close(m->input.timer_fd);
    }
    m->input.timer_fd = -1;
    m->input.count = 0;
}
