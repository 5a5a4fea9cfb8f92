/* SPDX-License-Identifier: MIT */
/*
 * The PCI host bridge of a bareiron PC and its virtio functions (vmm/machine_internal.h): one
 * row of machine_vdev_kinds[] per kind of device, plugged in table order, each as a modern
 * virtio-pci function, and torn down in the order docs/virtio.md gives.
 *
 * - virtio-blk (virtio 1.2 §5.2): one per disk, over the disk machine_load opened.
 * - virtio-rng (--rng, §5.4): fed by getrandom. On a host booted moments ago (a fresh CI VM,
 *   the nested-KVM L1) the pool may not be initialised yet and every request would come back
 *   empty, so the machine waits once for it (blocking getrandom) before creating the device.
 * - virtio-net (--nic, §5.1): one per adapter, in machine_net.c.
 * - virtio-input (--input, §5.8): a keyboard and a tablet, fed by machine_input.c.
 * - virtio-console (--vconsole, §5.3): a single port whose output and input go through the
 *   same backend code as COM1 (vmm/console.h). It has no "room" callback: when its input
 *   buffer is full, a short one-shot timerfd on the event loop asks the backend to retry
 *   (console_room), so input is never lost and the backend's flow control stays as for COM1.
 */
#define LOG_TAG "machine"
#include "vmm/machine_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "base/evloop.h"
#include "base/log.h"
#include "block/blk.h"
#include "core/vm.h"
#include "core/x86/acpi.h"
#include "core/x86/layout.h"
#include "dev/virtio/console.h"
#include "dev/virtio/input.h"
#include "dev/virtio/rng.h"
#include "dev/virtio/virtio_blk.h"
#include "dev/virtio/virtio_pci.h"
#include "vmm/console.h"

/* ---- virtio-blk: one per disk ---- */

/* The disks on bus=virtio (the others are on the IDE controller, machine_ide.c). */
static unsigned blk_count(const struct machine *m)
{
    unsigned n = 0;
    for (unsigned i = 0; i < m->ndisks; i++)
        n += m->opts->disks[i].bus == VMM_DISK_BUS_VIRTIO;
    return n;
}

unsigned machine_vblk_disk(const struct machine *m, unsigned index)
{
    for (unsigned i = 0; i < m->ndisks; i++)
        if (m->opts->disks[i].bus == VMM_DISK_BUS_VIRTIO && index-- == 0)
            return i;
    return m->ndisks; /* not reached: index < blk_count */
}

static int blk_create(struct machine *m, struct machine_vdev *d)
{
    unsigned di = machine_vblk_disk(m, d->index);
    struct virtio_blk_opts vo = {.is_readonly = m->opts->disks[di].is_readonly, .num_queues = 1};
    struct virtio_blk *vb;
    int ret = virtio_blk_create(&vo, m->disks[di], m->gm, &vb);
    if (ret < 0)
        return ret;
    d->dev = vb;
    d->vd = virtio_blk_dev(vb);
    return 0;
}

/* The disk is closed first: blk_close completes its requests, whose callbacks use the device. */
static void blk_destroy(struct machine *m, struct machine_vdev *d)
{
    unsigned di = machine_vblk_disk(m, d->index);
    blk_close(m->disks[di]);
    m->disks[di] = NULL;
    if (d->dev != NULL)
        virtio_blk_destroy(d->dev);
}

/* ---- virtio-rng (--rng) ---- */

static unsigned rng_count(const struct machine *m)
{
    return m->opts->has_rng ? 1 : 0;
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

static int rng_create(struct machine *m, struct machine_vdev *d)
{
    struct virtio_rng *rng;
    int ret;
    wait_entropy();
    ret = virtio_rng_create(m->gm, &rng);
    if (ret < 0)
        return ret;
    d->dev = rng;
    d->vd = &rng->vd;
    return 0;
}

static void rng_destroy(struct machine *m UNUSED, struct machine_vdev *d)
{
    virtio_rng_destroy(d->dev);
}

/* ---- virtio-console (--vconsole) ---- */

/* How long input waits before retrying when the guest has not taken the previous input. */
#define VCON_RETRY_NS (20 * 1000 * 1000)

/* The device and its backend (main.c's, which lives across reboots). */
struct vcon_port {
    struct virtio_console *vc;
    struct console *be; /* NULL: none */
    struct evloop *loop;
    int timer_fd; /* input retry while the device's input buffer is full; -1 */
};

static unsigned vcon_count(const struct machine *m)
{
    return m->opts->has_vconsole ? 1 : 0;
}

/* virtio_console_sink_fn: guest output, on the event loop (device lock held). */
static void vcon_sink(void *opaque, const void *buf, size_t len)
{
    struct vcon_port *p = opaque;
    if (p->be != NULL)
        console_output(p->be, buf, len);
}

/* console_input_fn: backend input, on the event loop. */
static size_t vcon_input(void *opaque, const uint8_t *buf, size_t len)
{
    struct vcon_port *p = opaque;
    struct itimerspec its = {.it_value = {.tv_nsec = VCON_RETRY_NS}};
    size_t n = virtio_console_input(p->vc, buf, len);
    /* the rest waits in the backend; retried by on_vcon_timer */
    if (n < len && timerfd_settime(p->timer_fd, 0, &its, NULL) < 0)
        log_ratelimited(LOG_WARN, "virtio-console retry timer: %s", strerror(errno));
    return n;
}

static void on_vcon_timer(void *opaque, uint32_t events)
{
    struct vcon_port *p = opaque;
    uint64_t ticks;
    (void)events;
    if (read(p->timer_fd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
        log_ratelimited(LOG_WARN, "virtio-console retry timer: %s", strerror(errno));
    console_room(p->be);
}

static int vcon_create(struct machine *m, struct machine_vdev *d)
{
    struct vcon_port *p = calloc(1, sizeof(*p));
    int ret;
    if (p == NULL)
        return -ENOMEM;
    *p = (struct vcon_port){.be = m->vcon_be, .loop = m->loop, .timer_fd = -1};
    d->dev = p;
    ret = virtio_console_create(m->gm, vcon_sink, p, &p->vc);
    if (ret < 0)
        return ret;
    d->vd = &p->vc->vd;
    if (p->be == NULL)
        return 0;
    p->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (p->timer_fd < 0)
        return -errno;
    ret = evloop_add(p->loop, p->timer_fd, EPOLLIN, on_vcon_timer, p);
    if (ret < 0)
        return ret;
    /* machine_destroy disconnects it before the teardown runs the loop */
    console_set_input(p->be, vcon_input, p);
    console_room(p->be); /* input held back across a reboot goes to the new device */
    return 0;
}

static void vcon_destroy(struct machine *m UNUSED, struct machine_vdev *d)
{
    struct vcon_port *p = d->dev;
    if (p == NULL)
        return;
    if (p->timer_fd >= 0) {
        (void)evloop_del(p->loop, p->timer_fd);
        close(p->timer_fd);
    }
    virtio_console_destroy(p->vc);
    free(p);
}

/* ---- virtio-input (--input keyboard|tablet|virtio) ---- */

static unsigned vkbd_count(const struct machine *m)
{
    return m->opts->has_virtio_keyboard ? 1 : 0;
}

static unsigned vtablet_count(const struct machine *m)
{
    return m->opts->has_virtio_tablet ? 1 : 0;
}

static int vinput_create(struct machine *m, struct machine_vdev *d, enum virtio_input_kind kind,
                         struct virtio_input **slot)
{
    struct virtio_input *vi;
    int ret = virtio_input_create(m->gm, kind, &vi);
    if (ret < 0)
        return ret;
    d->dev = vi;
    d->vd = &vi->vd;
    *slot = vi;
    return 0;
}

static int vkbd_create(struct machine *m, struct machine_vdev *d)
{
    return vinput_create(m, d, VIRTIO_INPUT_KEYBOARD, &m->vkbd);
}

static int vtablet_create(struct machine *m, struct machine_vdev *d)
{
    return vinput_create(m, d, VIRTIO_INPUT_TABLET, &m->vtablet);
}

static void vinput_destroy(struct machine *m, struct machine_vdev *d)
{
    if (d->dev == m->vkbd)
        m->vkbd = NULL;
    if (d->dev == m->vtablet)
        m->vtablet = NULL;
    virtio_input_destroy(d->dev);
}

/* ---- the list ---- */

/* Every kind of virtio device, in PCI slot order. */
/* Saved-state hooks: machine_virtio_state.c. */
const struct machine_vdev_kind machine_vdev_kinds[] = {
    {"virtio-blk", blk_count, blk_create, blk_destroy, 1, machine_save_vblk, machine_load_vblk},
    {"virtio-rng", rng_count, rng_create, rng_destroy, 1, machine_save_vrng, machine_load_vrng},
    {"virtio-console", vcon_count, vcon_create, vcon_destroy, 1, machine_save_vcon,
     machine_load_vcon},
    {"virtio-net", machine_net_count, machine_net_create, machine_net_destroy, 1, machine_save_vnet,
     machine_load_vnet},
    {"virtio-keyboard", vkbd_count, vkbd_create, vinput_destroy, 1, machine_save_vinput,
     machine_load_vinput},
    {"virtio-tablet", vtablet_count, vtablet_create, vinput_destroy, 1, machine_save_vinput,
     machine_load_vinput},
};
const unsigned machine_nvdev_kinds = ARRAY_SIZE(machine_vdev_kinds);

static int add_vdev(struct machine *m, const struct machine_vdev_kind *kind, unsigned i,
                    struct error *err)
{
    struct machine_vdev *d;
    int ret = -ENOSPC;
    if (m->nvdevs < ARRAY_SIZE(m->vdevs)) {
        d = &m->vdevs[m->nvdevs++]; /* removed even if it fails */
        *d = (struct machine_vdev){.kind = kind, .index = i};
        ret = kind->create(m, d);
        if (ret == 0)
            ret = virtio_pci_plug(m->pci, d->vd, m->loop, -1, &d->vpci);
        if (ret == 0 && kind->create == machine_net_create)
            ret = machine_net_add_rom(m, d);
    }
    if (ret < 0 && kind->create == blk_create)
        return error_set(err, ret, "disk %s: cannot create virtio-blk: %s",
                         m->opts->disks[machine_vblk_disk(m, i)].path, strerror(-ret));
    if (ret < 0)
        return error_set(err, ret, "cannot create %s: %s", kind->name, strerror(-ret));
    return 0;
}

int machine_add_pci(struct machine *m, struct error *err)
{
    struct pci_host_config pc = {
        .mmio32_base = PCI_MMIO32_BASE,
        .mmio32_size = PCI_MMIO32_SIZE,
        .mmio64_base = acpi_pci_mmio64_base(m->opts->memory_bytes),
        .mmio64_size = PCI_MMIO64_SIZE,
        .io_base = PCI_IO_BASE,
        .io_size = PCI_IO_SIZE,
        .ecam_base = PCI_ECAM_BASE,
        .is_intx_on_pic = !m->opts->has_ioapic,
    };
    int ret = machine_pc_host_config(m, &pc);
    if (ret == 0)
        ret = pci_host_create(&pc, vm_platform(m->vm), m->pio, m->mmio, &m->pci);
    if (ret < 0)
        return error_set(err, ret, "cannot create the PCI host bridge: %s", strerror(-ret));
    ret = machine_pc_add_chipset(m, err);
    for (size_t k = 0; k < ARRAY_SIZE(machine_vdev_kinds); k++) {
        const struct machine_vdev_kind *kind = &machine_vdev_kinds[k];
        for (unsigned i = 0, n = kind->count(m); i < n && ret == 0; i++)
            ret = add_vdev(m, kind, i, err);
    }
    return ret;
}

void machine_remove_pci(struct machine *m)
{
    pci_host_destroy(m->pci);
    m->pci = NULL;
    machine_pc_remove_chipset(m);
    /*
     * Detach every transport, then end each device's work and free it: blk_close runs the
     * loop, and a completion for disk j must find vp[j] detached, not freed (its queued INTx
     * update is cancelled by the detach).
     */
    for (unsigned i = 0; i < m->nvdevs; i++)
        if (m->vdevs[i].vpci != NULL)
            virtio_pci_fini(m->vdevs[i].vpci);
    while (m->nvdevs > 0) {
        struct machine_vdev *d = &m->vdevs[--m->nvdevs];
        d->kind->destroy(m, d);
        virtio_pci_destroy(d->vpci);
    }
}

/* The control API's form of a disk's counters (s), the disk being (path). */
static struct control_disk_stats disk_stats(const char *path, const struct blk_stats *s)
{
    return (struct control_disk_stats){
        .path = path,
        .read_ops = s->read_ops,
        .write_ops = s->write_ops,
        .read_bytes = s->read_bytes,
        .write_bytes = s->write_bytes,
        .flush_ops = s->flush_ops,
        .discard_ops = s->discard_ops,
        .errors = s->errors,
        .in_flight = s->in_flight,
    };
}

size_t machine_disk_stats(struct machine *m, struct control_disk_stats *out, size_t max)
{
    size_t n = 0;
    for (unsigned i = 0; i < m->nvdevs && n < max; i++) {
        const struct machine_vdev *d = &m->vdevs[i];
        struct blk_stats s;
        if (d->kind->create != blk_create || d->dev == NULL)
            continue;
        virtio_blk_get_stats(d->dev, &s);
        out[n++] = disk_stats(m->opts->disks[machine_vblk_disk(m, d->index)].path, &s);
    }
    n = machine_ide_stats(m, out, n, max);
    return machine_fdc_stats(m, out, n, max);
}

void machine_blk_stats(struct blk *b, const char *path, struct control_disk_stats *out)
{
    struct blk_stats s;
    blk_get_stats(b, &s);
    *out = disk_stats(path, &s);
}
