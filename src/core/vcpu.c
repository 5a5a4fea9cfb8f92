/* SPDX-License-Identifier: MIT */
/*
 * Implementation of the vCPU thread, its mailbox and the exit loop of core/vcpu.h
 * (Documentation/virt/kvm/api.rst §4.10 KVM_RUN and §5 "The kvm_run structure"). Creation-time
 * register setup lives in vcpu_setup.c.
 */
#define LOG_TAG "vcpu"
#include "core/vcpu.h"

#include <errno.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/log.h"
#include "base/thread_class.h"
#include "base/util.h"
#include "core/vm.h"

enum exit_action {
    EXIT_CONTINUE,
    EXIT_STOP, /* this vCPU stops; the VM request (if any) was posted */
};

static void kick_handler(int sig)
{
    (void)sig;
}

static pthread_once_t kick_once = PTHREAD_ONCE_INIT;

static void install_kick_handler(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = kick_handler; /* no SA_RESTART: KVM_RUN must return EINTR */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
}

/* Called with vcpu->lock held. */
static void kick_locked(struct vcpu *vcpu)
{
    vcpu->run->immediate_exit = 1;
    if (vcpu->has_thread && vcpu->state == VCPU_RUNNING)
        pthread_kill(vcpu->thread, SIGUSR1);
}

static void set_want(struct vcpu *vcpu, enum vcpu_state want)
{
    pthread_mutex_lock(&vcpu->lock);
    if (vcpu->want != VCPU_STOPPED)
        vcpu->want = want;
    if (want != VCPU_RUNNING)
        kick_locked(vcpu);
    pthread_cond_broadcast(&vcpu->cond);
    pthread_mutex_unlock(&vcpu->lock);
}

void vcpu_resume(struct vcpu *vcpu)
{
    set_want(vcpu, VCPU_RUNNING);
}

void vcpu_request_stop(struct vcpu *vcpu)
{
    set_want(vcpu, VCPU_STOPPED);
}

void vcpu_pause(struct vcpu *vcpu)
{
    set_want(vcpu, VCPU_PAUSED);
    pthread_mutex_lock(&vcpu->lock);
    while (vcpu->has_thread && vcpu->state == VCPU_RUNNING)
        pthread_cond_wait(&vcpu->cond, &vcpu->lock);
    pthread_mutex_unlock(&vcpu->lock);
}

enum vcpu_state vcpu_get_state(struct vcpu *vcpu)
{
    enum vcpu_state s;
    pthread_mutex_lock(&vcpu->lock);
    s = vcpu->state;
    pthread_mutex_unlock(&vcpu->lock);
    return s;
}

/* PAUSED/RUNNING transitions: blocks while paused. Returns false when the thread must stop. */
static bool mailbox_wait_runnable(struct vcpu *vcpu)
{
    bool run;
    pthread_mutex_lock(&vcpu->lock);
    while (vcpu->want == VCPU_PAUSED) {
        if (vcpu->state != VCPU_PAUSED) {
            vcpu->state = VCPU_PAUSED; /* RUNNING --pause--> PAUSED */
            pthread_cond_broadcast(&vcpu->cond);
        }
        pthread_cond_wait(&vcpu->cond, &vcpu->lock);
    }
    run = vcpu->want == VCPU_RUNNING;
    if (run) {
        /* PAUSED --resume--> RUNNING. Cleared under the lock so a kick (which sets it under
         * the lock too) after this point is never lost. */
        vcpu->state = VCPU_RUNNING;
        vcpu->run->immediate_exit = 0;
    }
    pthread_mutex_unlock(&vcpu->lock);
    return run;
}

uint64_t vcpu_io_load(const void *data, unsigned size)
{
    uint64_t val = 0;
    memcpy(&val, data, size < sizeof(val) ? size : sizeof(val));
    return val;
}

void vcpu_io_store(void *data, unsigned size, uint64_t val)
{
    memcpy(data, &val, size < sizeof(val) ? size : sizeof(val));
}

static enum exit_action exit_io(struct vcpu *vcpu)
{
    struct kvm_run *run = vcpu->run;
    unsigned size = run->io.size;
    bool is_write = run->io.direction == KVM_EXIT_IO_OUT;
    uint64_t off = run->io.data_offset;
    uint8_t *data;
    atomic_fetch_add(&vcpu->stats.exits_io, 1);
    /* data_offset and count come from the kernel, but stay inside the mapping regardless. */
    if (size == 0 || size > 8 || off + (uint64_t)run->io.count * size > vcpu->run_bytes)
        return EXIT_CONTINUE;
    data = (uint8_t *)run + off;
    for (uint32_t i = 0; i < run->io.count; i++, data += size) {
        uint64_t val = is_write ? vcpu_io_load(data, size) : UINT64_MAX;
        vcpu->vm->io_fn(vcpu->vm->io_opaque, true, run->io.port, size, is_write, &val);
        if (!is_write)
            vcpu_io_store(data, size, val);
    }
    return EXIT_CONTINUE;
}

static enum exit_action exit_mmio(struct vcpu *vcpu)
{
    struct kvm_run *run = vcpu->run;
    unsigned len = run->mmio.len;
    uint64_t val;
    atomic_fetch_add(&vcpu->stats.exits_mmio, 1);
    if (len == 0 || len > 8)
        return EXIT_CONTINUE;
    val = run->mmio.is_write ? vcpu_io_load(run->mmio.data, len) : UINT64_MAX;
    vcpu->vm->io_fn(vcpu->vm->io_opaque, false, run->mmio.phys_addr, len, run->mmio.is_write, &val);
    if (!run->mmio.is_write)
        vcpu_io_store(run->mmio.data, len, val);
    return EXIT_CONTINUE;
}

static enum exit_action exit_hlt(struct vcpu *vcpu)
{
    /* Only seen without an in-kernel LAPIC: nothing can wake this vCPU again. */
    log_info("vcpu%u halted", vcpu->index);
    return EXIT_STOP;
}

/* Split irqchip: the LAPIC got EOI for a vector the userspace IOAPIC delivered level-triggered. */
static enum exit_action exit_ioapic_eoi(struct vcpu *vcpu)
{
    struct vm *vm = vcpu->vm;
    if (vm->chip_ops != NULL)
        vm->chip_ops->eoi(vm->chip_opaque, vcpu->run->eoi.vector);
    return EXIT_CONTINUE;
}

static enum exit_action exit_shutdown(struct vcpu *vcpu)
{
    log_error("vcpu%u: triple fault (KVM_EXIT_SHUTDOWN)", vcpu->index);
    vcpu_dump(vcpu, stderr);
    vm_request(vcpu->vm, VM_REQ_TRIPLE_FAULT, 0);
    return EXIT_STOP;
}

static enum exit_action exit_internal_error(struct vcpu *vcpu)
{
    log_error("vcpu%u: KVM internal error, suberror %u", vcpu->index, vcpu->run->internal.suberror);
    vcpu_dump(vcpu, stderr);
    vm_request(vcpu->vm, VM_REQ_CRASH, 0);
    return EXIT_STOP;
}

static enum exit_action exit_fail_entry(struct vcpu *vcpu)
{
    log_error("vcpu%u: VM entry failed, hardware reason 0x%llx", vcpu->index,
              (unsigned long long)vcpu->run->fail_entry.hardware_entry_failure_reason);
    vcpu_dump(vcpu, stderr);
    vm_request(vcpu->vm, VM_REQ_CRASH, 0);
    return EXIT_STOP;
}

static enum exit_action exit_system_event(struct vcpu *vcpu)
{
    switch (vcpu->run->system_event.type) {
    case KVM_SYSTEM_EVENT_SHUTDOWN:
        vm_request(vcpu->vm, VM_REQ_POWEROFF, 0);
        return EXIT_STOP;
    case KVM_SYSTEM_EVENT_RESET:
        vm_request(vcpu->vm, VM_REQ_RESET, 0);
        return EXIT_STOP;
    case KVM_SYSTEM_EVENT_CRASH:
        log_error("vcpu%u: guest crash event", vcpu->index);
        vm_request(vcpu->vm, VM_REQ_CRASH, 0);
        return EXIT_STOP;
    default:
        log_ratelimited(LOG_WARN, "vcpu%u: ignoring system event %u", vcpu->index,
                        vcpu->run->system_event.type);
        return EXIT_CONTINUE;
    }
}

static enum exit_action exit_unknown(struct vcpu *vcpu)
{
    log_error("vcpu%u: unexpected exit reason %u", vcpu->index, vcpu->run->exit_reason);
    vcpu_dump(vcpu, stderr);
    vm_request(vcpu->vm, VM_REQ_CRASH, 0);
    return EXIT_STOP;
}

static enum exit_action handle_exit(struct vcpu *vcpu)
{
    switch (vcpu->run->exit_reason) {
    case KVM_EXIT_IO:
        return exit_io(vcpu);
    case KVM_EXIT_MMIO:
        return exit_mmio(vcpu);
    case KVM_EXIT_HLT:
        return exit_hlt(vcpu);
    case KVM_EXIT_SHUTDOWN:
        return exit_shutdown(vcpu);
    case KVM_EXIT_INTERNAL_ERROR:
        return exit_internal_error(vcpu);
    case KVM_EXIT_FAIL_ENTRY:
        return exit_fail_entry(vcpu);
    case KVM_EXIT_SYSTEM_EVENT:
        return exit_system_event(vcpu);
    case KVM_EXIT_IOAPIC_EOI:
        return exit_ioapic_eoi(vcpu);
    case KVM_EXIT_INTR:
    case KVM_EXIT_IRQ_WINDOW_OPEN:
        return EXIT_CONTINUE;
    default:
        return exit_unknown(vcpu);
    }
}

/* One KVM_RUN and its exit. Returns false when the thread must stop. */
static bool run_once(struct vcpu *vcpu)
{
    uint64_t t0 = time_now_ns();
    int ret = ioctl(vcpu->fd, KVM_RUN, 0);
    int saved = errno;
    atomic_fetch_add(&vcpu->stats.run_ns, time_now_ns() - t0);
    atomic_fetch_add(&vcpu->stats.exits, 1);
    if (ret < 0) {
        if (saved == EINTR || saved == EAGAIN)
            return true; /* kicked: look at the mailbox */
        log_error("vcpu%u: KVM_RUN: %s", vcpu->index, strerror(saved));
        vm_request(vcpu->vm, VM_REQ_CRASH, 0);
        return false;
    }
    return handle_exit(vcpu) == EXIT_CONTINUE;
}

static void *vcpu_thread(void *opaque)
{
    struct vcpu *vcpu = opaque;
    char name[16];
    sigset_t set;
    snprintf(name, sizeof(name), "vcpu%u", vcpu->index);
    thread_class_enter(THREAD_CLASS_VCPU);
    log_set_thread_name(name);
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    while (mailbox_wait_runnable(vcpu))
        if (!run_once(vcpu))
            break;
    pthread_mutex_lock(&vcpu->lock);
    vcpu->state = VCPU_STOPPED; /* any --stop--> STOPPED */
    vcpu->want = VCPU_STOPPED;
    pthread_cond_broadcast(&vcpu->cond);
    pthread_mutex_unlock(&vcpu->lock);
    vm_vcpu_thread_exited(vcpu->vm);
    return NULL;
}

int vcpu_start(struct vcpu *vcpu)
{
    int ret;
    pthread_once(&kick_once, install_kick_handler);
    pthread_mutex_lock(&vcpu->lock);
    vcpu->state = VCPU_PAUSED; /* CREATED --start--> PAUSED */
    if (vcpu->want == VCPU_CREATED)
        vcpu->want = VCPU_PAUSED;
    ret = -pthread_create(&vcpu->thread, NULL, vcpu_thread, vcpu);
    vcpu->has_thread = ret == 0;
    if (ret < 0)
        vcpu->state = VCPU_STOPPED;
    pthread_mutex_unlock(&vcpu->lock);
    return ret;
}

void vcpu_join(struct vcpu *vcpu)
{
    if (!vcpu->has_thread)
        return;
    pthread_join(vcpu->thread, NULL);
    vcpu->has_thread = false;
}

void vcpu_destroy(struct vcpu *vcpu)
{
    if (vcpu == NULL)
        return;
    if (vcpu->has_thread) {
        vcpu_request_stop(vcpu);
        vcpu_join(vcpu);
    }
    if (vcpu->run != NULL)
        munmap(vcpu->run, vcpu->run_bytes);
    if (vcpu->fd >= 0)
        close(vcpu->fd);
    pthread_cond_destroy(&vcpu->cond);
    pthread_mutex_destroy(&vcpu->lock);
    free(vcpu);
}
