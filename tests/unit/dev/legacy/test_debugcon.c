/* SPDX-License-Identifier: MIT */
/* Unit tests for dev/legacy/debugcon.c: readback, and hostile output (long lines, control
 * characters, floods) that must stay bounded. The lines go to stderr (the log). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "core/x86/layout.h"
#include "dev/bus.h"
#include "dev/legacy/debugcon.h"

static void test_debugcon(void **state)
{
    struct debugcon *d;
    struct bus *pio;
    uint64_t v;
    (void)state;
    assert_int_equal(bus_create("pio", &pio), 0);
    assert_int_equal(debugcon_create(&d), 0);
    assert_int_equal(debugcon_attach(d, pio, PORT_BIOS_DEBUG), 0);
    assert_true(bus_read(pio, PORT_BIOS_DEBUG, 1, &v));
    assert_int_equal(v, DEBUGCON_READBACK);
    for (const char *p = "hello\r\n\x01\x7f\xff\n"; *p; p++)
        assert_true(bus_write(pio, PORT_BIOS_DEBUG, 1, (uint8_t)*p));
    for (unsigned i = 0; i < 3 * DEBUGCON_LINE_MAX; i++) /* cut into lines */
        assert_true(bus_write(pio, PORT_BIOS_DEBUG, 1, 'x'));
    for (unsigned i = 0; i < 2 * DEBUGCON_LINES_PER_S; i++) /* a flood: counted, not logged */
        assert_true(bus_write(pio, PORT_BIOS_DEBUG, 1, '\n'));
    assert_false(bus_write(pio, PORT_BIOS_DEBUG, 2, 'y')); /* wider than the port: unclaimed */
    assert_true(bus_write(pio, PORT_BIOS_DEBUG, 1, 'z'));  /* flushed by destroy */
    debugcon_destroy(d);
    assert_false(bus_read(pio, PORT_BIOS_DEBUG, 1, &v));
    bus_destroy(pio);
}

/* Writes (text) to the port with stderr in a temporary file; returns what was logged. */
static char *logged(struct bus *pio, const char *text)
{
    static char buf[512];
    FILE *f = tmpfile();
    int saved = dup(2);
    size_t n;
    assert_non_null(f);
    assert_true(saved >= 0);
    fflush(stderr);
    assert_true(dup2(fileno(f), 2) == 2);
    for (const char *p = text; *p; p++)
        assert_true(bus_write(pio, PORT_BIOS_DEBUG, 1, (uint8_t)*p));
    fflush(stderr);
    assert_true(dup2(saved, 2) == 2);
    close(saved);
    rewind(f);
    n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* The firmware's lines are info: dropped below it (--log-level warn, error), logged at info. */
static void test_debugcon_level(void **state)
{
    struct debugcon *d;
    struct bus *pio;
    enum log_level old = log_current_level;
    (void)state;
    assert_int_equal(bus_create("pio", &pio), 0);
    assert_int_equal(debugcon_create(&d), 0);
    assert_int_equal(debugcon_attach(d, pio, PORT_BIOS_DEBUG), 0);
    log_set_level(LOG_WARN);
    assert_string_equal(logged(pio, "quiet\n"), "");
    log_set_level(LOG_ERROR);
    assert_string_equal(logged(pio, "quiet too\n"), "");
    log_set_level(LOG_INFO);
    assert_non_null(strstr(logged(pio, "SeaBIOS (version x)\n"), "INFO bios"));
    assert_non_null(strstr(logged(pio, "SeaBIOS (version x)\n"), "SeaBIOS (version x)"));
    log_set_level(old);
    debugcon_destroy(d);
    bus_destroy(pio);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_debugcon),
        cmocka_unit_test(test_debugcon_level),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
