/* SPDX-License-Identifier: MIT */
/*
 * Malicious-guest modes for the four holes of the hostile-guest review (docs/security.md),
 * each asserting the fixed behaviour:
 *   qcow2probe  writes a qcow2 header naming the host file `secret=` as its backing file over
 *               sector 0 of its raw disk and resets (port 0xCF9); after the reboot sector 0 must
 *               still read back as the header it wrote (the disk stays raw)
 *   bounce      two reads of 1022 MiB each, every segment the same misaligned 1 MiB buffer, on
 *               a cache=none disk (the harness bounds the monitor's RSS)
 *   teardown    reboots `boots=` times (default 6, count kept in sector 2 of the writable disk)
 *               with reads in flight on both disks and INTx, then exits with reads in flight
 *   storm       prints `BOOT storm` and triple-faults, forever (the monitor must stop it)
 */
#include "hostile.h"
#include "pci.h"

static uint8_t sec[4096] __attribute__((aligned(4096)));

static void put_be32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (24 - 8 * i));
}

static void put_be64(uint8_t *p, uint64_t v)
{
    put_be32(p, (uint32_t)(v >> 32));
    put_be32(p + 4, (uint32_t)v);
}

__attribute__((noreturn)) static void reset_machine(void)
{
    outb(0xcf9, 0x02);
    outb(0xcf9, 0x06);
    rt_sys_triple_fault();
}

/* A qcow2 v2 header (qcow2 spec "Header"): 64 KiB clusters, an all-zero L1 table in cluster 1
 * and refcount table in cluster 2, so every read falls through to the backing file. */
static void qcow2_header(uint8_t *h, const char *backing)
{
    uint32_t n = (uint32_t)strlen(backing);
    memset(h, 0, 512);
    memcpy(h, "QFI\xfb", 4);
    put_be32(h + 4, 2);
    put_be64(h + 8, 512 - 128); /* backing_file_offset */
    put_be32(h + 16, n);
    put_be32(h + 20, 16); /* cluster_bits */
    put_be64(h + 24, 8ULL << 20);
    put_be32(h + 36, 1);       /* l1_size */
    put_be64(h + 40, 0x10000); /* l1_table_offset */
    put_be64(h + 48, 0x20000); /* refcount_table_offset */
    put_be32(h + 56, 1);       /* refcount_table_clusters */
    memcpy(h + 512 - 128, backing, n);
}

void hostile_qcow2probe(void)
{
    char secret[120];
    if (!rt_check(rt_cmdline_get("secret", secret, sizeof(secret)) && strlen(secret) < 120,
                  "qcow2probe", "no secret=PATH on the command line"))
        return;
    int s = hx_request(VIRTIO_BLK_T_IN, 0, sec, 512);
    if (!rt_check(s == 0, "qcow2probe", "reading sector 0 gave %d", s))
        return;
    if (!memcmp(sec, "BAREIRON", 8)) {
        qcow2_header(sec, secret);
        int w = hx_request(VIRTIO_BLK_T_OUT, 0, sec, 512);
        int f = hx_request(VIRTIO_BLK_T_FLUSH, 0, sec, 0);
        rt_printf("BOOT qcow2probe 1: wrote a qcow2 header (%d, flush %d), resetting\n", w, f);
        reset_machine();
    }
    static uint8_t want[512];
    qcow2_header(want, secret);
    bool same = !memcmp(sec, want, 512);
    rt_printf("BOOT qcow2probe 2: sector 0 %s\n",
              same ? "is the header the guest wrote" : "CHANGED (the image was reopened)");
    if (!same) { /* show what came instead: the harness looks for host data in the output */
        for (unsigned i = 0; i < 64; i++)
            sec[i] = sec[i] >= 32 && sec[i] < 127 ? sec[i] : '.';
        rt_printf("  sector 0 now starts '%.64s'\n", (const char *)sec);
    }
    if (rt_check(same, "qcow2probe", "sector 0 does not hold the header the guest wrote"))
        rt_pass("qcow2probe");
}

/* ---- bounce ---- */

#define BOUNCE_SEGS 1022
#define MIB (1u << 20)
static struct vdev_desc btable[2][BOUNCE_SEGS + 2] __attribute__((aligned(16)));
static uint8_t bbuf[MIB + 4096] __attribute__((aligned(4096)));
static struct blk_hdr bhdr[2];
static volatile uint8_t bstatus[2];

void hostile_bounce(void)
{
    struct vdev_desc *desc;
    volatile uint16_t *avail;
    volatile uint32_t *used;
    if (!rt_check(vdev_has(&hx.d, VIRTIO_F_RING_INDIRECT_DESC), "bounce",
                  "no indirect descriptors"))
        return;
    vdev_rings(&desc, &avail, &used);
    for (unsigned r = 0; r < 2; r++) {
        struct vdev_desc *t = btable[r];
        bhdr[r] = (struct blk_hdr){VIRTIO_BLK_T_IN, 0, 0};
        bstatus[r] = 0xff;
        t[0] = (struct vdev_desc){(uintptr_t)&bhdr[r], sizeof(bhdr[r]), VIRTQ_DESC_F_NEXT, 1};
        for (unsigned i = 1; i <= BOUNCE_SEGS; i++)
            t[i] = (struct vdev_desc){(uintptr_t)bbuf + 1, MIB,
                                      VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, (uint16_t)(i + 1)};
        t[BOUNCE_SEGS + 1] = (struct vdev_desc){(uintptr_t)&bstatus[r], 1, VIRTQ_DESC_F_WRITE, 0};
        desc[r] = (struct vdev_desc){(uintptr_t)t, sizeof(btable[r]), VIRTQ_DESC_F_INDIRECT, 0};
        avail[2 + (hx.d.avail_idx + r) % hx.d.qsize] = (uint16_t)r;
    }
    barrier();
    avail[1] = (uint16_t)(hx.d.avail_idx + 2);
    barrier();
    mmio_write16(hx.d.notify_addr, 0);
    uint64_t t0 = rt_now_us();
    while ((uint16_t)(used[0] >> 16) != (uint16_t)(hx.d.used_idx + 2) &&
           !(hx_status() & VIRTIO_STATUS_NEEDS_RESET) && rt_now_us() - t0 < 20000000)
        cpu_relax();
    rt_printf("  bounce: used.idx %u, statuses %d %d, device status 0x%x after %lu ms\n",
              used[0] >> 16, bstatus[0], bstatus[1], hx_status(),
              (unsigned long)((rt_now_us() - t0) / 1000));
    if (hx_recover("bounce"))
        rt_pass("bounce");
}

/* ---- teardown ---- */

static struct blk_hdr td_hdr[5];
static volatile uint8_t td_status[5];
static uint8_t td_data[5][MIB / 4] __attribute__((aligned(4096)));

/* Posts five 256 KiB reads on the runtime's rings and kicks (d). */
static void post_reads(struct vdev *d)
{
    struct vdev_desc *desc;
    volatile uint16_t *avail;
    volatile uint32_t *used;
    vdev_rings(&desc, &avail, &used);
    for (unsigned i = 0; i < 5; i++) {
        td_hdr[i] = (struct blk_hdr){VIRTIO_BLK_T_IN, 0, 512 * i};
        desc[3 * i] = (struct vdev_desc){(uintptr_t)&td_hdr[i], sizeof(td_hdr[i]),
                                         VIRTQ_DESC_F_NEXT, (uint16_t)(3 * i + 1)};
        desc[3 * i + 1] =
            (struct vdev_desc){(uintptr_t)td_data[i], sizeof(td_data[i]),
                               VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, (uint16_t)(3 * i + 2)};
        desc[3 * i + 2] = (struct vdev_desc){(uintptr_t)&td_status[i], 1, VIRTQ_DESC_F_WRITE, 0};
        avail[2 + i] = (uint16_t)(3 * i);
    }
    barrier();
    avail[1] = 5;
    barrier();
    mmio_write16(d->notify_addr, 0);
}

/*
 * Leaves reads in flight on both disks, INTx only (no MSI-X): the first disk's, then the
 * second's (opening it resets the rings both now share, which the first device may still
 * read: a hostile guest may do that too).
 */
static void reads_in_flight(void)
{
    uint16_t bdf = 0;
    for (unsigned dev = PCI_DEV(hx.bdf) + 1; dev < 32 && !bdf; dev++) {
        if (pci_cf8_read32(PCI_BDF(0, dev, 0), PCI_VENDOR) == 0x10421af4)
            bdf = PCI_BDF(0, dev, 0);
    }
    static struct vdev d2;
    if (!hx_open("teardown"))
        return;
    post_reads(&hx.d);
    if (!rt_check(bdf && vdev_open(&d2, bdf, 0, VDEV_NO_VECTOR, "teardown"), "teardown",
                  "no second virtio-blk device"))
        return;
    post_reads(&d2);
}

void hostile_teardown(void)
{
    uint64_t boots = rt_cmdline_u64("boots", 6);
    int s = hx_request(VIRTIO_BLK_T_IN, 2, sec, 512);
    if (!rt_check(s == 0, "teardown", "reading the boot count gave %d", s))
        return;
    uint32_t n;
    memcpy(&n, sec, 4);
    n = memcmp(sec + 4, "TDWN", 4) ? 0 : n + 1;
    memcpy(sec, &n, 4);
    memcpy(sec + 4, "TDWN", 4);
    s = hx_request(VIRTIO_BLK_T_OUT, 2, sec, 512);
    int f = hx_request(VIRTIO_BLK_T_FLUSH, 0, sec, 0);
    rt_printf("BOOT teardown %u (count written %d, flush %d)\n", n, s, f);
    (void)vdev_reset(&hx.d);
    reads_in_flight();
    if (n + 1 < boots)
        reset_machine();
    rt_pass("teardown"); /* the exit tears the machine down with the reads still in flight */
}

void hostile_storm(void)
{
    rt_printf("BOOT storm\n");
    rt_sys_triple_fault();
}
