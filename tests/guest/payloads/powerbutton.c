/* SPDX-License-Identifier: MIT */
/*
 * The ACPI fixed power button (ACPI 6.4 §4.8.2.2.1.1 and §4.8.3.1): clears a stale
 * PWRBTN_STS, sets PWRBTN_EN in PM1a_EN, prints `READY powerbutton` and polls PM1a_STS for
 * PWRBTN_STS until `timeout=` seconds (default 20) pass; the harness presses the button when it
 * sees READY (QEMU: QMP system_powerdown; bareiron: the control socket's power-button). Then it
 * clears the status bit (write 1), checks it cleared, and enters S5 with SLP_TYP from the
 * DSDT's \_S5 package | SLP_EN (§4.8.3.2.1). The VM powers off (exit status 0); if it does not,
 * the payload fails.
 */
#include "acpi.h"

const char payload_name[] = "powerbutton";

static struct acpi_info ai;

void payload_main(void)
{
    char why[120];
    if (acpi_init(&ai, why, sizeof(why)) || !ai.fadt) {
        rt_fail("fadt", "%s", ai.fadt ? why : "no FADT");
        return;
    }
    if (!rt_check(ai.pm1a_evt && ai.pm1a_cnt && ai.pm_tmr, "fadt",
                  "PM1a_EVT 0x%x PM1a_CNT 0x%x PM_TMR 0x%x", ai.pm1a_evt, ai.pm1a_cnt, ai.pm_tmr))
        return;
    uint16_t sts_port = ai.pm1a_evt;
    uint16_t en_port = (uint16_t)(ai.pm1a_evt + ai.pm1_evt_len / 2);
    outw(sts_port, PM1_STS_PWRBTN);
    outw(en_port, (uint16_t)(inw(en_port) | PM1_EN_PWRBTN));
    if (!rt_check(inw(en_port) & PM1_EN_PWRBTN, "enable", "PWRBTN_EN does not stick"))
        return;
    rt_pass("enable");

    uint64_t timeout_us = rt_cmdline_u64("timeout", 20) * 1000000;
    rt_printf("READY powerbutton\n");
    uint64_t t0 = rt_now_us();
    uint16_t sts = 0;
    while (!((sts = inw(sts_port)) & PM1_STS_PWRBTN) && rt_now_us() - t0 < timeout_us)
        cpu_relax();
    if (!rt_check(sts & PM1_STS_PWRBTN, "press", "no PWRBTN_STS within %lu s (PM1a_STS 0x%04x)",
                  (unsigned long)(timeout_us / 1000000), sts))
        return;
    rt_printf("  PWRBTN_STS after %lu ms\n", (unsigned long)((rt_now_us() - t0) / 1000));
    rt_pass("press");
    outw(sts_port, PM1_STS_PWRBTN);
    sts = inw(sts_port);
    if (!rt_check(!(sts & PM1_STS_PWRBTN), "clear", "PWRBTN_STS still set (0x%04x)", sts))
        return;
    rt_pass("clear");

    int typ = ai.s5_slp_typ;
    if (typ < 0) {
        rt_printf("  no \\_S5 in the DSDT, using SLP_TYP 0\n");
        typ = 0;
    }
    rt_printf("EXIT s5 (SLP_TYP %d)\n", typ);
    uint16_t cnt = inw(ai.pm1a_cnt) & PM1_CNT_SCI_EN;
    outw(ai.pm1a_cnt, (uint16_t)(cnt | (typ & 7) << 10 | PM1_CNT_SLP_EN));
    rt_udelay(100000);
    rt_fail("s5", "still running after SLP_EN");
}
