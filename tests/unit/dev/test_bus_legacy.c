/* SPDX-License-Identifier: MIT */
/* Unit tests for dev/bus.c with every legacy device of dev/legacy/ attached to the PIO bus. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "base/compiler.h"
#include "core/x86/layout.h"
#include "dev/bus.h"
#include "dev/legacy/acpi_pm.h"
#include "dev/legacy/cmos_rtc.h"
#include "dev/legacy/i8042.h"
#include "dev/legacy/uart8250.h"
#include "fake_platform.h"

/* A hostile guest hammering every legacy port with random sizes and values, while input
 * arrives: nothing may crash (run under ASan/UBSan in CI), interrupt lines stay consistent. */
static void test_random_ports(void **state)
{
    (void)state;
    struct fake_platform fp;
    struct bus *pio;
    struct uart8250 *u;
    struct i8042 *k;
    struct cmos_rtc *rtc;
    struct acpi_pm *pm;
    static const uint16_t ports[] = {PORT_COM1,        PORT_I8042_DATA,   PORT_I8042_CMD,
                                     PORT_CMOS,        PORT_ACPI_PM1_EVT, PORT_ACPI_PM1_CNT,
                                     PORT_ACPI_PM_TMR, PORT_ACPI_GPE0};
    static const unsigned sizes[] = {1, 2, 4, 8};
    uint64_t seed = 42;
    fake_platform_init(&fp);
    assert_int_equal(bus_create("pio", &pio), 0);
    assert_int_equal(uart8250_create(&fp.plat, GSI_COM1, &u), 0);
    assert_int_equal(uart8250_attach(u, pio, PORT_COM1, "com1"), 0);
    assert_int_equal(i8042_create(&fp.plat, &k), 0);
    assert_int_equal(i8042_attach(k, pio), 0);
    assert_int_equal(cmos_rtc_create(&fp.plat, &rtc), 0);
    assert_int_equal(cmos_rtc_attach(rtc, pio), 0);
    assert_int_equal(acpi_pm_create(&fp.plat, &pm), 0);
    assert_int_equal(acpi_pm_attach(pm, pio), 0);
    for (unsigned i = 0; i < 200000; i++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        uint64_t r = seed >> 13;
        uint16_t port = (uint16_t)(ports[r % ARRAY_SIZE(ports)] + ((r >> 4) % 10));
        unsigned size = sizes[(r >> 8) % 4];
        uint64_t v;
        if ((r >> 10) & 1) {
            uint64_t val = seed * 0x2545f4914f6cdd1dULL;
            /* keep away from the bits that end the machine; they are tested elsewhere */
            if (port == PORT_I8042_CMD)
                val |= 1;
            (void)bus_write(pio, port, size, val);
        } else {
            (void)bus_read(pio, port, size, &v);
        }
        if ((r >> 20) % 64 == 0) {
            uint8_t in[8] = {1, 2, 3, 4, 5, 6, 7, 8};
            (void)uart8250_receive(u, in, (r >> 30) % 9);
            (void)i8042_queue_kbd(k, in, (r >> 34) % 9);
            (void)i8042_queue_aux(k, in, (r >> 38) % 9);
        }
        if ((r >> 26) % 1024 == 0)
            acpi_pm_press_power_button(pm);
    }
    assert_int_equal(fp.n_exit, 0);
    acpi_pm_destroy(pm);
    cmos_rtc_destroy(rtc);
    i8042_destroy(k);
    uart8250_destroy(u);
    bus_destroy(pio);
    fake_platform_fini(&fp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_ports),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
