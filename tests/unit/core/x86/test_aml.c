/* SPDX-License-Identifier: MIT */
/* Unit tests for core/x86/aml.c: the encodings of ACPI 6.5 §20.2 and §6.4, byte by byte. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/x86/aml.h"

/* Asserts that (a) holds exactly the (n) bytes (exp) and resets it. */
static void expect(struct aml *a, const uint8_t *exp, size_t n)
{
    assert_int_equal(aml_finish(a), 0);
    assert_int_equal(a->len, n);
    assert_memory_equal(a->data, exp, n);
    aml_fini(a);
}
#define EXPECT(a, ...)                                                                             \
    do {                                                                                           \
        static const uint8_t exp_[] = {__VA_ARGS__};                                               \
        expect((a), exp_, sizeof(exp_));                                                           \
    } while (0)

static void test_integers(void **state)
{
    struct aml a;

    (void)state;
    aml_init(&a);
    aml_integer(&a, 0);
    aml_integer(&a, 1);
    aml_integer(&a, 2);
    aml_integer(&a, 0xff);
    EXPECT(&a, 0x00, 0x01, 0x0a, 0x02, 0x0a, 0xff);
    aml_integer(&a, 0x100);
    aml_integer(&a, 0x12345678);
    EXPECT(&a, 0x0b, 0x00, 0x01, 0x0c, 0x78, 0x56, 0x34, 0x12);
    aml_integer(&a, 0x100000000ULL);
    aml_integer(&a, UINT64_MAX);
    EXPECT(&a, 0x0e, 0, 0, 0, 0, 1, 0, 0, 0, 0xff);
}

static void test_names(void **state)
{
    struct aml a;

    (void)state;
    aml_init(&a);
    aml_namestring(&a, "_S5");
    EXPECT(&a, '_', 'S', '5', '_');
    aml_namestring(&a, "\\_SB.PCI0");
    EXPECT(&a, 0x5c, 0x2e, '_', 'S', 'B', '_', 'P', 'C', 'I', '0');
    aml_namestring(&a, "^^A.B.C");
    EXPECT(&a, 0x5e, 0x5e, 0x2f, 3, 'A', '_', '_', '_', 'B', '_', '_', '_', 'C', '_', '_', '_');
    aml_namestring(&a, "\\");
    EXPECT(&a, 0x5c, 0x00);
    static const char *const bad[] = {"a", "1ABC", "ABCDE", "A..B", "A.", "A-B", ".A"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        aml_init(&a);
        aml_namestring(&a, bad[i]);
        assert_int_equal(aml_finish(&a), -EINVAL);
        aml_fini(&a);
    }
}

static void test_name_string_eisaid(void **state)
{
    struct aml a;

    (void)state;
    assert_int_equal(aml_eisaid_value("PNP0A08"), 0x080ad041);
    assert_int_equal(aml_eisaid_value("PNP0a08"), 0);
    assert_int_equal(aml_eisaid_value("PNP0A0"), 0);
    aml_init(&a);
    aml_name_eisaid(&a, "_HID", "PNP0501");
    EXPECT(&a, 0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x05, 0x01);
    aml_init(&a);
    aml_name_string(&a, "_HID", "ACPI0007");
    EXPECT(&a, 0x08, '_', 'H', 'I', 'D', 0x0d, 'A', 'C', 'P', 'I', '0', '0', '0', '7', 0);
    aml_init(&a);
    aml_eisaid(&a, "pnp0000");
    assert_int_equal(aml_finish(&a), -EINVAL);
    aml_fini(&a);
}

static void test_package_pkglength(void **state)
{
    struct aml a;

    (void)state;
    aml_init(&a);
    aml_package_begin(&a, 2);
    aml_integer(&a, 0);
    aml_integer(&a, 5);
    aml_end(&a);
    /* PkgLength 5 = itself (1) + NumElements (1) + 3 bytes of elements */
    EXPECT(&a, 0x12, 0x05, 0x02, 0x00, 0x0a, 0x05);

    /* 62 bytes of body: 63 with the one-byte PkgLength, the one-byte maximum. */
    aml_init(&a);
    aml_scope_begin(&a, "ABCD");
    for (int i = 0; i < 58; i++)
        aml_byte(&a, 0xa3); /* NoopOp */
    aml_end(&a);
    assert_int_equal(aml_finish(&a), 0);
    assert_int_equal(a.len, 1 + 1 + 62);
    assert_int_equal(a.data[1], 63);
    aml_fini(&a);

    /* One more byte: a two-byte PkgLength, 0x40 | low nibble, then bits 4..11. */
    aml_init(&a);
    aml_scope_begin(&a, "ABCD");
    for (int i = 0; i < 59; i++)
        aml_byte(&a, 0xa3);
    aml_end(&a);
    assert_int_equal(aml_finish(&a), 0);
    assert_int_equal(a.len, 1 + 2 + 63);
    assert_int_equal(a.data[1], 0x40 | (65 & 0xf));
    assert_int_equal(a.data[2], 65 >> 4);
    assert_memory_equal(a.data + 3, "ABCD", 4);
    aml_fini(&a);

    /* 5000 bytes: three-byte encoding. */
    aml_init(&a);
    aml_scope_begin(&a, "ABCD");
    for (int i = 0; i < 4996; i++)
        aml_byte(&a, 0xa3);
    aml_end(&a);
    assert_int_equal(aml_finish(&a), 0);
    assert_int_equal(a.data[1] >> 6, 2);
    assert_int_equal((a.data[1] & 0xf) | (a.data[2] << 4) | (a.data[3] << 12), 5000 + 3);
    aml_fini(&a);
}

static void test_device_method(void **state)
{
    struct aml a;

    (void)state;
    aml_init(&a);
    aml_device_begin(&a, "DEV0");
    aml_method_begin(&a, "_STA", 0, false);
    aml_return(&a);
    aml_integer(&a, 0x0f);
    aml_end(&a);
    aml_end(&a);
    EXPECT(&a, 0x5b, 0x82, 0x0f, 'D', 'E', 'V', '0', 0x14, 0x09, '_', 'S', 'T', 'A', 0x00, 0xa4,
           0x0a, 0x0f);
    aml_init(&a);
    aml_method_begin(&a, "_OSC", 4, true);
    aml_return(&a);
    aml_arg(&a, 3);
    aml_end(&a);
    EXPECT(&a, 0x14, 0x08, '_', 'O', 'S', 'C', 0x0c, 0xa4, 0x6b);
    aml_init(&a);
    aml_arg(&a, 7);
    assert_int_equal(aml_finish(&a), -EINVAL);
    aml_fini(&a);
    aml_init(&a);
    aml_method_begin(&a, "BAD_", 8, false);
    assert_int_equal(aml_finish(&a), -EINVAL);
    aml_fini(&a);
}

static void test_buffer(void **state)
{
    struct aml a;

    (void)state;
    aml_init(&a);
    aml_buffer_begin(&a);
    aml_bytes(&a, "\x01\x02\x03", 3);
    aml_end(&a);
    EXPECT(&a, 0x11, 0x06, 0x0a, 0x03, 0x01, 0x02, 0x03);
}

static uint8_t sum(const uint8_t *p, size_t n)
{
    uint8_t s = 0;
    for (size_t i = 0; i < n; i++)
        s = (uint8_t)(s + p[i]);
    return s;
}

static void test_restemplate(void **state)
{
    struct aml a;

    (void)state;
    aml_init(&a);
    aml_restemplate_begin(&a);
    aml_res_io(&a, 0x3f8, 0x3f8, 8, 8);
    aml_res_irq(&a, 4);
    aml_end(&a);
    assert_int_equal(aml_finish(&a), 0);
    /* Buffer, PkgLength, BufferSize 14, IO (8 bytes), IRQNoFlags (3), EndTag (2) */
    assert_int_equal(a.len, 4 + 13);
    static const uint8_t head[] = {0x11, 0x10, 0x0a, 13,   0x47, 0x01, 0xf8, 0x03,
                                   0xf8, 0x03, 0x08, 0x08, 0x22, 0x10, 0x00, 0x79};
    assert_memory_equal(a.data, head, sizeof(head));
    assert_int_equal(sum(a.data + 4, 13), 0);
    aml_fini(&a);

    aml_init(&a);
    aml_restemplate_begin(&a);
    aml_res_word_bus(&a, 0, 255);
    aml_res_word_io(&a, 0xd00, 0xffff);
    aml_res_dword_mem(&a, false, 0xc0000000, 0xdfffffff);
    aml_res_qword_mem(&a, true, 0x100000000ULL, 0x4fffffffffULL);
    aml_res_mem32_fixed(&a, true, 0xe0000000, 0x10000000);
    aml_res_interrupt(&a, true, true, 16);
    aml_end(&a);
    assert_int_equal(aml_finish(&a), 0);
    size_t body = 16 + 16 + 26 + 46 + 12 + 9 + 2;
    assert_int_equal(a.data[0], 0x11);
    assert_int_equal(a.data[3], 0x0a); /* BufferSize as a ByteConst */
    assert_int_equal(a.data[4], body);
    const uint8_t *p = a.data + 5;
    /* tag, length 13, bus, producer + fixed, 0, gran 0, min 0, max 255, tra 0, len 256 */
    static const uint8_t bus[] = {0x88, 0x0d, 0x00, 0x02, 0x0c, 0x00, 0, 0,
                                  0,    0,    0xff, 0,    0,    0,    0, 0x01};
    assert_memory_equal(p, bus, sizeof(bus));
    p += 16;
    assert_int_equal(p[0], 0x88);
    assert_int_equal(p[3], 1); /* I/O */
    assert_int_equal(p[5], 3); /* EntireRange */
    assert_int_equal(p[14] | (p[15] << 8), 0xf300);
    p += 16;
    assert_int_equal(p[0], 0x87);
    assert_int_equal(p[5], 0x01); /* non-cacheable, read-write */
    p += 26;
    assert_int_equal(p[0], 0x8a);
    assert_int_equal(p[1], 43);
    assert_int_equal(p[5], 0x07); /* prefetchable, read-write */
    p += 46;
    assert_int_equal(p[0], 0x86);
    p += 12;
    static const uint8_t irq[] = {0x89, 0x06, 0x00, 0x05, 0x01, 16, 0, 0, 0};
    assert_memory_equal(p, irq, sizeof(irq));
    assert_int_equal(sum(a.data + 5, body), 0);
    aml_fini(&a);
}

static void test_errors(void **state)
{
    struct aml a;

    (void)state;
    aml_init(&a);
    aml_end(&a);
    assert_int_equal(aml_finish(&a), -EINVAL);
    aml_fini(&a);
    aml_init(&a);
    aml_package_begin(&a, 1);
    assert_int_equal(aml_finish(&a), -EINVAL); /* still open */
    aml_fini(&a);
    aml_init(&a);
    for (int i = 0; i < AML_MAX_DEPTH + 1; i++)
        aml_package_begin(&a, 1);
    assert_int_equal(aml_finish(&a), -E2BIG);
    aml_fini(&a);
    aml_init(&a);
    aml_restemplate_begin(&a);
    aml_res_irq(&a, 16);
    aml_res_dword_mem(&a, false, 2, 1);
    aml_end(&a);
    assert_int_equal(aml_finish(&a), -EINVAL);
    aml_fini(&a);
}

/* OperationRegion, Field, If/Else and the method-body operators (§19.6, §20.2.5). */
static void test_region_field_if(void **state)
{
    struct aml a;

    (void)state;
    aml_init(&a);
    aml_operation_region(&a, "P40C", AML_REGION_PCI_CONFIG, 0x60, 4);
    EXPECT(&a, 0x5b, 0x80, 'P', '4', '0', 'C', 0x02, 0x0a, 0x60, 0x0a, 0x04);
    aml_field_begin(&a, "P40C", AML_FIELD_BYTE_ACC);
    aml_field_unit(&a, "PRQ0", 8);
    aml_field_unit(&a, "PRQ1", 8);
    aml_end(&a);
    EXPECT(&a, 0x5b, 0x81, 0x10, 'P', '4', '0', 'C', 0x01, 'P', 'R', 'Q', '0', 0x08, 'P', 'R', 'Q',
           '1', 0x08);
    /* If (And (0x80, Arg0)) { Return (9) } Else { Return (0x0b) } */
    aml_if_begin(&a);
    aml_op(&a, AML_OP_AND);
    aml_integer(&a, 0x80);
    aml_arg(&a, 0);
    aml_namestring(&a, "");
    aml_return(&a);
    aml_integer(&a, 9);
    aml_end(&a);
    aml_else_begin(&a);
    aml_return(&a);
    aml_integer(&a, 0x0b);
    aml_end(&a);
    EXPECT(&a, 0xa0, 0x09, 0x7b, 0x0a, 0x80, 0x68, 0x00, 0xa4, 0x0a, 0x09, 0xa1, 0x04, 0xa4, 0x0a,
           0x0b);
    /* Store (Local0, PRQ0); CreateDWordField (Arg0, 5, PRRI); LLess / LEqual / LNot */
    aml_op(&a, AML_OP_STORE);
    aml_local(&a, 0);
    aml_namestring(&a, "PRQ0");
    aml_op(&a, AML_OP_CREATE_DWORD_FIELD);
    aml_arg(&a, 0);
    aml_integer(&a, 5);
    aml_namestring(&a, "PRRI");
    aml_op(&a, AML_OP_LLESS);
    aml_op(&a, AML_OP_LEQUAL);
    aml_op(&a, AML_OP_LNOT);
    aml_local(&a, 7);
    EXPECT(&a, 0x70, 0x60, 'P', 'R', 'Q', '0', 0x8a, 0x68, 0x0a, 0x05, 'P', 'R', 'R', 'I', 0x95,
           0x93, 0x92, 0x67);
    /* A wide field unit: 300 bits = 0x12c -> lead 0x4c, then 0x12. */
    aml_field_begin(&a, "R", AML_FIELD_DWORD_ACC | AML_FIELD_LOCK);
    aml_field_unit(&a, "WIDE", 300);
    aml_end(&a);
    EXPECT(&a, 0x5b, 0x81, 0x0c, 'R', '_', '_', '_', 0x13, 'W', 'I', 'D', 'E', 0x4c, 0x12);
    /* Errors: a path as a field unit, a zero width, Local8. */
    aml_field_unit(&a, "A.B", 8);
    assert_int_equal(aml_finish(&a), -EINVAL);
    aml_fini(&a);
    aml_field_unit(&a, "A", 0);
    assert_int_equal(aml_finish(&a), -EINVAL);
    aml_fini(&a);
    aml_local(&a, 8);
    assert_int_equal(aml_finish(&a), -EINVAL);
    aml_fini(&a);
}

/* DMA and shared extended interrupt descriptors (§6.4.2.2, §6.4.3.6). */
static void test_res_dma_interrupts(void **state)
{
    static const uint32_t irqs[] = {5, 10, 11};
    struct aml a;

    (void)state;
    aml_init(&a);
    aml_res_dma(&a, 2, 0);
    aml_res_interrupts(&a, true, false, true, irqs, 3);
    EXPECT(&a, 0x2a, 0x04, 0x00, 0x89, 0x0e, 0x00, 0x09, 0x03, 5, 0, 0, 0, 10, 0, 0, 0, 11, 0, 0,
           0);
    aml_res_dma(&a, 8, 0);
    assert_int_equal(aml_finish(&a), -EINVAL);
    aml_fini(&a);
    aml_res_interrupts(&a, true, false, true, irqs, 0);
    assert_int_equal(aml_finish(&a), -EINVAL);
    aml_fini(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_integers),           cmocka_unit_test(test_names),
        cmocka_unit_test(test_name_string_eisaid), cmocka_unit_test(test_package_pkglength),
        cmocka_unit_test(test_device_method),      cmocka_unit_test(test_buffer),
        cmocka_unit_test(test_restemplate),        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_region_field_if),    cmocka_unit_test(test_res_dma_interrupts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
