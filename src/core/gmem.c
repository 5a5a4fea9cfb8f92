/* SPDX-License-Identifier: MIT */
/* Implementation of core/gmem.h: memfd-backed regions and bounds-checked lookups. */
#define LOG_TAG "gmem"
#include "core/gmem.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/ckd.h"
#include "base/util.h"
#include "base/log.h"
#include "core/x86/layout.h"

int gmem_create(struct gmem **out)
{
    struct gmem *gm = calloc(1, sizeof(*gm));
    if (gm == NULL)
        return -ENOMEM;
    *out = gm;
    return 0;
}

void gmem_destroy(struct gmem *gm)
{
    if (gm == NULL)
        return;
    for (unsigned i = 0; i < gm->nregions; i++) {
        munmap(gm->regions[i].hva, gm->regions[i].size_bytes);
        if (gm->regions[i].memfd >= 0)
            close(gm->regions[i].memfd);
    }
    gmem_track_stop(gm);
    free(gm);
}

int gmem_add_region(struct gmem *gm, uint64_t gpa, uint64_t size, const char *name,
                    bool is_readonly, struct gmem_region **out)
{
    long page = sysconf(_SC_PAGESIZE);
    uint64_t end;
    void *hva;
    int fd, ret;
    if (size == 0 || gpa % (uint64_t)page || size % (uint64_t)page || ckd_add(&end, gpa, size))
        return -EINVAL;
    if (gm->nregions >= GMEM_MAX_REGIONS)
        return -ENOSPC;
    for (unsigned i = 0; i < gm->nregions; i++) {
        const struct gmem_region *r = &gm->regions[i];
        if (gpa < r->gpa + r->size_bytes && r->gpa < end)
            return -EEXIST;
    }
    fd = memfd_create(name, MFD_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (ftruncate(fd, (off_t)size) < 0) {
        ret = -errno;
        goto err_close_fd;
    }
    hva = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
    if (hva == MAP_FAILED) {
        ret = -errno;
        goto err_close_fd;
    }
    /* Guest RAM is not worth a core dump and must not be shared with a forked child. */
    madvise(hva, size, MADV_DONTDUMP);
    madvise(hva, size, MADV_DONTFORK);
    gm->regions[gm->nregions] = (struct gmem_region){
        .gpa = gpa,
        .size_bytes = size,
        .hva = hva,
        .memfd = fd,
        .is_readonly = is_readonly,
        .name = name,
    };
    if (out)
        *out = &gm->regions[gm->nregions];
    gm->nregions++;
    return 0;
err_close_fd:
    close(fd);
    return ret;
}

static int add_low_ram(struct gmem *gm, uint64_t low, bool vga_hole)
{
    int ret;
    if (!vga_hole)
        return gmem_add_region(gm, 0, low, "ram-low", false, NULL);
    ret = gmem_add_region(gm, 0, LEGACY_VGA_GPA, "ram-low", false, NULL);
    if (ret == 0)
        ret = gmem_add_region(gm, LEGACY_VGA_END, low - LEGACY_VGA_END, "ram-c0000", false, NULL);
    return ret;
}

int gmem_add_pc_ram_vga(struct gmem *gm, uint64_t ram_bytes, bool vga_hole)
{
    uint64_t low = MIN(ram_bytes, LOW_RAM_MAX);
    int ret;
    if (ram_bytes == 0 || ram_bytes % (1ULL << 20))
        return -EINVAL;
    ret = add_low_ram(gm, low, vga_hole);
    if (ret < 0)
        return ret;
    if (ram_bytes > low) {
        ret = gmem_add_region(gm, HIGH_RAM_BASE, ram_bytes - low, "ram-high", false, NULL);
        if (ret < 0)
            return ret;
    }
    gm->ram_bytes = ram_bytes;
    return 0;
}

int gmem_add_pc_ram(struct gmem *gm, uint64_t ram_bytes)
{
    return gmem_add_pc_ram_vga(gm, ram_bytes, false);
}

const struct gmem_region *gmem_find(const struct gmem *gm, uint64_t gpa)
{
    for (unsigned i = 0; i < gm->nregions; i++) {
        const struct gmem_region *r = &gm->regions[i];
        if (gpa >= r->gpa && gpa - r->gpa < r->size_bytes)
            return r;
    }
    return NULL;
}

void *gmem_ptr(const struct gmem *gm, uint64_t gpa, size_t len)
{
    const struct gmem_region *r = gmem_find(gm, gpa);
    uint64_t off;
    if (r == NULL)
        return NULL;
    off = gpa - r->gpa;
    if (range_outside(off, len ? len : 1, r->size_bytes))
        return NULL;
    return r->hva + off;
}

int gmem_read(const struct gmem *gm, uint64_t gpa, void *buf, size_t len)
{
    void *p = gmem_ptr(gm, gpa, len);
    if (p == NULL)
        return -EFAULT;
    memcpy(buf, p, len);
    return 0;
}

int gmem_write(const struct gmem *gm, uint64_t gpa, const void *buf, size_t len)
{
    void *p = gmem_ptr(gm, gpa, len);
    if (p == NULL)
        return -EFAULT;
    memcpy(p, buf, len);
    return 0;
}

uint64_t gmem_low_ram_end(const struct gmem *gm)
{
    return MIN(gm->ram_bytes, LOW_RAM_MAX);
}

static bool page_is_zero(const uint8_t *p, size_t n)
{
    const uint64_t *w = (const uint64_t *)(const void *)p;
    for (size_t i = 0; i < n / sizeof(*w); i++)
        if (w[i] != 0)
            return false;
    return true;
}

/* Writes the non-zero pages of [start, end) of (r) at (off) + their offset, in runs. */
static int save_range(const struct gmem_region *r, uint64_t start, uint64_t end, int fd,
                      uint64_t off, uint64_t *written)
{
    uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE), run = start;
    for (uint64_t p = start; p <= end; p += page) {
        bool is_zero = p == end || page_is_zero(r->hva + p, page);
        if (!is_zero)
            continue;
        if (p > run) {
            int ret = pwrite_full(fd, r->hva + run, p - run, off + run);
            if (ret < 0)
                return ret;
            *written += p - run;
        }
        run = p + page;
    }
    return 0;
}

int gmem_region_save(const struct gmem_region *r, int fd, uint64_t off, uint64_t *written)
{
    uint64_t pos = 0;
    *written = 0;
    if (r->memfd < 0) /* mapped from a state file: every page may hold data */
        return save_range(r, 0, r->size_bytes, fd, off, written);
    while (pos < r->size_bytes) {
        off_t data = lseek(r->memfd, (off_t)pos, SEEK_DATA), hole;
        int ret;
        if (data < 0)
            return errno == ENXIO ? 0 : -errno; /* ENXIO: no data after (pos) */
        hole = lseek(r->memfd, data, SEEK_HOLE);
        if (hole < 0)
            return -errno;
        if ((uint64_t)hole > r->size_bytes)
            hole = (off_t)r->size_bytes;
        ret = save_range(r, (uint64_t)data, (uint64_t)hole, fd, off, written);
        if (ret < 0)
            return ret;
        pos = (uint64_t)hole;
    }
    return 0;
}

int gmem_region_map_file(struct gmem_region *r, int fd, uint64_t off)
{
    long page = sysconf(_SC_PAGESIZE);
    void *hva;
    if (off % (uint64_t)page)
        return -EINVAL;
    hva = mmap(r->hva, r->size_bytes, PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_FIXED | MAP_NORESERVE, fd, (off_t)off);
    if (hva == MAP_FAILED)
        return -errno;
    madvise(hva, r->size_bytes, MADV_DONTDUMP);
    madvise(hva, r->size_bytes, MADV_DONTFORK);
    if (r->memfd >= 0)
        close(r->memfd);
    r->memfd = -1;
    return 0;
}
