/* SPDX-License-Identifier: MIT */
/*
 * The saved-state hooks of machine_parts[] (vmm/machine_internal.h): each calls its device's
 * own save/load (dev/legacy/legacy_state.h, dev/irq/ioapic.h, dev/pci/pci.h, ...).
 */
#define LOG_TAG "machine"
#include "vmm/machine_internal.h"

#include <errno.h>
#include <string.h>

#include "base/statefile.h"
#include "core/vm.h"
#include "core/vm_state.h"
#include "dev/irq/ioapic.h"
#include "dev/legacy/legacy_state.h"
#include "dev/legacy/port92.h"
#include "dev/pci/pci.h"

bool machine_has_ioapic(const struct machine *m)
{
    return m->opts->irqchip == VMM_IRQCHIP_SPLIT;
}

bool machine_has_debug_exit(const struct machine *m)
{
    return m->opts->has_debug_exit;
}

int machine_save_vm(struct machine *m, struct sf_buf *b)
{
    struct error err = {0};
    int ret = vm_save_state(m->vm, b, &err);
    if (ret < 0)
        log_error("%s", err.message);
    return ret;
}

int machine_load_vm(struct machine *m, struct sf_in *in)
{
    struct error err = {0};
    int ret = vm_load_state(m->vm, in->p, in->len, &err);
    in->pos = in->len;
    if (ret < 0)
        log_error("%s", err.message);
    return ret;
}

int machine_save_ioapic(struct machine *m, struct sf_buf *b)
{
    ioapic_save(m->ioapic, b);
    return 0;
}

int machine_load_ioapic(struct machine *m, struct sf_in *in)
{
    return ioapic_load(m->ioapic, in);
}

int machine_save_com1(struct machine *m, struct sf_buf *b)
{
    uart8250_save_state(m->com1, b);
    return 0;
}

int machine_load_com1(struct machine *m, struct sf_in *in)
{
    return uart8250_load_state(m->com1, in);
}

int machine_save_i8042(struct machine *m, struct sf_buf *b)
{
    i8042_save_state(m->i8042, b);
    return 0;
}

int machine_load_i8042(struct machine *m, struct sf_in *in)
{
    return i8042_load_state(m->i8042, in);
}

int machine_save_port92(struct machine *m, struct sf_buf *b)
{
    port92_save(m->port92, b);
    return 0;
}

int machine_load_port92(struct machine *m, struct sf_in *in)
{
    return port92_load(m->port92, in);
}

/* isa-debug-exit has no state: its section is empty. */
int machine_save_nothing(struct machine *m, struct sf_buf *b)
{
    (void)m;
    (void)b;
    return 0;
}

int machine_load_nothing(struct machine *m, struct sf_in *in)
{
    (void)m;
    return sf_in_end(in);
}

int machine_save_acpi_pm(struct machine *m, struct sf_buf *b)
{
    acpi_pm_save_state(m->acpi_pm, b);
    return 0;
}

int machine_load_acpi_pm(struct machine *m, struct sf_in *in)
{
    return acpi_pm_load_state(m->acpi_pm, in);
}

int machine_save_rtc(struct machine *m, struct sf_buf *b)
{
    cmos_rtc_save_state(m->rtc, b);
    return 0;
}

int machine_load_rtc(struct machine *m, struct sf_in *in)
{
    return cmos_rtc_load_state(m->rtc, in);
}

/* The host bridge and every function's config space; each virtio function's own state is a
 * section of its own (machine_state.c). */
int machine_save_pci(struct machine *m, struct sf_buf *b)
{
    pci_host_save(m->pci, b);
    return 0;
}

int machine_load_pci(struct machine *m, struct sf_in *in)
{
    return pci_host_load(m->pci, in);
}
