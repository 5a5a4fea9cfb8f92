/* SPDX-License-Identifier: MIT */
/*
 * The parts of a bareiron PC besides PCI (vmm/machine_internal.h): the disks, the userspace
 * IOAPIC of the split irqchip (0xfec00000), COM1 (16550A at 0x3f8, GSI 4), the i8042
 * (0x60/0x64, reset line), port 0x92 (fast A20/reset), QEMU's isa-debug-exit (0xf4), the ACPI
 * PM block (PORT_ACPI_PM_BASE, S5 power-off) and the CMOS RTC (0x70). Ports and GSIs come from
 * core/x86/layout.h.
 */
#define LOG_TAG "machine"
#include "vmm/machine_internal.h"

#include <errno.h>
#include <string.h>

#include "base/log.h"
#include "block/blk.h"
#include "core/gmem.h"
#include "core/vm.h"
#include "core/x86/layout.h"
#include "dev/irq/ioapic.h"
#include "dev/legacy/acpi_pm.h"
#include "dev/legacy/cmos_rtc.h"
#include "dev/legacy/debug_exit.h"
#include "dev/legacy/i8042.h"
#include "dev/legacy/port92.h"
#include "dev/legacy/uart8250.h"
#include "vmm/console.h"

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

void machine_pin_disk_formats(struct machine *m, struct vmm_options *o)
{
    for (unsigned i = 0; i < m->ndisks && i < o->ndisks; i++)
        if (o->disks[i].format == VMM_DISK_AUTO)
            o->disks[i].format =
                strcmp(blk_format(m->disks[i]), "qcow2") == 0 ? VMM_DISK_QCOW2 : VMM_DISK_RAW;
}

int machine_open_disks(struct machine *m, struct error *err)
{
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
        int ret = d->is_ejected ? 0 : blk_open(&bo, m->loop, &m->disks[i], err);
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
}

/* The disks no virtio-blk has closed (machine_remove_pci closes the others). */
void machine_close_disks(struct machine *m)
{
    for (unsigned i = 0; i < m->ndisks; i++) {
        blk_close(m->disks[i]);
        m->disks[i] = NULL;
    }
    m->ndisks = 0;
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

void machine_remove_irqchip(struct machine *m)
{
    ioapic_destroy(m->ioapic);
    m->ioapic = NULL;
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

int machine_add_com1(struct machine *m, struct error *err UNUSED)
{
    int ret = uart8250_create(vm_platform(m->vm), GSI_COM1, &m->com1);
    if (ret < 0)
        return ret;
    uart8250_set_tx(m->com1, com1_tx, m);
    uart8250_set_room(m->com1, com1_room, m);
    ret = uart8250_attach(m->com1, m->pio, PORT_COM1, "com1");
    if (ret == 0 && m->con != NULL)
        console_set_input(m->con, com1_input, m);
    return ret;
}

void machine_remove_com1(struct machine *m)
{
    uart8250_destroy(m->com1);
    m->com1 = NULL;
}

int machine_add_i8042(struct machine *m, struct error *err UNUSED)
{
    int ret = i8042_create(vm_platform(m->vm), &m->i8042);
    return ret < 0 ? ret : i8042_attach(m->i8042, m->pio);
}

void machine_remove_i8042(struct machine *m)
{
    i8042_destroy(m->i8042);
    m->i8042 = NULL;
}

int machine_add_port92(struct machine *m, struct error *err UNUSED)
{
    int ret = port92_create(vm_platform(m->vm), &m->port92);
    return ret < 0 ? ret : port92_attach(m->port92, m->pio);
}

void machine_remove_port92(struct machine *m)
{
    port92_destroy(m->port92);
    m->port92 = NULL;
}

/* Opt-in: with it the guest chooses the monitor's exit status (137 would look like a SIGKILL
 * to the manager), which only test payloads may do. */
int machine_add_debug_exit(struct machine *m, struct error *err UNUSED)
{
    int ret;
    if (!m->opts->has_debug_exit)
        return 0;
    ret = debug_exit_create(vm_platform(m->vm), &m->debug_exit);
    return ret < 0 ? ret : debug_exit_attach(m->debug_exit, m->pio);
}

void machine_remove_debug_exit(struct machine *m)
{
    debug_exit_destroy(m->debug_exit);
    m->debug_exit = NULL;
}

int machine_add_acpi_pm(struct machine *m, struct error *err UNUSED)
{
    int ret = acpi_pm_create(vm_platform(m->vm), &m->acpi_pm);
    if (ret < 0)
        return ret;
    /* pc: the PIIX4 PM function's PMBA places it (machine_pc.c) */
    if (machine_is_pc(m))
        return acpi_pm_attach_at(m->acpi_pm, m->pio, 0);
    return acpi_pm_attach(m->acpi_pm, m->pio);
}

void machine_remove_acpi_pm(struct machine *m)
{
    acpi_pm_destroy(m->acpi_pm);
    m->acpi_pm = NULL;
}

int machine_add_rtc(struct machine *m, struct error *err UNUSED)
{
    uint64_t low = gmem_low_ram_end(m->gm);
    int ret = cmos_rtc_create(vm_platform(m->vm), &m->rtc);
    if (ret == 0)
        ret = cmos_rtc_attach(m->rtc, m->pio);
    if (ret == 0) {
        cmos_rtc_set_memory(m->rtc, low, m->opts->memory_bytes - low);
        ret = cmos_rtc_start_timer(m->rtc, m->loop);
    }
    return ret;
}

void machine_remove_rtc(struct machine *m)
{
    if (m->rtc != NULL)
        cmos_rtc_stop_timer(m->rtc);
    cmos_rtc_destroy(m->rtc);
    m->rtc = NULL;
}

void machine_press_power_button(struct machine *m)
{
    if (m->acpi_pm != NULL)
        acpi_pm_press_power_button(m->acpi_pm);
}
