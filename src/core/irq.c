/* SPDX-License-Identifier: MIT */
/*
 * Interrupt injection (api.rst §4.25 KVM_IRQ_LINE, §4.71 KVM_SIGNAL_MSI, §4.52
 * KVM_SET_GSI_ROUTING). With the kernel irqchip, legacy lines go to the
 * IOAPIC and the PIC through the default GSI routing KVM installs with KVM_CREATE_IRQCHIP;
 * with the split irqchip they go to the monitor's IOAPIC, which sends MSIs. MSIs are sent
 * directly; the GSI routing table only holds the userspace IOAPIC's level-triggered entries.
 */
#define LOG_TAG "irq"
#include "core/vm.h"

#include <errno.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>

#include "base/log.h"

int vm_irq_line(struct vm *vm, uint32_t gsi, bool level)
{
    struct kvm_irq_level irq = {.irq = gsi, .level = level ? 1 : 0};
    if (gsi >= IOAPIC_NUM_PINS)
        return -EINVAL;
    if (vm->irqchip == VM_IRQCHIP_SPLIT) {
        if (vm->chip_ops == NULL)
            return -ENODEV;
        vm->chip_ops->set_irq(vm->chip_opaque, gsi, level);
        return 0;
    }
    if (ioctl(vm->fd, KVM_IRQ_LINE, &irq) < 0)
        return -errno;
    return 0;
}

int vm_signal_msi(struct vm *vm, uint64_t addr, uint32_t data)
{
    struct kvm_msi msi;
    int ret;
    memset(&msi, 0, sizeof(msi));
    msi.address_lo = (uint32_t)addr;
    msi.address_hi = (uint32_t)(addr >> 32);
    msi.data = data;
    ret = ioctl(vm->fd, KVM_SIGNAL_MSI, &msi);
    if (ret < 0)
        return -errno;
    /* 0 means the guest blocked it (masked / no destination): not an error for the device. */
    return 0;
}

int vm_set_msi_routes(struct vm *vm, const struct platform_msi_route *routes, unsigned n)
{
    union {
        struct kvm_irq_routing hdr;
        uint8_t bytes[sizeof(struct kvm_irq_routing) +
                      IOAPIC_NUM_PINS * sizeof(struct kvm_irq_routing_entry)];
    } table;
    if (n > IOAPIC_NUM_PINS)
        return -EINVAL;
    memset(&table, 0, sizeof(table));
    table.hdr.nr = n;
    for (unsigned i = 0; i < n; i++) {
        struct kvm_irq_routing_entry *e = &table.hdr.entries[i];
        e->gsi = routes[i].gsi;
        e->type = KVM_IRQ_ROUTING_MSI;
        e->u.msi.address_lo = (uint32_t)routes[i].addr;
        e->u.msi.address_hi = (uint32_t)(routes[i].addr >> 32);
        e->u.msi.data = routes[i].data;
    }
    if (ioctl(vm->fd, KVM_SET_GSI_ROUTING, &table.hdr) < 0)
        return -errno;
    return 0;
}
