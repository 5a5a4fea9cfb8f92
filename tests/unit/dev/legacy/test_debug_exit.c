/* SPDX-License-Identifier: MIT */
/* Unit tests for dev/legacy/debug_exit.c: QEMU's isa-debug-exit status (value << 1) | 1. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/x86/layout.h"
#include "dev/bus.h"
#include "dev/legacy/debug_exit.h"
#include "fake_platform.h"

static void test_debug_exit(void **state)
{
    (void)state;
    struct fake_platform fp;
    struct debug_exit *d;
    struct bus *pio;
    uint64_t v;
    fake_platform_init(&fp);
    assert_int_equal(debug_exit_create(&fp.plat, &d), 0);
    assert_int_equal(bus_create("pio", &pio), 0);
    assert_int_equal(debug_exit_attach(d, pio), 0);
    assert_true(bus_read(pio, PORT_DEBUG_EXIT, 1, &v));
    assert_int_equal(v, 0xff);
    assert_true(bus_write(pio, PORT_DEBUG_EXIT, 1, 0x10));
    assert_int_equal(fp.n_exit, 1);
    assert_int_equal(fp.last_exit_code, 0x21);
    assert_true(bus_write(pio, PORT_DEBUG_EXIT, 2, 0));
    assert_int_equal(fp.last_exit_code, 1);
    assert_true(bus_write(pio, PORT_DEBUG_EXIT, 4, 0x31));
    assert_int_equal(fp.last_exit_code, 0x63);
    assert_int_equal(fp.n_exit, 3);
    assert_true(bus_write(pio, PORT_DEBUG_EXIT + 1, 1, 5)); /* not the base port: ignored */
    assert_int_equal(fp.n_exit, 3);
    bus_destroy(pio);
    debug_exit_destroy(d);
    fake_platform_fini(&fp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_debug_exit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
