/* SPDX-License-Identifier: MIT */
/*
 * The saved-state sections (base/statefile.h, docs/vmm.md "Saved state") of the legacy devices
 * whose register state has a struct of its own: COM1 (its FIFO included), the i8042, the ACPI
 * PM block and the CMOS RTC. Each load returns 0, or -EINVAL when the section is short, long or
 * holds values the device refuses (it is then unchanged). Thread-safe, as the device's own
 * save/load.
 */
#ifndef BAREIRON_DEV_LEGACY_LEGACY_STATE_H
#define BAREIRON_DEV_LEGACY_LEGACY_STATE_H

#include "base/compiler.h"
#include "base/statefile.h"
#include "dev/legacy/acpi_pm.h"
#include "dev/legacy/cmos_rtc.h"
#include "dev/legacy/i8042.h"
#include "dev/legacy/uart8250.h"

void uart8250_save_state(struct uart8250 *u, struct sf_buf *b);
MUST_CHECK int uart8250_load_state(struct uart8250 *u, struct sf_in *in);
void i8042_save_state(struct i8042 *k, struct sf_buf *b);
MUST_CHECK int i8042_load_state(struct i8042 *k, struct sf_in *in);
void acpi_pm_save_state(struct acpi_pm *pm, struct sf_buf *b);
MUST_CHECK int acpi_pm_load_state(struct acpi_pm *pm, struct sf_in *in);
void cmos_rtc_save_state(struct cmos_rtc *rtc, struct sf_buf *b);
MUST_CHECK int cmos_rtc_load_state(struct cmos_rtc *rtc, struct sf_in *in);

#endif
