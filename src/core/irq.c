/* SPDX-License-Identifier: MIT */
/*
 * Interrupt injection (api.rst §4.25 KVM_IRQ_LINE, §4.71 KVM_SIGNAL_MSI, §4.52
 * KVM_SET_GSI_ROUTING). With the kernel irqchip, legacy lines go to the
 * IOAPIC and the PIC through the default GSI routing KVM installs with KVM_CREATE_IRQCHIP;
 * with the split irqchip they go to the monitor's IOAPIC, which sends MSIs. MSIs are sent
 * directly; the GSI routing table holds the irqfds' MSI routes (an eventfd signalled by
 * vhost-net raises its queue's MSI-X message inside the kernel, KVM_IRQFD api.rst §4.75) and,
 * with the split irqchip, the userspace IOAPIC's level-triggered entries. KVM_SET_GSI_ROUTING
 * replaces the whole table, so with the kernel irqchip every table handed over starts with the
 * routes KVM_CREATE_IRQCHIP installed (vm_default_routes).
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

unsigned vm_default_routes(struct kvm_irq_routing_entry *e)
{
    unsigned n = 0;

    /* GSI 0..15: IOAPIC pin = GSI and the 8259 pin (master 0..7, slave 8..15); 16..23: the
     * IOAPIC only. The same table as KVM's own (KVM_CREATE_IRQCHIP's default routing). */
    for (uint32_t gsi = 0; gsi < IOAPIC_NUM_PINS; gsi++) {
        e[n++] = (struct kvm_irq_routing_entry){
            .gsi = gsi,
            .type = KVM_IRQ_ROUTING_IRQCHIP,
            .u.irqchip = {.irqchip = KVM_IRQCHIP_IOAPIC, .pin = gsi},
        };
        if (gsi < 16)
            e[n++] = (struct kvm_irq_routing_entry){
                .gsi = gsi,
                .type = KVM_IRQ_ROUTING_IRQCHIP,
                .u.irqchip = {.irqchip = gsi < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE,
                              .pin = gsi % 8},
            };
    }
    return n;
}

/* Hands the whole table (the kernel irqchip's default routes, the userspace IOAPIC's routes
 * and the irqfd routes) to KVM. route_lock held. */
static int commit_routes(struct vm *vm)
{
    union {
        struct kvm_irq_routing hdr;
        uint8_t bytes[sizeof(struct kvm_irq_routing) +
                      (VM_DEFAULT_ROUTES + IOAPIC_NUM_PINS + VM_MAX_IRQFDS) *
                          sizeof(struct kvm_irq_routing_entry)];
    } table;
    unsigned n = 0;

    memset(&table, 0, sizeof(table));
    if (vm->irqchip == VM_IRQCHIP_KERNEL)
        n = vm_default_routes(table.hdr.entries);
    for (unsigned i = 0; i < vm->nioapic_routes + VM_MAX_IRQFDS; i++) {
        struct kvm_irq_routing_entry *e = &table.hdr.entries[n];
        uint64_t addr;
        if (i < vm->nioapic_routes) {
            e->gsi = vm->ioapic_routes[i].gsi;
            e->u.msi.data = vm->ioapic_routes[i].data;
            addr = vm->ioapic_routes[i].addr;
        } else {
            const struct vm_irqfd *f = &vm->irqfds[i - vm->nioapic_routes];
            if (f->fd < 0)
                continue;
            e->gsi = VM_IRQFD_GSI_BASE + (i - vm->nioapic_routes);
            e->u.msi.data = f->data;
            addr = f->addr;
        }
        e->type = KVM_IRQ_ROUTING_MSI;
        e->u.msi.address_lo = (uint32_t)addr;
        e->u.msi.address_hi = (uint32_t)(addr >> 32);
        n++;
    }
    table.hdr.nr = n;
    if (ioctl(vm->fd, KVM_SET_GSI_ROUTING, &table.hdr) < 0)
        return -errno;
    return 0;
}

int vm_set_msi_routes(struct vm *vm, const struct platform_msi_route *routes, unsigned n)
{
    int ret;

    if (n > IOAPIC_NUM_PINS)
        return -EINVAL;
    pthread_mutex_lock(&vm->route_lock);
    memcpy(vm->ioapic_routes, routes, n * sizeof(*routes));
    vm->nioapic_routes = n;
    ret = commit_routes(vm);
    pthread_mutex_unlock(&vm->route_lock);
    return ret;
}

static int irqfd_ioctl(struct vm *vm, int fd, uint32_t gsi, bool is_assign)
{
    struct kvm_irqfd req;

    memset(&req, 0, sizeof(req));
    req.fd = (uint32_t)fd;
    req.gsi = gsi;
    req.flags = is_assign ? 0 : KVM_IRQFD_FLAG_DEASSIGN;
    return ioctl(vm->fd, KVM_IRQFD, &req) < 0 ? -errno : 0;
}

int vm_irqfd_msi(struct vm *vm, int fd, uint64_t addr, uint32_t data)
{
    unsigned slot = VM_MAX_IRQFDS;
    bool is_new = true;
    int ret;

    pthread_mutex_lock(&vm->route_lock);
    for (unsigned i = 0; i < VM_MAX_IRQFDS; i++) {
        if (vm->irqfds[i].fd == fd) {
            slot = i;
            is_new = false;
            break;
        }
        if (vm->irqfds[i].fd < 0 && slot == VM_MAX_IRQFDS)
            slot = i;
    }
    if (slot == VM_MAX_IRQFDS) {
        pthread_mutex_unlock(&vm->route_lock);
        return -ENOSPC;
    }
    vm->irqfds[slot] = (struct vm_irqfd){.fd = fd, .addr = addr, .data = data};
    ret = commit_routes(vm);
    if (ret == 0 && is_new)
        ret = irqfd_ioctl(vm, fd, VM_IRQFD_GSI_BASE + slot, true);
    if (ret < 0 && is_new) {
        vm->irqfds[slot].fd = -1;
        (void)commit_routes(vm);
    }
    pthread_mutex_unlock(&vm->route_lock);
    if (ret < 0)
        log_debug("irqfd %d -> msi 0x%llx/0x%x: %s", fd, (unsigned long long)addr, data,
                  strerror(-ret));
    return ret;
}

void vm_irqfd_remove(struct vm *vm, int fd)
{
    pthread_mutex_lock(&vm->route_lock);
    for (unsigned i = 0; i < VM_MAX_IRQFDS; i++) {
        if (vm->irqfds[i].fd != fd)
            continue;
        (void)irqfd_ioctl(vm, fd, VM_IRQFD_GSI_BASE + i, false);
        vm->irqfds[i].fd = -1;
        (void)commit_routes(vm);
        break;
    }
    pthread_mutex_unlock(&vm->route_lock);
}
