/* SPDX-License-Identifier: MIT */
/*
 * Leaves the VM through the exit path named by `mode=` on the command line, so the harness can
 * check how the monitor reports each one:
 *   debugexit  write `code=N` to isa-debug-exit (port 0xf4): status (N << 1) | 1
 *   triple     triple fault (empty IDT + UD2, from the int $0x80 gate)
 *   hlt        HLT with interrupts off (the machine stops doing anything)
 *   i8042      pulse the reset line through the keyboard controller (0xFE to port 0x64)
 *   port92     fast reset through port 0x92 bit 0
 *   acpireset  the FADT's RESET_REG / RESET_VALUE (ACPI 6.4 §4.8.3.6)
 *   s5         soft-off: SLP_TYP(\_S5) | SLP_EN in PM1a_CNT (ACPI 6.4 §4.8.3.2.1, §16.1.7)
 *   ud         UD2 in ring 3: the runtime's exception report (vector 6) and FAIL exit (status 3)
 *   outs       OUTSB to port 0x80: with `iopl=0` a #GP the runtime refuses to emulate (string
 *              port I/O), so the same exception report (vector 13) and status 3
 * Prints `EXIT <mode>` right before acting; if the machine is still running 100 ms later the
 * payload reports FAIL.
 */
#include "acpi.h"

const char payload_name[] = "exits";

static struct acpi_info ai;

static bool acpi_ready(void)
{
    char why[120];
    if (acpi_init(&ai, why, sizeof(why))) {
        rt_fail("acpi", "%s", why);
        return false;
    }
    return true;
}

static void do_acpireset(void)
{
    if (!acpi_ready())
        return;
    if (!rt_check(ai.has_reset, "acpireset", "FADT has no RESET_REG (flags 0x%x)", ai.fadt_flags))
        return;
    rt_printf("EXIT acpireset (space %u address 0x%lx value 0x%x)\n", ai.reset_reg.space,
              (unsigned long)ai.reset_reg.address, ai.reset_value);
    if (ai.reset_reg.space == 1)
        outb((uint16_t)ai.reset_reg.address, ai.reset_value);
    else if (ai.reset_reg.space == 0)
        mmio_write8(ai.reset_reg.address, ai.reset_value);
    else
        rt_fail("acpireset", "RESET_REG in address space %u", ai.reset_reg.space);
}

static void do_s5(void)
{
    if (!acpi_ready() || !rt_check(ai.pm1a_cnt, "s5", "FADT has no PM1a_CNT"))
        return;
    int typ = ai.s5_slp_typ >= 0 ? ai.s5_slp_typ : 0;
    rt_printf("EXIT s5 (SLP_TYP %d)\n", typ);
    uint16_t cnt = inw(ai.pm1a_cnt) & PM1_CNT_SCI_EN;
    outw(ai.pm1a_cnt, (uint16_t)(cnt | (typ & 7) << 10 | PM1_CNT_SLP_EN));
}

void payload_main(void)
{
    char mode[16];
    if (!rt_cmdline_get("mode", mode, sizeof(mode))) {
        rt_fail("mode", "no mode= on the command line");
        return;
    }
    /* The PM timer gives rt_udelay a clock; its absence is not an error for most modes. */
    if (strcmp(mode, "acpireset") && strcmp(mode, "s5")) {
        char why[120];
        (void)acpi_init(&ai, why, sizeof(why));
    }
    if (!strcmp(mode, "debugexit")) {
        uint64_t code = rt_cmdline_u64("code", 0);
        rt_printf("EXIT debugexit %lu\n", (unsigned long)code);
        outb(PORT_DEBUG_EXIT, (uint8_t)code);
    } else if (!strcmp(mode, "triple")) {
        rt_printf("EXIT triple\n");
        rt_sys_triple_fault();
    } else if (!strcmp(mode, "hlt")) {
        rt_printf("EXIT hlt\n");
        rt_sys_halt();
    } else if (!strcmp(mode, "i8042")) {
        rt_printf("EXIT i8042\n");
        for (int i = 0; i < 100000 && (inb(0x64) & 0x02); i++)
            cpu_relax();
        outb(0x64, 0xfe);
    } else if (!strcmp(mode, "port92")) {
        rt_printf("EXIT port92\n");
        outb(0x92, (uint8_t)((inb(0x92) & ~1) & 0xff));
        outb(0x92, (uint8_t)(inb(0x92) | 1));
    } else if (!strcmp(mode, "ud")) {
        rt_printf("EXIT ud\n");
        __asm__ volatile("ud2");
    } else if (!strcmp(mode, "outs")) {
        static const uint8_t byte = 0;
        rt_printf("EXIT outs\n");
        __asm__ volatile("outsb" : : "S"(&byte), "d"(0x80) : "memory");
    } else if (!strcmp(mode, "acpireset")) {
        do_acpireset();
    } else if (!strcmp(mode, "s5")) {
        do_s5();
    } else {
        rt_fail("mode", "unknown mode '%s'", mode);
        return;
    }
    rt_udelay(100000);
    rt_fail(mode, "the machine is still running after the exit request");
}
