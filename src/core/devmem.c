/* SPDX-License-Identifier: MIT */
/*
 * Device memory slots (core/vm.h vm_set_devmem, vm_get_dirty_log): RAM a device owns and maps
 * where its BAR lies (a framebuffer), one KVM memslot each above the slots of the gmem regions,
 * with dirty logging (api.rst §4.35 KVM_SET_USER_MEMORY_REGION with KVM_MEM_LOG_DIRTY_PAGES,
 * §4.8 KVM_GET_DIRTY_LOG).
 */
#include "core/vm.h"

#include <errno.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>

#include "core/gmem.h"

/* KVM slot number of device slot (slot): after every possible gmem region. */
static uint32_t kvm_slot(unsigned slot)
{
    return GMEM_MAX_REGIONS + slot;
}

static int set_slot(struct vm *vm, unsigned slot, uint64_t gpa, void *hva, uint64_t size,
                    uint32_t flags)
{
    struct kvm_userspace_memory_region r = {
        .slot = kvm_slot(slot),
        .flags = size ? flags : 0,
        .guest_phys_addr = size ? gpa : 0,
        .memory_size = size,
        .userspace_addr = (uint64_t)(uintptr_t)hva,
    };
    if (slot >= VM_DEVMEM_SLOTS)
        return -EINVAL;
    return ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &r) < 0 ? -errno : 0;
}

int vm_set_devmem(struct vm *vm, unsigned slot, uint64_t gpa, void *hva, uint64_t size,
                  bool is_dirty_logged)
{
    return set_slot(vm, slot, gpa, hva, size, is_dirty_logged ? KVM_MEM_LOG_DIRTY_PAGES : 0);
}

int vm_set_devmem_rom(struct vm *vm, unsigned slot, uint64_t gpa, void *hva, uint64_t size)
{
    return set_slot(vm, slot, gpa, hva, size, KVM_MEM_READONLY);
}

int vm_get_dirty_log(struct vm *vm, unsigned slot, uint64_t *bitmap)
{
    struct kvm_dirty_log log = {.slot = kvm_slot(slot), .dirty_bitmap = bitmap};
    if (slot >= VM_DEVMEM_SLOTS)
        return -EINVAL;
    return ioctl(vm->fd, KVM_GET_DIRTY_LOG, &log) < 0 ? -errno : 0;
}
