/* SPDX-License-Identifier: MIT */
/*
 * The PC chipset of --machine pc (vmm/machine_internal.h): the i440FX host bridge at 00.0
 * (its identity and PAM registers on the PCI host), the PIIX3 ISA bridge at 01.0 with the PIRQ
 * routing every PCI INTx goes through, and the PIIX4 power management function at 01.3, whose
 * PMBA places the ACPI PM block (dev/legacy/acpi_pm.c). The 8259 PICs, the 8254 PIT and the ELCR
 * are KVM's (the pc machine always has the kernel irqchip). Plugged by machine_add_pci before
 * the virtio functions, which start at slot 3 (slot 2 is the display adapter's).
 */
#define LOG_TAG "machine"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "core/vm.h"
#include "dev/legacy/acpi_pm.h"
#include "dev/pci/piix.h"
#include "vmm/machine_internal.h"

#define PC_CHIPSET_SLOT 1
#define PC_FIRST_VIRTIO_SLOT 3

struct machine_pc {
    struct piix3 isa;
    struct piix4_pm pm;
};

bool machine_is_pc(const struct machine *m)
{
    return m->opts->machine == VMM_MACHINE_PC;
}

bool machine_is_microvm(const struct machine *m)
{
    return m->opts->machine == VMM_MACHINE_MICROVM;
}

static uint32_t pc_intx_line(void *opaque, unsigned slot, unsigned pin)
{
    (void)opaque;
    return piix3_pirq_of(slot, pin);
}

static void pc_intx_set(void *opaque, uint32_t line, bool level)
{
    struct machine_pc *pc = opaque;
    piix3_set_pirq(&pc->isa, line, level);
}

int machine_pc_host_config(struct machine *m, struct pci_host_config *cfg)
{
    if (!machine_is_pc(m))
        return 0;
    m->pc = calloc(1, sizeof(*m->pc));
    if (m->pc == NULL)
        return -ENOMEM;
    cfg->bridge_id = &i440fx_id;
    cfg->ecam_base = 0; /* the i440FX has no ECAM; the firmware puts BARs there */
    cfg->first_auto_slot = PC_FIRST_VIRTIO_SLOT;
    cfg->intx_line = pc_intx_line;
    cfg->intx_set = pc_intx_set;
    cfg->intx_opaque = m->pc;
    piix3_init(&m->pc->isa, vm_platform(m->vm));
    return 0;
}

/* PIIX4 PMBA/PMIOSE moved the PM registers (host lock held, vCPU thread). */
static void pm_move(void *opaque, uint16_t base)
{
    struct machine *m = opaque;
    if (acpi_pm_move(m->acpi_pm, base) < 0)
        log_ratelimited(LOG_WARN, "PIIX4 PM: I/O base 0x%x overlaps another device: not mapped",
                        base);
}

int machine_pc_add_chipset(struct machine *m, struct error *err)
{
    int ret;
    if (!machine_is_pc(m))
        return 0;
    /*
     * The BIOS counts its timeouts (the floppy's motor and interrupt waits among them) in
     * IRQ 0 ticks. With the PIT's default reinjection, the ticks missed while it ran with
     * interrupts off come back to back once it enables them: a slow POST (seconds on a nested
     * or emulating host) then ends each floppy wait early, IRQ 0 outranking IRQ 6 all along.
     * Lost ticks are dropped instead, as QEMU's kvm-pit lost_tick_policy=discard.
     */
    ret = vm_pit_discard_lost_ticks(m->vm);
    if (ret < 0 && ret != -ENOTSUP)
        return error_set(err, ret, "KVM_REINJECT_CONTROL: %s", strerror(-ret));
    i440fx_init_pam(pci_host_bridge(m->pci));
    piix4_pm_init(&m->pc->pm, pm_move, m);
    ret = pci_host_add_fn(m->pci, &m->pc->isa.pci, PC_CHIPSET_SLOT, 0);
    if (ret == 0)
        ret = pci_host_add_fn(m->pci, &m->pc->pm.pci, PC_CHIPSET_SLOT, 3);
    if (ret < 0)
        return error_set(err, ret, "cannot create the PC chipset: %s", strerror(-ret));
    return 0;
}

void machine_pc_remove_chipset(struct machine *m)
{
    if (m->pc == NULL)
        return;
    piix3_fini(&m->pc->isa);
    free(m->pc);
    m->pc = NULL;
}
