/* SPDX-License-Identifier: MIT */
/*
 * The devices of a bareiron PC (vmm/machine_internal.h): the userspace IOAPIC of the split
 * irqchip (0xfec00000), COM1 (16550A at 0x3f8, GSI 4), the
 * i8042 (0x60/0x64, reset line), the CMOS RTC (0x70), port 0x92 (fast A20/reset), QEMU's
 * isa-debug-exit (0xf4), the ACPI PM block (PORT_ACPI_PM_BASE, S5 power-off) and the PCI host
 * bridge with one virtio-blk function per disk. Ports and GSIs come from core/x86/layout.h.
 */
#define LOG_TAG "machine"
#include "vmm/machine_internal.h"

#include <errno.h>
#include <string.h>

#include "base/log.h"
#ifdef HAVE_BLOCK
#include "block/blk.h"
#endif
#include "core/gmem.h"
#include "core/vm.h"
#include "core/x86/acpi.h"
#include "core/x86/layout.h"
#include "dev/irq/ioapic.h"
#include "dev/legacy/i8042.h"
#include "dev/legacy/uart8250.h"
#include "vmm/console.h"
#ifdef HAVE_DEV_RTC
#include "dev/legacy/cmos_rtc.h"
#endif
#ifdef HAVE_DEV_PORT92
#include "dev/legacy/port92.h"
#endif
#ifdef HAVE_DEV_DEBUG_EXIT
#include "dev/legacy/debug_exit.h"
#endif
#ifdef HAVE_DEV_ACPI_PM
#include "dev/legacy/acpi_pm.h"
#endif
#ifdef HAVE_DEV_PCI
#include "dev/pci/pci.h"
#endif
#ifdef HAVE_VIRTIO_BLK
#include "dev/virtio/virtio_blk.h"
#include "dev/virtio/virtio_pci.h"
#endif

bool machine_has_pci(void)
{
#ifdef HAVE_DEV_PCI
    return true;
#else
    return false;
#endif
}

bool machine_has_rtc(void)
{
#ifdef HAVE_DEV_RTC
    return true;
#else
    return false;
#endif
}

#ifdef HAVE_BLOCK
/*
 * A writable disk is never probed: its guest could write any header to sector 0, and a probe at
 * the next open (reboots rebuild the machine) would follow what the guest wrote. Read-only
 * disks are probed at the first open; machine_pin_disk_formats then keeps that format.
 */
static enum blk_format open_format(const struct vmm_disk *d)
{
    if (d->format == VMM_DISK_RAW)
        return BLK_FORMAT_RAW;
    if (d->format == VMM_DISK_QCOW2)
        return BLK_FORMAT_QCOW2;
    return d->is_readonly ? BLK_FORMAT_AUTO : BLK_FORMAT_RAW;
}
#endif

void machine_pin_disk_formats(struct machine *m, struct vmm_options *o)
{
#ifdef HAVE_BLOCK
    for (unsigned i = 0; i < m->ndisks && i < o->ndisks; i++)
        if (o->disks[i].format == VMM_DISK_AUTO)
            o->disks[i].format =
                strcmp(blk_format(m->disks[i].blk), "qcow2") == 0 ? VMM_DISK_QCOW2 : VMM_DISK_RAW;
#else
    (void)m;
    (void)o;
#endif
}

int machine_open_disks(struct machine *m, struct evloop *loop, struct error *err)
{
#ifndef HAVE_BLOCK
    (void)loop;
    (void)err;
    if (m->opts->ndisks > 0)
        log_warn("the block layer is not in this build: %u disk(s) ignored", m->opts->ndisks);
    return 0;
#else
    static const enum blk_backing backing[] = {
        [VMM_BACKING_SAME_DIR] = BLK_BACKING_SAME_DIR,
        [VMM_BACKING_NONE] = BLK_BACKING_NONE,
        [VMM_BACKING_ANY] = BLK_BACKING_ANY,
    };
    for (unsigned i = 0; i < m->opts->ndisks; i++) {
        const struct vmm_disk *d = &m->opts->disks[i];
        struct blk_open_opts bo = {
            .path = d->path,
            .format = open_format(d),
            .cache = d->is_cache_none ? BLK_CACHE_NONE : BLK_CACHE_WRITEBACK,
            .backing = backing[d->backing],
            .is_readonly = d->is_readonly,
        };
        int ret = blk_open(&bo, loop, &m->disks[i].blk, err);
        if (ret < 0) {
            error_set(err, ret, "disk %s: %s", d->path, strerror(-ret));
            return ret;
        }
        if (d->format == VMM_DISK_AUTO && !d->is_readonly) /* once: then the format is pinned */
            log_warn("disk %s: writable and no format= given: used as raw (only read-only disks "
                     "are probed; add format=raw or format=qcow2)",
                     d->path);
        m->ndisks = i + 1;
    }
    return 0;
#endif
}

static void chip_set_irq(void *opaque, uint32_t gsi, bool level)
{
    ioapic_set_irq(opaque, gsi, level);
}

static void chip_eoi(void *opaque, uint8_t vector)
{
    ioapic_eoi(opaque, vector);
}

static const struct vm_irqchip_ops ioapic_chip_ops = {.set_irq = chip_set_irq, .eoi = chip_eoi};

int machine_add_irqchip(struct machine *m, struct error *err)
{
    int ret;
    if (m->opts->irqchip != VMM_IRQCHIP_SPLIT)
        return 0;
    /* the id the MADT and the MP table give it (acpi.c, mptable.c) */
    ret = ioapic_create(vm_platform(m->vm), (uint8_t)m->opts->cpus, &m->ioapic);
    if (ret == 0)
        ret = ioapic_attach(m->ioapic, m->mmio, IOAPIC_GPA);
    if (ret == 0 && m->loop != NULL)
        ret = ioapic_start_timer(m->ioapic, m->loop);
    if (ret < 0)
        return error_set(err, ret, "cannot create the IOAPIC: %s", strerror(-ret));
    vm_set_irqchip_ops(m->vm, &ioapic_chip_ops, m->ioapic);
    return 0;
}

static void com1_tx(void *opaque, const uint8_t *buf, size_t len)
{
    struct machine *m = opaque;
    if (m->con != NULL)
        console_output(m->con, buf, len);
}

static void com1_room(void *opaque)
{
    struct machine *m = opaque;
    if (m->con != NULL)
        console_room(m->con);
}

static size_t com1_input(void *opaque, const uint8_t *buf, size_t len)
{
    struct machine *m = opaque;
    return uart8250_receive(m->com1, buf, len);
}

static int add_com1(struct machine *m, const struct platform *plat)
{
    int ret = uart8250_create(plat, GSI_COM1, &m->com1);
    if (ret < 0)
        return ret;
    uart8250_set_tx(m->com1, com1_tx, m);
    uart8250_set_room(m->com1, com1_room, m);
    ret = uart8250_attach(m->com1, m->pio, PORT_COM1, "com1");
    if (ret == 0 && m->con != NULL)
        console_set_input(m->con, com1_input, m);
    return ret;
}

static int add_misc(struct machine *m, const struct platform *plat)
{
    int ret = i8042_create(plat, &m->i8042);
    if (ret == 0)
        ret = i8042_attach(m->i8042, m->pio);
#ifdef HAVE_DEV_PORT92
    if (ret == 0)
        ret = port92_create(plat, &m->port92);
    if (ret == 0)
        ret = port92_attach(m->port92, m->pio);
#endif
#ifdef HAVE_DEV_DEBUG_EXIT
    /* Opt-in: with it the guest chooses the monitor's exit status (137 would look like a
     * SIGKILL to the manager), which only test payloads may do. */
    if (ret == 0 && m->opts->has_debug_exit)
        ret = debug_exit_create(plat, &m->debug_exit);
    if (ret == 0 && m->debug_exit != NULL)
        ret = debug_exit_attach(m->debug_exit, m->pio);
#else
    if (m->opts->has_debug_exit)
        log_warn("isa-debug-exit is not in this build: port 0x%x ignored", PORT_DEBUG_EXIT);
#endif
#ifdef HAVE_DEV_ACPI_PM
    if (ret == 0)
        ret = acpi_pm_create(plat, &m->acpi_pm);
    if (ret == 0)
        ret = acpi_pm_attach(m->acpi_pm, m->pio);
#else
    log_warn("ACPI PM block is not in this build: the guest cannot power off through S5");
#endif
    return ret;
}

static int add_rtc(struct machine *m, const struct platform *plat)
{
#ifdef HAVE_DEV_RTC
    uint64_t low = gmem_low_ram_end(m->gm);
    int ret = cmos_rtc_create(plat, &m->rtc);
    if (ret == 0)
        ret = cmos_rtc_attach(m->rtc, m->pio);
    if (ret == 0) {
        cmos_rtc_set_memory(m->rtc, low, m->opts->memory_bytes - low);
        ret = cmos_rtc_start_timer(m->rtc, m->loop);
    }
    return ret;
#else
    (void)m;
    (void)plat;
    log_warn("CMOS RTC is not in this build");
    return 0;
#endif
}

int machine_add_legacy(struct machine *m, struct error *err)
{
    const struct platform *plat = vm_platform(m->vm);
    int ret = add_com1(m, plat);
    if (ret == 0)
        ret = add_misc(m, plat);
    if (ret == 0)
        ret = add_rtc(m, plat);
    if (ret < 0)
        return error_set(err, ret, "cannot create the legacy devices: %s", strerror(-ret));
    return 0;
}

void machine_remove_legacy(struct machine *m)
{
    if (m->con != NULL)
        console_set_input(m->con, NULL, NULL);
#ifdef HAVE_DEV_RTC
    if (m->rtc != NULL)
        cmos_rtc_stop_timer(m->rtc);
    cmos_rtc_destroy(m->rtc);
#endif
#ifdef HAVE_DEV_ACPI_PM
    acpi_pm_destroy(m->acpi_pm);
#endif
#ifdef HAVE_DEV_DEBUG_EXIT
    debug_exit_destroy(m->debug_exit);
#endif
#ifdef HAVE_DEV_PORT92
    port92_destroy(m->port92);
#endif
    i8042_destroy(m->i8042);
    uart8250_destroy(m->com1);
}

#ifdef HAVE_VIRTIO_BLK
static int add_disk(struct machine *m, unsigned i)
{
    struct machine_disk *md = &m->disks[i];
    struct virtio_blk_opts vo = {.is_readonly = m->opts->disks[i].is_readonly, .num_queues = 1};
    int ret = virtio_blk_create(&vo, md->blk, m->gm, &md->vblk);
    if (ret == 0)
        ret = virtio_pci_plug(m->pci, virtio_blk_dev(md->vblk), m->loop, -1, &md->vpci);
    return ret;
}
#endif

int machine_add_pci(struct machine *m, struct error *err)
{
#ifdef HAVE_DEV_PCI
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
    int ret = pci_host_create(&pc, vm_platform(m->vm), m->pio, m->mmio, &m->pci);
    if (ret < 0)
        return error_set(err, ret, "cannot create the PCI host bridge: %s", strerror(-ret));
#ifdef HAVE_VIRTIO_BLK
    for (unsigned i = 0; i < m->ndisks; i++) {
        ret = add_disk(m, i);
        if (ret < 0)
            return error_set(err, ret, "disk %s: cannot create virtio-blk: %s",
                             m->opts->disks[i].path, strerror(-ret));
    }
#else
    if (m->ndisks > 0)
        log_warn("virtio-blk is not in this build: %u disk(s) not attached", m->ndisks);
#endif
    return 0;
#else
    (void)err;
    if (m->ndisks > 0)
        log_warn("PCI is not in this build: %u disk(s) not attached", m->ndisks);
    return 0;
#endif
}

void machine_remove_pci(struct machine *m)
{
#ifdef HAVE_DEV_PCI
    pci_host_destroy(m->pci);
    m->pci = NULL;
#endif
    /*
     * Detach every transport, then close every disk, then free: blk_close runs the loop, and a
     * completion for disk j must find vp[j] detached, not freed (its queued INTx update is
     * cancelled by the detach).
     */
#ifdef HAVE_VIRTIO_BLK
    for (unsigned i = 0; i < m->ndisks; i++)
        if (m->disks[i].vpci != NULL)
            virtio_pci_fini(m->disks[i].vpci);
#endif
#ifdef HAVE_BLOCK
    for (unsigned i = 0; i < m->ndisks; i++)
        blk_close(m->disks[i].blk);
#endif
#ifdef HAVE_VIRTIO_BLK
    for (unsigned i = 0; i < m->ndisks; i++) {
        virtio_pci_destroy(m->disks[i].vpci);
        if (m->disks[i].vblk != NULL)
            virtio_blk_destroy(m->disks[i].vblk);
    }
#endif
    m->ndisks = 0;
    machine_remove_virtio(m);
}

size_t machine_disk_stats(struct machine *m, struct control_disk_stats *out, size_t max)
{
    size_t n = 0;
#ifdef HAVE_VIRTIO_BLK
    for (unsigned i = 0; i < m->ndisks && n < max; i++) {
        struct virtio_blk_stats s;
        if (m->disks[i].vblk == NULL)
            continue;
        virtio_blk_get_stats(m->disks[i].vblk, &s);
        out[n++] = (struct control_disk_stats){
            .path = m->opts->disks[i].path,
            .read_ops = s.read_ops,
            .write_ops = s.write_ops,
            .read_bytes = s.read_bytes,
            .write_bytes = s.write_bytes,
            .flush_ops = s.flush_ops,
            .discard_ops = s.discard_ops,
            .errors = s.errors,
            .in_flight = s.in_flight,
        };
    }
#else
    (void)m;
    (void)out;
    (void)max;
#endif
    return n;
}

void machine_press_power_button(struct machine *m)
{
#ifdef HAVE_DEV_ACPI_PM
    if (m->acpi_pm != NULL)
        acpi_pm_press_power_button(m->acpi_pm);
#else
    (void)m;
    log_warn("no ACPI PM block in this build: power button ignored");
#endif
}
