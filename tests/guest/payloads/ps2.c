/* SPDX-License-Identifier: MIT */
/*
 * Host input through the PS/2 keyboard and mouse of the i8042 (IBM PS/2 Technical Reference,
 * "Keyboard/Auxiliary Device Controller", "Keyboard", "Pointing Device"), polled:
 *   - the keyboard: enable (F4 -> FA), identify (F2 -> FA AB 41 behind translation);
 *   - the mouse: enable the aux port (A8), reset (FF -> FA AA 00), the IntelliMouse knock
 *     (sample rates 200, 100, 80) and identify (F2 -> FA 03), stream reporting on (F4);
 * then prints `READY ps2` and waits up to `timeout=` seconds (default 20) while the harness
 * presses the key 'a' (QEMU: QMP send-key; bareiron: the control socket's send-key) and moves
 * the pointer right 10, up 5 with the left button down (QEMU: QMP input-send-event;
 * bareiron: input-pointer from (100,100) to (110,95)). It checks the translated (set 1)
 * make/break codes 1E 9E and 4-byte packets adding up to +10, +5 (PS/2 Y grows upwards) with
 * the left button.
 */
#include "acpi.h"

const char payload_name[] = "ps2";

#define STS_OBF 0x01
#define STS_IBF 0x02
#define STS_AUX 0x20

static int kbc_read(void)
{
    for (int i = 0; i < 200000; i++) {
        if (inb(0x64) & STS_OBF)
            return inb(0x60);
        cpu_relax();
    }
    return -1;
}

static void kbc_write(uint16_t port, uint8_t v)
{
    for (int i = 0; i < 200000 && (inb(0x64) & STS_IBF); i++)
        cpu_relax();
    outb(port, v);
}

/* A byte to the mouse; returns its answer (the ACK). */
static int aux_cmd(uint8_t v)
{
    kbc_write(0x64, 0xd4);
    kbc_write(0x60, v);
    return kbc_read();
}

static bool setup(void)
{
    for (int i = 0; i < 64 && (inb(0x64) & STS_OBF); i++)
        (void)inb(0x60);
    kbc_write(0x60, 0xf4);
    int ack = kbc_read();
    kbc_write(0x60, 0xf2);
    int id0 = kbc_read(), id1 = kbc_read(), id2 = kbc_read();
    rt_printf("  keyboard: enable %02x, identify %02x %02x %02x\n", ack, id0, id1, id2);
    if (!rt_check(ack == 0xfa && id0 == 0xfa && id1 == 0xab && id2 == 0x41, "kbd",
                  "enable/identify answered %d, %d %d %d", ack, id0, id1, id2))
        return false;
    rt_pass("kbd");
    kbc_write(0x64, 0xa8);
    int r0 = aux_cmd(0xff), r1 = kbc_read(), r2 = kbc_read();
    static const uint8_t knock[] = {200, 100, 80};
    bool is_ok = r0 == 0xfa && r1 == 0xaa && r2 == 0x00;
    for (unsigned i = 0; i < 3; i++)
        is_ok = is_ok && aux_cmd(0xf3) == 0xfa && aux_cmd(knock[i]) == 0xfa;
    int ida = aux_cmd(0xf2), id = kbc_read();
    int on = aux_cmd(0xf4);
    rt_printf("  mouse: reset %02x %02x %02x, identify %02x %02x, reporting %02x\n", r0, r1, r2,
              ida, id, on);
    if (!rt_check(is_ok && ida == 0xfa && id == 0x03 && on == 0xfa, "mouse",
                  "reset/IntelliMouse/enable answers wrong (ID %d)", id))
        return false;
    rt_pass("mouse");
    return true;
}

static struct acpi_info ai;

void payload_main(void)
{
    char why[120];
    /* finds the ACPI PM timer, the clock of rt_now_us (the timeout) */
    if (acpi_init(&ai, why, sizeof(why))) {
        rt_fail("acpi", "%s", why);
        return;
    }
    if (!setup())
        return;
    uint64_t timeout_us = rt_cmdline_u64("timeout", 20) * 1000000;
    uint8_t keys[8], pkt[4];
    unsigned nkeys = 0, npkt = 0, packets = 0;
    int dx = 0, dy = 0, buttons = 0;
    bool is_bad_packet = false;
    rt_printf("READY ps2\n");
    uint64_t t0 = rt_now_us();
    while (rt_now_us() - t0 < timeout_us && (nkeys < 2 || dx != 10 || dy != 5)) {
        uint8_t st = inb(0x64);
        if (!(st & STS_OBF)) {
            cpu_relax();
            continue;
        }
        uint8_t b = inb(0x60);
        if (!(st & STS_AUX)) {
            if (nkeys < sizeof(keys))
                keys[nkeys++] = b;
            continue;
        }
        if (npkt == 0 && !(b & 0x08))
            is_bad_packet = true; /* out of step: bit 3 of byte 0 is always set */
        pkt[npkt++] = b;
        if (npkt == 4) {
            dx += (int)pkt[1] - ((pkt[0] & 0x10) ? 256 : 0);
            dy += (int)pkt[2] - ((pkt[0] & 0x20) ? 256 : 0);
            buttons |= pkt[0] & 7;
            packets++;
            npkt = 0;
        }
    }
    rt_printf("  keys:");
    for (unsigned i = 0; i < nkeys; i++)
        rt_printf(" %02x", keys[i]);
    rt_printf("; %u mouse packets: %d %d buttons %x\n", packets, dx, dy, buttons);
    if (rt_check(nkeys == 2 && keys[0] == 0x1e && keys[1] == 0x9e, "keys",
                 "want 1e 9e (key a, set 1), got %u bytes", nkeys))
        rt_pass("keys");
    if (rt_check(!is_bad_packet && dx == 10 && dy == 5 && (buttons & 1), "pointer",
                 "want +10 +5 with the left button in 4-byte packets"))
        rt_pass("pointer");
}
