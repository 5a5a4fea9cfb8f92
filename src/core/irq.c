/* SPDX-License-Identifier: MIT */
/*
 * Interrupt injection into the in-kernel irqchip (api.rst §4.25 KVM_IRQ_LINE, §4.71
 * KVM_SIGNAL_MSI, §4.75 KVM_IRQFD). Legacy lines go to the IOAPIC and the PIC through the
 * default GSI routing KVM installs with KVM_CREATE_IRQCHIP; MSIs are sent directly.
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

int vm_irqfd(struct vm *vm, uint32_t gsi, int fd, bool is_assign)
{
    struct kvm_irqfd req;
    memset(&req, 0, sizeof(req));
    req.fd = (uint32_t)fd;
    req.gsi = gsi;
    req.flags = is_assign ? 0 : KVM_IRQFD_FLAG_DEASSIGN;
    if (ioctl(vm->fd, KVM_IRQFD, &req) < 0)
        return -errno;
    return 0;
}
