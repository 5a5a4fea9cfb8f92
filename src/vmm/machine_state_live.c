/* SPDX-License-Identifier: MIT */
/*
 * A live save (machine.h MACHINE_SAVE_LIVE, docs/vmm.md "Saved state"), the pre-copy of
 * QEMU's and Firecracker's migration written into a state file: the RAM sections are reserved
 * at the front and filled while the vCPUs run, then the pages written since are copied again
 * in rounds, found in KVM's dirty log (the guest's writes, KVM_MEM_LOG_DIRTY_PAGES and
 * KVM_GET_DIRTY_LOG, api.rst 4.8 and 4.35) and in gmem's marks (the devices' writes, which KVM
 * does not see). The vCPUs are paused only for the last round and the device, vCPU and CPUID
 * sections, which follow the RAM sections in the file.
 */
#define LOG_TAG "machine"
#include "vmm/machine_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/evloop.h"
#include "base/log.h"
#include "base/statefile.h"
#include "base/util.h"
#include "core/gmem.h"
#include "core/vm.h"

/* Rounds while the guest runs, at most; fewer when a round leaves few pages for the pause. */
#define LIVE_ROUNDS_MAX 8
#define LIVE_STOP_PAGES 256

struct live {
    struct machine *m;
    int fd;
    uint64_t at[GMEM_MAX_REGIONS]; /* where each region's data starts in the file */
    uint64_t *bitmap;              /* a bit per page of the largest region */
    uint64_t page_bytes;
};

static bool bit(const uint64_t *b, uint64_t p)
{
    return (b[p / 64] >> (p % 64)) & 1;
}

/* Copies the pages of region (i) set in l->bitmap, in runs; adds their count to (*pages). */
static int write_marked(struct live *l, unsigned i, uint64_t *pages)
{
    const struct gmem_region *r = &l->m->gm->regions[i];
    uint64_t npages = r->size_bytes / l->page_bytes, p = 0;
    while (p < npages) {
        uint64_t end = p;
        int ret;
        if (!bit(l->bitmap, p)) {
            p++;
            continue;
        }
        while (end < npages && bit(l->bitmap, end))
            end++;
        ret = pwrite_full(l->fd, r->hva + p * l->page_bytes, (end - p) * l->page_bytes,
                          l->at[i] + p * l->page_bytes);
        if (ret < 0)
            return ret;
        *pages += end - p;
        p = end;
    }
    return 0;
}

/* One round: the pages written since the last one (or since the tracking began) are copied
 * again; those the devices may have written since the tracking began too, as long as requests
 * may be in flight (until (is_last)). Sets (*pages) to their count. */
static int copy_round(struct live *l, bool is_last, uint64_t *pages, struct error *err)
{
    *pages = 0;
    for (unsigned i = 0; i < l->m->gm->nregions; i++) {
        const struct gmem_region *r = &l->m->gm->regions[i];
        int ret;
        if (r->is_readonly)
            continue;
        memset(l->bitmap, 0, gmem_bitmap_words(r) * sizeof(uint64_t));
        ret = vm_dirty_log_get(l->m->vm, i, l->bitmap);
        if (ret < 0)
            return error_set(err, ret, "live save: KVM_GET_DIRTY_LOG of %s: %s", r->name,
                             strerror(-ret));
        gmem_take_dirty(r, l->bitmap, is_last);
        ret = write_marked(l, i, pages);
        if (ret < 0)
            return error_set(err, ret, "cannot write the state file: %s", strerror(-ret));
    }
    return 0;
}

/* The header, the RAM sections reserved, tracking on, then every populated page once. */
static int first_pass(struct live *l, struct sf_writer *w, struct error *err)
{
    struct gmem *gm = l->m->gm;
    struct sf_fingerprint *fp = malloc(sizeof(*fp));
    uint64_t n;
    int ret;
    if (fp == NULL)
        return error_set(err, -ENOMEM, "out of memory");
    machine_fingerprint(l->m, fp);
    ret = sf_write_header(w, l->fd, fp);
    free(fp);
    for (unsigned i = 0; ret == 0 && i < gm->nregions; i++)
        ret = sf_write_raw(w, gm->regions[i].name, 1, gm->regions[i].size_bytes, &l->at[i]);
    if (ret < 0)
        return error_set(err, ret, "cannot write the state file: %s", strerror(-ret));
    /* before the pass: a page written while it runs is copied again by a round */
    if ((ret = gmem_track_start(gm)) < 0)
        return error_set(err, ret, "out of memory");
    machine_mark_vdevs(l->m); /* the requests in flight were popped unmarked */
    if ((ret = vm_dirty_log(l->m->vm, true)) < 0)
        return error_set(err, ret, "live save: cannot turn KVM's dirty log on: %s", strerror(-ret));
    for (unsigned i = 0; i < gm->nregions; i++) {
        ret = gmem_region_save(&gm->regions[i], l->fd, l->at[i], &n);
        if (ret < 0)
            return error_set(err, ret, "cannot save %s: %s", gm->regions[i].name, strerror(-ret));
    }
    return 0;
}

/* The rounds while the guest runs; the event loop is served between two, so devices go on. */
static int live_rounds(struct live *l, struct error *err)
{
    uint64_t pages = 0;
    unsigned round;
    int ret = 0;
    if (fdatasync(l->fd) < 0) /* the bulk reaches the disk while the guest runs */
        return error_set(err, -errno, "cannot write the state file: %s", strerror(errno));
    for (round = 0; ret == 0 && round < LIVE_ROUNDS_MAX; round++) {
        (void)evloop_run_once(l->m->loop, 0);
        ret = copy_round(l, false, &pages, err);
        if (pages < LIVE_STOP_PAGES)
            break;
    }
    if (ret == 0)
        log_info("live save: %u rounds, %llu pages left for the pause", round + 1,
                 (unsigned long long)pages);
    return ret;
}

int machine_write_live(struct machine *m, int fd, struct error *err)
{
    struct live l = {.m = m, .fd = fd, .page_bytes = (uint64_t)sysconf(_SC_PAGESIZE)};
    struct sf_writer w;
    uint64_t pages = 0, start_ns = time_now_ns(), pause_ns = 0;
    size_t words = 0;
    int ret, off;
    if (machine_vhost_user(m) != NULL) /* before anything is written or paused */
        return error_set(err, -ENOTSUP,
                         "live save with vhost-net: not supported yet (the kernel writes the "
                         "receive buffers unseen; vhost=off, or save without live)");
    for (unsigned i = 0; i < m->gm->nregions; i++)
        words = MAX(words, gmem_bitmap_words(&m->gm->regions[i]));
    l.bitmap = calloc(words, sizeof(uint64_t));
    ret = l.bitmap == NULL ? error_set(err, -ENOMEM, "out of memory") : first_pass(&l, &w, err);
    if (ret == 0)
        ret = live_rounds(&l, err);
    pause_ns = time_now_ns();
    vm_pause(m->vm); /* VM stopped from here: the devices quiesce, the vCPUs are read */
    if (ret == 0)
        ret = machine_write_devices(m, &w, err);
    if (ret == 0) /* last: the devices' completions and KVM_RUN's are in the marks */
        ret = copy_round(&l, true, &pages, err);
    if (getenv("LIVE_VERIFY")) {
        uint8_t *buf = malloc(l.page_bytes);
        for (unsigned i = 0; i < m->gm->nregions; i++) {
            const struct gmem_region *r = &m->gm->regions[i];
            for (uint64_t p = 0; p < r->size_bytes; p += l.page_bytes) {
                ssize_t n = pread(fd, buf, l.page_bytes, (off_t)(l.at[i] + p));
                if (n != (ssize_t)l.page_bytes)
                    memset(buf, 0, l.page_bytes);
                if (memcmp(buf, r->hva + p, l.page_bytes) != 0)
                    log_warn("VERIFY: %s page %llu differs", r->name,
                             (unsigned long long)(p / l.page_bytes));
            }
        }
        free(buf);
    }
    if (ret == 0 && (ret = sf_write_end(&w)) < 0)
        error_set(err, ret, "cannot write the state file: %s", strerror(-ret));
    if (ret == 0 && fsync(fd) < 0)
        ret = error_set(err, -errno, "cannot write the state file: %s", strerror(errno));
    if ((off = vm_dirty_log(m->vm, false)) < 0)
        log_warn("live save: cannot turn KVM's dirty log off: %s", strerror(-off));
    gmem_track_stop(m->gm);
    free(l.bitmap);
    if (ret == 0)
        log_info("live save: %llu ms, of which %llu ms paused (%llu pages in the last round)",
                 (unsigned long long)((time_now_ns() - start_ns) / 1000000),
                 (unsigned long long)((time_now_ns() - pause_ns) / 1000000),
                 (unsigned long long)pages);
    return ret;
}
