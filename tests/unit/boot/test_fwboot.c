/* SPDX-License-Identifier: MIT */
/* Unit tests for boot/fwboot.c: splitting and patching a bzImage for the firmware's loader. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "boot/fwboot.h"

static uint8_t img[0x1000];

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void make(uint16_t version, uint8_t sects, uint8_t loadflags)
{
    memset(img, 0, sizeof(img));
    img[0x1f1] = sects;
    img[0x1fe] = 0x55;
    img[0x1ff] = 0xaa;
    memcpy(img + 0x202, "HdrS", 4);
    img[0x206] = (uint8_t)version;
    img[0x207] = (uint8_t)(version >> 8);
    img[0x211] = loadflags;
    img[0x22c] = 0xff; /* initrd_addr_max 0x7fffffff */
    img[0x22d] = 0xff;
    img[0x22e] = 0xff;
    img[0x22f] = 0x7f;
    img[0x239] = 0x08; /* cmdline_size 2048 */
}

static void test_split_and_patch(void **state)
{
    struct fwboot fb;
    struct error err = {0};
    (void)state;
    make(0x20c, 2, 0x01);
    assert_int_equal(fwboot_prepare(img, sizeof(img), "k", 11, 0x3000, 128 << 20, &fb, &err), 0);
    assert_int_equal(fb.setup_len, 3 * 512);
    assert_ptr_equal(fb.kernel, img + 3 * 512);
    assert_int_equal(fb.kernel_len, sizeof(img) - 3 * 512);
    assert_int_equal(fb.setup[0x210], 0xff);            /* type_of_loader */
    assert_int_equal(fb.setup[0x211], 0x81);            /* CAN_USE_HEAP */
    assert_int_equal(get32(fb.setup + 0x228), 0x20000); /* cmd_line_ptr */
    assert_int_equal(fb.setup[0x224] | fb.setup[0x225] << 8, 0x20000 - 0x10000 - 0x200);
    assert_int_equal(fb.initrd_addr, ((128u << 20) - (128u << 10) - 0x3000) & ~0xfffu);
    assert_int_equal(get32(fb.setup + 0x218), fb.initrd_addr);
    assert_int_equal(get32(fb.setup + 0x21c), 0x3000);
    assert_int_equal(img[0x210], 0); /* the image itself is untouched */
    fwboot_free(&fb);
    /* setup_sects 0 means 4 */
    make(0x20c, 0, 0x01);
    assert_int_equal(fwboot_prepare(img, sizeof(img), "k", 0, 0, 128 << 20, &fb, &err), 0);
    assert_int_equal(fb.setup_len, 5 * 512);
    assert_int_equal(fb.initrd_addr, 0);
    fwboot_free(&fb);
}

static void test_refused(void **state)
{
    struct fwboot fb;
    struct error err = {0};
    (void)state;
    make(0x201, 1, 0x01); /* too old */
    assert_int_equal(fwboot_prepare(img, sizeof(img), "k", 0, 0, 128 << 20, &fb, &err), -ENOEXEC);
    make(0x20c, 1, 0x00); /* not LOADED_HIGH */
    assert_int_equal(fwboot_prepare(img, sizeof(img), "k", 0, 0, 128 << 20, &fb, &err), -ENOEXEC);
    make(0x20c, 1, 0x01);
    img[0x203] = 'x'; /* no HdrS */
    assert_int_equal(fwboot_prepare(img, sizeof(img), "k", 0, 0, 128 << 20, &fb, &err), -ENOEXEC);
    make(0x20c, 0xff, 0x01); /* setup past the end */
    assert_int_equal(fwboot_prepare(img, sizeof(img), "k", 0, 0, 128 << 20, &fb, &err), -ENOEXEC);
    assert_int_equal(fwboot_prepare(img, 0x200, "k", 0, 0, 128 << 20, &fb, &err), -ENOEXEC);
    make(0x20c, 1, 0x01);
    assert_int_equal(fwboot_prepare(img, sizeof(img), "k", 2049, 0, 128 << 20, &fb, &err), -EINVAL);
    assert_int_equal(fwboot_prepare(img, sizeof(img), "k", 0, 200u << 20, 128 << 20, &fb, &err),
                     -ENOSPC);
    assert_int_equal(fwboot_prepare(img, sizeof(img), "k", 0, 1, 64 << 10, &fb, &err), -ENOSPC);
    assert_int_equal(fwboot_prepare(img, sizeof(img), "k", 0, UINT64_MAX, 128 << 20, &fb, &err),
                     -ENOSPC);
    assert_null(fb.setup);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_and_patch),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
