/* SPDX-License-Identifier: MIT */
/*
 * A 16550A UART (National Semiconductor PC16550D datasheet): THR/RBR, IER, IIR with the FIFO
 * bits, FCR, LCR with the DLAB divisor latch, MCR (loopback included), LSR, MSR and SCR, a
 * 16-byte receive FIFO and a level interrupt line recomputed on every state change.
 *
 * Transmitted bytes go to a sink callback (the console); received bytes come from
 * uart8250_receive(), which takes what fits in the FIFO. When the guest drains the FIFO the
 * "room" callback says that more input can be offered.
 *
 * Threading: one mutex per device, taken by the port handlers (vCPU threads) and by
 * uart8250_receive (event loop). The tx and room callbacks run with that mutex held: they must
 * not call back into the UART (the room callback typically does evloop_call or re-arms an fd).
 */
#ifndef BAREIRON_DEV_LEGACY_UART8250_H
#define BAREIRON_DEV_LEGACY_UART8250_H

#include <stddef.h>
#include <stdint.h>

#include "base/compiler.h"
#include "dev/bus.h"
#include "core/platform.h"

#define UART8250_NR_PORTS 8
#define UART8250_FIFO_SIZE 16

struct uart8250;

/* Receives (len) bytes the guest transmitted. Called with the UART lock held. */
typedef void (*uart8250_tx_fn)(void *opaque, const uint8_t *buf, size_t len);
/* Says that the receive FIFO has room again after a uart8250_receive() that did not take
 * everything. Called with the UART lock held. */
typedef void (*uart8250_room_fn)(void *opaque);

/* Register state, for snapshots and tests. */
struct uart8250_state {
    uint8_t ier, iir_thre_pending, fcr, lcr, mcr, lsr, msr, scr, dll, dlm, thr;
    uint8_t rx_fifo[UART8250_FIFO_SIZE];
    uint8_t rx_head, rx_count;
};

/* Creates a UART raising line (gsi) through (plat) (copied). Returns 0 or -ENOMEM. */
MUST_CHECK int uart8250_create(const struct platform *plat, uint32_t gsi, struct uart8250 **out);
/* Frees (u); NULL is a no-op. Unregister it from the bus and stop the vCPUs first. */
void uart8250_destroy(struct uart8250 *u);
/* Registers (u)'s 8 ports at (base) (PORT_COM1...) on (pio). Returns bus_register's result. */
MUST_CHECK int uart8250_attach(struct uart8250 *u, struct bus *pio, uint16_t base,
                               const char *name);
/* The port handlers (offset 0..7 from the base), for callers that register by hand. */
extern const struct io_ops uart8250_io_ops;

/* Sets the transmit sink (NULL drops the bytes). Call before the vCPUs run. */
void uart8250_set_tx(struct uart8250 *u, uart8250_tx_fn fn, void *opaque);
/* Sets the room callback (NULL: none). Call before the vCPUs run. */
void uart8250_set_room(struct uart8250 *u, uart8250_room_fn fn, void *opaque);

/*
 * Offers (len) input bytes to the guest. Returns how many were taken (0..len): the FIFO holds
 * 16 bytes, and nothing is taken while the guest has loopback mode on. When fewer than (len)
 * were taken, the room callback fires once space frees up. Thread-safe.
 */
size_t uart8250_receive(struct uart8250 *u, const uint8_t *buf, size_t len);
/* Free bytes in the receive FIFO right now. Thread-safe. */
size_t uart8250_rx_room(struct uart8250 *u);

/* Short name used by the monitor's console code; same as uart8250_receive. */
static inline size_t uart_receive(struct uart8250 *u, const uint8_t *buf, size_t len)
{
    return uart8250_receive(u, buf, len);
}

/* Copies the register state out / in (snapshots). uart8250_load validates and re-evaluates the
 * interrupt line; returns 0 or -EINVAL. Thread-safe. */
void uart8250_save(struct uart8250 *u, struct uart8250_state *st);
MUST_CHECK int uart8250_load(struct uart8250 *u, const struct uart8250_state *st);

#endif
