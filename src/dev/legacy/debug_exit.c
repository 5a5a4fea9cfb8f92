/* SPDX-License-Identifier: MIT */
/*
 * QEMU's isa-debug-exit (hw/misc/debugexit.c behaviour): a write of (v) at the base port makes
 * the machine exit with status (v << 1) | 1, so that a test payload's exit can never be mistaken
 * for a clean 0. The process exit status keeps the low 8 bits, as with QEMU.
 */
#include "dev/legacy/debug_exit.h"

#include <errno.h>
#include <stdlib.h>

#include "core/x86/layout.h"

#define LOG_TAG "debug-exit"
#include "base/log.h"

struct debug_exit {
    struct platform plat;
};

static uint64_t debug_exit_read(void *opaque, uint64_t off, unsigned size)
{
    (void)opaque;
    (void)off;
    (void)size;
    return UINT64_MAX;
}

static void debug_exit_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct debug_exit *d = opaque;
    if (off != 0 || size > 4)
        return;
    int code = (int)(((uint32_t)val << 1) | 1);
    log_debug("guest wrote 0x%x, exit status %d", (unsigned)val, code & 0xff);
    d->plat.ops->request_exit(d->plat.opaque, code);
}

const struct io_ops debug_exit_io_ops = {.read = debug_exit_read, .write = debug_exit_write};

int debug_exit_create(const struct platform *plat, struct debug_exit **out)
{
    struct debug_exit *d = calloc(1, sizeof(*d));
    if (!d)
        return -ENOMEM;
    d->plat = *plat;
    *out = d;
    return 0;
}

void debug_exit_destroy(struct debug_exit *d)
{
    free(d);
}

int debug_exit_attach(struct debug_exit *d, struct bus *pio)
{
    return bus_register(pio, PORT_DEBUG_EXIT, DEBUG_EXIT_NR_PORTS, &debug_exit_io_ops, d,
                        "debug-exit");
}
