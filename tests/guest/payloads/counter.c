/* SPDX-License-Identifier: MIT */
/*
 * The saved-state payload (docs/testing.md): counts in memory and prints a line per tick,
 * "COUNT <tick> <check>", until `ticks=` (default 300) and then passes. A tick is 2^`shift`
 * (default 20) increments of a counter in memory; at tick t it also writes t into page
 * t % PAGES of a `mib=` MiB buffer (default 16) and checks that the page written at tick t - 1
 * still holds t - 1, so the memory a restore maps back is checked as the count goes on. The
 * harness saves the machine mid-run and restores it (once or twice from one file): the COUNT
 * lines of the runs, joined, must follow each other without a gap or a repeat beyond the line
 * the save interrupted.
 *
 * With `fill=1` it first writes every page of the buffer (its index + 1, never zero), so that
 * all `mib=` MiB are touched memory a save must write (bench/savestate.sh).
 *
 * With `disk=1` it also counts on the first virtio-blk disk (polling driver of rt/virtio.h):
 * at tick t it writes a sector filled with t to sector t % DISK_SLOTS (+ 1: sector 0 is left
 * alone) and reads back the sector of tick t - 1, which must hold t - 1; a mismatch or a failed
 * request counts as bad. A save then lands between, or in the middle of, requests, and the
 * restored device must go on with the same queue. The harness checks the disk file too.
 */
#include "acpi.h"
#include "pci.h"
#include "rt.h"
#include "virtio.h"

const char payload_name[] = "counter";

#define PAGE 4096

static uint8_t buffer[64 << 20] __attribute__((aligned(PAGE)));
static volatile uint64_t counter;

#define DISK_SLOTS 64
static struct vdev disk;
static uint64_t sector_buf[512 / 8] __attribute__((aligned(4096)));
static struct {
    uint32_t type, reserved;
    uint64_t sector;
} req_hdr __attribute__((aligned(16)));
static volatile uint8_t req_status;

static bool disk_open(void)
{
    static struct acpi_info ai;
    char why[120];
    (void)acpi_init(&ai, why, sizeof(why)); /* the PM timer clock for timeouts */
    for (unsigned dev = 0; dev < 32; dev++) {
        uint16_t bdf = PCI_BDF(0, dev, 0);
        if (pci_cf8_read32(bdf, PCI_VENDOR) == 0x10421af4)
            return vdev_open(&disk, bdf, 0, VDEV_NO_VECTOR, "disk");
    }
    return rt_check(false, "disk", "no virtio-blk device");
}

/* One sector of tick (t)'s slot, written with t or read; returns false on a failed request. */
static bool disk_rw(uint64_t t, bool write)
{
    struct vbuf chain[3] = {{&req_hdr, sizeof(req_hdr), false},
                            {sector_buf, sizeof(sector_buf), !write},
                            {(void *)(uintptr_t)&req_status, 1, true}};
    req_hdr.type = write ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN;
    req_hdr.reserved = 0;
    req_hdr.sector = 1 + t % DISK_SLOTS;
    req_status = 0xff;
    if (write)
        for (unsigned i = 0; i < 512 / 8; i++)
            sector_buf[i] = t;
    return vdev_submit(&disk, chain, 3, NULL) == 0 && req_status == VIRTIO_BLK_S_OK;
}

/* Tick (t) on the disk: 0 when the write and the read-back of tick t - 1 went well. */
static unsigned disk_tick(uint64_t t)
{
    unsigned bad = !disk_rw(t, true);
    if (t > 1) {
        bad += !disk_rw(t - 1, false);
        for (unsigned i = 0; i < 512 / 8; i++)
            bad += sector_buf[i] != t - 1;
    }
    return bad != 0;
}

void payload_main(void)
{
    uint64_t ticks = rt_cmdline_u64("ticks", 300), shift = rt_cmdline_u64("shift", 20);
    uint64_t mib = rt_cmdline_u64("mib", 16), pages, bad = 0;
    if (mib == 0 || mib > sizeof(buffer) >> 20 || shift > 40) {
        rt_fail("counter-args", "mib must be 1..64, shift at most 40");
        return;
    }
    pages = (mib << 20) / PAGE;
    bool has_disk = rt_cmdline_u64("disk", 0) != 0;
    if (has_disk && !disk_open())
        return;
    if (rt_cmdline_u64("fill", 0) != 0)
        for (uint64_t p = 0; p < pages; p++)
            *(volatile uint64_t *)&buffer[p * PAGE] = p + 1;
    rt_printf("READY counter\n");
    for (uint64_t t = 1; t <= ticks; t++) {
        while ((counter >> shift) < t)
            counter = counter + 1;
        volatile uint64_t *cur = (volatile uint64_t *)&buffer[(t % pages) * PAGE];
        volatile uint64_t *prev = (volatile uint64_t *)&buffer[((t - 1) % pages) * PAGE];
        *cur = t;
        if (t > 1 && *prev != t - 1)
            bad++;
        if (has_disk)
            bad += disk_tick(t);
        rt_printf("COUNT %lu %lu\n", (unsigned long)t, (unsigned long)bad);
    }
    if (rt_check(bad == 0, "memory", "%lu pages lost their value", (unsigned long)bad))
        rt_pass("memory");
}
