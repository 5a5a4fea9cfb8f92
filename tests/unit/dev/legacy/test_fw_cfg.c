/* SPDX-License-Identifier: MIT */
/* Unit tests for dev/legacy/fw_cfg.c: the port interface, the file directory, hostile DMA and the
 * saved state (a round trip into a second device, hostile offsets refused). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/statefile.h"
#include "core/gmem.h"
#include "core/x86/layout.h"
#include "dev/bus.h"
#include "dev/legacy/fw_cfg.h"

struct env {
    struct gmem *gm;
    struct bus *pio;
    struct fw_cfg *c;
};

static int setup(void **state)
{
    static struct env e;
    assert_int_equal(gmem_create(&e.gm), 0);
    assert_int_equal(gmem_add_region(e.gm, 0, 1 << 20, "ram", false, NULL), 0);
    assert_int_equal(gmem_add_region(e.gm, 0xfff00000, 1 << 20, "rom", true, NULL), 0);
    assert_int_equal(bus_create("pio", &e.pio), 0);
    assert_int_equal(fw_cfg_create(e.gm, &e.c), 0);
    assert_int_equal(fw_cfg_attach(e.c, e.pio), 0);
    *state = &e;
    return 0;
}

static int teardown(void **state)
{
    struct env *e = *state;
    fw_cfg_destroy(e->c);
    bus_destroy(e->pio);
    gmem_destroy(e->gm);
    return 0;
}

static void sel(struct env *e, uint16_t key)
{
    assert_true(bus_write(e->pio, PORT_FW_CFG, 2, key));
}

static void read_bytes(struct env *e, void *buf, size_t n)
{
    uint8_t *p = buf;
    for (size_t i = 0; i < n; i++) {
        uint64_t v;
        assert_true(bus_read(e->pio, PORT_FW_CFG + 1, 1, &v));
        p[i] = (uint8_t)v;
    }
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Writes a DMA access at (acc_gpa) and starts it; returns the control word written back. */
static uint32_t dma(struct env *e, uint64_t acc_gpa, uint32_t control, uint32_t len, uint64_t addr)
{
    uint8_t acc[16];
    put_be32(acc, control);
    put_be32(acc + 4, len);
    put_be32(acc + 8, (uint32_t)(addr >> 32));
    put_be32(acc + 12, (uint32_t)addr);
    if (gmem_write(e->gm, acc_gpa, acc, sizeof(acc)) < 0)
        return UINT32_MAX;
    assert_true(
        bus_write(e->pio, PORT_FW_CFG_DMA, 4, __builtin_bswap32((uint32_t)(acc_gpa >> 32))));
    assert_true(bus_write(e->pio, PORT_FW_CFG_DMA + 4, 4, __builtin_bswap32((uint32_t)acc_gpa)));
    assert_int_equal(gmem_read(e->gm, acc_gpa, acc, 4), 0);
    return get_be32(acc);
}

static void test_signature_and_id(void **state)
{
    struct env *e = *state;
    uint8_t b[4];
    uint64_t v;
    sel(e, FW_CFG_SIGNATURE);
    read_bytes(e, b, 4);
    assert_memory_equal(b, "QEMU", 4);
    read_bytes(e, b, 1); /* past the end: zero */
    assert_int_equal(b[0], 0);
    sel(e, FW_CFG_ID);
    read_bytes(e, b, 4);
    assert_int_equal(b[0], FW_CFG_VERSION | FW_CFG_VERSION_DMA);
    assert_true(bus_read(e->pio, PORT_FW_CFG_DMA, 4, &v));
    assert_memory_equal(&v, "QEMU", 4);
    sel(e, 0x1234); /* absent: zeros */
    read_bytes(e, b, 2);
    assert_int_equal(b[0] | b[1], 0);
}

static void test_files(void **state)
{
    struct env *e = *state;
    uint8_t dir[4 + 2 * 64];
    char name[64];
    uint64_t item = 0x1122334455667788ULL;
    memset(name, 'a', sizeof(name));
    name[56] = '\0';
    assert_int_equal(fw_cfg_add_file(e->c, "etc/e820", "abcdef", 6), 0);
    assert_int_equal(fw_cfg_add_file(e->c, "bootorder", "x\n", 2), 0);
    assert_int_equal(fw_cfg_add_file(e->c, "bootorder", "y", 1), -EEXIST);
    assert_int_equal(fw_cfg_add_file(e->c, "", "y", 1), -EINVAL);
    assert_int_equal(fw_cfg_add_file(e->c, name, "y", 1), -EINVAL); /* 56 bytes: no room */
    assert_int_equal(fw_cfg_add_item(e->c, FW_CFG_FILE_DIR, "y", 1), -EINVAL);
    assert_int_equal(fw_cfg_add_item(e->c, FW_CFG_FILE_FIRST, "y", 1), -EINVAL);
    assert_int_equal(fw_cfg_add_item(e->c, FW_CFG_RAM_SIZE, &item, 8), 0);
    sel(e, FW_CFG_FILE_DIR);
    read_bytes(e, dir, sizeof(dir));
    assert_int_equal(get_be32(dir), 2);
    assert_int_equal(get_be32(dir + 4), 6);
    assert_int_equal(dir[8] << 8 | dir[9], FW_CFG_FILE_FIRST);
    assert_string_equal((char *)dir + 12, "etc/e820");
    assert_int_equal(get_be32(dir + 68), 2);
    assert_int_equal(dir[72] << 8 | dir[73], FW_CFG_FILE_FIRST + 1);
    assert_string_equal((char *)dir + 76, "bootorder");
    sel(e, FW_CFG_FILE_FIRST + 1);
    read_bytes(e, name, 2);
    assert_memory_equal(name, "x\n", 2);
    sel(e, FW_CFG_RAM_SIZE | FW_CFG_WRITE_CHANNEL); /* the write channel reads nothing */
    read_bytes(e, name, 1);
    assert_int_equal(name[0], 0);
}

static void test_dma(void **state)
{
    struct env *e = *state;
    uint8_t buf[16];
    assert_int_equal(fw_cfg_add_file(e->c, "etc/x", "0123456789", 10), 0);
    /* select + read 4 */
    assert_int_equal(
        dma(e, 0x1000, (FW_CFG_FILE_FIRST << 16) | FW_CFG_DMA_SELECT | FW_CFG_DMA_READ, 4, 0x2000),
        0);
    assert_int_equal(gmem_read(e->gm, 0x2000, buf, 4), 0);
    assert_memory_equal(buf, "0123", 4);
    /* skip 2, then read 8: 4 item bytes and zeros */
    assert_int_equal(dma(e, 0x1000, FW_CFG_DMA_SKIP, 2, 0), 0);
    memset(buf, 0xee, sizeof(buf));
    assert_int_equal(gmem_write(e->gm, 0x3000, buf, sizeof(buf)), 0);
    assert_int_equal(dma(e, 0x1000, FW_CFG_DMA_READ, 8, 0x3000), 0);
    assert_int_equal(gmem_read(e->gm, 0x3000, buf, 9), 0);
    assert_memory_equal(buf, "6789\0\0\0\0", 8);
    assert_int_equal(buf[8], 0xee);
    /* a skip past the end saturates; so does a huge one */
    assert_int_equal(dma(e, 0x1000, FW_CFG_DMA_SKIP, UINT32_MAX, 0), 0);
    /* writes are refused */
    assert_int_equal(dma(e, 0x1000, FW_CFG_DMA_WRITE, 4, 0x2000), FW_CFG_DMA_ERROR);
    /* data outside RAM, across the end of RAM, wrapping, into the ROM: error, nothing written */
    assert_int_equal(dma(e, 0x1000, (FW_CFG_FILE_FIRST << 16) | FW_CFG_DMA_SELECT | FW_CFG_DMA_READ,
                         4, 0x200000),
                     FW_CFG_DMA_ERROR);
    assert_int_equal(dma(e, 0x1000, FW_CFG_DMA_READ, 8, (1 << 20) - 4), FW_CFG_DMA_ERROR);
    assert_int_equal(dma(e, 0x1000, FW_CFG_DMA_READ, UINT32_MAX, UINT64_MAX - 2), FW_CFG_DMA_ERROR);
    assert_int_equal(dma(e, 0x1000, FW_CFG_DMA_READ, 4, 0xfff00000), FW_CFG_DMA_ERROR);
    assert_int_equal(dma(e, 0x1000, 0, 0, 0), 0); /* nothing asked: done */
    /* an access structure outside RAM, straddling its end, or in the ROM: ignored */
    assert_true(bus_write(e->pio, PORT_FW_CFG_DMA, 4, 0));
    assert_true(bus_write(e->pio, PORT_FW_CFG_DMA + 4, 4, __builtin_bswap32(0x500000)));
    assert_true(bus_write(e->pio, PORT_FW_CFG_DMA + 4, 4, __builtin_bswap32((1 << 20) - 8)));
    assert_true(bus_write(e->pio, PORT_FW_CFG_DMA + 4, 4, __builtin_bswap32(0xfff00000)));
    assert_true(bus_write(e->pio, PORT_FW_CFG_DMA, 4, UINT32_MAX));
    assert_true(bus_write(e->pio, PORT_FW_CFG_DMA + 4, 4, UINT32_MAX));
    /* odd sizes on the DMA and selector ports are ignored */
    assert_true(bus_write(e->pio, PORT_FW_CFG_DMA + 4, 2, 0x1000));
    assert_true(bus_write(e->pio, PORT_FW_CFG, 1, 0));
}

/* Saves in the middle of reading a file and loads into a second device with the same items:
 * the read goes on there. An offset past the selected item, or on an absent one, is refused. */
static void test_state(void **state)
{
    struct env *e = *state;
    struct fw_cfg *c2;
    struct bus *pio2;
    struct sf_buf b = {0};
    struct sf_in in;
    uint8_t got[3];
    uint8_t bad[10];
    assert_int_equal(fw_cfg_add_file(e->c, "etc/e820", "abcdef", 6), 0);
    sel(e, FW_CFG_FILE_FIRST);
    read_bytes(e, got, 3);
    fw_cfg_save(e->c, &b);
    assert_false(b.failed);
    assert_int_equal(b.len, 10);
    assert_int_equal(bus_create("pio2", &pio2), 0);
    assert_int_equal(fw_cfg_create(e->gm, &c2), 0);
    assert_int_equal(fw_cfg_add_file(c2, "etc/e820", "abcdef", 6), 0);
    assert_int_equal(fw_cfg_attach(c2, pio2), 0);
    sf_in_init(&in, b.data, b.len);
    assert_int_equal(fw_cfg_load(c2, &in), 0);
    for (unsigned i = 0; i < 3; i++) {
        uint64_t v;
        assert_true(bus_read(pio2, PORT_FW_CFG + 1, 1, &v));
        assert_int_equal(v, "def"[i]);
    }
    /* hostile: offset 7 of a 6-byte item; offset 1 on a key without item; truncated; longer */
    memcpy(bad, b.data, sizeof(bad));
    bad[2] = 7;
    sf_in_init(&in, bad, sizeof(bad));
    assert_int_equal(fw_cfg_load(c2, &in), -EINVAL);
    bad[0] = 0x77;
    bad[2] = 1;
    sf_in_init(&in, bad, sizeof(bad));
    assert_int_equal(fw_cfg_load(c2, &in), -EINVAL);
    sf_in_init(&in, b.data, b.len - 1);
    assert_int_equal(fw_cfg_load(c2, &in), -EINVAL);
    sf_put_u8(&b, 0);
    sf_in_init(&in, b.data, b.len);
    assert_int_equal(fw_cfg_load(c2, &in), -EINVAL);
    sf_buf_free(&b);
    fw_cfg_destroy(c2);
    bus_destroy(pio2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_signature_and_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dma, setup, teardown),
        cmocka_unit_test_setup_teardown(test_state, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
