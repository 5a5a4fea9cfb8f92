/* SPDX-License-Identifier: MIT */
/* Unit tests for dev/legacy/port92.c: the A20 bit and the fast reset. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/x86/layout.h"
#include "dev/bus.h"
#include "dev/legacy/port92.h"
#include "fake_platform.h"

static void test_port92(void **state)
{
    (void)state;
    struct fake_platform fp;
    struct port92 *p;
    struct bus *pio;
    uint64_t v;
    fake_platform_init(&fp);
    assert_int_equal(port92_create(&fp.plat, &p), 0);
    assert_int_equal(bus_create("pio", &pio), 0);
    assert_int_equal(port92_attach(p, pio), 0);
    assert_true(bus_read(pio, PORT_PORT92, 1, &v));
    assert_int_equal(v, 0x02); /* A20 on */
    assert_true(bus_write(pio, PORT_PORT92, 1, 0x00));
    assert_true(bus_read(pio, PORT_PORT92, 1, &v));
    assert_int_equal(v, 0x00);
    assert_int_equal(fp.n_reset, 0);
    assert_true(bus_write(pio, PORT_PORT92, 1, 0x03));
    assert_int_equal(fp.n_reset, 1);
    assert_true(bus_read(pio, PORT_PORT92, 1, &v));
    assert_int_equal(v, 0x02); /* reset bit reads 0 */
    bus_destroy(pio);
    port92_destroy(p);
    fake_platform_fini(&fp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_port92),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
