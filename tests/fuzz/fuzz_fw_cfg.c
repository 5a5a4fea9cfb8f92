/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for fw_cfg (dev/legacy/fw_cfg.c): the input is a program of port accesses,
 * 7 bytes each: op u8 | value u32 | extra u16. Ops: selector write, data read, DMA address
 * halves, and "DMA": writes a {control, length, address} access at a guest address the input
 * picks (inside or across the end of the 1 MiB RAM, in the ROM, or anywhere) and runs it. The
 * device must never touch memory outside RAM, write the ROM, or crash.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/log.h"
#include "core/gmem.h"
#include "core/x86/layout.h"
#include "dev/bus.h"
#include "dev/legacy/fw_cfg.h"

#define RAM_BYTES (1ULL << 20)
#define ROM_GPA 0xfff00000ULL

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint64_t pick_gpa(uint32_t v, uint16_t extra)
{
    switch (extra & 3) {
    case 0:
        return v % RAM_BYTES;
    case 1:
        return RAM_BYTES - (v & 0xff);
    case 2:
        return ROM_GPA + (v & 0xfffff);
    default:
        return (uint64_t)extra << 32 | v;
    }
}

static void run(struct gmem *gm, struct bus *pio, const uint8_t *p)
{
    uint32_t v = get32(p + 1);
    uint16_t extra = (uint16_t)(p[5] | p[6] << 8);
    uint64_t r;
    uint8_t acc[16];
    uint64_t addr, gpa;
    switch (p[0] % 6) {
    case 0:
        bus_write(pio, PORT_FW_CFG, 2, v & 0xffff);
        break;
    case 1:
        bus_read(pio, PORT_FW_CFG + 1, 1, &r);
        break;
    case 2:
        bus_write(pio, PORT_FW_CFG_DMA, 4, v);
        break;
    case 3:
        bus_write(pio, PORT_FW_CFG_DMA + 4, 4, v);
        break;
    case 4:
        bus_read(pio, PORT_FW_CFG_DMA + (extra & 7), 1u << (extra >> 8 & 2), &r);
        break;
    default:
        gpa = (v % RAM_BYTES) & ~15ULL;
        addr = pick_gpa(v >> 4, extra);
        put_be32(acc, (uint32_t)extra << 16 | (v & 0x1f));
        put_be32(acc + 4, v >> (extra & 31));
        put_be32(acc + 8, (uint32_t)(addr >> 32));
        put_be32(acc + 12, (uint32_t)addr);
        if (gmem_write(gm, gpa, acc, sizeof(acc)) == 0) {
            bus_write(pio, PORT_FW_CFG_DMA, 4, 0);
            bus_write(pio, PORT_FW_CFG_DMA + 4, 4, __builtin_bswap32((uint32_t)gpa));
        }
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t blob[300] = {1, 2, 3};
    struct gmem *gm;
    struct bus *pio;
    struct fw_cfg *c;
    const struct gmem_region *rom;
    log_set_level(LOG_ERROR);
    if (gmem_create(&gm) < 0)
        return 0;
    if (gmem_add_region(gm, 0, RAM_BYTES, "ram", false, NULL) < 0 ||
        gmem_add_region(gm, ROM_GPA, RAM_BYTES, "rom", true, NULL) < 0 ||
        bus_create("pio", &pio) < 0) {
        gmem_destroy(gm);
        return 0;
    }
    if (fw_cfg_create(gm, &c) == 0) {
        if (fw_cfg_add_file(c, "etc/e820", blob, 40) < 0 ||
            fw_cfg_add_file(c, "bootorder", blob, sizeof(blob)) < 0 ||
            fw_cfg_add_item(c, FW_CFG_NB_CPUS, blob, 2) < 0 || fw_cfg_attach(c, pio) < 0)
            __builtin_trap();
        for (size_t off = 0; off + 7 <= size; off += 7)
            run(gm, pio, data + off);
        rom = gmem_find(gm, ROM_GPA);
        for (size_t i = 0; i < RAM_BYTES; i += 4096)
            if (rom->hva[i] != 0) /* the ROM was written */
                __builtin_trap();
        fw_cfg_destroy(c);
    }
    bus_destroy(pio);
    gmem_destroy(gm);
    return 0;
}
