/* SPDX-License-Identifier: MIT */
/*
 * A userspace I/O APIC for the split irqchip (82093AA datasheet, 1996: §3.0 registers; the
 * LAPICs stay in KVM). 24 input pins, each a level the devices set through platform set_irq.
 * An unmasked pin is delivered to the LAPICs as one MSI built from its redirection entry
 * (Intel SDM vol. 3 §11.11 message address/data): platform send_msi. A level-triggered entry
 * sets Remote IRR when delivered and is not delivered again until the LAPIC's EOI for its
 * vector comes back (ioapic_eoi(), from KVM_EXIT_IOAPIC_EOI); KVM only reports the EOIs of
 * vectors it finds level-triggered in its GSI routing table, so the level-triggered entries
 * are mirrored there as MSI routes (platform set_msi_routes, GSI = pin).
 *
 *   MMIO +0x00 IOREGSEL (8 bits used)    +0x10 IOWIN (32 bits, the selected register)
 *   register 0x00 ID (27:24)  0x01 version 0x00170011 (RO)  0x02 arbitration (RO)
 *   0x10 + 2n / 0x11 + 2n: redirection entry n, low / high dword:
 *     7:0 vector  10:8 delivery mode  11 dest mode  12 delivery status (RO, 0)  13 polarity
 *     14 Remote IRR (RO)  15 trigger (1 level)  16 mask  63:56 destination
 *
 * A level-triggered line that stays asserted is delivered again at each EOI. After
 * IOAPIC_STORM_EOIS such re-deliveries in a row the next one waits IOAPIC_STORM_DELAY_MS on the
 * event loop (ioapic_start_timer), as real hardware and KVM's and QEMU's IOAPICs let a guest that
 * does not clear its interrupt source make slow progress instead of none.
 *
 * Edges that arrive on a masked edge-triggered pin are latched and delivered on unmask (as
 * QEMU's IOAPIC does). Polarity is recorded but not applied: devices report the logical
 * asserted state, as with KVM's in-kernel IOAPIC. There is no 8259 behind it: an ExtINT entry
 * is never delivered. Every guest-written value is masked to the bits that exist.
 *
 * Threading: one mutex; MMIO runs on vCPU threads, set_irq on any thread, EOI on vCPU threads.
 * Deliveries and route updates are made with the mutex held (lock order: ioapic, then KVM).
 */
#ifndef BAREIRON_DEV_IRQ_IOAPIC_H
#define BAREIRON_DEV_IRQ_IOAPIC_H

#include <stdbool.h>
#include <stdint.h>

#include "base/compiler.h"
#include "base/statefile.h"
#include "dev/bus.h"
#include "core/platform.h"

struct evloop;

#define IOAPIC_PINS 24
#define IOAPIC_VERSION 0x11
#define IOAPIC_MMIO_SIZE 0x1000
#define IOAPIC_REG_SEL 0x00
#define IOAPIC_REG_WIN 0x10
#define IOAPIC_INDEX_ID 0x00
#define IOAPIC_INDEX_VERSION 0x01
#define IOAPIC_INDEX_ARB 0x02
#define IOAPIC_INDEX_REDTBL 0x10
#define IOAPIC_STORM_EOIS 10000
#define IOAPIC_STORM_DELAY_MS 10

/* Redirection entry bits */
#define IOAPIC_RTE_VECTOR 0xffULL
#define IOAPIC_RTE_DELMODE_SHIFT 8
#define IOAPIC_RTE_DESTMODE (1ULL << 11)
#define IOAPIC_RTE_DELIVS (1ULL << 12)
#define IOAPIC_RTE_POLARITY (1ULL << 13)
#define IOAPIC_RTE_REMOTE_IRR (1ULL << 14)
#define IOAPIC_RTE_LEVEL (1ULL << 15)
#define IOAPIC_RTE_MASKED (1ULL << 16)
#define IOAPIC_RTE_DEST_SHIFT 56

struct ioapic;

/* Creates an IOAPIC with APIC id (id) (the MADT/MP table id; the 4-bit ID register shows its
 * low 4 bits, as KVM's in-kernel IOAPIC does) delivering through (plat) (copied). Every entry
 * starts masked. Returns 0 or -ENOMEM. */
MUST_CHECK int ioapic_create(const struct platform *plat, uint8_t id, struct ioapic **out);
/* Stops the timer and frees (io); unregister it from its bus first. NULL allowed. */
void ioapic_destroy(struct ioapic *io);
/* Creates the storm-guard timer on (loop) (a timerfd; its callback runs on the loop thread).
 * Without it a storm is re-delivered at once. Returns 0 or -errno. */
MUST_CHECK int ioapic_start_timer(struct ioapic *io, struct evloop *loop);
/* Removes the timer from its loop and closes it (main thread). */
void ioapic_stop_timer(struct ioapic *io);
/* Registers the IOAPIC_MMIO_SIZE register window at (gpa) on (mmio). Returns 0 or -errno. */
MUST_CHECK int ioapic_attach(struct ioapic *io, struct bus *mmio, uint64_t gpa);

/* Sets the input level of (pin); out-of-range pins are ignored with a log line. Thread-safe. */
void ioapic_set_irq(struct ioapic *io, uint32_t pin, bool level);
/* A LAPIC signalled EOI for (vector): clears Remote IRR of every level-triggered entry with
 * that vector and delivers again the ones whose line is still high. Thread-safe. */
void ioapic_eoi(struct ioapic *io, uint8_t vector);
/* Machine reset: every entry masked, Remote IRR and latched edges cleared, the creation id back.
 * Input levels stay (they belong to the devices). */
void ioapic_reset(struct ioapic *io);
/* The redirection entry of (pin) (tests, snapshots later); 0 for a bad pin. */
uint64_t ioapic_get_entry(struct ioapic *io, unsigned pin);

/* Saved state (docs/vmm.md "Saved state"): ID, IOREGSEL, input levels, latched edges and the
 * redirection table. ioapic_load checks it, keeps only what a guest could write and sets the
 * kernel's MSI routes again; it returns 0 or -EINVAL. Thread-safe. */
void ioapic_save(struct ioapic *io, struct sf_buf *b);
MUST_CHECK int ioapic_load(struct ioapic *io, struct sf_in *in);

#endif
