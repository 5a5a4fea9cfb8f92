/* SPDX-License-Identifier: MIT */
/*
 * A VM's KVM-side state for saved states (docs/vmm.md "Saved state"; api.rst KVM_GET_REGS,
 * KVM_GET_SREGS, KVM_GET_XSAVE/XSAVE2, KVM_GET_XCRS, KVM_GET_MSRS, KVM_GET_LAPIC,
 * KVM_GET_VCPU_EVENTS, KVM_GET_MP_STATE, KVM_GET_DEBUGREGS; KVM_GET_CLOCK, KVM_GET_IRQCHIP,
 * KVM_GET_PIT2).
 *
 * Each is a list of records {u32 tag, u32 length, the kernel struct's bytes}: the structs are
 * the kernel's fixed x86-64 ABI. A load checks every record's length against the struct it
 * fills, refuses a record it does not know or a missing required one, and applies them in the
 * order KVM needs: sregs, regs, FPU/XSAVE, XCRs, MSRs, debug registers, LAPIC, events, and
 * the MP state last; at the VM level the clock, then the PIC/IOAPIC and the PIT (kernel
 * irqchip only; the split irqchip's IOAPIC is a device of the machine).
 *
 * The vCPUs must be paused (vm_pause); a save first lets each vCPU finish a pending PIO/MMIO
 * access (KVM_RUN with immediate_exit), as api.rst asks before reading the state.
 */
#ifndef BAREIRON_CORE_VM_STATE_H
#define BAREIRON_CORE_VM_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "base/compiler.h"
#include "base/error.h"
#include "base/statefile.h"

struct vm;
struct vcpu;

/* Section versions of the records below. */
#define VCPU_STATE_VERSION 1
#define VM_STATE_VERSION 1
#define VM_CPUID_STATE_VERSION 1

/* Appends vCPU (v)'s state to (b). Returns 0 or -errno with (err) naming the ioctl. */
MUST_CHECK int vcpu_save_state(struct vcpu *v, struct sf_buf *b, struct error *err);
/* Loads (data, len) into (v), created but not started. Returns 0 or -EINVAL/-errno with (err). */
MUST_CHECK int vcpu_load_state(struct vcpu *v, const uint8_t *data, size_t len, struct error *err);
/* The same for the VM's clock, PIC/IOAPIC and PIT. */
MUST_CHECK int vm_save_state(struct vm *vm, struct sf_buf *b, struct error *err);
MUST_CHECK int vm_load_state(struct vm *vm, const uint8_t *data, size_t len, struct error *err);
/* Appends the CPUID table the guest was shown (vm->cpuid; core/x86/cpuid_state.h). */
void vm_save_cpuid(const struct vm *vm, struct sf_buf *b);
/*
 * Restores (in), a table of vm_save_cpuid: refuses it when it holds a CPU feature (vm)'s table
 * (this host, same CPU model) lacks (-EINVAL with (err) naming it; -EINVAL also for a
 * malformed table), else gives every vCPU the saved table (KVM_SET_CPUID2, before they first
 * run) and makes it the VM's, so that the guest sees what it saw before the save and a later
 * save writes it again. Returns 0 or -errno with (err) set.
 */
MUST_CHECK int vm_restore_cpuid(struct vm *vm, struct sf_in *in, struct error *err);

#endif
