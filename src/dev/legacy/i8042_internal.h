/* SPDX-License-Identifier: MIT */
/*
 * Private to dev/legacy/i8042*.c: the controller struct and what the controller (i8042.c),
 * the keyboard (i8042_kbd.c) and the mouse (i8042_mouse.c) share. Everything below is called
 * with k->lock held.
 */
#ifndef BAREIRON_DEV_LEGACY_I8042_INTERNAL_H
#define BAREIRON_DEV_LEGACY_I8042_INTERNAL_H

#include <pthread.h>

#include "dev/legacy/i8042.h"

#define I8042_CTR_KBDINT 0x01
#define I8042_CTR_AUXINT 0x02
#define I8042_CTR_SYS 0x04
#define I8042_CTR_KBDDIS 0x10
#define I8042_CTR_AUXDIS 0x20
#define I8042_CTR_XLATE 0x40
#define I8042_ACK 0xfa
#define I8042_NAK 0xfe

struct i8042 {
    pthread_mutex_t lock;
    struct platform plat;
    bool kbd_line, aux_line;
    struct i8042_state st;
};

static inline unsigned i8042_q_room(const struct i8042_queue *q)
{
    return I8042_QUEUE_SIZE - q->count;
}

static inline bool i8042_q_push(struct i8042_queue *q, uint8_t b)
{
    if (q->count == I8042_QUEUE_SIZE)
        return false;
    q->buf[(q->head + q->count) % I8042_QUEUE_SIZE] = b;
    q->count++;
    return true;
}

/* The keyboard (i8042_kbd.c): power-on state, and a byte the guest sends it. */
void i8042_kbd_reset(struct i8042 *k);
void i8042_kbd_write(struct i8042 *k, uint8_t val);
/* The mouse (i8042_mouse.c), likewise (after controller command 0xD4). */
void i8042_aux_reset(struct i8042 *k);
void i8042_aux_write(struct i8042 *k, uint8_t val);
/* Moves the next waiting byte into the output buffer and updates IRQ1/IRQ12 (i8042.c). */
void i8042_sync(struct i8042 *k);

#endif
