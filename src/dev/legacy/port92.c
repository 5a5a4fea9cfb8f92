/* SPDX-License-Identifier: MIT */
/*
 * System control port A, port 0x92 (IBM PS/2 Hardware Interface Technical Reference, "System
 * Control Port A"): bit 1 gates A20 (remembered, always on under KVM), bit 0 written as 1 resets
 * the machine (fast reset).
 */
#include "dev/legacy/port92.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "core/x86/layout.h"

#define PORT92_RESET 0x01
#define PORT92_A20 0x02

struct port92 {
    pthread_mutex_t lock;
    struct platform plat;
    uint8_t val;
};

static uint64_t port92_read(void *opaque, uint64_t off, unsigned size)
{
    struct port92 *p = opaque;
    uint8_t v;
    (void)off;
    (void)size;
    pthread_mutex_lock(&p->lock);
    v = p->val;
    pthread_mutex_unlock(&p->lock);
    return v;
}

static void port92_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct port92 *p = opaque;
    (void)off;
    (void)size;
    pthread_mutex_lock(&p->lock);
    p->val = (uint8_t)(val & PORT92_A20); /* the reset bit reads back as 0 */
    pthread_mutex_unlock(&p->lock);
    if (val & PORT92_RESET)
        p->plat.ops->request_reset(p->plat.opaque);
}

const struct io_ops port92_io_ops = {.read = port92_read, .write = port92_write};

int port92_create(const struct platform *plat, struct port92 **out)
{
    struct port92 *p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    pthread_mutex_init(&p->lock, NULL);
    p->plat = *plat;
    p->val = PORT92_A20;
    *out = p;
    return 0;
}

void port92_destroy(struct port92 *p)
{
    if (!p)
        return;
    pthread_mutex_destroy(&p->lock);
    free(p);
}

void port92_save(struct port92 *p, struct sf_buf *b)
{
    pthread_mutex_lock(&p->lock);
    sf_put_u8(b, p->val);
    pthread_mutex_unlock(&p->lock);
}

int port92_load(struct port92 *p, struct sf_in *in)
{
    uint8_t v = sf_get_u8(in);
    if (sf_in_end(in) < 0 || (v & ~PORT92_A20) != 0)
        return -EINVAL;
    pthread_mutex_lock(&p->lock);
    p->val = v;
    pthread_mutex_unlock(&p->lock);
    return 0;
}

int port92_attach(struct port92 *p, struct bus *pio)
{
    return bus_register(pio, PORT_PORT92, 1, &port92_io_ops, p, "port92");
}
