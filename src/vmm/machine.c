/* SPDX-License-Identifier: MIT */
/*
 * Implementation of vmm/machine.h: the PC of a direct kernel boot, put together from
 * machine_parts[] below (vmm/machine_internal.h says how the table is run and unwound).
 * Memory, tables and kernel are here; the devices in machine_dev.c, the virtio functions in
 * machine_virtio.c.
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
#include "core/vm.h"
#include "core/x86/acpi.h"
#include "core/x86/e820.h"
#include "core/x86/layout.h"
#include "core/x86/mptable.h"
#include "core/x86/regs.h"
#include "dev/bus.h"
#include "vmm/console.h"
#include "vmm/machine_display.h"
#include "vmm/machine_internal.h"

static int load_tables(struct machine *m, struct error *err)
{
    struct acpi_config acfg;
    int ret = e820_build_pc(&m->e820, m->gm);
    if (ret < 0)
        return error_set(err, ret, "cannot build the e820 map: %s", strerror(-ret));
    acpi_config_default(&acfg, m->opts->cpus, m->opts->memory_bytes);
    acfg.has_com2 = false; /* only COM1 exists */
    acfg.has_pci = true;
    acfg.has_rtc = true;
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

static int add_memory(struct machine *m, struct error *err)
{
    int ret = gmem_create(&m->gm);
    if (ret == 0)
        ret = gmem_add_pc_ram_vga(m->gm, m->opts->memory_bytes,
                                  machine_is_pc(m) && m->opts->video == VMM_VIDEO_STD);
    if (ret < 0)
        return error_set(err, ret, "cannot allocate %llu MiB of guest memory: %s",
                         (unsigned long long)(m->opts->memory_bytes >> 20), strerror(-ret));
    return 0;
}

static void remove_memory(struct machine *m)
{
    gmem_destroy(m->gm);
    m->gm = NULL;
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

static int add_vm(struct machine *m, struct error *err)
{
    int ret = vm_create(
        m->kvm, m->gm, m->opts->cpus, m->opts->cpu_model,
        m->opts->irqchip == VMM_IRQCHIP_SPLIT ? VM_IRQCHIP_SPLIT : VM_IRQCHIP_KERNEL, &m->vm, err);
    if (ret < 0)
        return ret;
    if (bus_create("pio", &m->pio) < 0 || bus_create("mmio", &m->mmio) < 0)
        return error_set(err, -ENOMEM, "out of memory");
    vm_set_io_handler(m->vm, machine_io, m);
    return 0;
}

static void remove_vm(struct machine *m)
{
    vm_destroy(m->vm);
    if (m->pio != NULL)
        bus_destroy(m->pio);
    if (m->mmio != NULL)
        bus_destroy(m->mmio);
    m->vm = NULL;
    m->pio = m->mmio = NULL;
}

/*
 * The assembly, in order; machine_destroy removes in reverse. The interrupt controller comes
 * right after the VM: devices may raise a line as soon as they exist. The PCI part plugs the
 * virtio functions (machine_vdev_kinds[] in machine_virtio.c) in slot order.
 */
#define STATE(sec, present, prefix)                                                                \
    .section = (sec), .version = 1, .is_present = (present), .save = machine_save_##prefix,        \
    .load = machine_load_##prefix
const struct machine_part machine_parts[] = {
    {"guest memory", false, PART_ALWAYS, add_memory, remove_memory},
    {"the firmware", false, PART_ALWAYS, machine_add_firmware, machine_remove_firmware,
     .is_present = machine_has_firmware},
    {"the UEFI variable store file", false, PART_ALWAYS, machine_open_flash, machine_close_flash,
     .is_present = machine_is_uefi},
    {"the e820 map and ACPI tables", false, PART_BOOT, load_tables, NULL,
     .is_present = machine_is_microvm},
    {"the kernel", false, PART_BOOT, load_kernel, NULL, .is_present = machine_is_microvm},
    {"the kernel files", false, PART_RESTORE, machine_cache_kernel, NULL,
     .is_present = machine_is_microvm},
    {"disks", false, PART_ALWAYS, machine_open_disks, machine_close_disks},
    {"the floppy disk", false, PART_ALWAYS, machine_open_floppy, machine_close_floppy},
    {"the VGA BIOS", false, PART_ALWAYS, machine_read_vga_rom, machine_free_vga_rom},
    {"the network boot ROM", false, PART_ALWAYS, machine_read_net_rom, machine_free_net_rom,
     .is_present = machine_boots_from_net},
    {"the saved state", false, PART_RESTORE, machine_open_state, machine_close_state},
    {"the VM", true, PART_ALWAYS, add_vm, remove_vm, STATE("vm", NULL, vm)},
    {"the interrupt controller", true, PART_ALWAYS, machine_add_irqchip, machine_remove_irqchip,
     STATE("ioapic", machine_has_ioapic, ioapic)},
    {"COM1", true, PART_ALWAYS, machine_add_com1, machine_remove_com1, STATE("com1", NULL, com1)},
    /* i8042 version 2: the typematic byte and the IntelliMouse mode were added */
    {"i8042", true, PART_ALWAYS, machine_add_i8042, machine_remove_i8042, .section = "i8042",
     .version = 2, .save = machine_save_i8042, .load = machine_load_i8042},
    {"port 0x92", true, PART_ALWAYS, machine_add_port92, machine_remove_port92,
     STATE("port92", NULL, port92)},
    {"isa-debug-exit", true, PART_ALWAYS, machine_add_debug_exit, machine_remove_debug_exit,
     STATE("debug-exit", machine_has_debug_exit, nothing)},
    {"the ACPI PM block", true, PART_ALWAYS, machine_add_acpi_pm, machine_remove_acpi_pm,
     STATE("acpi-pm", NULL, acpi_pm)},
    {"the CMOS RTC", true, PART_ALWAYS, machine_add_rtc, machine_remove_rtc,
     STATE("rtc", NULL, rtc)},
    {"the ISA DMA controller", true, PART_ALWAYS, machine_add_isa_dma, machine_remove_isa_dma,
     STATE("isa-dma", machine_has_isa_dma, isa_dma)},
    {"the floppy controller", true, PART_ALWAYS, machine_add_fdc, machine_remove_fdc,
     STATE("fdc", machine_has_fdc, fdc)},
    {"the PCI host bridge", true, PART_ALWAYS, machine_add_pci, machine_remove_pci,
     STATE("pci", NULL, pci)},
    {"the input router", true, PART_ALWAYS, machine_add_input, machine_remove_input},
    {"the IDE controller", true, PART_ALWAYS, machine_add_ide, machine_remove_ide,
     STATE("ide", machine_has_ide, ide)},
    {"the display adapter", true, PART_ALWAYS, machine_add_display, machine_remove_display,
     STATE("display", machine_has_display, display)},
    {"fw_cfg", true, PART_ALWAYS, machine_add_fw_cfg, machine_remove_fw_cfg,
     STATE("fw-cfg", machine_has_firmware, fw_cfg)},
    {"the BIOS debug port", true, PART_ALWAYS, machine_add_debugcon, machine_remove_debugcon,
     .is_present = machine_has_firmware},
    {"the UEFI variable store", true, PART_ALWAYS, machine_add_flash, machine_remove_flash,
     STATE("pflash", machine_is_uefi, flash)},
    {"the boot CPU state", true, PART_BOOT, set_boot_cpu, NULL, .is_present = machine_is_microvm},
    {"the saved state", true, PART_RESTORE, machine_load_state, NULL},
};
#undef STATE
const unsigned machine_nparts = ARRAY_SIZE(machine_parts);

/* Whether part (p) belongs to this machine's assembly (a boot or a restore). */
static bool part_runs(const struct machine *m, const struct machine_part *p)
{
    if (p->is_present != NULL && !p->is_present(m))
        return false;
    return p->when == PART_ALWAYS || (p->when == PART_RESTORE) == m->is_restore;
}

/* Adds the parts of the phase (needs_kvm) that follow the ones already added. */
static int add_parts(struct machine *m, bool needs_kvm, struct error *err)
{
    while (m->nparts < ARRAY_SIZE(machine_parts) &&
           machine_parts[m->nparts].needs_kvm == needs_kvm) {
        const struct machine_part *p = &machine_parts[m->nparts++]; /* removed even if it fails */
        int ret = part_runs(m, p) ? p->add(m, err) : 0;
        if (ret < 0)
            return error_set(err, ret, "cannot create %s: %s", p->name, strerror(-ret));
    }
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
    m->loop = loop;
    m->is_restore = o->restore != NULL;
    ret = add_parts(m, false, err);
    if (ret < 0) {
        machine_destroy(m);
        return ret;
    }
    *out = m;
    return 0;
}

int machine_attach(struct machine *m, struct kvm *kvm, struct evloop *loop, struct console *con,
                   struct console *vcon, struct error *err)
{
    m->kvm = kvm;
    m->loop = loop;
    m->con = con;
    m->vcon_be = vcon;
    m->start_ns = time_now_ns();
    return add_parts(m, true, err);
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
    /* Console input must not reach COM1 or virtio-console while the loop runs below. */
    if (m->con != NULL)
        console_set_input(m->con, NULL, NULL);
    if (m->vcon_be != NULL)
        console_set_input(m->vcon_be, NULL, NULL);
    /*
     * Run the work devices queued on the loop from vCPU threads (e.g. COM1 asking the console
     * for more input) while every device is still alive: removing a device frees it, and a
     * queued call would then run on freed memory inside blk_close() or in the next machine.
     * Bounded: an fd that keeps firing (console input) must not hold the teardown.
     */
    if (m->loop != NULL)
        for (int i = 0; i < 64 && evloop_run_once(m->loop, 0) > 0; i++)
            ;
    while (m->nparts > 0) {
        const struct machine_part *p = &machine_parts[--m->nparts];
        if (p->remove != NULL && part_runs(m, p))
            p->remove(m);
    }
    machine_free_ide(m);
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
