/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for boot/bzimage.c and boot/decompress.c over a real gmem (no KVM): bzImages with
 * every supported payload compression, the zero page contents (Documentation/arch/x86/
 * zero-page.rst), and crafted images that must be refused cleanly.
 */
#include <elf.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "boot/boot.h"
#include "boot/decompress.h"
#include "core/gmem.h"
#include "core/x86/layout.h"
#include "fixtures.h"

static uint32_t rd32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static void check_loaded(struct fx_machine *m, const struct boot_result *r)
{
    const uint8_t *seg = gmem_ptr(m->gm, 0x1000000, 0x100000);
    const uint8_t *bp = gmem_ptr(m->gm, BOOT_PARAMS_GPA, 4096);

    assert_int_equal(r->format, BOOT_FORMAT_BZIMAGE);
    assert_int_equal(r->mode, BOOT_ENTRY_LINUX64);
    assert_int_equal(r->entry_gpa, 0x1000000);
    assert_int_equal(r->info_gpa, BOOT_PARAMS_GPA);
    assert_int_equal(r->kernel_start_gpa, 0x1000000);
    assert_int_equal(r->kernel_end_gpa, 0x1100000);
    assert_int_equal(seg[0], 0xaa);
    assert_int_equal(seg[0xffff], 0xaa);
    assert_int_equal(seg[0x10000], 0); /* bss */
    assert_memory_equal(bp + 0x202, "HdrS", 4);
    assert_int_equal(bp[0x210], 0xff); /* type_of_loader */
    assert_true(bp[0x211] & 0x80);     /* CAN_USE_HEAP */
    assert_int_equal(rd32(bp + 0x228), BOOT_CMDLINE_GPA);
    assert_string_equal((const char *)gmem_ptr(m->gm, BOOT_CMDLINE_GPA, 14), "console=ttyS0");
    assert_int_equal(bp[0x1e8], m->map.n); /* e820_entries */
    assert_memory_equal(bp + 0x2d0, m->map.entries, m->map.n * 20);
    assert_int_equal(rd32(bp + 0x70), 0xe0000); /* acpi_rsdp_addr */
    assert_int_equal(bp[0x1ef], 0);             /* sentinel */
}

static void test_formats(void **state)
{
    static const enum decomp_format fmts[] = {DECOMP_NONE, DECOMP_GZIP, DECOMP_XZ,
                                              DECOMP_LZMA, DECOMP_ZSTD, DECOMP_LZ4};
    struct fx_machine m;
    struct boot_result r;
    size_t vl, bl;
    (void)state;

    uint8_t *vm = fx_vmlinux(&vl);
    for (size_t i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
        fx_machine_init(&m, 64);
        uint8_t *bz = fx_bzimage(fmts[i], vm, vl, &bl);
        assert_int_equal(decomp_detect(bz + FX_BZ_SETUP_BYTES + FX_BZ_PAYLOAD_OFFSET, 16), fmts[i]);
        int rc = fx_load(&m, bz, bl, NULL, 0, &r);
        if (rc != 0)
            fail_msg("%s: %s", decomp_format_name(fmts[i]), m.err.message);
        check_loaded(&m, &r);
        assert_int_equal(r.initrd_gpa, 0);
        free(bz);
        fx_machine_fini(&m);
    }
    free(vm);
}

static void test_initrd(void **state)
{
    struct fx_machine m;
    struct boot_result r;
    size_t vl, bl;
    uint8_t rd[10000];
    (void)state;

    memset(rd, 0x5c, sizeof(rd));
    fx_machine_init(&m, 64);
    uint8_t *vm = fx_vmlinux(&vl);
    uint8_t *bz = fx_bzimage(DECOMP_GZIP, vm, vl, &bl);
    assert_int_equal(fx_load(&m, bz, bl, rd, sizeof(rd), &r), 0);
    const uint8_t *bp = gmem_ptr(m.gm, BOOT_PARAMS_GPA, 4096);
    assert_int_equal(r.initrd_size, sizeof(rd));
    assert_int_equal(r.initrd_gpa % 4096, 0);
    assert_true(r.initrd_gpa >= r.kernel_end_gpa);
    assert_true(r.initrd_gpa + sizeof(rd) <= 64ull << 20);
    assert_true(r.initrd_gpa + sizeof(rd) > (64ull << 20) - 8192); /* as high as possible */
    assert_int_equal(rd32(bp + 0x218), r.initrd_gpa);
    assert_int_equal(rd32(bp + 0x21c), sizeof(rd));
    assert_memory_equal(gmem_ptr(m.gm, r.initrd_gpa, sizeof(rd)), rd, sizeof(rd));

    /* an initrd that cannot fit */
    uint8_t *big = calloc(1, 60u << 20);
    assert_int_equal(fx_load(&m, bz, bl, big, 60u << 20, &r), -ENOSPC);
    free(big);
    free(bz);
    free(vm);
    fx_machine_fini(&m);
}

/* Corrupts a copy of a good image with (fn) and expects (want). */
/* A copy of (good, len) changed by (fn) must be refused with (want). */
static void expect_bad(const uint8_t *good, size_t len, void (*fn)(uint8_t *img, size_t *len),
                       int want, const char *what)
{
    uint8_t *img = malloc(len);
    size_t n = len;

    assert_non_null(img);
    memcpy(img, good, len);
    fn(img, &n);
    fx_expect_refused(img, n, want, what);
    free(img);
}

/* Setup header fields (Documentation/arch/x86/boot.rst) set to values a loader must refuse:
 * (len) bytes at (off) set to (val). */
static const struct header_patch {
    const char *what;
    unsigned off, len;
    uint8_t val;
} header_patches[] = {
    {"magic", 0x202, 1, 'X'},           {"boot_flag", 0x1fe, 1, 0},
    {"version", 0x206, 1, 0x08},        {"setup_sects", 0x1f1, 1, 0xff},
    {"payload_length", 0x24c, 3, 0xff}, {"payload_offset", 0x248, 4, 0xff},
    {"syssize", 0x1f4, 4, 0x7f},        {"xloadflags", 0x236, 1, 0},
    {"loadflags", 0x211, 1, 0},         {"header length", 0x201, 1, 0xff},
    {"cmdline_size", 0x238, 4, 0},      {"kernel_alignment", 0x230, 1, 3},
};

static void corrupt_stream(uint8_t *p, size_t *n)
{
    memset(p + FX_BZ_SETUP_BYTES + FX_BZ_PAYLOAD_OFFSET + 20, 0x55, 64);
    (void)n;
}
static void size_trailer_huge(uint8_t *p, size_t *n)
{
    uint32_t plen = rd32(p + 0x24c);
    memset(p + FX_BZ_SETUP_BYTES + FX_BZ_PAYLOAD_OFFSET + plen - 4, 0xff, 4);
    (void)n;
}
static void size_trailer_small(uint8_t *p, size_t *n)
{
    uint32_t plen = rd32(p + 0x24c), small = 1000;
    memcpy(p + FX_BZ_SETUP_BYTES + FX_BZ_PAYLOAD_OFFSET + plen - 4, &small, 4);
    (void)n;
}
static void truncate_half(uint8_t *p, size_t *n)
{
    (void)p;
    *n /= 2;
}

static void test_bad_images(void **state)
{
    size_t vl, bl;
    (void)state;
    uint8_t *vm = fx_vmlinux(&vl);
    uint8_t *bz = fx_bzimage(DECOMP_XZ, vm, vl, &bl);

    for (size_t i = 0; i < ARRAY_SIZE(header_patches); i++) {
        const struct header_patch *hp = &header_patches[i];
        uint8_t *img = malloc(bl);
        assert_non_null(img);
        memcpy(img, bz, bl);
        memset(img + hp->off, hp->val, hp->len);
        fx_expect_refused(img, bl, -ENOEXEC, hp->what);
        free(img);
    }
    expect_bad(bz, bl, corrupt_stream, -ENOEXEC, "corrupt xz");
    expect_bad(bz, bl, size_trailer_huge, -ENOEXEC, "trailer > 512 MiB");
    expect_bad(bz, bl, size_trailer_small, -ENOEXEC, "trailer < real size");
    expect_bad(bz, bl, truncate_half, -ENOEXEC, "truncated");
    free(bz);
    free(vm);
}

/* Every truncation of a small image is refused without a crash. */
static void test_truncations(void **state)
{
    struct fx_machine m;
    struct boot_result r;
    size_t vl, bl;
    (void)state;
    uint8_t *vm = fx_vmlinux(&vl);
    uint8_t *bz = fx_bzimage(DECOMP_GZIP, vm, vl, &bl);

    /* up to the end of the payload: the padding after it may go */
    size_t payload_end = FX_BZ_SETUP_BYTES + FX_BZ_PAYLOAD_OFFSET + rd32(bz + 0x24c);
    fx_machine_init(&m, 64);
    for (size_t n = 0; n < payload_end; n += (n < 3000 ? 7 : 61))
        assert_int_equal(fx_load(&m, bz, n, NULL, 0, &r), -ENOEXEC);
    fx_machine_fini(&m);
    free(bz);
    free(vm);
}

static void test_unsupported_compression(void **state)
{
    struct fx_machine m;
    struct boot_result r;
    size_t vl, bl;
    (void)state;
    uint8_t *vm = fx_vmlinux(&vl);
    uint8_t *bz = fx_bzimage(DECOMP_BZIP2, vm, vl, &bl);

    fx_machine_init(&m, 64);
    assert_int_equal(fx_load(&m, bz, bl, NULL, 0, &r), -ENOEXEC);
    assert_non_null(strstr(m.err.message, "bzip2"));
    fx_machine_fini(&m);
    free(bz);
    free(vm);
}

static void test_segment_placement(void **state)
{
    struct fx_machine m;
    struct boot_result r;
    size_t vl, bl;
    (void)state;

    /* beyond RAM: 16 MiB kernel in a 16 MiB guest */
    fx_machine_init(&m, 16);
    uint8_t *vm = fx_vmlinux(&vl);
    uint8_t *bz = fx_bzimage(DECOMP_ZSTD, vm, vl, &bl);
    assert_int_equal(fx_load(&m, bz, bl, NULL, 0, &r), -ENOSPC);
    fx_machine_fini(&m);
    free(bz);
    free(vm);

    /* over the boot structures and over the ACPI area */
    static const uint64_t bad_gpa[] = {BOOT_PARAMS_GPA, BOOT_CMDLINE_GPA, ACPI_GPA, 0xff000};
    for (size_t i = 0; i < sizeof(bad_gpa) / sizeof(bad_gpa[0]); i++) {
        struct fx_seg seg = {PT_LOAD, bad_gpa[i], bad_gpa[i], 0x100, 0x2000, 0x11};
        vm = fx_elf(true, bad_gpa[i], &seg, 1, NULL, 0, &vl);
        bz = fx_bzimage(DECOMP_GZIP, vm, vl, &bl);
        fx_machine_init(&m, 64);
        assert_int_equal(fx_load(&m, bz, bl, NULL, 0, &r), -ENOEXEC);
        fx_machine_fini(&m);
        free(bz);
        free(vm);
    }
}

static void test_cmdline_too_long(void **state)
{
    struct fx_machine m;
    struct boot_result r;
    size_t vl, bl;
    char *longline = malloc(4096);
    (void)state;

    memset(longline, 'a', 4095);
    longline[4095] = 0;
    fx_machine_init(&m, 64);
    m.cfg.cmdline = longline; /* the fixture's cmdline_size is 2047 */
    uint8_t *vm = fx_vmlinux(&vl);
    uint8_t *bz = fx_bzimage(DECOMP_GZIP, vm, vl, &bl);
    assert_int_equal(fx_load(&m, bz, bl, NULL, 0, &r), -EINVAL);
    longline[2047] = 0;
    assert_int_equal(fx_load(&m, bz, bl, NULL, 0, &r), 0);
    fx_machine_fini(&m);
    free(longline);
    free(bz);
    free(vm);
}

static void test_decompress_bounds(void **state)
{
    static const enum decomp_format fmts[] = {DECOMP_GZIP, DECOMP_XZ, DECOMP_LZMA, DECOMP_ZSTD,
                                              DECOMP_LZ4};
    uint8_t in[50000];
    struct error err = {0};
    (void)state;

    for (size_t i = 0; i < sizeof(in); i++)
        in[i] = (uint8_t)(i * 7 / 13);
    for (size_t i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
        size_t clen, olen;
        uint8_t *out;
        uint8_t *c = fx_compress(fmts[i], in, sizeof(in), &clen);
        assert_int_equal(decomp_run(c, clen, sizeof(in), &out, &olen, "t", &err), 0);
        assert_int_equal(olen, sizeof(in));
        assert_memory_equal(out, in, sizeof(in));
        free(out);
        /* one byte short of room: refused, nothing written past the bound */
        assert_int_equal(decomp_run(c, clen, sizeof(in) - 1, &out, &olen, "t", &err), -ENOEXEC);
        free(c);
    }
    static const uint8_t lzo[8] = {0x89, 'L', 'Z', 'O', 0, 0x0d, 0x0a, 0x1a};
    uint8_t *out;
    size_t olen;
    assert_int_equal(decomp_detect(lzo, sizeof(lzo)), DECOMP_LZO);
    assert_int_equal(decomp_run(lzo, sizeof(lzo), 100, &out, &olen, "t", &err), -ENOEXEC);
}

static void test_files_and_probe(void **state)
{
    struct fx_machine m;
    struct boot_result r;
    enum boot_format fmt;
    struct error err = {0};
    size_t vl, bl;
    (void)state;
    uint8_t *vm = fx_vmlinux(&vl);
    uint8_t *bz = fx_bzimage(DECOMP_LZ4, vm, vl, &bl);
    char *kpath = fx_tmpfile(bz, bl);
    char *rpath = fx_tmpfile("initrd!", 7);
    char *junk = fx_tmpfile("#!/bin/sh\necho hi\n", 18);

    assert_int_equal(boot_probe(kpath, &fmt, &err), 0);
    assert_int_equal(fmt, BOOT_FORMAT_BZIMAGE);
    assert_int_equal(boot_probe(junk, &fmt, &err), -ENOEXEC);
    assert_non_null(strstr(err.message, "not a kernel"));
    error_clear(&err);
    assert_int_equal(boot_probe("/nonexistent/vmlinuz", &fmt, &err), -ENOENT);

    fx_machine_init(&m, 64);
    m.cfg.kernel_path = kpath;
    m.cfg.initrd_path = rpath;
    assert_int_equal(boot_load(m.gm, &m.cfg, &r, &m.err), 0);
    assert_int_equal(r.initrd_size, 7);
    assert_memory_equal(gmem_ptr(m.gm, r.initrd_gpa, 7), "initrd!", 7);
    m.cfg.initrd_path = "/nonexistent/initrd";
    assert_int_equal(boot_load(m.gm, &m.cfg, &r, &m.err), -ENOENT);
    fx_machine_fini(&m);
    unlink(kpath);
    unlink(rpath);
    unlink(junk);
    free(kpath);
    free(rpath);
    free(junk);
    free(bz);
    free(vm);
}

static void test_bad_config(void **state)
{
    struct fx_machine m;
    struct boot_result r;
    size_t vl, bl;
    (void)state;
    uint8_t *vm = fx_vmlinux(&vl);
    uint8_t *bz = fx_bzimage(DECOMP_GZIP, vm, vl, &bl);

    fx_machine_init(&m, 64);
    m.cfg.e820 = NULL;
    assert_int_equal(fx_load(&m, bz, bl, NULL, 0, &r), -EINVAL);
    m.cfg.e820 = &m.map;
    m.map.n = 0;
    assert_int_equal(fx_load(&m, bz, bl, NULL, 0, &r), -EINVAL);
    m.map.n = E820_MAX + 1;
    assert_int_equal(fx_load(&m, bz, bl, NULL, 0, &r), -EINVAL);
    fx_machine_fini(&m);
    assert_string_equal(boot_format_name(BOOT_FORMAT_BZIMAGE), "bzImage");
    assert_string_equal(boot_entry_mode_name(BOOT_ENTRY_PVH32), "pvh32");
    free(bz);
    free(vm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_formats),
        cmocka_unit_test(test_initrd),
        cmocka_unit_test(test_bad_images),
        cmocka_unit_test(test_truncations),
        cmocka_unit_test(test_unsupported_compression),
        cmocka_unit_test(test_segment_placement),
        cmocka_unit_test(test_cmdline_too_long),
        cmocka_unit_test(test_decompress_bounds),
        cmocka_unit_test(test_files_and_probe),
        cmocka_unit_test(test_bad_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
