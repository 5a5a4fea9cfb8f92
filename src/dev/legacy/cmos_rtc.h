/* SPDX-License-Identifier: MIT */
/*
 * The MC146818 real-time clock and CMOS memory (Motorola MC146818A datasheet) at ports
 * 0x70 (index, bit 7 = NMI mask) and 0x71 (data). Time and date come from the host clock
 * (UTC) in BCD or binary and 12/24-hour format per register B; register A's UIP bit is set for
 * the last 244 us of every second; registers B, C (flags, read-to-clear) and D (valid RAM).
 * The update-ended, alarm and periodic flags are computed from the clock on every access, and
 * IRQ8 (level, GSI_RTC) follows C's IRQF. Without an event loop timer, the interrupt is only
 * raised when the guest looks (polling works; interrupt-driven waits need
 * cmos_rtc_start_timer). CMOS bytes describe the memory size as SeaBIOS expects
 * (0x15-0x18, 0x30/0x31, 0x34/0x35, 0x5b-0x5d) and the century (0x32).
 *
 * Threading: one mutex per device.
 */
#ifndef BAREIRON_DEV_LEGACY_CMOS_RTC_H
#define BAREIRON_DEV_LEGACY_CMOS_RTC_H

#include <stdint.h>

#include "base/compiler.h"
#include "base/evloop.h"
#include "dev/bus.h"
#include "core/platform.h"

#define CMOS_RTC_NR_PORTS 2
#define CMOS_SIZE 128

struct cmos_rtc;

/* Device state for snapshots: the CMOS bytes, the index register and the guest clock's offset
 * from the host's CLOCK_REALTIME (so a restored guest keeps the host's wall-clock pace). */
struct cmos_rtc_state {
    uint8_t cmos[CMOS_SIZE];
    uint8_t index;
    int64_t offset_ns;
};

/* Returns the current wall-clock time in nanoseconds since the Unix epoch (UTC). */
typedef uint64_t (*cmos_rtc_clock_fn)(void *opaque);

/* Creates the RTC with the host's CLOCK_REALTIME as its clock. Returns 0 or -ENOMEM. */
MUST_CHECK int cmos_rtc_create(const struct platform *plat, struct cmos_rtc **out);
/* Frees (rtc) (and its timer fd if started: stop it first). NULL is a no-op. */
void cmos_rtc_destroy(struct cmos_rtc *rtc);
/* Registers ports 0x70-0x71 on (pio). Returns bus_register's result. */
MUST_CHECK int cmos_rtc_attach(struct cmos_rtc *rtc, struct bus *pio);
extern const struct io_ops cmos_rtc_io_ops;

/* Replaces the clock (tests). Call before the vCPUs run. */
void cmos_rtc_set_clock(struct cmos_rtc *rtc, cmos_rtc_clock_fn fn, void *opaque);

/* Fills the memory-size bytes: (low_bytes) of RAM below 4 GiB (starting at 0) and
 * (high_bytes) above HIGH_RAM_BASE. */
void cmos_rtc_set_memory(struct cmos_rtc *rtc, uint64_t low_bytes, uint64_t high_bytes);
/* Sets CMOS byte (idx) (14..127) to (val), for firmware settings (boot order, CPU count).
 * Returns 0 or -EINVAL. */
MUST_CHECK int cmos_rtc_set_byte(struct cmos_rtc *rtc, unsigned idx, uint8_t val);
/* CMOS byte (idx) (0..127; 0 for others), so a part can add bits to a shared byte such as
 * the equipment byte 0x14. */
uint8_t cmos_rtc_get_byte(struct cmos_rtc *rtc, unsigned idx);

/* Starts a timerfd on (loop) that raises the periodic / update-ended / alarm interrupts when
 * the guest enabled them. Returns 0 or -errno. Stop it with cmos_rtc_stop_timer before the
 * loop is destroyed. */
MUST_CHECK int cmos_rtc_start_timer(struct cmos_rtc *rtc, struct evloop *loop);
void cmos_rtc_stop_timer(struct cmos_rtc *rtc);

/* Copies the state out / in. cmos_rtc_load re-evaluates IRQ8 (no flags are raised for the time
 * that passed) and re-arms the timer; returns 0 or -EINVAL. Thread-safe. */
void cmos_rtc_save(struct cmos_rtc *rtc, struct cmos_rtc_state *st);
MUST_CHECK int cmos_rtc_load(struct cmos_rtc *rtc, const struct cmos_rtc_state *st);

#endif
