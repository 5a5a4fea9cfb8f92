/* SPDX-License-Identifier: MIT */
/*
 * Drives every virtio-rng device (virtio 1.2 §5.4, PCI 1af4:1044) on bus 0 with the polling
 * virtio-pci core (rt/virtio_pci.c): one request queue, device-writable buffers that the
 * device fills with entropy (§5.4.6). Checks that requests of 1, 16 and 256 bytes complete with
 * a used length of 1..size, that the bytes are not all zero, and that two 256-byte reads
 * differ. `rngs=N` devices are expected (default 1).
 */
#include "acpi.h"
#include "pci.h"
#include "virtio.h"

const char payload_name[] = "virtio_rng";

static uint8_t buf[2][256] __attribute__((aligned(64)));

/* Requests (len) bytes into (b); returns the used length, or -1. */
static int64_t fetch(struct vdev *d, uint8_t *b, uint32_t len)
{
    struct vbuf chain[1] = {{b, len, true}};
    uint32_t used = 0;
    memset(b, 0, len);
    if (vdev_submit(d, chain, 1, &used))
        return -1;
    return used;
}

static void test_device(struct vdev *d)
{
    static const uint32_t sizes[] = {1, 16, 256};
    unsigned bad = 0;
    for (unsigned i = 0; i < ARRAY_SIZE(sizes); i++) {
        int64_t got = fetch(d, buf[0], sizes[i]);
        if (got < 1 || got > sizes[i]) {
            rt_printf("  %s: %u-byte request: used length %ld\n", d->tag, sizes[i], (long)got);
            bad++;
        }
    }
    if (rt_check(!bad, "requests", "%s: %u of %zu requests failed", d->tag, bad, ARRAY_SIZE(sizes)))
        rt_pass("requests");
    int64_t a = fetch(d, buf[0], sizeof(buf[0]));
    int64_t b = fetch(d, buf[1], sizeof(buf[1]));
    bool nonzero = false;
    for (int64_t i = 0; i < a; i++)
        nonzero |= buf[0][i] != 0;
    int64_t n = a < b ? a : b;
    bool differ = n >= 8 && memcmp(buf[0], buf[1], (size_t)n);
    rt_printf("  %s: %ld and %ld bytes, first %02x %02x %02x %02x\n", d->tag, (long)a, (long)b,
              buf[0][0], buf[0][1], buf[0][2], buf[0][3]);
    if (rt_check(a > 0 && b > 0 && nonzero && differ, "entropy",
                 "%s: reads of %ld/%ld bytes, %s, %s", d->tag, (long)a, (long)b,
                 nonzero ? "non-zero" : "ALL ZERO", differ ? "differ" : "SAME or short"))
        rt_pass("entropy");
}

void payload_main(void)
{
    static struct acpi_info ai;
    char why[120];
    (void)acpi_init(&ai, why, sizeof(why)); /* the PM timer clock for timeouts */
    unsigned found = 0;
    for (unsigned dev = 0; dev < 32; dev++) {
        uint16_t bdf = PCI_BDF(0, dev, 0);
        if (pci_cf8_read32(bdf, PCI_VENDOR) != 0x10441af4)
            continue;
        found++;
        static struct vdev d;
        if (!vdev_open(&d, bdf, 0, VDEV_NO_VECTOR, "setup"))
            continue;
        test_device(&d);
        (void)vdev_reset(&d);
    }
    uint64_t want = rt_cmdline_u64("rngs", 1);
    if (rt_check(found == want, "devices", "found %u virtio-rng devices, want %lu", found,
                 (unsigned long)want))
        rt_pass("devices");
}
