/* SPDX-License-Identifier: MIT */
/*
 * System control port A (port 0x92, IBM PS/2 "fast A20 and reset"): bit 1 is the A20 gate (kept
 * only as a value: KVM guests always see A20 enabled), and writing bit 0 as 1 resets the
 * machine through (plat)->request_reset.
 */
#ifndef BAREIRON_DEV_LEGACY_PORT92_H
#define BAREIRON_DEV_LEGACY_PORT92_H

#include "base/compiler.h"
#include "base/statefile.h"
#include "dev/bus.h"
#include "core/platform.h"

struct port92;

/* Creates the port (A20 reads as enabled). Returns 0 or -ENOMEM. */
MUST_CHECK int port92_create(const struct platform *plat, struct port92 **out);
void port92_destroy(struct port92 *p);
/* Registers port PORT_PORT92 (1 byte) on (pio). */
MUST_CHECK int port92_attach(struct port92 *p, struct bus *pio);
extern const struct io_ops port92_io_ops;

/* Saved state: the A20 bit. port92_load returns 0 or -EINVAL. Thread-safe. */
void port92_save(struct port92 *p, struct sf_buf *b);
MUST_CHECK int port92_load(struct port92 *p, struct sf_in *in);

#endif
