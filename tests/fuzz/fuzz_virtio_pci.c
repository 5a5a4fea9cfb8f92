/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the virtio-pci transport and the device core (dev/virtio/virtio_pci*.c,
 * virtio.c; virtio 1.2 §4.1, §2.1-§2.5) with a virtio-blk device over blk_mem behind it, on a
 * real PCI host and bus with the fake platform. The input is a sequence of 12-byte guest
 * operations:
 *
 *   op u8 | size u8 | off u16 | val u64
 *   op % 6: 0 BAR 0 read, 1 BAR 0 write, 2 config read, 3 config write,
 *           4 RAM write of val at 8 * off, 5 complete pending backend requests
 *
 * so it reaches the status machine, queue setup, notifications, MSI-X, the PCI_CFG window and
 * request handling in any order. Nothing may crash, hang or trip a sanitizer.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "blk_mem.h"
#include "core/gmem.h"
#include "dev/bus.h"
#include "dev/virtio/virtio_blk.h"
#include "dev/virtio/virtio_pci.h"
#include "fake_platform.h"

#define RAM_BYTES (1ULL << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct gmem *gm;

struct rig {
    struct fake_platform fp;
    struct bus *pio, *mmio;
    struct pci_host *host;
    struct blk *disk;
    struct virtio_blk *vb;
    struct virtio_pci *vp;
    uint64_t bar;
};

static int rig_up(struct rig *r, bool is_readonly)
{
    struct pci_host_config cfg = {
        .mmio32_base = PCI_MMIO32_BASE,
        .mmio32_size = PCI_MMIO32_SIZE,
        .io_base = PCI_IO_WINDOW_BASE,
        .io_size = PCI_IO_WINDOW_SIZE,
        .ecam_base = PCI_ECAM_BASE,
    };
    struct virtio_blk_opts opts = {.serial = "fuzz", .num_queues = 2};

    fake_platform_init(&r->fp);
    if (bus_create("pio", &r->pio) != 0 || bus_create("mmio", &r->mmio) != 0 ||
        pci_host_create(&cfg, &r->fp.plat, r->pio, r->mmio, &r->host) != 0)
        abort();
    r->disk = blk_mem_create(64 << 10, is_readonly);
    if (virtio_blk_create(&opts, r->disk, gm, &r->vb) != 0 ||
        virtio_pci_plug(r->host, virtio_blk_dev(r->vb), NULL, 1, &r->vp) != 0)
        abort();
    r->bar = pci_dev_bar_addr(&r->vp->pci, 0);
    return 0;
}

static void rig_down(struct rig *r)
{
    pci_host_destroy(r->host);
    virtio_pci_destroy(r->vp);
    blk_close(r->disk);
    virtio_blk_destroy(r->vb);
    bus_destroy(r->mmio);
    bus_destroy(r->pio);
    fake_platform_fini(&r->fp);
}

static void step(struct rig *r, const uint8_t *p)
{
    static const unsigned sizes[4] = {1, 2, 4, 8};
    unsigned sz = sizes[p[1] & 3];
    uint16_t off = (uint16_t)(p[2] | p[3] << 8);
    uint64_t val, v = 0;

    memcpy(&val, p + 4, 8);
    switch (p[0] % 6) {
    case 0:
        (void)bus_read(r->mmio, r->bar + (off & (VIRTIO_PCI_BAR_SIZE - 1)), sz, &v);
        break;
    case 1:
        (void)bus_write(r->mmio, r->bar + (off & (VIRTIO_PCI_BAR_SIZE - 1)), sz, val);
        break;
    case 2:
        (void)pci_host_cfg_read(r->host, 0, 1 << 3, off & 0xfff, sz > 4 ? 4 : sz);
        break;
    case 3:
        pci_host_cfg_write(r->host, 0, 1 << 3, off & 0xfff, (uint32_t)val, sz > 4 ? 4 : sz);
        break;
    case 4:
        (void)gmem_write(gm, 8ULL * off, &val, sizeof(val));
        break;
    default:
        blk_mem_complete(r->disk, 64);
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rig r;

    if (gm == NULL) {
        log_set_level(LOG_ERROR); /* guest-triggered warnings are expected here */
        if (gmem_create(&gm) != 0 || gmem_add_region(gm, 0, RAM_BYTES, "ram", false, NULL) != 0)
            abort();
    }
    if (size < 1)
        return 0;
    memset(gmem_ptr(gm, 0, 8ULL * 65536), 0, 8ULL * 65536);
    memset(&r, 0, sizeof(r));
    rig_up(&r, data[0] & 1);
    for (size_t pos = 1; pos + 12 <= size && pos < 1 + 12 * 4096; pos += 12)
        step(&r, data + pos);
    rig_down(&r);
    return 0;
}
