/* SPDX-License-Identifier: MIT */
/* Unit tests for base/statefile.c: a file written and parsed back, a sparse raw section, and
 * refusals (version, fingerprint, truncation, bad checksums, duplicate or bad names) that
 * name the header or the section. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/statefile.h"

static const struct sf_fingerprint fp = {
    .memory_bytes = 128ULL << 20, .cpus = 2, .irqchip = 1, .devices = "com1,i8042,pci"};

/* Writes a file with sections "com1" ("hello"), "ram" (raw, 3 pages, page 1 written) and
 * "cpu.0" (empty); returns its bytes in (*out) and their count. */
static size_t make_file(uint8_t **out)
{
    char path[] = "/tmp/sftestXXXXXX";
    int fd = mkstemp(path);
    struct sf_writer w;
    uint64_t at;
    struct stat st;
    assert_true(fd >= 0);
    unlink(path);
    assert_int_equal(sf_write_header(&w, fd, &fp), 0);
    assert_int_equal(sf_write_section(&w, "com1", 1, "hello", 5), 0);
    assert_int_equal(sf_write_raw(&w, "ram", 1, 3 * SF_PAGE_BYTES, &at), 0);
    assert_int_equal(at % SF_PAGE_BYTES, 0);
    assert_int_equal(pwrite(fd, "page1", 5, (off_t)(at + SF_PAGE_BYTES)), 5);
    assert_int_equal(sf_write_section(&w, "cpu.0", 3, NULL, 0), 0);
    assert_int_equal(sf_write_end(&w), 0);
    assert_int_equal(fstat(fd, &st), 0);
    *out = malloc((size_t)st.st_size);
    assert_int_equal(pread(fd, *out, (size_t)st.st_size, 0), st.st_size);
    close(fd);
    return (size_t)st.st_size;
}

static void test_round_trip(void **state)
{
    uint8_t *d;
    size_t n = make_file(&d);
    struct sf_file *f = malloc(sizeof(*f));
    struct error err = {0};
    const struct sf_section *s;
    (void)state;
    assert_int_equal(sf_parse(d, n, f, &err), 0);
    assert_int_equal(f->nsections, 3);
    assert_int_equal(sf_fingerprint_check(&fp, &f->fp, &err), 0);
    s = sf_find(f, "com1");
    assert_non_null(s);
    assert_int_equal(s->version, 1);
    assert_memory_equal(d + s->offset, "hello", 5);
    s = sf_find(f, "ram");
    assert_int_equal(s->offset % SF_PAGE_BYTES, 0);
    assert_int_equal(s->length, 3 * SF_PAGE_BYTES);
    assert_memory_equal(d + s->offset + SF_PAGE_BYTES, "page1", 5);
    assert_int_equal(sf_find(f, "cpu.0")->version, 3);
    assert_null(sf_find(f, "end"));
    free(f);
    free(d);
}

static void expect_refused(const uint8_t *d, size_t n, const char *what);

/* A section written in pieces (sf_stream_offset, sf_write_streamed) parses like any other and
 * its checksum is that of the whole; a following section goes after it. */
static void test_streamed(void **state)
{
    char path[] = "/tmp/sftestXXXXXX";
    int fd = mkstemp(path);
    struct sf_file *f = malloc(sizeof(*f));
    struct error err = {0};
    struct sf_writer w;
    struct stat st;
    uint64_t at;
    uint32_t crc;
    uint8_t *d;
    (void)state;
    assert_true(fd >= 0);
    unlink(path);
    assert_int_equal(sf_write_header(&w, fd, &fp), 0);
    at = sf_stream_offset(&w);
    assert_int_equal(pwrite(fd, "abc", 3, (off_t)at), 3);
    assert_int_equal(pwrite(fd, "defg", 4, (off_t)at + 3), 4);
    crc = sf_crc_update(sf_crc_update(0, "abc", 3), "defg", 4);
    assert_int_equal(crc, sf_crc_update(0, "abcdefg", 7));
    assert_int_equal(sf_write_streamed(&w, "ram.zstd", 1, 7, crc), 0);
    assert_int_equal(sf_write_section(&w, "com1", 1, "hello", 5), 0);
    assert_int_equal(sf_write_end(&w), 0);
    assert_int_equal(fstat(fd, &st), 0);
    d = malloc((size_t)st.st_size);
    assert_int_equal(pread(fd, d, (size_t)st.st_size, 0), st.st_size);
    assert_int_equal(sf_parse(d, (size_t)st.st_size, f, &err), 0);
    assert_int_equal(sf_find(f, "ram.zstd")->offset, at);
    assert_memory_equal(d + at, "abcdefg", 7);
    assert_memory_equal(d + sf_find(f, "com1")->offset, "hello", 5);
    d[at + 6] ^= 1;
    expect_refused(d, (size_t)st.st_size, "section ram.zstd: bad checksum");
    close(fd);
    free(d);
    free(f);
}

/* Expects sf_parse to refuse (d, n) with a message containing (what). */
static void expect_refused(const uint8_t *d, size_t n, const char *what)
{
    struct sf_file *f = malloc(sizeof(*f));
    struct error err = {0};
    assert_int_equal(sf_parse(d, n, f, &err), -EINVAL);
    if (strstr(err.message, what) == NULL)
        fail_msg("\"%s\" does not name \"%s\"", err.message, what);
    free(f);
}

static void test_refusals(void **state)
{
    uint8_t *d;
    size_t n = make_file(&d);
    uint8_t *c = malloc(n);
    size_t com1 = 64 + 16; /* header 64 + "com1,i8042,pci" (14) rounded up to 8 */
    (void)state;
    for (size_t cut = 0; cut < n; cut += 7)
        expect_refused(d, cut, cut < 78 ? "header" : "");
    memcpy(c, d, n);
    c[8] = 2; /* format version */
    expect_refused(c, n, "format version 2");
    memcpy(c, d, n);
    c[20] ^= 1; /* memory size under the header checksum */
    expect_refused(c, n, "header: bad checksum");
    memcpy(c, d, n);
    c[com1 + 48] ^= 1; /* "hello" */
    expect_refused(c, n, "section com1: bad checksum");
    memcpy(c, d, n);
    c[com1 + 32] = 0xff; /* length, under the section header's checksum */
    expect_refused(c, n, "section com1: bad header checksum");
    memcpy(c, d, n);
    c[com1] = 'C';
    expect_refused(c, n, "bad section name");
    expect_refused(d, n - 48, "truncated");
    free(c);
    free(d);
}

static void test_fingerprint(void **state)
{
    struct sf_fingerprint other = fp;
    struct error err = {0};
    (void)state;
    other.memory_bytes = 256ULL << 20;
    assert_int_equal(sf_fingerprint_check(&fp, &other, &err), -EINVAL);
    assert_non_null(strstr(err.message, "256 MiB"));
    other = fp;
    other.cpus = 1;
    error_clear(&err);
    assert_int_equal(sf_fingerprint_check(&fp, &other, &err), -EINVAL);
    assert_non_null(strstr(err.message, "1 vCPUs"));
    other = fp;
    strcpy(other.devices, "com1");
    error_clear(&err);
    assert_int_equal(sf_fingerprint_check(&fp, &other, &err), -EINVAL);
    assert_non_null(strstr(err.message, "devices"));
}

static void test_buf_and_reader(void **state)
{
    struct sf_buf b = {0};
    struct sf_in in;
    uint8_t x[3];
    (void)state;
    sf_put_u8(&b, 1);
    sf_put_u16(&b, 0x203);
    sf_put_u32(&b, 0x4050607);
    sf_put_u64(&b, 0x8090a0b0c0d0e0fULL);
    sf_put_bytes(&b, "xyz", 3);
    assert_false(b.failed);
    sf_in_init(&in, b.data, b.len);
    assert_int_equal(sf_get_u8(&in), 1);
    assert_int_equal(sf_get_u16(&in), 0x203);
    assert_int_equal(sf_get_u32(&in), 0x4050607);
    assert_int_equal(sf_get_u64(&in), 0x8090a0b0c0d0e0fULL);
    assert_int_equal(sf_in_end(&in), -EINVAL); /* "xyz" not read */
    sf_get_bytes(&in, x, 3);
    assert_int_equal(sf_in_end(&in), 0);
    assert_int_equal(sf_get_u32(&in), 0); /* past the end: zero and sticky */
    assert_int_equal(sf_in_end(&in), -EINVAL);
    sf_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),     cmocka_unit_test(test_streamed),
        cmocka_unit_test(test_refusals),       cmocka_unit_test(test_fingerprint),
        cmocka_unit_test(test_buf_and_reader),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
