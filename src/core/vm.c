/* SPDX-License-Identifier: MIT */
/*
 * Implementation of core/vm.h: VM creation (api.rst §4.2 KVM_CREATE_VM, §4.24
 * KVM_CREATE_IRQCHIP, §4.66 KVM_CREATE_PIT2, KVM_CAP_SPLIT_IRQCHIP in "capabilities that can
 * be enabled on VMs", §4.35 KVM_SET_USER_MEMORY_REGION, §4.48
 * KVM_SET_TSS_ADDR, §4.53 KVM_SET_IDENTITY_MAP_ADDR), the platform ops devices call, and the
 * machine-level request box.
 */
#define LOG_TAG "vm"
#include "core/vm.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "base/log.h"
#include "core/gmem.h"
#include "core/kvm.h"
#include "core/vcpu.h"

static void platform_set_irq(void *opaque, uint32_t gsi, bool level)
{
    int ret = vm_irq_line(opaque, gsi, level);
    if (ret < 0)
        log_ratelimited(LOG_WARN, "irq line %u: %s", gsi, strerror(-ret));
}

static int platform_send_msi(void *opaque, uint64_t addr, uint32_t data)
{
    return vm_signal_msi(opaque, addr, data);
}

static int platform_set_msi_routes(void *opaque, const struct platform_msi_route *routes,
                                   unsigned n)
{
    return vm_set_msi_routes(opaque, routes, n);
}

static int platform_irqfd_msi(void *opaque, int fd, uint64_t addr, uint32_t data, bool is_assign)
{
    if (!is_assign) {
        vm_irqfd_remove(opaque, fd);
        return 0;
    }
    return vm_irqfd_msi(opaque, fd, addr, data);
}

static int platform_ioeventfd(void *opaque, uint64_t addr, unsigned len, bool is_pio, int fd,
                              bool is_assign)
{
    return vm_ioeventfd(opaque, addr, len, is_pio, fd, is_assign);
}

static void platform_poweroff(void *opaque)
{
    vm_request(opaque, VM_REQ_POWEROFF, 0);
}

static void platform_reset(void *opaque)
{
    vm_request(opaque, VM_REQ_RESET, 0);
}

static void platform_exit(void *opaque, int code)
{
    vm_request(opaque, VM_REQ_EXIT, code);
}

static const struct platform_ops kvm_platform_ops = {
    .set_irq = platform_set_irq,
    .send_msi = platform_send_msi,
    .set_msi_routes = platform_set_msi_routes,
    .ioeventfd = platform_ioeventfd,
    .irqfd_msi = platform_irqfd_msi,
    .request_poweroff = platform_poweroff,
    .request_reset = platform_reset,
    .request_exit = platform_exit,
};

static void io_unclaimed(void *opaque, bool is_pio, uint64_t addr, unsigned size, bool is_write,
                         uint64_t *val)
{
    (void)opaque;
    (void)val;
    log_ratelimited(LOG_DEBUG, "unhandled %s %s at 0x%llx size %u", is_pio ? "pio" : "mmio",
                    is_write ? "write" : "read", (unsigned long long)addr, size);
}

static int set_memslots(struct vm *vm, struct error *err)
{
    for (unsigned i = 0; i < vm->gm->nregions; i++) {
        const struct gmem_region *r = &vm->gm->regions[i];
        struct kvm_userspace_memory_region slot = {
            .slot = i,
            .flags = r->is_readonly ? KVM_MEM_READONLY : 0,
            .guest_phys_addr = r->gpa,
            .memory_size = r->size_bytes,
            .userspace_addr = (uint64_t)(uintptr_t)r->hva,
        };
        if (ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &slot) < 0)
            return error_set(err, -errno, "memslot %u (%s at 0x%llx): %s", i, r->name,
                             (unsigned long long)r->gpa, strerror(errno));
    }
    return 0;
}

int vm_dirty_log(struct vm *vm, bool is_on)
{
    for (unsigned i = 0; i < vm->gm->nregions; i++) {
        const struct gmem_region *r = &vm->gm->regions[i];
        struct kvm_userspace_memory_region slot = {
            .slot = i,
            .flags = is_on ? KVM_MEM_LOG_DIRTY_PAGES : 0,
            .guest_phys_addr = r->gpa,
            .memory_size = r->size_bytes,
            .userspace_addr = (uint64_t)(uintptr_t)r->hva,
        };
        if (r->is_readonly)
            continue; /* the guest cannot write a ROM */
        if (ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &slot) < 0)
            return -errno;
    }
    return 0;
}

int vm_dirty_log_get(struct vm *vm, unsigned slot, uint64_t *bitmap)
{
    struct kvm_dirty_log log = {.slot = slot, .dirty_bitmap = bitmap};
    return ioctl(vm->fd, KVM_GET_DIRTY_LOG, &log) < 0 ? -errno : 0;
}

static int setup_irqchip(struct vm *vm, struct error *err)
{
    struct kvm_pit_config pit = {.flags = KVM_PIT_SPEAKER_DUMMY};
    /* args[0]: the GSIs below it are the userspace IOAPIC's routes (their level-triggered
     * vectors get EOI exits). */
    struct kvm_enable_cap split = {.cap = KVM_CAP_SPLIT_IRQCHIP, .args = {IOAPIC_NUM_PINS}};
    if (vm->irqchip == VM_IRQCHIP_SPLIT) {
        if (kvm_check_cap(vm->kvm, KVM_CAP_SPLIT_IRQCHIP) <= 0)
            return error_set(err, -ENOTSUP,
                             "this KVM has no split irqchip (KVM_CAP_SPLIT_IRQCHIP): "
                             "use --irqchip kernel");
        if (ioctl(vm->fd, KVM_ENABLE_CAP, &split) < 0)
            return error_set(err, -errno, "KVM_CAP_SPLIT_IRQCHIP: %s", strerror(errno));
        return 0;
    }
    if (ioctl(vm->fd, KVM_CREATE_IRQCHIP, 0) < 0)
        return error_set(err, -errno, "KVM_CREATE_IRQCHIP: %s", strerror(errno));
    if (ioctl(vm->fd, KVM_CREATE_PIT2, &pit) < 0)
        return error_set(err, -errno, "KVM_CREATE_PIT2: %s", strerror(errno));
    return 0;
}

int vm_pit_discard_lost_ticks(struct vm *vm)
{
    struct kvm_reinject_control rc = {.pit_reinject = 0};
    if (vm->irqchip != VM_IRQCHIP_KERNEL || kvm_check_cap(vm->kvm, KVM_CAP_REINJECT_CONTROL) <= 0)
        return -ENOTSUP;
    return ioctl(vm->fd, KVM_REINJECT_CONTROL, &rc) < 0 ? -errno : 0;
}

static int setup_vm(struct vm *vm, struct error *err)
{
    uint64_t identity = KVM_IDENTITY_MAP_GPA;
    int ret;
    /* Only VMX without unrestricted guest needs it; hosts without the capability skip it. */
    if (kvm_check_cap(vm->kvm, KVM_CAP_SET_IDENTITY_MAP_ADDR) > 0 &&
        ioctl(vm->fd, KVM_SET_IDENTITY_MAP_ADDR, &identity) < 0)
        return error_set(err, -errno, "KVM_SET_IDENTITY_MAP_ADDR: %s", strerror(errno));
    if (ioctl(vm->fd, KVM_SET_TSS_ADDR, (unsigned long)KVM_TSS_GPA) < 0)
        return error_set(err, -errno, "KVM_SET_TSS_ADDR: %s", strerror(errno));
    ret = setup_irqchip(vm, err);
    if (ret < 0)
        return ret;
    return set_memslots(vm, err);
}

static int setup_cpuid(struct vm *vm, enum cpu_model model, struct error *err)
{
    int ret = kvm_get_supported_cpuid(vm->kvm, &vm->cpuid);
    if (ret < 0)
        return error_set(err, ret, "KVM_GET_SUPPORTED_CPUID: %s", strerror(-ret));
    cpuid_apply_model(vm->cpuid->entries, vm->cpuid->nent, model);
    /*
     * The in-kernel LAPIC has the TSC-deadline timer, but KVM before Linux 6.8 leaves its bit
     * (leaf 1 ECX bit 24) out of KVM_GET_SUPPORTED_CPUID: announce it as QEMU does. With it
     * Linux's apic_needs_pit() is false, so a guest of the split irqchip (no PIT) neither
     * registers a PIT clockevent nor calibrates the LAPIC timer against a tick.
     */
    struct kvm_cpuid_entry2 *leaf1 = cpuid_find(vm->cpuid->entries, vm->cpuid->nent, 1, 0);
    if (leaf1 != NULL && kvm_check_cap(vm->kvm, KVM_CAP_TSC_DEADLINE_TIMER) > 0)
        leaf1->ecx |= 1U << 24;
    /* room for the rebuilt topology leaves (at most 3 more entries) */
    struct kvm_cpuid2 *c =
        realloc(vm->cpuid, sizeof(*c) + (vm->cpuid->nent + 3) * sizeof(c->entries[0]));
    if (c == NULL)
        return error_set(err, -ENOMEM, "out of memory");
    vm->cpuid = c;
    c->nent = (uint32_t)cpuid_rebuild_topology(c->entries, c->nent);
    return 0;
}

int vm_create(struct kvm *kvm, struct gmem *gm, unsigned ncpus, enum cpu_model model,
              enum vm_irqchip irqchip, struct vm **out, struct error *err)
{
    struct vm *vm;
    int ret;
    if (ncpus == 0 || ncpus > MAX_VCPUS || ncpus > kvm->max_vcpus)
        return error_set(err, -EINVAL, "%u vCPUs requested, KVM allows 1..%u", ncpus,
                         MIN(kvm->max_vcpus, (unsigned)MAX_VCPUS));
    vm = calloc(1, sizeof(*vm));
    if (vm == NULL)
        return error_set(err, -ENOMEM, "out of memory");
    vm->kvm = kvm;
    vm->gm = gm;
    vm->ncpus = ncpus;
    vm->irqchip = irqchip;
    vm->io_fn = io_unclaimed;
    vm->platform = (struct platform){.ops = &kvm_platform_ops, .opaque = vm};
    pthread_mutex_init(&vm->lock, NULL);
    pthread_cond_init(&vm->cond, NULL);
    pthread_mutex_init(&vm->route_lock, NULL);
    for (unsigned i = 0; i < VM_MAX_IRQFDS; i++)
        vm->irqfds[i].fd = -1;
    /* A signal (the SIGTERM that stops a rebooting monitor) may interrupt the creation: try
     * again, and the caller's loop then sees the signal and exits as it asks. */
    do
        vm->fd = ioctl(kvm->fd, KVM_CREATE_VM, 0UL);
    while (vm->fd < 0 && errno == EINTR);
    if (vm->fd < 0) {
        ret = error_set(err, -errno, "KVM_CREATE_VM: %s", strerror(errno));
        goto err_destroy;
    }
    ret = setup_vm(vm, err);
    if (ret == 0)
        ret = setup_cpuid(vm, model, err);
    for (unsigned i = 0; ret == 0 && i < ncpus; i++) {
        ret = vcpu_create(vm, i, &vm->vcpus[i]);
        if (ret < 0)
            error_set(err, ret, "cannot create vcpu%u: %s", i, strerror(-ret));
    }
    if (ret < 0)
        goto err_destroy;
    *out = vm;
    return 0;
err_destroy:
    vm_destroy(vm);
    return ret;
}

void vm_destroy(struct vm *vm)
{
    if (vm == NULL)
        return;
    for (unsigned i = 0; i < vm->ncpus; i++)
        if (vm->vcpus[i] != NULL)
            vcpu_request_stop(vm->vcpus[i]);
    for (unsigned i = 0; i < vm->ncpus; i++)
        vcpu_destroy(vm->vcpus[i]);
    if (vm->fd >= 0)
        close(vm->fd);
    free(vm->cpuid);
    pthread_cond_destroy(&vm->cond);
    pthread_mutex_destroy(&vm->lock);
    pthread_mutex_destroy(&vm->route_lock);
    free(vm);
}

void vm_set_io_handler(struct vm *vm, vm_io_fn fn, void *opaque)
{
    vm->io_fn = fn;
    vm->io_opaque = opaque;
}

void vm_set_irqchip_ops(struct vm *vm, const struct vm_irqchip_ops *ops, void *opaque)
{
    vm->chip_ops = ops;
    vm->chip_opaque = opaque;
}

void vm_set_notify(struct vm *vm, vm_notify_fn fn, void *opaque)
{
    vm->notify_fn = fn;
    vm->notify_opaque = opaque;
}

const struct platform *vm_platform(struct vm *vm)
{
    return &vm->platform;
}

int vm_start(struct vm *vm)
{
    int ret = vm_start_paused(vm);
    if (ret == 0)
        vm_resume(vm);
    return ret;
}

int vm_start_paused(struct vm *vm)
{
    for (unsigned i = 0; i < vm->ncpus; i++) {
        int ret = vcpu_start(vm->vcpus[i]);
        if (ret < 0) {
            vm_request(vm, VM_REQ_CRASH, 0);
            return ret;
        }
        pthread_mutex_lock(&vm->lock);
        vm->live_threads++;
        pthread_mutex_unlock(&vm->lock);
    }
    return 0;
}

void vm_pause(struct vm *vm)
{
    for (unsigned i = 0; i < vm->ncpus; i++)
        vcpu_pause(vm->vcpus[i]);
    /*
     * kvmclock keeps running while the vCPUs are stopped: flag the stop in each vCPU's pvclock
     * page so the guest's soft-lockup/RCU-stall watchdogs ignore the gap (api.rst
     * KVM_KVMCLOCK_CTRL; QEMU does the same). EINVAL: the guest has not enabled kvmclock.
     */
    for (unsigned i = 0; i < vm->ncpus; i++)
        if (ioctl(vm->vcpus[i]->fd, KVM_KVMCLOCK_CTRL, 0) < 0 && errno != EINVAL)
            log_debug("vcpu%u: KVM_KVMCLOCK_CTRL: %s", i, strerror(errno));
}

void vm_resume(struct vm *vm)
{
    for (unsigned i = 0; i < vm->ncpus; i++)
        vcpu_resume(vm->vcpus[i]);
}

bool vm_is_paused(struct vm *vm)
{
    for (unsigned i = 0; i < vm->ncpus; i++)
        if (vcpu_get_state(vm->vcpus[i]) == VCPU_RUNNING)
            return false;
    return true;
}

void vm_request(struct vm *vm, enum vm_request req, int code)
{
    bool is_first;
    pthread_mutex_lock(&vm->lock);
    is_first = vm->req == VM_REQ_NONE;
    if (is_first) {
        vm->req = req;
        vm->req_code = code;
    }
    pthread_cond_broadcast(&vm->cond);
    pthread_mutex_unlock(&vm->lock);
    if (!is_first)
        return;
    log_debug("request %d (code %d)", (int)req, code);
    if (vm->notify_fn != NULL)
        vm->notify_fn(vm->notify_opaque);
    for (unsigned i = 0; i < vm->ncpus; i++)
        vcpu_request_stop(vm->vcpus[i]);
}

enum vm_request vm_pending(struct vm *vm)
{
    enum vm_request req;
    pthread_mutex_lock(&vm->lock);
    req = vm->req;
    pthread_mutex_unlock(&vm->lock);
    return req;
}

void vm_vcpu_thread_exited(struct vm *vm)
{
    bool is_last;
    pthread_mutex_lock(&vm->lock);
    if (vm->live_threads > 0)
        vm->live_threads--;
    is_last = vm->live_threads == 0;
    pthread_cond_broadcast(&vm->cond);
    pthread_mutex_unlock(&vm->lock);
    if (is_last && vm->notify_fn != NULL)
        vm->notify_fn(vm->notify_opaque);
}

enum vm_request vm_wait(struct vm *vm, int *code)
{
    enum vm_request req;
    pthread_mutex_lock(&vm->lock);
    while (vm->req == VM_REQ_NONE && vm->live_threads > 0)
        pthread_cond_wait(&vm->cond, &vm->lock);
    if (vm->req == VM_REQ_NONE)
        vm->req = VM_REQ_HALTED;
    req = vm->req;
    *code = vm->req_code;
    pthread_mutex_unlock(&vm->lock);
    vm_stop(vm);
    return req;
}

bool vm_is_done(struct vm *vm)
{
    bool is_done;
    pthread_mutex_lock(&vm->lock);
    is_done = vm->req != VM_REQ_NONE || vm->live_threads == 0;
    pthread_mutex_unlock(&vm->lock);
    return is_done;
}

void vm_stop(struct vm *vm)
{
    for (unsigned i = 0; i < vm->ncpus; i++)
        if (vm->vcpus[i] != NULL)
            vcpu_request_stop(vm->vcpus[i]);
    for (unsigned i = 0; i < vm->ncpus; i++)
        if (vm->vcpus[i] != NULL)
            vcpu_join(vm->vcpus[i]);
}
