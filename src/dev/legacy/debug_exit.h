/* SPDX-License-Identifier: MIT */
/*
 * QEMU's isa-debug-exit device at PORT_DEBUG_EXIT: a write of (v) (1, 2 or 4 bytes) asks the
 * machine to exit with status (v << 1) | 1 through (plat)->request_exit. Reads give all-ones.
 */
#ifndef BAREIRON_DEV_LEGACY_DEBUG_EXIT_H
#define BAREIRON_DEV_LEGACY_DEBUG_EXIT_H

#include "base/compiler.h"
#include "dev/bus.h"
#include "core/platform.h"

#define DEBUG_EXIT_NR_PORTS 4

struct debug_exit;

MUST_CHECK int debug_exit_create(const struct platform *plat, struct debug_exit **out);
void debug_exit_destroy(struct debug_exit *d);
/* Registers PORT_DEBUG_EXIT..+3 on (pio). */
MUST_CHECK int debug_exit_attach(struct debug_exit *d, struct bus *pio);
extern const struct io_ops debug_exit_io_ops;

#endif
