/* SPDX-License-Identifier: MIT */
/*
 * ACPI fixed-hardware registers (ACPI 6.5 §4.8) at PORT_ACPI_PM_BASE: PM1a_STS/PM1a_EN
 * (write-1-to-clear status: TMR_STS bit 0, PWRBTN_STS bit 8, WAK_STS bit 15), PM1a_CNT (SCI_EN
 * always 1; SLP_EN with SLP_TYP == ACPI_SLP_TYP_S5 powers off), the 24-bit PM timer at
 * 3.579545 MHz from CLOCK_MONOTONIC, and GPE0 STS/EN (4 + 4 bytes, write-1-to-clear status).
 * The SCI (GSI_ACPI_SCI) is a level line: (PM1 STS & EN & (TMR|PWRBTN)) || (GPE0 STS & EN).
 *
 * Threading: one mutex per device; thread-safe API.
 */
#ifndef BAREIRON_DEV_LEGACY_ACPI_PM_H
#define BAREIRON_DEV_LEGACY_ACPI_PM_H

#include <stdint.h>

#include "base/compiler.h"
#include "dev/bus.h"
#include "core/platform.h"

#define ACPI_PM1_STS_TMR 0x0001u
#define ACPI_PM1_STS_PWRBTN 0x0100u
#define ACPI_PM1_STS_WAK 0x8000u
#define ACPI_PM1_CNT_SCI_EN 0x0001u
#define ACPI_PM1_CNT_SLP_TYP_SHIFT 10
#define ACPI_PM1_CNT_SLP_TYP_MASK 0x1c00u
#define ACPI_PM1_CNT_SLP_EN 0x2000u
#define ACPI_PM_TMR_HZ 3579545u
#define ACPI_GPE0_BLK_LEN 8 /* FADT GPE0_BLK_LEN: 4 bytes STS + 4 bytes EN */

struct acpi_pm;

/* Register state for snapshots; (tmr) is the PM timer value at save time. */
struct acpi_pm_state {
    uint16_t pm1_sts, pm1_en, pm1_cnt;
    uint32_t gpe_sts, gpe_en;
    uint32_t tmr;
};

/* Creates the PM block. Returns 0 or -ENOMEM. */
MUST_CHECK int acpi_pm_create(const struct platform *plat, struct acpi_pm **out);
void acpi_pm_destroy(struct acpi_pm *pm);
/* Registers PM1_EVT (4 ports), PM1_CNT (2), PM_TMR (4) and GPE0 (8) at the PORT_ACPI_* ports. */
MUST_CHECK int acpi_pm_attach(struct acpi_pm *pm, struct bus *pio);
/* The same with the blocks at (base) instead (PM1_EVT +0, PM1_CNT +4, PM_TMR +8, GPE0 +0x20;
 * 0: not registered until acpi_pm_move), as a PIIX4 PM function places them. */
MUST_CHECK int acpi_pm_attach_at(struct acpi_pm *pm, struct bus *pio, uint16_t base);
/* Moves every block to (base) (0: unregistered), as the PIIX4's PMBA/PMIOSE say. Returns 0 or
 * -errno (then nothing is registered: a base over another device). Caller serializes moves. */
MUST_CHECK int acpi_pm_move(struct acpi_pm *pm, uint16_t base);

/* The power button (issue 4): sets PWRBTN_STS and raises the SCI if PWRBTN_EN. Thread-safe. */
void acpi_pm_press_power_button(struct acpi_pm *pm);
/* Sets status bit (bit) (0..31) of GPE0 (hotplug events later). Returns 0 or -EINVAL. */
MUST_CHECK int acpi_pm_raise_gpe(struct acpi_pm *pm, unsigned bit);

/* Copies the state out / in; the PM timer continues from the saved value. acpi_pm_load
 * re-evaluates the SCI. Returns 0 or -EINVAL. Thread-safe. */
void acpi_pm_save(struct acpi_pm *pm, struct acpi_pm_state *st);
MUST_CHECK int acpi_pm_load(struct acpi_pm *pm, const struct acpi_pm_state *st);

#endif
