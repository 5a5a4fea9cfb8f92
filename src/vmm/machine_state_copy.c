/* SPDX-License-Identifier: MIT */
/*
 * --restore-copy (docs/vmm.md "Saved state"): a restored machine's memory is mapped from the
 * state file privately, copy on write, and its pages are read from the file on first touch.
 * Breaking the copy on write of every page (madvise(MADV_POPULATE_WRITE)) would not free the
 * VM from the file: the mapping still is the file's, and a truncation of it discards even the
 * private copies of the pages beyond the new end (the guest then dies of SIGBUS). So the
 * memory is moved to a new memfd, as a booted machine's is, one chunk at a time on the event
 * loop: the vCPUs paused and no virtio request in flight (nothing else writes guest memory),
 * the chunk's pages that are not all zero are copied into the memfd and the memfd mapped
 * shared over the chunk at the same address (MAP_FIXED: KVM's memory slot keeps its address
 * and faults the new pages in), then the vCPUs resume. A one-shot timer spaces the chunks, so
 * the guest runs between two pauses. Once the last chunk is done the region is the memfd's
 * again (a later save writes it sparsely), the monitor's mapping of the whole file is dropped
 * and its descriptor closed: the file may then be truncated, overwritten or removed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "base/evloop.h"
#include "base/log.h"
#include "base/util.h"
#include "core/gmem.h"
#include "core/vm.h"
#include "vmm/machine_internal.h"

/* Guest memory moved per pause, and the guest's run time between two pauses. */
#define COPY_CHUNK_BYTES (8u << 20)
#define COPY_INTERVAL_NS (10 * 1000000L)

struct state_copy {
    struct machine *m;
    uint32_t mask; /* the regions mapped from the file */
    int memfd[GMEM_MAX_REGIONS];
    unsigned region; /* the region being moved */
    uint64_t off;    /* the next chunk's offset in it */
    int timer_fd;
    int fd;    /* the state file, closed once done */
    void *map; /* the monitor's mapping of the whole file, dropped with it */
    size_t len;
    uint64_t total, copied, start_ns, pause_ns;
    bool done;
};

static int arm(struct state_copy *c)
{
    struct itimerspec its = {.it_value = {.tv_nsec = COPY_INTERVAL_NS}};
    return timerfd_settime(c->timer_fd, 0, &its, NULL) < 0 ? -errno : 0;
}

static bool is_zero(const uint8_t *p, size_t len)
{
    const uint64_t *w = (const uint64_t *)(const void *)p;
    for (size_t i = 0; i < len / sizeof(*w); i++)
        if (w[i] != 0)
            return false;
    return true;
}

/* Moves [off, off + len) of region (i) into its memfd. vCPUs paused, devices quiescent. */
static int move_chunk(struct state_copy *c, unsigned i, uint64_t off, size_t len)
{
    struct gmem_region *r = &c->m->gm->regions[i];
    long page = sysconf(_SC_PAGESIZE);
    void *hva;
    for (size_t p = 0; p < len; p += (size_t)page) {
        const uint8_t *src = r->hva + off + p;
        if (is_zero(src, (size_t)page))
            continue; /* a hole of the memfd reads as zeros */
        if (pwrite(c->memfd[i], src, (size_t)page, (off_t)(off + p)) != (ssize_t)page)
            return errno != 0 ? -errno : -EIO;
    }
    hva = mmap(r->hva + off, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED | MAP_NORESERVE,
               c->memfd[i], (off_t)off);
    if (hva == MAP_FAILED)
        return -errno; /* MAP_FIXED failed: the old mapping is left as it was */
    madvise(hva, len, MADV_DONTDUMP);
    return 0;
}

/* The next region to move from (c->region) on, or nregions. */
static unsigned next_region(const struct state_copy *c, unsigned i)
{
    while (i < c->m->gm->nregions && !(c->mask & (1u << i)))
        i++;
    return i;
}

static void finish(struct state_copy *c)
{
    for (unsigned i = 0; i < c->m->gm->nregions; i++)
        if (c->mask & (1u << i)) {
            c->m->gm->regions[i].memfd = c->memfd[i];
            c->memfd[i] = -1;
        }
    munmap(c->map, c->len);
    c->map = NULL;
    close(c->fd);
    c->fd = -1;
    c->done = true;
    log_info("restore copy: %llu MiB moved in %llu ms, of which %llu ms paused; the state file "
             "is no longer read",
             (unsigned long long)(c->total >> 20),
             (unsigned long long)((time_now_ns() - c->start_ns) / 1000000),
             (unsigned long long)(c->pause_ns / 1000000));
}

/* One step: pauses the guest, moves one chunk, resumes it. */
static int step(struct state_copy *c, struct error *err)
{
    struct machine *m = c->m;
    const struct gmem_region *r = &m->gm->regions[c->region];
    bool was_paused = vm_is_paused(m->vm);
    uint64_t t0 = time_now_ns(), left = r->size_bytes - c->off;
    size_t len = (size_t)(left < COPY_CHUNK_BYTES ? left : COPY_CHUNK_BYTES);
    int ret;
    if (!was_paused)
        vm_pause(m->vm);
    ret = machine_quiesce(m, err);
    /* the wait serves the event loop: a control request there may have resumed the guest */
    if (ret == 0 && !vm_is_paused(m->vm))
        ret = error_set(err, -EBUSY, "the guest was resumed meanwhile");
    if (ret == 0 && (ret = move_chunk(c, c->region, c->off, len)) < 0)
        error_set(err, ret, "%s: %s", r->name, strerror(-ret));
    if (!was_paused && vm_is_paused(m->vm))
        vm_resume(m->vm);
    c->pause_ns += time_now_ns() - t0;
    if (ret < 0)
        return ret;
    c->copied += len;
    c->off += len;
    if (c->off == r->size_bytes) {
        c->off = 0;
        c->region = next_region(c, c->region + 1);
    }
    return 0;
}

static void on_timer(void *opaque, uint32_t events)
{
    struct state_copy *c = opaque;
    struct error err = {0};
    uint64_t ticks;
    (void)events;
    if (read(c->timer_fd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
        return;
    if (c->done || machine_is_done(c->m))
        return;
    if (machine_vhost_user(c->m) != NULL) {
        log_error("restore copy with vhost-net: not supported yet (the kernel writes the "
                  "receive buffers unseen); the memory stays mapped from the file");
        return;
    }
    if (c->region < c->m->gm->nregions && step(c, &err) < 0) {
        /* -EBUSY: a request still in flight after the wait; tried again at the next tick */
        log_warn("restore copy: %s%s", err.message, err.code == -EBUSY ? "; trying again" : "");
        if (err.code != -EBUSY)
            return; /* the memory stays mapped from the file */
    }
    if (c->region >= c->m->gm->nregions)
        finish(c);
    else if (arm(c) < 0)
        log_error("restore copy: cannot arm its timer; the memory stays mapped from the file");
}

static void destroy(struct state_copy *c)
{
    if (c->timer_fd >= 0) {
        (void)evloop_del(c->m->loop, c->timer_fd);
        close(c->timer_fd);
    }
    for (unsigned i = 0; i < GMEM_MAX_REGIONS; i++)
        if (c->memfd[i] >= 0)
            close(c->memfd[i]);
    if (c->map != NULL)
        munmap(c->map, c->len);
    if (c->fd >= 0)
        close(c->fd);
    free(c);
}

static int make_memfds(struct state_copy *c)
{
    for (unsigned i = 0; i < c->m->gm->nregions; i++) {
        const struct gmem_region *r = &c->m->gm->regions[i];
        if (!(c->mask & (1u << i)))
            continue;
        c->memfd[i] = memfd_create(r->name, MFD_CLOEXEC);
        if (c->memfd[i] < 0)
            return -errno;
        if (ftruncate(c->memfd[i], (off_t)r->size_bytes) < 0)
            return -errno;
        c->total += r->size_bytes;
    }
    return 0;
}

int state_copy_start(struct machine *m, uint32_t mask, int fd, void *map, size_t len,
                     struct state_copy **out, struct error *err)
{
    struct state_copy *c = calloc(1, sizeof(*c));
    int ret;
    if (c == NULL)
        return error_set(err, -ENOMEM, "out of memory");
    *c = (struct state_copy){.m = m,
                             .mask = mask,
                             .fd = fd,
                             .map = map,
                             .len = len,
                             .timer_fd = -1,
                             .start_ns = time_now_ns()};
    for (unsigned i = 0; i < GMEM_MAX_REGIONS; i++)
        c->memfd[i] = -1;
    c->region = next_region(c, 0);
    ret = make_memfds(c);
    if (ret == 0) {
        c->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        ret = c->timer_fd < 0 ? -errno : evloop_add(m->loop, c->timer_fd, EPOLLIN, on_timer, c);
        if (ret < 0 && c->timer_fd >= 0) {
            close(c->timer_fd);
            c->timer_fd = -1;
        }
    }
    if (ret == 0)
        ret = arm(c);
    if (ret < 0) {
        c->fd = -1; /* still the caller's on failure */
        c->map = NULL;
        destroy(c);
        return error_set(err, ret, "--restore-copy: %s", strerror(-ret));
    }
    *out = c;
    return 0;
}

bool state_copy_progress(struct state_copy *c, uint64_t *copied, uint64_t *total)
{
    *copied = c->copied;
    *total = c->total;
    return c->done;
}

void state_copy_stop(struct state_copy *c)
{
    if (c != NULL)
        destroy(c);
}
