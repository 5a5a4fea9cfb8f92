/* SPDX-License-Identifier: MIT */
/*
 * One virtual CPU and its thread (api.rst §4.7 KVM_CREATE_VCPU, §4.10 KVM_RUN). Each vCPU runs
 * a small state machine driven by a mutex+condvar mailbox (Firecracker's model):
 *
 *   CREATED --start--> PAUSED --resume--> RUNNING --pause--> PAUSED
 *                        |                   |
 *                        +------stop---------+------------> STOPPED (thread returns)
 *
 * Other threads write the wanted state and kick the vCPU out of the guest by setting
 * kvm_run->immediate_exit and sending SIGUSR1 (empty handler, no SA_RESTART). The exit loop is
 * a switch calling one small function per exit reason; PIO/MMIO go to the VM's io handler.
 */
#ifndef BAREIRON_CORE_VCPU_H
#define BAREIRON_CORE_VCPU_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "base/compiler.h"
#include "core/x86/regs.h"

struct vm;
struct kvm_run;
struct kvm_cpuid_entry2;

enum vcpu_state {
    VCPU_CREATED,
    VCPU_PAUSED,
    VCPU_RUNNING,
    VCPU_STOPPED,
};

struct vcpu_stats {
    atomic_uint_fast64_t exits;      /* every return from KVM_RUN */
    atomic_uint_fast64_t exits_io;   /* KVM_EXIT_IO */
    atomic_uint_fast64_t exits_mmio; /* KVM_EXIT_MMIO */
    atomic_uint_fast64_t run_ns;     /* time spent inside KVM_RUN */
};

struct vcpu {
    struct vm *vm;
    unsigned index;
    int fd;
    struct kvm_run *run;
    size_t run_bytes;
    pthread_t thread;
    bool has_thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    enum vcpu_state state; /* what the thread is doing (lock) */
    enum vcpu_state want;  /* what others asked for (lock) */
    struct vcpu_stats stats;
};

/*
 * Creates vCPU (index) of (vm): KVM_CREATE_VCPU, maps kvm_run, sets CPUID (vm->cpuid fixed up
 * for this index), boot MSRs, FPU defaults and the LAPIC LINT0/LINT1 modes (ExtINT / NMI).
 * Returns 0 and (*out) or -errno.
 */
MUST_CHECK int vcpu_create(struct vm *vm, unsigned index, struct vcpu **out);
/* Stops and joins the thread if any, unmaps and closes. NULL allowed. */
void vcpu_destroy(struct vcpu *vcpu);

/*
 * Gives (vcpu) the CPUID table (e, n) (the VM's, before the per-vCPU fix-ups, which this adds)
 * with KVM_SET_CPUID2. vcpu_create sets the VM's table; a restore sets the saved one. Before
 * the vCPU first runs (KVM refuses a different table after KVM_RUN). Returns 0 or -errno.
 */
MUST_CHECK int vcpu_set_cpuid(struct vcpu *vcpu, const struct kvm_cpuid_entry2 *e, size_t n);

/* Loads the boot CPU state for (b) (regs/sregs). Before vcpu_start(). Returns 0 or -errno. */
MUST_CHECK int vcpu_set_boot_state(struct vcpu *vcpu, const struct boot_cpu *b);

/* CREATED -> PAUSED: starts the thread. Returns 0 or -errno. */
MUST_CHECK int vcpu_start(struct vcpu *vcpu);
/* PAUSED -> RUNNING. */
void vcpu_resume(struct vcpu *vcpu);
/* RUNNING -> PAUSED; waits until the thread is out of KVM_RUN (or stopped). */
void vcpu_pause(struct vcpu *vcpu);
/* Asks the thread to stop (any state -> STOPPED) and kicks it; does not wait. */
void vcpu_request_stop(struct vcpu *vcpu);
/* Waits for the thread to return. */
void vcpu_join(struct vcpu *vcpu);
/* The current state (for stats/queries). */
enum vcpu_state vcpu_get_state(struct vcpu *vcpu);

/*
 * The data of one PIO/MMIO exit (x86 is little-endian): vcpu_io_load() returns the (size)
 * bytes (1-8) at (data) zero-extended, the value a write hands to the VM's io handler;
 * vcpu_io_store() puts the low (size) bytes of (val) there, the answer to a read. A (size)
 * above 8 is clamped to 8.
 */
uint64_t vcpu_io_load(const void *data, unsigned size);
void vcpu_io_store(void *data, unsigned size, uint64_t val);

/* Prints the vCPU's registers and up to 16 instruction bytes at RIP to (f) (crash reports).
 * Rate-limited per process: the first 3 dumps in full, then a count at each power of two. */
void vcpu_dump(struct vcpu *vcpu, FILE *f);

#endif
