/* SPDX-License-Identifier: MIT */
/*
 * Guest memory map: RAM regions backed by memfd (MAP_SHARED | MAP_NORESERVE), each of which
 * becomes one KVM memory slot (core/vm.c registers them; this module knows nothing of KVM, so
 * loaders and devices are unit-tested over a real gmem without /dev/kvm).
 *
 * The only way to reach guest memory is gmem_ptr() (or gmem_read/gmem_write on top of it),
 * which refuses any range not fully inside one region. Devices never do pointer arithmetic on
 * a gpa. Regions are added while the machine is built and never move afterwards, so lookups
 * take no lock.
 */
#ifndef BAREIRON_CORE_GMEM_H
#define BAREIRON_CORE_GMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/compiler.h"

#define GMEM_MAX_REGIONS 16

struct gmem_region {
    uint64_t gpa;
    uint64_t size_bytes;
    uint8_t *hva;
    int memfd;        /* -1 once mapped from a state file (gmem_region_map_file) */
    bool is_readonly; /* a ROM: KVM_MEM_READONLY, writes exit as MMIO */
    const char *name; /* static string */
    uint64_t *dirty;  /* a bit per page the monitor may have written, while tracking */
};

struct gmem {
    struct gmem_region regions[GMEM_MAX_REGIONS];
    unsigned nregions;
    uint64_t ram_bytes; /* guest RAM as configured (sum of the RAM regions) */
    bool is_tracking;   /* gmem_track_start: the regions' dirty bitmaps are set (atomic) */
};

/* Allocates an empty map. Returns 0 or -ENOMEM. */
MUST_CHECK int gmem_create(struct gmem **out);
/* Unmaps every region, closes the memfds and frees (gm). NULL is allowed. */
void gmem_destroy(struct gmem *gm);

/*
 * Adds a zero-filled region [gpa, gpa+size) backed by a fresh memfd named (name). (size) and
 * (gpa) must be page aligned and the range must not overlap another region. Returns 0 and the
 * region in (*out) (may be NULL), or -EINVAL, -EEXIST (overlap), -ENOSPC (too many regions),
 * -ENOMEM / -errno from memfd_create/ftruncate/mmap.
 */
MUST_CHECK int gmem_add_region(struct gmem *gm, uint64_t gpa, uint64_t size, const char *name,
                               bool is_readonly, struct gmem_region **out);

/*
 * Lays out (ram_bytes) of RAM the PC way (core/x86/layout.h): low RAM from 0 up to
 * LOW_RAM_MAX, the rest from HIGH_RAM_BASE. (ram_bytes) must be a multiple of 1 MiB.
 * Returns 0 or -errno.
 */
MUST_CHECK int gmem_add_pc_ram(struct gmem *gm, uint64_t ram_bytes);
/*
 * The same, and with (vga_hole) leaves the legacy VGA window [LEGACY_VGA_GPA, LEGACY_VGA_END)
 * out of low RAM (as a PC has it: the display adapter's planar memory is there): low RAM is
 * then two regions, "ram-low" below the window and "ram-c0000" from its end.
 */
MUST_CHECK int gmem_add_pc_ram_vga(struct gmem *gm, uint64_t ram_bytes, bool vga_hole);

/* Returns a host pointer to (gpa) valid for (len) bytes, or NULL when [gpa, gpa+len) is not
 * fully inside one region (or wraps). (len) 0 is treated as 1. */
void *gmem_ptr(const struct gmem *gm, uint64_t gpa, size_t len);
/* Returns the region that contains (gpa), or NULL. */
const struct gmem_region *gmem_find(const struct gmem *gm, uint64_t gpa);

/* Copies between guest memory and (buf). Return 0 or -EFAULT when the range is not RAM. */
MUST_CHECK int gmem_read(const struct gmem *gm, uint64_t gpa, void *buf, size_t len);
MUST_CHECK int gmem_write(const struct gmem *gm, uint64_t gpa, const void *buf, size_t len);

/*
 * Saved states (docs/vmm.md "Saved state"). gmem_region_save writes the populated pages of (r)
 * to (fd) at (off) + their offset in the region: the memfd's data extents (SEEK_DATA/SEEK_HOLE)
 * without their all-zero pages, or every non-zero page of a region mapped from a state file;
 * what is not written stays a hole. Sets (*written) to the bytes written. Returns 0 or -errno.
 */
MUST_CHECK int gmem_region_save(const struct gmem_region *r, int fd, uint64_t off,
                                uint64_t *written);
/*
 * Replaces (r)'s memory with a private (copy-on-write, lazily faulted in) mapping of (fd) at
 * (off) (page aligned), at the same address; the memfd is closed and (r)->memfd becomes -1.
 * Returns 0 or -errno.
 */
MUST_CHECK int gmem_region_map_file(struct gmem_region *r, int fd, uint64_t off);

/*
 * Tracking of the guest pages the monitor itself writes (gmem_dirty.c), the half of a live
 * save that KVM's dirty log (vm_dirty_log_*) does not see: device-writable virtqueue buffers
 * (written by the event loop, block workers and io_uring) and used rings. Pages are marked
 * when the device is handed the buffer, before it writes, so a pass over the marked pages
 * made once the devices are quiet sees every write.
 *
 * gmem_track_start allocates a bitmap per writable region (returns 0 or -ENOMEM);
 * gmem_track_stop frees them (marks are then ignored). Both on the event-loop thread.
 * gmem_mark_dirty marks the pages of [gpa, gpa+len) (nothing unless tracking, or outside RAM;
 * any thread). gmem_take_dirty ORs (r)'s marks into (bitmap) (a bit per page of (r)) and, with
 * (is_clearing), clears them. A mark is made when a request starts, and its write may land
 * after an earlier round took the mark: so only the last round, once the devices are quiet,
 * clears them; the earlier ones leave them set.
 */
MUST_CHECK int gmem_track_start(struct gmem *gm);
void gmem_track_stop(struct gmem *gm);
void gmem_mark_dirty(const struct gmem *gm, uint64_t gpa, uint64_t len);
/* The same for a range given by host pointer (a device that kept gmem_ptr's result). */
void gmem_mark_dirty_hva(const struct gmem *gm, const void *hva, size_t len);
void gmem_take_dirty(const struct gmem_region *r, uint64_t *bitmap, bool is_clearing);
/* Number of 64-bit words of a bitmap with a bit per page of (r). */
size_t gmem_bitmap_words(const struct gmem_region *r);

/* Top of low RAM (exclusive), i.e. min(ram, LOW_RAM_MAX). */
uint64_t gmem_low_ram_end(const struct gmem *gm);

#endif
