/* SPDX-License-Identifier: MIT */
/*
 * The floppy controller under test (test_fdc.c, test_fdc_io.c): 1 MiB of guest RAM, the DMA
 * controllers, a fake platform and a 1.44M blk_mem disk whose sector s holds bytes (s & 0xff).
 * The kick hook only records; fx_run() plays the event loop (fdc_service, then the
 * completions).
 */
#ifndef BAREIRON_TESTS_FDC_FIXTURE_H
#define BAREIRON_TESTS_FDC_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "blk_mem.h"
#include "core/gmem.h"
#include "dev/bus.h"
#include "dev/legacy/fdc.h"
#include "dev/legacy/i8237.h"
#include "fake_platform.h"

#define FX_RAM (1u << 20)
#define FX_DISK 1474560u

struct fx {
    struct fake_platform fp;
    struct gmem *gm;
    struct i8237 *dma;
    struct fdc *fdc;
    struct blk *disk;
    struct bus *pio;
    unsigned kicks;
    int kick_error; /* what the kick hook returns */
};

static inline int fx_kick(void *opaque, struct fdc *fdc)
{
    struct fx *x = opaque;
    (void)fdc;
    if (x->kick_error < 0)
        return x->kick_error;
    x->kicks++;
    return 0;
}

static inline struct blk *fx_disk(uint64_t size, bool is_readonly)
{
    struct blk *b = blk_mem_create(size, is_readonly);
    uint8_t *d = blk_mem_data(b);
    for (uint64_t i = 0; i < size; i++)
        d[i] = (uint8_t)(i / 512);
    return b;
}

static inline int fx_setup(void **state)
{
    struct fx *x = calloc(1, sizeof(*x));
    assert_non_null(x);
    fake_platform_init(&x->fp);
    assert_int_equal(gmem_create(&x->gm), 0);
    assert_int_equal(gmem_add_region(x->gm, 0, FX_RAM, "ram", false, NULL), 0);
    assert_int_equal(i8237_create(x->gm, &x->dma), 0);
    x->disk = fx_disk(FX_DISK, false);
    assert_int_equal(fdc_create(&x->fp.plat, x->dma, 4, x->disk, false, fx_kick, x, &x->fdc), 0);
    assert_int_equal(bus_create("pio", &x->pio), 0);
    assert_int_equal(i8237_attach(x->dma, x->pio), 0);
    assert_int_equal(fdc_attach(x->fdc, x->pio), 0);
    *state = x;
    return 0;
}

static inline int fx_teardown(void **state)
{
    struct fx *x = *state;
    fdc_destroy(x->fdc);
    i8237_destroy(x->dma);
    bus_destroy(x->pio);
    gmem_destroy(x->gm);
    fake_platform_fini(&x->fp);
    free(x);
    return 0;
}

static inline void fx_out(struct fx *x, uint16_t port, uint8_t v)
{
    assert_true(bus_write(x->pio, port, 1, v));
}

static inline uint8_t fx_in(struct fx *x, uint16_t port)
{
    uint64_t v = 0;
    assert_true(bus_read(x->pio, port, 1, &v));
    return (uint8_t)v;
}

/* Sends a command (every byte must be wanted: MSR says RQM and not DIO). */
static inline void fx_cmd(struct fx *x, const uint8_t *b, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        assert_int_equal(fx_in(x, 0x3f4) & 0xc0, 0x80);
        fx_out(x, 0x3f5, b[i]);
    }
}

/* Reads the result phase into (res); returns its length. */
static inline unsigned fx_result(struct fx *x, uint8_t *res, unsigned max)
{
    unsigned n = 0;
    while ((fx_in(x, 0x3f4) & 0xc0) == 0xc0 && n < max)
        res[n++] = fx_in(x, 0x3f5);
    assert_int_equal(fx_in(x, 0x3f4) & 0xc0, 0x80); /* back to the command phase */
    return n;
}

/* The event loop: the queued execution phase, then its completion. */
static inline void fx_run(struct fx *x)
{
    if (x->kicks > 0) {
        x->kicks = 0;
        fdc_service(x->fdc);
    }
    if (x->disk != NULL)
        blk_mem_complete(x->disk, 16);
}

/* Programs DMA channel 2 for (len) bytes at (gpa) (below 16 MiB), to memory if (is_to_mem). */
static inline void fx_dma(struct fx *x, uint32_t gpa, uint32_t len, bool is_to_mem)
{
    fx_out(x, 0x0a, 0x06); /* mask 2 */
    fx_out(x, 0x0c, 0);
    fx_out(x, 0x0b, is_to_mem ? 0x46 : 0x4a); /* single, write/read, channel 2 */
    fx_out(x, 0x04, (uint8_t)gpa);
    fx_out(x, 0x04, (uint8_t)(gpa >> 8));
    fx_out(x, 0x81, (uint8_t)(gpa >> 16));
    fx_out(x, 0x05, (uint8_t)(len - 1));
    fx_out(x, 0x05, (uint8_t)((len - 1) >> 8));
    fx_out(x, 0x0a, 0x02); /* unmask 2 */
}

static inline uint8_t fx_sense_int(struct fx *x, uint8_t *pcn)
{
    uint8_t c = 0x08, res[2] = {0};
    fx_cmd(x, &c, 1);
    unsigned n = fx_result(x, res, 2);
    if (n == 2 && pcn)
        *pcn = res[1];
    return res[0];
}

static inline void fx_seek(struct fx *x, uint8_t head, uint8_t cyl)
{
    uint8_t c[3] = {0x0f, (uint8_t)(head << 2), cyl};
    fx_cmd(x, c, 3);
    assert_int_equal(fx_sense_int(x, NULL) & 0xe0, 0x20);
}

/* READ (0x06) or WRITE (0x05) DATA with MFM (| 0x80 for multi-track); 7 result bytes. */
static inline unsigned fx_rw(struct fx *x, uint8_t op, uint8_t c, uint8_t h, uint8_t r, uint8_t n,
                             uint8_t eot, uint8_t *res)
{
    uint8_t cmd[9] = {(uint8_t)(op | 0x40), (uint8_t)(h << 2), c, h, r, n, eot, 0x1b, 0xff};
    fx_cmd(x, cmd, 9);
    fx_run(x);
    return fx_result(x, res, 7);
}

#endif
