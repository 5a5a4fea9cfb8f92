/* SPDX-License-Identifier: MIT */
/*
 * Implementation of dev/input/keymap.h. The scan codes are those of an MF2 (101/102-key) AT
 * keyboard: set 1 as the IBM PC/XT and the 8042's translation produce it, set 2 as the
 * keyboard sends it natively; the evdev codes are Linux's KEY_* numbers (for the keys of the
 * main block they equal the set-1 make code, which the table keeps visible).
 */
#include "dev/input/keymap.h"

#include <strings.h>

#include "base/util.h"

/* A key: keysym, sendkey name, set 1, set 2, evdev. */
#define K(sym, name, s1, s2, ev)                                                                   \
    {                                                                                              \
        (sym), (name), (s1), (s2), (ev), false                                                     \
    }
/* A keysym typed with Shift on another key's codes. */
#define S(sym, s1, s2, ev)                                                                         \
    {                                                                                              \
        (sym), NULL, (s1), (s2), (ev), true                                                        \
    }
#define E0 KEYMAP_E0

static const struct keymap_entry keys[] = {
    /* the main block, row by row */
    K(0xff1b, "esc", 0x01, 0x76, 1),
    K('1', "1", 0x02, 0x16, 2),
    K('2', "2", 0x03, 0x1e, 3),
    K('3', "3", 0x04, 0x26, 4),
    K('4', "4", 0x05, 0x25, 5),
    K('5', "5", 0x06, 0x2e, 6),
    K('6', "6", 0x07, 0x36, 7),
    K('7', "7", 0x08, 0x3d, 8),
    K('8', "8", 0x09, 0x3e, 9),
    K('9', "9", 0x0a, 0x46, 10),
    K('0', "0", 0x0b, 0x45, 11),
    K('-', "minus", 0x0c, 0x4e, 12),
    K('=', "equal", 0x0d, 0x55, 13),
    K(0xff08, "backspace", 0x0e, 0x66, 14),
    K(0xff09, "tab", 0x0f, 0x0d, 15),
    K('q', "q", 0x10, 0x15, 16),
    K('w', "w", 0x11, 0x1d, 17),
    K('e', "e", 0x12, 0x24, 18),
    K('r', "r", 0x13, 0x2d, 19),
    K('t', "t", 0x14, 0x2c, 20),
    K('y', "y", 0x15, 0x35, 21),
    K('u', "u", 0x16, 0x3c, 22),
    K('i', "i", 0x17, 0x43, 23),
    K('o', "o", 0x18, 0x44, 24),
    K('p', "p", 0x19, 0x4d, 25),
    K('[', "bracket_left", 0x1a, 0x54, 26),
    K(']', "bracket_right", 0x1b, 0x5b, 27),
    K(0xff0d, "ret", 0x1c, 0x5a, 28),
    K(0xffe3, "ctrl", 0x1d, 0x14, 29),
    K('a', "a", 0x1e, 0x1c, 30),
    K('s', "s", 0x1f, 0x1b, 31),
    K('d', "d", 0x20, 0x23, 32),
    K('f', "f", 0x21, 0x2b, 33),
    K('g', "g", 0x22, 0x34, 34),
    K('h', "h", 0x23, 0x33, 35),
    K('j', "j", 0x24, 0x3b, 36),
    K('k', "k", 0x25, 0x42, 37),
    K('l', "l", 0x26, 0x4b, 38),
    K(';', "semicolon", 0x27, 0x4c, 39),
    K('\'', "apostrophe", 0x28, 0x52, 40),
    K('`', "grave_accent", 0x29, 0x0e, 41),
    K(0xffe1, "shift", 0x2a, 0x12, 42),
    K('\\', "backslash", 0x2b, 0x5d, 43),
    K('z', "z", 0x2c, 0x1a, 44),
    K('x', "x", 0x2d, 0x22, 45),
    K('c', "c", 0x2e, 0x21, 46),
    K('v', "v", 0x2f, 0x2a, 47),
    K('b', "b", 0x30, 0x32, 48),
    K('n', "n", 0x31, 0x31, 49),
    K('m', "m", 0x32, 0x3a, 50),
    K(',', "comma", 0x33, 0x41, 51),
    K('.', "dot", 0x34, 0x49, 52),
    K('/', "slash", 0x35, 0x4a, 53),
    K(0xffe2, "shift_r", 0x36, 0x59, 54),
    K(0xffaa, "kp_multiply", 0x37, 0x7c, 55),
    K(0xffe9, "alt", 0x38, 0x11, 56),
    K(' ', "spc", 0x39, 0x29, 57),
    K(0xffe5, "caps_lock", 0x3a, 0x58, 58),
    /* function keys */
    K(0xffbe, "f1", 0x3b, 0x05, 59),
    K(0xffbf, "f2", 0x3c, 0x06, 60),
    K(0xffc0, "f3", 0x3d, 0x04, 61),
    K(0xffc1, "f4", 0x3e, 0x0c, 62),
    K(0xffc2, "f5", 0x3f, 0x03, 63),
    K(0xffc3, "f6", 0x40, 0x0b, 64),
    K(0xffc4, "f7", 0x41, 0x83, 65),
    K(0xffc5, "f8", 0x42, 0x0a, 66),
    K(0xffc6, "f9", 0x43, 0x01, 67),
    K(0xffc7, "f10", 0x44, 0x09, 68),
    K(0xffc8, "f11", 0x57, 0x78, 87),
    K(0xffc9, "f12", 0x58, 0x07, 88),
    K(0xff7f, "num_lock", 0x45, 0x77, 69),
    K(0xff14, "scroll_lock", 0x46, 0x7e, 70),
    /* the keypad (the KP_Home... keysyms of NumLock off name the same keys) */
    K(0xffb7, "kp_7", 0x47, 0x6c, 71),
    K(0xffb8, "kp_8", 0x48, 0x75, 72),
    K(0xffb9, "kp_9", 0x49, 0x7d, 73),
    K(0xffad, "kp_subtract", 0x4a, 0x7b, 74),
    K(0xffb4, "kp_4", 0x4b, 0x6b, 75),
    K(0xffb5, "kp_5", 0x4c, 0x73, 76),
    K(0xffb6, "kp_6", 0x4d, 0x74, 77),
    K(0xffab, "kp_add", 0x4e, 0x79, 78),
    K(0xffb1, "kp_1", 0x4f, 0x69, 79),
    K(0xffb2, "kp_2", 0x50, 0x72, 80),
    K(0xffb3, "kp_3", 0x51, 0x7a, 81),
    K(0xffb0, "kp_0", 0x52, 0x70, 82),
    K(0xffae, "kp_decimal", 0x53, 0x71, 83),
    K(0xff95, NULL, 0x47, 0x6c, 71),
    K(0xff97, NULL, 0x48, 0x75, 72),
    K(0xff9a, NULL, 0x49, 0x7d, 73),
    K(0xff96, NULL, 0x4b, 0x6b, 75),
    K(0xff9d, NULL, 0x4c, 0x73, 76),
    K(0xff98, NULL, 0x4d, 0x74, 77),
    K(0xff9c, NULL, 0x4f, 0x69, 79),
    K(0xff99, NULL, 0x50, 0x72, 80),
    K(0xff9b, NULL, 0x51, 0x7a, 81),
    K(0xff9e, NULL, 0x52, 0x70, 82),
    K(0xff9f, NULL, 0x53, 0x71, 83),
    K(0xff8d, "kp_enter", E0 | 0x1c, E0 | 0x5a, 96),
    K(0xffaf, "kp_divide", E0 | 0x35, E0 | 0x4a, 98),
    K(0, "less", 0x56, 0x61, 86), /* the 102nd key (no keysym: on a US layout '<' is Shift-,) */
    /* the extended keys */
    K(0xffe4, "ctrl_r", E0 | 0x1d, E0 | 0x14, 97),
    K(0xffea, "alt_r", E0 | 0x38, E0 | 0x11, 100),
    K(0xfe03, "altgr", E0 | 0x38, E0 | 0x11, 100), /* ISO_Level3_Shift */
    K(0xff61, "print", E0 | 0x37, E0 | 0x7c, 99),
    K(0xff15, "sysrq", E0 | 0x37, E0 | 0x7c, 99),
    K(0xff50, "home", E0 | 0x47, E0 | 0x6c, 102),
    K(0xff52, "up", E0 | 0x48, E0 | 0x75, 103),
    K(0xff55, "pgup", E0 | 0x49, E0 | 0x7d, 104),
    K(0xff51, "left", E0 | 0x4b, E0 | 0x6b, 105),
    K(0xff53, "right", E0 | 0x4d, E0 | 0x74, 106),
    K(0xff57, "end", E0 | 0x4f, E0 | 0x69, 107),
    K(0xff54, "down", E0 | 0x50, E0 | 0x72, 108),
    K(0xff56, "pgdn", E0 | 0x51, E0 | 0x7a, 109),
    K(0xff63, "insert", E0 | 0x52, E0 | 0x70, 110),
    K(0xffff, "delete", E0 | 0x53, E0 | 0x71, 111),
    K(0xffeb, "meta_l", E0 | 0x5b, E0 | 0x1f, 125),
    K(0xffec, "meta_r", E0 | 0x5c, E0 | 0x27, 126),
    K(0xffe7, NULL, E0 | 0x5b, E0 | 0x1f, 125), /* Meta_L */
    K(0xffe8, NULL, E0 | 0x5c, E0 | 0x27, 126), /* Meta_R */
    K(0xff67, "menu", E0 | 0x5d, E0 | 0x2f, 127),
    /* shifted symbols of a US layout */
    S('!', 0x02, 0x16, 2),
    S('@', 0x03, 0x1e, 3),
    S('#', 0x04, 0x26, 4),
    S('$', 0x05, 0x25, 5),
    S('%', 0x06, 0x2e, 6),
    S('^', 0x07, 0x36, 7),
    S('&', 0x08, 0x3d, 8),
    S('*', 0x09, 0x3e, 9),
    S('(', 0x0a, 0x46, 10),
    S(')', 0x0b, 0x45, 11),
    S('_', 0x0c, 0x4e, 12),
    S('+', 0x0d, 0x55, 13),
    S('{', 0x1a, 0x54, 26),
    S('}', 0x1b, 0x5b, 27),
    S(':', 0x27, 0x4c, 39),
    S('"', 0x28, 0x52, 40),
    S('~', 0x29, 0x0e, 41),
    S('|', 0x2b, 0x5d, 43),
    S('<', 0x33, 0x41, 51),
    S('>', 0x34, 0x49, 52),
    S('?', 0x35, 0x4a, 53),
    /* upper-case letters */
    S('Q', 0x10, 0x15, 16),
    S('W', 0x11, 0x1d, 17),
    S('E', 0x12, 0x24, 18),
    S('R', 0x13, 0x2d, 19),
    S('T', 0x14, 0x2c, 20),
    S('Y', 0x15, 0x35, 21),
    S('U', 0x16, 0x3c, 22),
    S('I', 0x17, 0x43, 23),
    S('O', 0x18, 0x44, 24),
    S('P', 0x19, 0x4d, 25),
    S('A', 0x1e, 0x1c, 30),
    S('S', 0x1f, 0x1b, 31),
    S('D', 0x20, 0x23, 32),
    S('F', 0x21, 0x2b, 33),
    S('G', 0x22, 0x34, 34),
    S('H', 0x23, 0x33, 35),
    S('J', 0x24, 0x3b, 36),
    S('K', 0x25, 0x42, 37),
    S('L', 0x26, 0x4b, 38),
    S('Z', 0x2c, 0x1a, 44),
    S('X', 0x2d, 0x22, 45),
    S('C', 0x2e, 0x21, 46),
    S('V', 0x2f, 0x2a, 47),
    S('B', 0x30, 0x32, 48),
    S('N', 0x31, 0x31, 49),
    S('M', 0x32, 0x3a, 50),
};
#undef K
#undef S
#undef E0

/* Extra sendkey names QEMU also accepts. */
static const struct {
    const char *alias, *name;
} aliases[] = {
    {"control", "ctrl"}, {"ctrl_l", "ctrl"},
    {"alt_l", "alt"},    {"shift_l", "shift"},
    {"escape", "esc"},   {"enter", "ret"},
    {"return", "ret"},   {"space", "spc"},
    {"del", "delete"},   {"ins", "insert"},
    {"pageup", "pgup"},  {"pagedown", "pgdn"},
    {"win", "meta_l"},   {"asterisk", "kp_multiply"},
};

const struct keymap_entry *keymap_find_keysym(uint32_t keysym)
{
    if (keysym == 0)
        return NULL; /* NoSymbol; also the mark of a key without a keysym of its own */
    for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
        if (keys[i].keysym == keysym)
            return &keys[i];
    return NULL;
}

const struct keymap_entry *keymap_find_name(const char *name)
{
    for (size_t i = 0; i < ARRAY_SIZE(aliases); i++)
        if (strcasecmp(name, aliases[i].alias) == 0)
            name = aliases[i].name;
    for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
        if (keys[i].name != NULL && strcasecmp(keys[i].name, name) == 0)
            return &keys[i];
    return NULL;
}

uint32_t keymap_keysym_of_char(char c)
{
    if (c == '\n' || c == '\r')
        return KEYSYM_RETURN;
    if (c == '\t')
        return KEYSYM_TAB;
    if (c == '\b')
        return KEYSYM_BACKSPACE;
    if (c < 0x20 || c > 0x7e)
        return 0;
    return (uint8_t)c; /* Latin-1 keysyms are the characters; all of 0x20..0x7e are mapped */
}

const struct keymap_entry *keymap_at(size_t i)
{
    return i < ARRAY_SIZE(keys) ? &keys[i] : NULL;
}

size_t keymap_count(void)
{
    return ARRAY_SIZE(keys);
}

size_t keymap_scancode(const struct keymap_entry *e, unsigned set, bool is_down, uint8_t *out)
{
    uint16_t code = set == 1 ? e->set1 : e->set2;
    size_t n = 0;
    if (code & KEYMAP_E0)
        out[n++] = 0xe0;
    if (set == 1) {
        out[n++] = (uint8_t)((code & 0x7f) | (is_down ? 0 : 0x80));
        return n;
    }
    if (!is_down)
        out[n++] = 0xf0;
    out[n++] = (uint8_t)code;
    return n;
}
