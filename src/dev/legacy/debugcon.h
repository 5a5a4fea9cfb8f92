/* SPDX-License-Identifier: MIT */
/*
 * QEMU's isa-debugcon as SeaBIOS uses it (port PORT_BIOS_DEBUG, 0x402): every byte the guest
 * writes is collected into lines that go to the monitor's log (tag "bios") at info level, so
 * only with --log-level info or debug. Hostile output is bounded: a line is cut at
 * DEBUGCON_LINE_MAX bytes, control characters show as '.', and at most DEBUGCON_LINES_PER_S lines a
 * second are logged (the rest are counted and the count logged). Reads give 0xe9, the readback that
 * tells SeaBIOS the port exists. Thread-safe.
 */
#ifndef BAREIRON_DEV_LEGACY_DEBUGCON_H
#define BAREIRON_DEV_LEGACY_DEBUGCON_H

#include <stdint.h>

#include "base/compiler.h"
#include "dev/bus.h"

#define DEBUGCON_LINE_MAX 160
#define DEBUGCON_LINES_PER_S 200
#define DEBUGCON_READBACK 0xe9

struct debugcon;

/* Returns 0 or -ENOMEM. */
MUST_CHECK int debugcon_create(struct debugcon **out);
/* Registers one port at (port) on (pio). Returns 0 or -errno. */
MUST_CHECK int debugcon_attach(struct debugcon *d, struct bus *pio, uint16_t port);
/* Logs what is left of the current line, unregisters and frees (d). NULL allowed. */
void debugcon_destroy(struct debugcon *d);

#endif
