/* SPDX-License-Identifier: MIT */
/* Implementation of dev/legacy/debugcon.h. */
#include "dev/legacy/debugcon.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#define LOG_TAG "bios"
#include "base/log.h"

struct debugcon {
    pthread_mutex_t lock;
    struct bus *pio;
    uint16_t port;
    char line[DEBUGCON_LINE_MAX + 1];
    unsigned len;
    long window_s;
    unsigned count, dropped;
};

/* Logs the current line within the budget, at info level: below it (--log-level warn or
 * error) the firmware's output is dropped, as QEMU drops it without an isa-debugcon. Lock held. */
static void flush_line(struct debugcon *d)
{
    struct timespec ts;
    if (LOG_INFO > log_current_level) {
        d->len = 0;
        return;
    }
    clock_gettime(CLOCK_MONOTONIC, &ts);
    if (ts.tv_sec != d->window_s) {
        if (d->dropped)
            log_write(LOG_INFO, LOG_TAG, "(%u lines of firmware output dropped)", d->dropped);
        d->window_s = ts.tv_sec;
        d->count = d->dropped = 0;
    }
    d->line[d->len] = '\0';
    if (d->count < DEBUGCON_LINES_PER_S) {
        d->count++;
        log_write(LOG_INFO, LOG_TAG, "%s", d->line);
    } else {
        d->dropped++;
    }
    d->len = 0;
}

static uint64_t debugcon_read(void *opaque, uint64_t off, unsigned size)
{
    (void)opaque;
    (void)off;
    (void)size;
    return DEBUGCON_READBACK;
}

static void debugcon_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct debugcon *d = opaque;
    char c = (char)(val & 0xff);
    if (off != 0 || size != 1)
        return;
    pthread_mutex_lock(&d->lock);
    if (c == '\n') {
        flush_line(d);
    } else if (c != '\r') {
        d->line[d->len++] = c >= 0x20 && c < 0x7f ? c : '.';
        if (d->len == DEBUGCON_LINE_MAX)
            flush_line(d);
    }
    pthread_mutex_unlock(&d->lock);
}

static const struct io_ops debugcon_ops = {.read = debugcon_read, .write = debugcon_write};

int debugcon_create(struct debugcon **out)
{
    struct debugcon *d = calloc(1, sizeof(*d));
    if (d == NULL)
        return -ENOMEM;
    pthread_mutex_init(&d->lock, NULL);
    *out = d;
    return 0;
}

int debugcon_attach(struct debugcon *d, struct bus *pio, uint16_t port)
{
    int ret = bus_register(pio, port, 1, &debugcon_ops, d, "debugcon");
    if (ret == 0) {
        d->pio = pio;
        d->port = port;
    }
    return ret;
}

void debugcon_destroy(struct debugcon *d)
{
    if (d == NULL)
        return;
    if (d->pio != NULL)
        bus_unregister(d->pio, d->port, d);
    if (d->len > 0)
        flush_line(d);
    pthread_mutex_destroy(&d->lock);
    free(d);
}
