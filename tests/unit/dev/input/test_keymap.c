/* SPDX-License-Identifier: MIT */
/* Unit tests for dev/input/keymap.c: lookups by keysym, name and character, the scan-code
 * bytes of both sets, and the table's consistency (one key, one set of codes). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "dev/input/keymap.h"

static void test_lookups(void **state)
{
    const struct keymap_entry *a = keymap_find_keysym('a'), *up = keymap_find_keysym('A');
    (void)state;
    assert_non_null(a);
    assert_non_null(up);
    assert_false(a->is_shifted);
    assert_true(up->is_shifted);
    assert_int_equal(a->evdev, up->evdev);
    assert_int_equal(a->evdev, 30);
    assert_int_equal(keymap_find_keysym('!')->evdev, keymap_find_keysym('1')->evdev);
    assert_true(keymap_find_keysym('!')->is_shifted);
    assert_int_equal(keymap_find_keysym('<')->evdev, 51); /* Shift-comma on a US layout */
    assert_null(keymap_find_keysym(0));
    assert_null(keymap_find_keysym(0x1234567));
    assert_int_equal(keymap_find_name("ctrl")->evdev, 29);
    assert_int_equal(keymap_find_name("Control")->evdev, 29);
    assert_int_equal(keymap_find_name("DELETE")->evdev, 111);
    assert_int_equal(keymap_find_name("alt")->evdev, 56);
    assert_int_equal(keymap_find_name("kp_enter")->evdev, 96);
    assert_int_equal(keymap_find_name("f12")->evdev, 88);
    assert_int_equal(keymap_find_name("less")->evdev, 86);
    assert_null(keymap_find_name("nosuchkey"));
    assert_null(keymap_find_name(""));
    assert_int_equal(keymap_keysym_of_char('\n'), KEYSYM_RETURN);
    assert_int_equal(keymap_keysym_of_char('\t'), KEYSYM_TAB);
    assert_int_equal(keymap_keysym_of_char('\x01'), 0);
    assert_int_equal(keymap_keysym_of_char((char)0xe9), 0);
    for (int c = 0x20; c <= 0x7e; c++)
        assert_non_null(keymap_find_keysym(keymap_keysym_of_char((char)c)));
}

static void test_scancodes(void **state)
{
    uint8_t b[KEYMAP_MAX_BYTES];
    const struct keymap_entry *a = keymap_find_keysym('a'), *del = keymap_find_name("delete");
    (void)state;
    assert_int_equal(keymap_scancode(a, 1, true, b), 1);
    assert_int_equal(b[0], 0x1e);
    assert_int_equal(keymap_scancode(a, 1, false, b), 1);
    assert_int_equal(b[0], 0x9e);
    assert_int_equal(keymap_scancode(a, 2, true, b), 1);
    assert_int_equal(b[0], 0x1c);
    assert_int_equal(keymap_scancode(a, 2, false, b), 2);
    assert_memory_equal(b, "\xf0\x1c", 2);
    assert_int_equal(keymap_scancode(del, 1, true, b), 2);
    assert_memory_equal(b, "\xe0\x53", 2);
    assert_int_equal(keymap_scancode(del, 1, false, b), 2);
    assert_memory_equal(b, "\xe0\xd3", 2);
    assert_int_equal(keymap_scancode(del, 2, false, b), 3);
    assert_memory_equal(b, "\xe0\xf0\x71", 3);
}

/* Every row of one key carries the same codes; the main block's evdev codes are the set-1
 * codes; names are unique; every key type the keyboards need is there. */
static void test_table(void **state)
{
    uint16_t set2_of_set1[0x100] = {0}, evdev_of_set1[0x100] = {0};
    size_t n = keymap_count();
    (void)state;
    assert_true(n > 100);
    assert_null(keymap_at(n));
    for (size_t i = 0; i < n; i++) {
        const struct keymap_entry *e = keymap_at(i);
        unsigned s1 = (e->set1 & 0x7f) | ((e->set1 & KEYMAP_E0) ? 0x80 : 0);
        assert_true((e->set1 & KEYMAP_E0) == (e->set2 & KEYMAP_E0));
        assert_true((e->set1 & 0xff) < 0x80);
        assert_true(e->evdev > 0 && e->evdev < 0x100);
        if (!(e->set1 & KEYMAP_E0) && e->evdev <= 88)
            assert_int_equal(e->set1, e->evdev);
        if (set2_of_set1[s1] != 0) {
            assert_int_equal(set2_of_set1[s1], e->set2);
            assert_int_equal(evdev_of_set1[s1], e->evdev);
        }
        set2_of_set1[s1] = e->set2;
        evdev_of_set1[s1] = e->evdev;
        for (size_t j = i + 1; e->name != NULL && j < n; j++)
            if (keymap_at(j)->name != NULL)
                assert_string_not_equal(e->name, keymap_at(j)->name);
        if (e->keysym != 0)
            assert_ptr_equal(keymap_find_keysym(e->keysym), e);
    }
    static const char *const needed[] = {
        "shift", "shift_r", "ctrl",      "ctrl_r",    "alt",     "alt_r", "meta_l", "esc",
        "tab",   "ret",     "backspace", "spc",       "f1",      "f10",   "up",     "down",
        "left",  "right",   "home",      "end",       "pgup",    "pgdn",  "insert", "delete",
        "kp_0",  "kp_9",    "kp_add",    "kp_divide", "num_lock"};
    for (size_t i = 0; i < sizeof(needed) / sizeof(needed[0]); i++)
        assert_non_null(keymap_find_name(needed[i]));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lookups),
        cmocka_unit_test(test_scancodes),
        cmocka_unit_test(test_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
