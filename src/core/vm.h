/* SPDX-License-Identifier: MIT */
/*
 * A KVM virtual machine (Documentation/virt/kvm/api.rst §4.2 KVM_CREATE_VM): the VM fd, its
 * TSS and identity-map pages, the irqchip, the memslots for every gmem region, the vCPUs, and
 * the machine-level request box that vCPU threads, devices and the control API use to ask for
 * power-off, reset or exit.
 *
 * Two irqchips (enum vm_irqchip): the whole PC chipset in the kernel (PIC + IOAPIC + LAPICs
 * and the PIT, KVM_CREATE_IRQCHIP + KVM_CREATE_PIT2), or a split irqchip (api.rst
 * KVM_CAP_SPLIT_IRQCHIP: only the LAPICs in the kernel, the IOAPIC in the monitor, no PIC and
 * no PIT). Creating and destroying the in-kernel PIT and PIC/IOAPIC costs most of a tiny
 * guest's start-up; a guest with a LAPIC timer, TSC and kvmclock needs neither.
 *
 * It implements struct platform_ops (core/platform.h) for devices: set_irq is KVM_IRQ_LINE
 * with the kernel irqchip and the userspace interrupt controller's set_irq
 * (vm_set_irqchip_ops) with the split one, send_msi is KVM_SIGNAL_MSI, set_msi_routes is
 * KVM_SET_GSI_ROUTING, ioeventfd is KVM_IOEVENTFD, and the request_* calls set the request and
 * kick every vCPU.
 *
 * PIO/MMIO exits are forwarded to one callback set by the machine (vm_set_io_handler), so
 * core depends on no device code.
 *
 * Threads: the main thread creates/destroys the VM and waits in vm_wait(); vCPU threads and
 * the event loop call vm_request() and the platform ops. (lock) protects the request box and
 * the count of live vCPU threads.
 */
#ifndef BAREIRON_CORE_VM_H
#define BAREIRON_CORE_VM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/compiler.h"
#include "base/error.h"
#include "core/x86/cpuid.h"
#include "core/x86/layout.h"
#include "core/platform.h"

struct kvm;
struct gmem;
struct vcpu;
struct kvm_cpuid2;

enum vm_irqchip {
    VM_IRQCHIP_SPLIT,  /* LAPICs in KVM; IOAPIC in the monitor; no PIC, no PIT */
    VM_IRQCHIP_KERNEL, /* PIC, IOAPIC, LAPICs and PIT in KVM */
};

/* The interrupt controller in the monitor with a split irqchip (dev/irq/ioapic.h). */
struct vm_irqchip_ops {
    /* Sets the level of line (gsi). Any thread. */
    void (*set_irq)(void *opaque, uint32_t gsi, bool level);
    /* A vCPU's LAPIC signalled EOI for level-triggered (vector) (KVM_EXIT_IOAPIC_EOI). */
    void (*eoi)(void *opaque, uint8_t vector);
};

/* Why the VM wants to stop running; the first request wins. */
enum vm_request {
    VM_REQ_NONE,
    VM_REQ_POWEROFF,     /* ACPI S5, KVM_SYSTEM_EVENT_SHUTDOWN, control "poweroff" */
    VM_REQ_RESET,        /* i8042 / port 0xcf9-style reset, KVM_SYSTEM_EVENT_RESET */
    VM_REQ_TRIPLE_FAULT, /* KVM_EXIT_SHUTDOWN: a reset unless --no-reboot */
    VM_REQ_EXIT,         /* isa-debug-exit with a code */
    VM_REQ_CRASH,        /* internal error, failed entry, unknown exit */
    VM_REQ_HALTED,       /* every vCPU thread stopped on its own (HLT without irqchip, errors) */
    VM_REQ_SIGNAL,       /* the monitor got SIGTERM/SIGINT/SIGHUP, or Ctrl-A x */
};

/* Told (on any thread) that a request was posted or the last vCPU thread returned, so the main
 * thread can leave its event loop and call vm_wait(). Must not block. */
typedef void (*vm_notify_fn)(void *opaque);

/*
 * Handles one PIO (is_pio) or MMIO access of (size) bytes at (addr). For a read, (*val) comes
 * in as all-ones and the handler sets it; for a write, (*val) is the value, zero-extended from
 * (size) bytes. Called on vCPU threads.
 */
typedef void (*vm_io_fn)(void *opaque, bool is_pio, uint64_t addr, unsigned size, bool is_write,
                         uint64_t *val);

/* An eventfd that raises an MSI in the kernel (vm_irqfd_msi): GSI VM_IRQFD_GSI_BASE + slot. */
#define VM_MAX_IRQFDS 64u
#define VM_IRQFD_GSI_BASE 24u
struct vm_irqfd {
    int fd; /* -1: free slot */
    uint64_t addr;
    uint32_t data;
};

struct vm {
    struct kvm *kvm;
    struct gmem *gm;
    int fd;
    unsigned ncpus;
    struct vcpu *vcpus[MAX_VCPUS];
    struct kvm_cpuid2 *cpuid; /* the model-masked supported CPUID, fixed up per vCPU */
    vm_io_fn io_fn;
    void *io_opaque;
    struct platform platform;
    enum vm_irqchip irqchip;
    const struct vm_irqchip_ops *chip_ops; /* VM_IRQCHIP_SPLIT: set before vm_start() */
    void *chip_opaque;
    vm_notify_fn notify_fn;
    void *notify_opaque;

    pthread_mutex_t lock;
    pthread_cond_t cond;
    enum vm_request req;
    int req_code;          /* VM_REQ_EXIT: the exit status */
    unsigned live_threads; /* vCPU threads that have not returned */

    /* The GSI routing table (irq.c), under route_lock: the userspace IOAPIC's MSI routes (GSI
     * = pin) and the irqfds' (GSI VM_IRQFD_GSI_BASE + slot). */
    pthread_mutex_t route_lock;
    unsigned nioapic_routes;
    struct platform_msi_route ioapic_routes[IOAPIC_NUM_PINS];
    struct vm_irqfd irqfds[VM_MAX_IRQFDS];
};

/*
 * Creates a VM on (kvm) with (ncpus) vCPUs of CPU model (model) and irqchip (irqchip) over guest
 * memory (gm) (each region becomes a memslot; the VM does not own gm): KVM_CREATE_VM,
 * TSS/identity map, KVM_CREATE_IRQCHIP + KVM_CREATE_PIT2 or KVM_CAP_SPLIT_IRQCHIP with
 * IOAPIC_NUM_PINS reserved routes, memslots, vCPUs (created, not started). Returns 0 and
 * (*out), or -errno with (err) set (-ENOTSUP: this KVM has no split irqchip).
 */
MUST_CHECK int vm_create(struct kvm *kvm, struct gmem *gm, unsigned ncpus, enum cpu_model model,
                         enum vm_irqchip irqchip, struct vm **out, struct error *err);
/* Stops and joins every vCPU thread, closes all fds and frees (vm). NULL allowed. */
void vm_destroy(struct vm *vm);

/*
 * Kernel irqchip: makes the in-kernel PIT drop the ticks the guest did not acknowledge in time
 * instead of queueing them (KVM_REINJECT_CONTROL, QEMU's kvm-pit lost_tick_policy=discard).
 * Returns 0, or -errno (-ENOTSUP without KVM_CAP_REINJECT_CONTROL or with the split irqchip).
 */
MUST_CHECK int vm_pit_discard_lost_ticks(struct vm *vm);
/* Sets the PIO/MMIO exit handler. Call before vm_start(). */
void vm_set_io_handler(struct vm *vm, vm_io_fn fn, void *opaque);
/* Connects the userspace interrupt controller of a split irqchip: (ops) with (opaque) get the
 * platform's set_irq calls and the EOI exits. Call before vm_start(). */
void vm_set_irqchip_ops(struct vm *vm, const struct vm_irqchip_ops *ops, void *opaque);
/* Sets the request notifier. Call before vm_start(). */
void vm_set_notify(struct vm *vm, vm_notify_fn fn, void *opaque);
/* The platform (ops + opaque) to hand to devices. */
const struct platform *vm_platform(struct vm *vm);

/* Starts every vCPU thread and lets them run. Returns 0 or -errno (then nothing runs). */
MUST_CHECK int vm_start(struct vm *vm);
/*
 * KVM's dirty log of the writable RAM slots (a live save, vmm/machine_state_live.c):
 * vm_dirty_log sets or clears KVM_MEM_LOG_DIRTY_PAGES on every slot but the ROMs';
 * vm_dirty_log_get fetches and clears the log of slot (slot) (the gmem region of the same
 * index) into (bitmap), a bit per page, gmem_bitmap_words() words. Return 0 or -errno.
 */
MUST_CHECK int vm_dirty_log(struct vm *vm, bool is_on);
MUST_CHECK int vm_dirty_log_get(struct vm *vm, unsigned slot, uint64_t *bitmap);
/* Starts every vCPU thread paused (vm_resume lets them run). Returns 0 or -errno. */
MUST_CHECK int vm_start_paused(struct vm *vm);
/* Pauses every vCPU and waits until all are out of KVM_RUN. Main/event-loop thread only. */
void vm_pause(struct vm *vm);
/* Resumes every paused vCPU. */
void vm_resume(struct vm *vm);
/* True when vm_pause() is in effect. */
bool vm_is_paused(struct vm *vm);

/* Posts (req) (with (code) for VM_REQ_EXIT) unless a request is pending, wakes vm_wait() and
 * kicks every vCPU out of the guest. Thread-safe, callable from vCPU threads. */
void vm_request(struct vm *vm, enum vm_request req, int code);
/* Blocks until a request is posted or every vCPU thread has stopped; stops all vCPUs and
 * returns the request (VM_REQ_HALTED in the second case), with its code in (*code). */
enum vm_request vm_wait(struct vm *vm, int *code);
/* Non-blocking: the pending request or VM_REQ_NONE. */
enum vm_request vm_pending(struct vm *vm);
/* True once a request is pending or every vCPU thread has stopped (vm_wait would not block).
 * Thread-safe. */
bool vm_is_done(struct vm *vm);
/* Stops and joins every vCPU thread (started or not); afterwards nothing runs guest code or
 * reaches a device from a vCPU. Main thread. */
void vm_stop(struct vm *vm);

/* Called by a vCPU thread when it returns. */
void vm_vcpu_thread_exited(struct vm *vm);

/* core/irq.c: KVM_IRQ_LINE on (gsi) (kernel irqchip), or the userspace controller's set_irq
 * (split irqchip; -ENODEV before vm_set_irqchip_ops); KVM_SIGNAL_MSI; KVM_SET_GSI_ROUTING with
 * (n) MSI routes (n <= IOAPIC_NUM_PINS). Return 0 or -errno. */
int vm_irq_line(struct vm *vm, uint32_t gsi, bool level);
int vm_set_msi_routes(struct vm *vm, const struct platform_msi_route *routes, unsigned n);
int vm_signal_msi(struct vm *vm, uint64_t addr, uint32_t data);
/*
 * Makes a signal of eventfd (fd) raise the MSI (addr, data) inside the kernel (KVM_IRQFD over
 * an MSI route of its own), or, for an (fd) routed already, changes its message. Both
 * irqchips (with the kernel one, the table handed to KVM keeps its default PIC and IOAPIC
 * routes). Returns 0 or -errno (-ENOSPC: VM_MAX_IRQFDS in use). vm_irqfd_remove undoes it (no-op
 * for an fd not routed). Thread-safe.
 */
int vm_irqfd_msi(struct vm *vm, int fd, uint64_t addr, uint32_t data);
void vm_irqfd_remove(struct vm *vm, int fd);
/* The routes KVM_CREATE_IRQCHIP installs (GSI 0..15 to the IOAPIC pin and the 8259 pin, 16..23
 * to the IOAPIC pin), written to (e) (VM_DEFAULT_ROUTES entries of struct
 * kvm_irq_routing_entry); returns their count. */
#define VM_DEFAULT_ROUTES (IOAPIC_NUM_PINS + 16u)
struct kvm_irq_routing_entry;
unsigned vm_default_routes(struct kvm_irq_routing_entry *e);
/* core/ioevent.c: KVM_IOEVENTFD (len 0 = any size). Returns 0 or -errno. */
int vm_ioeventfd(struct vm *vm, uint64_t addr, unsigned len, bool is_pio, int fd, bool is_assign);

/* Device memory slots (core/devmem.c), numbered 0..VM_DEVMEM_SLOTS-1. */
#define VM_DEVMEM_SLOTS 4
/*
 * Maps (size) bytes of host memory at (hva) (page aligned, owned by the caller, alive while
 * mapped) at guest address (gpa) as device slot (slot), with dirty logging when
 * (is_dirty_logged); (size) 0 removes the slot. A slot moves by removing and adding it.
 * Any thread. Returns 0 or -errno.
 */
MUST_CHECK int vm_set_devmem(struct vm *vm, unsigned slot, uint64_t gpa, void *hva, uint64_t size,
                             bool is_dirty_logged);
/* The same read-only (KVM_MEM_READONLY): guest reads are direct, writes exit as MMIO. */
MUST_CHECK int vm_set_devmem_rom(struct vm *vm, unsigned slot, uint64_t gpa, void *hva,
                                 uint64_t size);
/*
 * Copies device slot (slot)'s dirty log into (bitmap) (one bit per 4 KiB page, the slot's size
 * rounded up to 64 pages) and clears it. Returns 0 or -errno (-ENOENT: the slot is not mapped).
 */
MUST_CHECK int vm_get_dirty_log(struct vm *vm, unsigned slot, uint64_t *bitmap);

#endif
