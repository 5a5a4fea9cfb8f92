/* SPDX-License-Identifier: MIT */
/*
 * Probes the legacy PC devices every x86 guest touches early:
 *   - CMOS RTC (Motorola MC146818A data sheet, "Registers A-D"): register A's divider/rate,
 *     register D's valid-RAM bit, BCD time fields in range, the seconds advancing, and one
 *     byte of CMOS RAM (index 0x5f) that reads back what was written;
 *   - i8042 keyboard controller (IBM PS/2 Technical Reference, "Keyboard/Auxiliary Device
 *     Controller"): self-test 0xAA answers 0x55, interface test 0xAB answers 0x00, the command
 *     byte reads back (0x20/0x60);
 *   - port 0x92 (System Control Port A): the A20 bit toggles and reads back (bit 0, the reset
 *     line, is never written as 1); with `iopl=0` it is only read (must be on), see
 *     test_port92;
 *   - PIT channel 2 (Intel 8254 data sheet; gate and OUT2 through port 0x61): mode 0 counts down
 *     and raises OUT2 after about 55 ms for a count of 65535.
 */
#include "acpi.h"

const char payload_name[] = "legacy";

static uint8_t cmos_read(uint8_t idx)
{
    outb(0x70, idx);
    return inb(0x71);
}

static void cmos_write(uint8_t idx, uint8_t v)
{
    outb(0x70, idx);
    outb(0x71, v);
}

static bool bcd_ok(uint8_t v, uint8_t max)
{
    return (v & 0x0f) <= 9 && (v >> 4) <= 9 && ((v >> 4) * 10 + (v & 0x0f)) <= max;
}

/* Reads the seconds after waiting out an update in progress (register A bit 7). */
static uint8_t rtc_seconds(void)
{
    for (int i = 0; i < 100000 && (cmos_read(0x0a) & 0x80); i++)
        cpu_relax();
    return cmos_read(0x00);
}

static void test_rtc(void)
{
    uint8_t a = cmos_read(0x0a), b = cmos_read(0x0b), d = cmos_read(0x0d);
    uint8_t sec = rtc_seconds(), min = cmos_read(0x02), hour = cmos_read(0x04);
    uint8_t day = cmos_read(0x07), mon = cmos_read(0x08), year = cmos_read(0x09);
    rt_printf("  RTC A %02x B %02x D %02x: 20%02x-%02x-%02x %02x:%02x:%02x\n", a, b, d, year, mon,
              day, hour, min, sec);
    if (rt_check((a & 0x70) == 0x20 && (d & 0x80), "rtc-regs",
                 "register A %02x (want divider 010), D %02x (want VRT)", a, d))
        rt_pass("rtc-regs");
    if (!(b & 0x04)) {
        bool ok = bcd_ok(sec, 59) && bcd_ok(min, 59) && bcd_ok(hour & 0x7f, 23) &&
                  bcd_ok(day, 31) && day && bcd_ok(mon, 12) && mon && bcd_ok(year, 99);
        if (rt_check(ok, "rtc-bcd", "time fields not valid BCD"))
            rt_pass("rtc-bcd");
    }
    uint64_t t0 = rt_now_us();
    uint8_t s2 = sec;
    while ((s2 = rtc_seconds()) == sec && rt_now_us() - t0 < 2500000)
        rt_udelay(1000);
    if (rt_check(s2 != sec, "rtc-ticks", "seconds stuck at %02x for 2.5 s", sec))
        rt_pass("rtc-ticks");

    uint8_t saved = cmos_read(0x5f);
    cmos_write(0x5f, 0xa5);
    uint8_t v1 = cmos_read(0x5f);
    cmos_write(0x5f, 0x5a);
    uint8_t v2 = cmos_read(0x5f);
    cmos_write(0x5f, saved);
    if (rt_check(v1 == 0xa5 && v2 == 0x5a, "cmos-ram", "CMOS 0x5f read back %02x/%02x", v1, v2))
        rt_pass("cmos-ram");
}

/* Waits for the i8042 output buffer and returns its byte, or -1 after a timeout. */
static int kbc_read(void)
{
    for (int i = 0; i < 200000; i++) {
        if (inb(0x64) & 0x01)
            return inb(0x60);
        cpu_relax();
    }
    return -1;
}

static void kbc_write(uint16_t port, uint8_t v)
{
    for (int i = 0; i < 200000 && (inb(0x64) & 0x02); i++)
        cpu_relax();
    outb(port, v);
}

static void test_i8042(void)
{
    for (int i = 0; i < 32 && (inb(0x64) & 0x01); i++)
        (void)inb(0x60);
    kbc_write(0x64, 0x20);
    int cfg = kbc_read();
    kbc_write(0x64, 0xaa);
    int st = kbc_read();
    kbc_write(0x64, 0xab);
    int it = kbc_read();
    if (cfg >= 0) {
        kbc_write(0x64, 0x60);
        kbc_write(0x60, (uint8_t)cfg);
    }
    kbc_write(0x64, 0x20);
    int cfg2 = kbc_read();
    uint8_t status = inb(0x64);
    rt_printf("  i8042: command byte %02x, self-test %02x, interface test %02x, status %02x\n", cfg,
              st, it, status);
    if (rt_check(st == 0x55 && it == 0x00, "i8042-tests",
                 "self-test gave %d (want 0x55), interface test %d (want 0)", st, it))
        rt_pass("i8042-tests");
    if (rt_check(cfg >= 0 && cfg2 == cfg, "i8042-cmdbyte", "command byte %d then %d", cfg, cfg2))
        rt_pass("i8042-cmdbyte");
}

static void test_port92(void)
{
    if (rt_iopl == 0) {
        /* With IOPL 0 each port access runs entry.S's #GP handler, whose code, stack and IDT
         * sit in odd megabytes: with A20 off (QEMU TCG masks it) they alias and the machine
         * triple-faults. Only read the bit then. */
        uint8_t a = inb(0x92);
        rt_printf("NOTE legacy-port92: iopl=0: A20 is not toggled (reads %02x)\n", a);
        if (rt_check(a & 0x02, "port92", "A20 bit reads off: %02x", a))
            rt_pass("port92");
        return;
    }
    uint8_t v = inb(0x92) & (uint8_t)~1;
    outb(0x92, v ^ 0x02);
    uint8_t t = inb(0x92);
    outb(0x92, v);
    uint8_t r = inb(0x92);
    if (rt_check(((t ^ v) & 0x02) && ((r ^ v) & 0x02) == 0, "port92",
                 "A20 bit: %02x -> wrote %02x, read %02x, restored %02x", v, v ^ 0x02, t, r))
        rt_pass("port92");
}

static void test_pit(void)
{
    uint8_t p61 = inb(0x61);
    outb(0x61, (uint8_t)((p61 & ~0x03) | 0x01)); /* gate 2 on, speaker off */
    outb(0x43, 0xb0);                            /* channel 2, lo/hi, mode 0, binary */
    outb(0x42, 0xff);
    outb(0x42, 0xff);
    uint64_t t0 = rt_now_us();
    outb(0x43, 0x80); /* latch channel 2 */
    uint16_t c1 = inb(0x42);
    c1 |= (uint16_t)(inb(0x42) << 8);
    rt_udelay(2000);
    outb(0x43, 0x80);
    uint16_t c2 = inb(0x42);
    c2 |= (uint16_t)(inb(0x42) << 8);
    bool out_low = !(inb(0x61) & 0x20);
    while (!(inb(0x61) & 0x20) && rt_now_us() - t0 < 2000000)
        cpu_relax();
    uint64_t us = rt_now_us() - t0;
    bool out_high = inb(0x61) & 0x20;
    outb(0x61, p61);
    rt_printf("  PIT ch2: count %u then %u, OUT2 after %lu us\n", c1, c2, (unsigned long)us);
    if (rt_check(c2 < c1 && out_low && out_high && us >= 20000 && us < 1000000, "pit",
                 "count %u -> %u, OUT2 %s then %s after %lu us (want ~55 ms)", c1, c2,
                 out_low ? "low" : "HIGH", out_high ? "high" : "LOW", (unsigned long)us))
        rt_pass("pit");
}

void payload_main(void)
{
    static struct acpi_info ai;
    char why[120];
    if (acpi_init(&ai, why, sizeof(why)) || !rt_pmtmr_port)
        rt_printf("  no ACPI PM timer (%s): timing checks are coarse\n", why);
    test_rtc();
    test_i8042();
    test_port92();
    test_pit();
}
