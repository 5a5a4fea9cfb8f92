/* SPDX-License-Identifier: MIT */
/*
 * The optional virtio devices of a bareiron PC (vmm/machine_internal.h): virtio-rng (--rng,
 * virtio 1.2 §5.4, fed by getrandom) and a single-port virtio-console (--vconsole, §5.3) whose
 * output and input go through the same backend code as COM1 (vmm/console.h). Both sit on the
 * PCI host bridge as modern virtio-pci functions, created and torn down as docs/virtio.md says.
 *
 * virtio-console has no "room" callback: when its input buffer is full, a short one-shot
 * timerfd on the event loop asks the backend to retry (console_room), so input is never lost
 * and the backend's flow control stays as it is for COM1.
 *
 * virtio-rng reads getrandom(2) without blocking; on a host booted moments ago (a fresh CI VM,
 * the nested-KVM L1) the pool may not be initialised yet and every request would come back
 * empty, so the machine waits once for it (blocking getrandom) before plugging the device.
 */
#define LOG_TAG "machine"
#include "vmm/machine_internal.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "base/evloop.h"
#include "base/log.h"
#include "vmm/console.h"
#ifdef HAVE_DEV_PCI
#include "dev/virtio/console.h"
#include "dev/virtio/rng.h"
#include "dev/virtio/virtio_pci.h"
#endif

#ifdef HAVE_DEV_PCI
/* How long input waits before retrying when the guest has not taken the previous input. */
#define VCON_RETRY_NS (20 * 1000 * 1000)

/* virtio_console_sink_fn: guest output, on the event loop (device lock held). */
static void vcon_sink(void *opaque, const void *buf, size_t len)
{
    struct machine *m = opaque;
    if (m->vcon_be != NULL)
        console_output(m->vcon_be, buf, len);
}

static void vcon_arm_retry(struct machine *m)
{
    struct itimerspec its = {.it_value = {.tv_nsec = VCON_RETRY_NS}};
    if (m->vcon_timer_fd >= 0 && timerfd_settime(m->vcon_timer_fd, 0, &its, NULL) < 0)
        log_ratelimited(LOG_WARN, "virtio-console retry timer: %s", strerror(errno));
}

/* console_input_fn: backend input, on the event loop. */
static size_t vcon_input(void *opaque, const uint8_t *buf, size_t len)
{
    struct machine *m = opaque;
    size_t n = virtio_console_input(m->vcon, buf, len);
    if (n < len)
        vcon_arm_retry(m); /* the rest waits in the backend; retried by on_vcon_timer */
    return n;
}

static void on_vcon_timer(void *opaque, uint32_t events)
{
    struct machine *m = opaque;
    uint64_t ticks;
    (void)events;
    if (read(m->vcon_timer_fd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
        log_ratelimited(LOG_WARN, "virtio-console retry timer: %s", strerror(errno));
    if (m->vcon_be != NULL)
        console_room(m->vcon_be);
}

/* Waits until getrandom(2) works without blocking (the host's pool is initialised). */
static void wait_entropy(void)
{
    uint8_t b;
    if (getrandom(&b, 1, GRND_NONBLOCK) == 1 || errno != EAGAIN)
        return;
    log_info("virtio-rng: waiting for the host's entropy pool to be initialised");
    while (getrandom(&b, 1, 0) < 0 && errno == EINTR)
        ;
}

static int add_vconsole(struct machine *m)
{
    int ret = virtio_console_create(m->gm, vcon_sink, m, &m->vcon);
    if (ret == 0)
        ret = virtio_pci_plug(m->pci, &m->vcon->vd, m->loop, -1, &m->vcon_vpci);
    if (ret < 0 || m->vcon_be == NULL)
        return ret;
    m->vcon_timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (m->vcon_timer_fd < 0)
        return -errno;
    ret = evloop_add(m->loop, m->vcon_timer_fd, EPOLLIN, on_vcon_timer, m);
    if (ret < 0) {
        close(m->vcon_timer_fd);
        m->vcon_timer_fd = -1;
        return ret;
    }
    console_set_input(m->vcon_be, vcon_input, m);
    console_room(m->vcon_be); /* input held back across a reboot goes to the new device */
    return 0;
}
#endif

int machine_add_virtio(struct machine *m, struct error *err)
{
    const struct vmm_options *o = m->opts;
#ifdef HAVE_DEV_PCI
    int ret = 0;
    if (o->has_rng) {
        wait_entropy();
        ret = virtio_rng_create(m->gm, &m->rng);
        if (ret == 0)
            ret = virtio_pci_plug(m->pci, &m->rng->vd, m->loop, -1, &m->rng_vpci);
        if (ret < 0)
            return error_set(err, ret, "cannot create virtio-rng: %s", strerror(-ret));
    }
    if (o->has_vconsole) {
        ret = add_vconsole(m);
        if (ret < 0)
            return error_set(err, ret, "cannot create virtio-console: %s", strerror(-ret));
    }
    return 0;
#else
    (void)err;
    if (o->has_rng || o->has_vconsole)
        log_warn("PCI is not in this build: --rng/--vconsole ignored");
    return 0;
#endif
}

void machine_stop_virtio_input(struct machine *m)
{
    if (m->vcon_be != NULL)
        console_set_input(m->vcon_be, NULL, NULL);
}

void machine_remove_virtio(struct machine *m)
{
    machine_stop_virtio_input(m);
    if (m->vcon_timer_fd >= 0) {
        evloop_del(m->loop, m->vcon_timer_fd);
        close(m->vcon_timer_fd);
        m->vcon_timer_fd = -1;
    }
#ifdef HAVE_DEV_PCI
    /* docs/virtio.md: the PCI host is already destroyed; transport first, then the device. */
    virtio_pci_destroy(m->rng_vpci);
    virtio_pci_destroy(m->vcon_vpci);
    virtio_rng_destroy(m->rng);
    virtio_console_destroy(m->vcon);
    m->rng_vpci = m->vcon_vpci = NULL;
    m->rng = NULL;
    m->vcon = NULL;
#endif
}
