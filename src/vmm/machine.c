/* SPDX-License-Identifier: MIT */
/*
 * Implementation of vmm/machine.h: the PC of a direct kernel boot, memory first and
 * without KVM (machine_load), then the VM and devices (machine_attach). Device availability
 * follows the build (HAVE_DEV_* from src/vmm/meson.build): a device whose implementation is not
 * in the tree is left out with a log line.
 */
#define LOG_TAG "machine"
#include "vmm/machine.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/evloop.h"
#include "base/log.h"
#include "base/util.h"
#include "boot/boot.h"
#include "core/gmem.h"
#include "core/vcpu.h"
#include "core/x86/acpi.h"
#include "core/x86/e820.h"
#include "core/x86/layout.h"
#include "core/x86/mptable.h"
#include "core/x86/regs.h"
#include "dev/bus.h"
#include "dev/irq/ioapic.h"
#include "vmm/console.h"
#include "vmm/machine_internal.h"

static int load_tables(struct machine *m, struct error *err)
{
    struct acpi_config acfg;
    int ret = e820_build_pc(&m->e820, m->gm);
    if (ret < 0)
        return error_set(err, ret, "cannot build the e820 map: %s", strerror(-ret));
    acpi_config_default(&acfg, m->opts->cpus, m->opts->memory_bytes);
    acfg.has_com2 = false; /* only COM1 exists */
    acfg.has_pci = machine_has_pci();
    acfg.has_rtc = machine_has_rtc();
    acfg.has_ioapic = m->opts->has_ioapic;
    acfg.has_pic = m->opts->irqchip == VMM_IRQCHIP_KERNEL; /* the split irqchip has no 8259 */
    /* --acpi off: no RSDP anywhere (the area stays zero, so a scan finds nothing either) */
    if (m->opts->has_acpi) {
        ret = acpi_build(m->gm, &acfg, &m->rsdp_gpa);
        if (ret < 0)
            return error_set(err, ret, "cannot build the ACPI tables: %s", strerror(-ret));
    }
    /* the MP table too, for guests without ACPI (acpi=off, MP-only kernels and payloads) */
    ret = mptable_build(m->gm, &acfg, NULL);
    if (ret < 0 && ret != -ENODEV) /* no IOAPIC: no MP table (core/x86/mptable.h) */
        return error_set(err, ret, "cannot build the MP table: %s", strerror(-ret));
    return 0;
}

static enum regs_entry_mode entry_mode(enum boot_entry_mode mode)
{
    switch (mode) {
    case BOOT_ENTRY_PVH32:
        return REGS_ENTRY_PVH32;
    case BOOT_ENTRY_MULTIBOOT32:
        return REGS_ENTRY_MULTIBOOT32;
    case BOOT_ENTRY_LINUX64:
    default:
        return REGS_ENTRY_LINUX64;
    }
}

static int load_kernel(struct machine *m, struct error *err)
{
    struct boot_config bcfg = {
        .kernel_path = m->opts->kernel,
        .initrd_path = m->opts->initrd,
        .cmdline = m->opts->cmdline,
        .e820 = &m->e820,
        .acpi_rsdp_gpa = m->rsdp_gpa,
    };
    int ret = boot_load(m->gm, &bcfg, &m->boot, err);
    if (ret < 0)
        return ret;
    ret = regs_write_boot_tables(m->gm, entry_mode(m->boot.mode));
    if (ret < 0)
        return error_set(err, ret, "cannot write the boot page tables: %s", strerror(-ret));
    log_info("%s kernel, entry %s at 0x%llx", boot_format_name(m->boot.format),
             boot_entry_mode_name(m->boot.mode), (unsigned long long)m->boot.entry_gpa);
    return 0;
}

int machine_load(const struct vmm_options *o, struct evloop *loop, struct machine **out,
                 struct error *err)
{
    struct machine *m = calloc(1, sizeof(*m));
    int ret;
    if (m == NULL)
        return error_set(err, -ENOMEM, "out of memory");
    m->opts = o;
    m->vcon_timer_fd = -1;
    ret = gmem_create(&m->gm);
    if (ret == 0)
        ret = gmem_add_pc_ram(m->gm, o->memory_bytes);
    if (ret < 0) {
        error_set(err, ret, "cannot allocate %llu MiB of guest memory: %s",
                  (unsigned long long)(o->memory_bytes >> 20), strerror(-ret));
        goto err_destroy;
    }
    ret = load_tables(m, err);
    if (ret == 0)
        ret = load_kernel(m, err);
    if (ret == 0)
        ret = machine_open_disks(m, loop, err);
    if (ret < 0)
        goto err_destroy;
    *out = m;
    return 0;
err_destroy:
    machine_destroy(m);
    return ret;
}

/* PIO/MMIO exits, on vCPU threads. */
static void machine_io(void *opaque, bool is_pio, uint64_t addr, unsigned size, bool is_write,
                       uint64_t *val)
{
    struct machine *m = opaque;
    struct bus *bus = is_pio ? m->pio : m->mmio;
    if (is_write)
        bus_write(bus, addr, size, *val);
    else if (!bus_read(bus, addr, size, val))
        *val = UINT64_MAX;
}

static int set_boot_cpu(struct machine *m, struct error *err)
{
    struct boot_cpu b = {
        .mode = entry_mode(m->boot.mode),
        .entry_gpa = m->boot.entry_gpa,
        .arg_gpa = m->boot.info_gpa,
    };
    int ret = vcpu_set_boot_state(m->vm->vcpus[0], &b);
    if (ret < 0)
        return error_set(err, ret, "cannot set the boot CPU state: %s", strerror(-ret));
    return 0;
}

int machine_attach(struct machine *m, struct kvm *kvm, struct evloop *loop, struct console *con,
                   struct console *vcon, struct error *err)
{
    int ret;
    m->loop = loop;
    m->con = con;
    m->vcon_be = vcon;
    m->start_ns = time_now_ns();
    ret = vm_create(kvm, m->gm, m->opts->cpus, m->opts->cpu_model,
                    m->opts->irqchip == VMM_IRQCHIP_SPLIT ? VM_IRQCHIP_SPLIT : VM_IRQCHIP_KERNEL,
                    &m->vm, err);
    if (ret < 0)
        return ret;
    if (bus_create("pio", &m->pio) < 0 || bus_create("mmio", &m->mmio) < 0)
        return error_set(err, -ENOMEM, "out of memory");
    vm_set_io_handler(m->vm, machine_io, m);
    /* the interrupt controller first: devices may raise a line as soon as they exist */
    ret = machine_add_irqchip(m, err);
    if (ret == 0)
        ret = machine_add_legacy(m, err);
    if (ret == 0)
        ret = machine_add_pci(m, err);
    if (ret == 0)
        ret = machine_add_virtio(m, err);
    if (ret == 0)
        ret = set_boot_cpu(m, err);
    return ret;
}

int machine_start(struct machine *m, bool is_paused, vm_notify_fn notify, void *opaque)
{
    vm_set_notify(m->vm, notify, opaque);
    return is_paused ? vm_start_paused(m->vm) : vm_start(m->vm);
}

bool machine_is_done(struct machine *m)
{
    return vm_is_done(m->vm);
}

enum vm_request machine_wait(struct machine *m, int *code)
{
    return vm_wait(m->vm, code);
}

void machine_destroy(struct machine *m)
{
    if (m == NULL)
        return;
    /* vCPUs first: nothing may touch a device or guest memory after this. */
    if (m->vm != NULL)
        vm_stop(m->vm);
    /* Console input must not reach COM1 while the loop runs during the teardown below. */
    if (m->con != NULL)
        console_set_input(m->con, NULL, NULL);
    machine_stop_virtio_input(m);
    /*
     * Run the work devices queued on the loop from vCPU threads (e.g. virtio-pci's INTx update
     * after a reset) while every device is still alive: removing a device frees it, and a
     * queued call would then run on freed memory inside blk_close() or in the next machine.
     * Bounded: an fd that keeps firing (console input) must not hold the teardown.
     */
    if (m->loop != NULL)
        for (int i = 0; i < 64 && evloop_run_once(m->loop, 0) > 0; i++)
            ;
    machine_remove_pci(m);
    machine_remove_legacy(m);
    vm_destroy(m->vm);
    ioapic_destroy(m->ioapic);
    if (m->pio != NULL)
        bus_destroy(m->pio);
    if (m->mmio != NULL)
        bus_destroy(m->mmio);
    gmem_destroy(m->gm);
    free(m);
}

struct vm *machine_vm(struct machine *m)
{
    return m->vm;
}

uint64_t machine_uptime_ns(struct machine *m)
{
    return time_now_ns() - m->start_ns;
}

uint64_t machine_ram_bytes(struct machine *m)
{
    return m->opts->memory_bytes;
}
