/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: a hostile guest driving the floppy controller and the ISA DMA controllers
 * (dev/legacy/fdc*.c, dev/legacy/i8237.c) through their ports, with the event loop's work
 * (fdc_service, disk completions) and media changes interleaved. Each input is a list of
 * 3-byte steps {op, a, b}: op % 8 picks port write, port read, service, completion, eject,
 * insert of a 1.44M or 2.88M disk, a DMA programming shortcut, or a saved-state round trip
 * (save, then load it back, with one byte of it replaced by (b) at (a) when (b) is odd); (a) picks
 * the port among the devices' ports and (b) is the value. Guest RAM is 1 MiB, so DMA pages above it
 * point outside RAM.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "base/statefile.h"
#include "blk_mem.h"
#include "core/gmem.h"
#include "dev/bus.h"
#include "dev/legacy/fdc.h"
#include "dev/legacy/i8237.h"
#include "fake_platform.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint16_t ports[] = {
    0x3f0, 0x3f1, 0x3f2, 0x3f3, 0x3f4, 0x3f5, 0x3f5, 0x3f5, 0x3f5, 0x3f5, 0x3f5, 0x3f7,
    0x00,  0x01,  0x02,  0x03,  0x04,  0x05,  0x06,  0x07,  0x08,  0x09,  0x0a,  0x0b,
    0x0c,  0x0d,  0x0e,  0x0f,  0x80,  0x81,  0x82,  0x83,  0x87,  0x89,  0x8a,  0x8b,
    0xc0,  0xc4,  0xc6,  0xd0,  0xd4,  0xd6,  0xd8,  0xda,  0xdc,  0xde,
};

static unsigned kicks;

static int kick(void *opaque, struct fdc *fdc)
{
    (void)opaque;
    (void)fdc;
    kicks++;
    return 0;
}

static void complete_all(struct blk *disk)
{
    if (disk != NULL)
        blk_mem_complete(disk, 64);
}

static void round_trip(struct fdc *fdc, struct i8237 *dma, uint8_t at, uint8_t v)
{
    struct sf_buf b = {0}, d = {0};
    struct sf_in in;
    if (fdc_save(fdc, &b) == 0 && !b.failed) {
        if ((v & 1) && b.len > 0)
            b.data[at % b.len] = v;
        sf_in_init(&in, b.data, b.len);
        (void)fdc_load(fdc, &in);
    }
    i8237_save(dma, &d);
    if (!d.failed) {
        if ((v & 1) && d.len > 0)
            d.data[at % d.len] = v;
        sf_in_init(&in, d.data, d.len);
        (void)i8237_load(dma, &in);
    }
    sf_buf_free(&b);
    sf_buf_free(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fake_platform fp;
    struct gmem *gm;
    struct i8237 *dma;
    struct fdc *fdc;
    struct bus *pio;
    struct blk *disk = blk_mem_create(1474560, false);
    uint64_t v;
    fake_platform_init(&fp);
    if (gmem_create(&gm) < 0 || gmem_add_region(gm, 0, 1u << 20, "ram", false, NULL) < 0 ||
        i8237_create(gm, &dma) < 0 || bus_create("pio", &pio) < 0)
        abort();
    if (fdc_create(&fp.plat, dma, 4, disk, false, kick, NULL, &fdc) < 0 ||
        i8237_attach(dma, pio) < 0 || fdc_attach(fdc, pio) < 0)
        abort();
    kicks = 0;
    for (size_t i = 0; i + 3 <= size; i += 3) {
        uint8_t op = data[i], a = data[i + 1], b = data[i + 2];
        uint16_t port = ports[a % (sizeof(ports) / sizeof(ports[0]))];
        switch (op % 8) {
        case 0:
            bus_write(pio, port, 1, b);
            break;
        case 7:
            round_trip(fdc, dma, a, b);
            break;
        case 1:
            bus_read(pio, port, 1, &v);
            break;
        case 2:
            if (kicks > 0) {
                kicks = 0;
                fdc_service(fdc);
            }
            break;
        case 3:
            complete_all(disk);
            break;
        case 4:
            if (fdc_change_media(fdc, NULL, false) == 0)
                disk = NULL;
            break;
        case 5: {
            struct blk *d = blk_mem_create(b & 1 ? 2949120 : 1474560, (b & 2) != 0);
            if (fdc_change_media(fdc, d, (b & 4) != 0) == 0)
                disk = d;
            else
                blk_close(d);
            break;
        }
        case 6: /* channel 2: address a << 8, count b << 4, to or from memory */
            bus_write(pio, 0x0a, 1, 0x06);
            bus_write(pio, 0x0c, 1, 0);
            bus_write(pio, 0x0b, 1, b & 1 ? 0x46 : 0x4a);
            bus_write(pio, 0x04, 1, 0);
            bus_write(pio, 0x04, 1, a);
            bus_write(pio, 0x81, 1, b >> 5);
            bus_write(pio, 0x05, 1, (uint8_t)(b << 4));
            bus_write(pio, 0x05, 1, b >> 4);
            bus_write(pio, 0x0a, 1, 0x02);
            break;
        }
    }
    fdc_destroy(fdc); /* completes what is in flight */
    i8237_destroy(dma);
    bus_destroy(pio);
    gmem_destroy(gm);
    fake_platform_fini(&fp);
    return 0;
}
