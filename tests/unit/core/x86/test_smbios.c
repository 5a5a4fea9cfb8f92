/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for core/x86/smbios.c: the 3.0 entry point (anchor, length, checksum, table size)
 * and a walk of the structure table as dmidecode or a firmware walks it: every structure's
 * formatted area and string set inside the table, string numbers in range, printable strings,
 * unique handles, the expected types in order up to type 127, the UUID byte order, and the
 * memory structures for RAM below and above the PCI hole. dmidecode (when installed) decodes the
 * tables from a dump laid out as its --dump-bin writes one, without complaint.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "core/x86/layout.h"
#include "core/x86/smbios.h"

#define MAX_STRUCTS (MAX_VCPUS + 300) /* CPUs, 255 DIMMs and the rest */

static const uint8_t test_uuid[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                                      0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};

struct walked {
    unsigned n;
    const uint8_t *s[MAX_STRUCTS]; /* formatted areas */
    unsigned nstrings[MAX_STRUCTS];
};

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)rd16(p) | (uint32_t)rd16(p + 2) << 16;
}

static uint64_t rd64(const uint8_t *p)
{
    return rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

/* Walks (b)'s table into (w), checking the structure format on the way. */
static void walk(const struct smbios_blob *b, struct walked *w)
{
    const uint8_t *t = b->tables, *end = b->tables + b->tables_len;
    uint16_t handles[MAX_STRUCTS];

    memset(w, 0, sizeof(*w));
    for (const uint8_t *p = t; p < end;) {
        assert_true(w->n < MAX_STRUCTS);
        assert_true(end - p >= 4 && p[1] >= 4 && p[1] <= end - p);
        const uint8_t *q = p + p[1];
        unsigned nstr = 0;
        /* Strings until the double NUL (or the two NULs of an empty set). */
        if (q + 1 < end && q[0] == 0 && q[1] == 0) {
            q += 2;
        } else {
            while (q < end && *q) {
                size_t len = strnlen((const char *)q, (size_t)(end - q));
                assert_true(q + len < end && len <= SMBIOS_STRING_MAX);
                for (size_t i = 0; i < len; i++)
                    assert_true(q[i] >= 0x20 && q[i] <= 0x7e);
                q += len + 1;
                nstr++;
            }
            assert_true(q < end && *q == 0);
            q++;
        }
        for (unsigned i = 0; i < w->n; i++)
            assert_int_not_equal(handles[i], rd16(p + 2));
        handles[w->n] = rd16(p + 2);
        w->s[w->n] = p;
        w->nstrings[w->n] = nstr;
        w->n++;
        if (p[0] == 127) {
            assert_ptr_equal(q, end); /* nothing after the end structure */
        }
        p = q;
    }
    assert_true(w->n > 0 && w->s[w->n - 1][0] == 127);
}

/* The (idx)-th string of structure (i) of (w), 1-based; NULL for 0. */
static const char *string_of(const struct walked *w, unsigned i, uint8_t idx)
{
    const uint8_t *p = w->s[i] + w->s[i][1];

    if (idx == 0)
        return NULL;
    assert_true(idx <= w->nstrings[i]);
    while (--idx)
        p += strlen((const char *)p) + 1;
    return (const char *)p;
}

static void check_anchor(const struct smbios_blob *b)
{
    uint8_t sum = 0;

    assert_int_equal(b->anchor_len, 24);
    assert_memory_equal(b->anchor, "_SM3_", 5);
    for (size_t i = 0; i < b->anchor_len; i++)
        sum = (uint8_t)(sum + b->anchor[i]);
    assert_int_equal(sum, 0);
    assert_int_equal(b->anchor[6], 24); /* length */
    assert_int_equal(b->anchor[7], 3);  /* SMBIOS 3.0 */
    assert_int_equal(b->anchor[8], 0);
    assert_int_equal(b->anchor[10], 1); /* entry point revision */
    assert_int_equal(rd32(b->anchor + 12), b->tables_len);
    assert_int_equal(rd64(b->anchor + 16), 0); /* the firmware fills in the address */
}

static unsigned find(const struct walked *w, uint8_t type, unsigned nth)
{
    for (unsigned i = 0; i < w->n; i++) {
        if (w->s[i][0] == type && nth-- == 0)
            return i;
    }
    fail_msg("no structure of type %u", type);
    return 0;
}

static void test_structures(void **state)
{
    static const uint8_t types[] = {0, 1, 3, 4, 4, 16, 17, 19, 32, 127};
    struct smbios_config cfg;
    struct smbios_blob b;
    struct walked w;

    (void)state;
    smbios_config_default(&cfg, 2, 256ULL << 20, test_uuid);
    cfg.serial = "SN-42";
    assert_int_equal(smbios_build(&cfg, &b), 0);
    check_anchor(&b);
    walk(&b, &w);
    assert_int_equal(w.n, sizeof(types));
    for (unsigned i = 0; i < w.n; i++)
        assert_int_equal(w.s[i][0], types[i]);
    /* type 0: vendor, version, date; "virtual machine" */
    const uint8_t *t0 = w.s[0];
    assert_int_equal(t0[1], 0x18);
    assert_string_equal(string_of(&w, 0, t0[4]), "bareiron");
    assert_non_null(string_of(&w, 0, t0[5]));
    assert_string_equal(string_of(&w, 0, t0[8]), "01/01/2026");
    assert_int_equal(t0[0x13] & 0x10, 0x10);
    /* type 1: UUID with its first three fields little-endian, serial */
    const uint8_t *t1 = w.s[1];
    static const uint8_t uuid_smbios[16] = {0x33, 0x22, 0x11, 0x00, 0x55, 0x44, 0x77, 0x66,
                                            0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
    assert_int_equal(t1[1], 0x1b);
    assert_memory_equal(t1 + 8, uuid_smbios, 16);
    assert_string_equal(string_of(&w, 1, t1[5]), "bareiron PC");
    assert_string_equal(string_of(&w, 1, t1[7]), "SN-42");
    /* type 4: "CPU 1", populated and enabled, one core and thread */
    const uint8_t *t4 = w.s[find(&w, 4, 1)];
    assert_int_equal(t4[1], 0x30);
    assert_string_equal(string_of(&w, find(&w, 4, 1), t4[4]), "CPU 1");
    assert_int_equal(t4[0x18], 0x41);
    assert_int_equal(t4[0x23], 1);
    assert_int_equal(rd16(t4 + 0x2a), 1);
    /* memory: 256 MiB in one DIMM mapped at 0 */
    const uint8_t *t16 = w.s[find(&w, 16, 0)];
    assert_int_equal(rd32(t16 + 7), 256 * 1024);
    assert_int_equal(rd16(t16 + 13), 1);
    const uint8_t *t17 = w.s[find(&w, 17, 0)];
    assert_int_equal(rd16(t17 + 4), rd16(t16 + 2)); /* its array */
    assert_int_equal(rd16(t17 + 12), 256);          /* MiB */
    assert_string_equal(string_of(&w, find(&w, 17, 0), t17[16]), "DIMM 0");
    const uint8_t *t19 = w.s[find(&w, 19, 0)];
    assert_int_equal(rd32(t19 + 4), 0);
    assert_int_equal(rd32(t19 + 8), 256 * 1024 - 1);
    assert_int_equal(rd16(t19 + 12), rd16(t16 + 2));
    smbios_blob_free(&b);
    smbios_blob_free(&b); /* idempotent */
}

/* RAM above LOW_RAM_MAX is mapped from 4 GiB on; DIMMs of at most 16 GiB. */
static void test_memory_split(void **state)
{
    struct smbios_config cfg;
    struct smbios_blob b;
    struct walked w;

    (void)state;
    smbios_config_default(&cfg, 1, 40ULL << 30, test_uuid);
    assert_int_equal(smbios_build(&cfg, &b), 0);
    check_anchor(&b);
    walk(&b, &w);
    assert_int_equal(rd16(w.s[find(&w, 16, 0)] + 13), 3);
    assert_int_equal(rd16(w.s[find(&w, 17, 0)] + 12), 16384);
    assert_int_equal(rd16(w.s[find(&w, 17, 2)] + 12), 8192);
    const uint8_t *low = w.s[find(&w, 19, 0)], *high = w.s[find(&w, 19, 1)];
    assert_int_equal(rd32(low + 4), 0);
    assert_int_equal(rd32(low + 8), LOW_RAM_MAX / 1024 - 1);
    assert_int_equal(rd32(high + 4), HIGH_RAM_BASE / 1024);
    assert_int_equal((uint64_t)rd32(high + 8) + 1,
                     (HIGH_RAM_BASE + (40ULL << 30) - LOW_RAM_MAX) / 1024);
    assert_int_equal(low[14], 3); /* partition width: the DIMMs */
    smbios_blob_free(&b);
    /* 3 TiB: type 16's capacity goes to the extended field. */
    smbios_config_default(&cfg, 1, 3ULL << 40, test_uuid);
    assert_int_equal(smbios_build(&cfg, &b), 0);
    walk(&b, &w);
    const uint8_t *t16 = w.s[find(&w, 16, 0)];
    assert_int_equal(rd32(t16 + 7), 0x80000000u);
    assert_int_equal(rd64(t16 + 15), 3ULL << 40);
    smbios_blob_free(&b);
}

static void test_errors(void **state)
{
    char long_str[SMBIOS_STRING_MAX + 2];
    struct smbios_config cfg;
    struct smbios_blob b;

    (void)state;
    smbios_config_default(&cfg, 0, 1ULL << 30, test_uuid);
    assert_int_equal(smbios_build(&cfg, &b), -EINVAL);
    assert_null(b.tables);
    assert_null(b.anchor);
    smbios_config_default(&cfg, MAX_VCPUS + 1, 1ULL << 30, test_uuid);
    assert_int_equal(smbios_build(&cfg, &b), -EINVAL);
    smbios_config_default(&cfg, 1, 0, test_uuid);
    assert_int_equal(smbios_build(&cfg, &b), -EINVAL);
    smbios_config_default(&cfg, 1, 1ULL << 30, test_uuid);
    memset(long_str, 'x', sizeof(long_str) - 1);
    long_str[sizeof(long_str) - 1] = '\0';
    cfg.product = long_str;
    assert_int_equal(smbios_build(&cfg, &b), -EINVAL);
    long_str[SMBIOS_STRING_MAX] = '\0'; /* exactly the limit: fine */
    assert_int_equal(smbios_build(&cfg, &b), 0);
    smbios_blob_free(&b);
    cfg.product = "tab\there";
    assert_int_equal(smbios_build(&cfg, &b), -EINVAL);
    cfg.product = "";
    assert_int_equal(smbios_build(&cfg, &b), 0); /* no string */
    smbios_blob_free(&b);
    smbios_config_default(&cfg, MAX_VCPUS, 1ULL << 30, test_uuid);
    assert_int_equal(smbios_build(&cfg, &b), 0);
    smbios_blob_free(&b);
    smbios_blob_free(NULL);
}

/* dmidecode reads a dump: the entry point at 0 with the table address 32, the table at 32. */
static void test_dmidecode(void **state)
{
    static const char *const bad[] = {"Invalid",     "Wrong",       "TRUNCATED",   "checksum",
                                      "unreachable", "OUT OF SPEC", "Unknown Type"};
    char path[] = "/tmp/bareiron-smbios-XXXXXX", cmd[256], out[16384];
    struct smbios_config cfg;
    struct smbios_blob b;
    uint8_t ep[32] = {0}, sum = 0;
    size_t n = 0, r;
    FILE *f;
    int fd, status;

    (void)state;
    if (system("command -v dmidecode >/dev/null 2>&1") != 0)
        skip(); /* dmidecode not installed */
    smbios_config_default(&cfg, 2, 6ULL << 30, test_uuid);
    assert_int_equal(smbios_build(&cfg, &b), 0);
    memcpy(ep, b.anchor, b.anchor_len);
    ep[16] = 32; /* table address */
    ep[5] = 0;
    for (size_t i = 0; i < b.anchor_len; i++)
        sum = (uint8_t)(sum + ep[i]);
    ep[5] = (uint8_t)(0x100 - sum);
    fd = mkstemp(path);
    assert_true(fd >= 0);
    f = fdopen(fd, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(ep, 1, sizeof(ep), f), sizeof(ep));
    assert_int_equal(fwrite(b.tables, 1, b.tables_len, f), b.tables_len);
    assert_int_equal(fclose(f), 0);
    snprintf(cmd, sizeof(cmd), "dmidecode --from-dump '%s' 2>&1", path);
    f = popen(cmd, "r");
    assert_non_null(f);
    while (n + 1 < sizeof(out) && (r = fread(out + n, 1, sizeof(out) - 1 - n, f)) > 0)
        n += r;
    out[n] = '\0';
    status = pclose(f);
    unlink(path);
    smbios_blob_free(&b);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !strstr(out, "SMBIOS 3.0.0 present") ||
        !strstr(out, "UUID: 00112233-4455-6677-8899-aabbccddeeff") ||
        !strstr(out, "Socket Designation: CPU 1") || !strstr(out, "Range Size: 3 GB") ||
        !strstr(out, "System Boot Information"))
        fail_msg("dmidecode:\n%s", out);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (strstr(out, bad[i]))
            fail_msg("dmidecode says %s:\n%s", bad[i], out);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_structures),
        cmocka_unit_test(test_memory_split),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_dmidecode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
