/* SPDX-License-Identifier: MIT */
/*
 * Guest CPUID: the named CPU models (`host`: everything KVM_GET_SUPPORTED_CPUID offers;
 * `baseline`: a conservative x86-64-v2-like subset that migrates between hosts) and the
 * per-vCPU fix-ups (APIC IDs in leaves 0x1/0xB/0x1F, topology counts, hypervisor bit, KVM
 * signature leaf 0x40000000). Follows the Intel SDM vol. 2A "CPUID" and
 * Documentation/virt/kvm/x86/cpuid.rst. Pure functions over struct kvm_cpuid_entry2 arrays,
 * so the masking is unit-tested without /dev/kvm.
 */
#ifndef BAREIRON_CORE_X86_CPUID_H
#define BAREIRON_CORE_X86_CPUID_H

#include <stddef.h>
#include <stdint.h>

#include "base/compiler.h"

struct kvm_cpuid_entry2;
struct kvm_cpuid2;

enum cpu_model {
    CPU_MODEL_HOST,
    CPU_MODEL_BASELINE,
};

/* Parses "host" or "baseline" into (*out). Returns 0 or -EINVAL. */
MUST_CHECK int cpuid_parse_model(const char *s, enum cpu_model *out);
/* Returns the model's name. */
const char *cpuid_model_name(enum cpu_model model);

/* Clears in (e, n entries) every feature bit (model) does not allow. CPU_MODEL_HOST keeps
 * everything. */
void cpuid_apply_model(struct kvm_cpuid_entry2 *e, size_t n, enum cpu_model model);

/*
 * Fixes the entries (e, n) up for vCPU (index) of (ncpus): APIC ID (= index) in leaf 1
 * EBX[31:24] and leaves 0xB/0x1F EDX, logical-processor counts, the hypervisor bit (leaf 1
 * ECX[31]) and the KVM signature "KVMKVMKVM" at leaf 0x40000000 when present.
 */
void cpuid_fixup_vcpu(struct kvm_cpuid_entry2 *e, size_t n, unsigned index, unsigned ncpus);

/*
 * The KVM_SET_CPUID2 argument for vCPU (index) of (ncpus) from the VM's table (e, n): a copy
 * fixed up by cpuid_fixup_vcpu(). At boot (e, n) is the table built from this host's
 * KVM_GET_SUPPORTED_CPUID; at a restore it is the saved one. Returns a malloc'd table the
 * caller frees, or NULL when out of memory.
 */
struct kvm_cpuid2 *cpuid_vcpu_table(const struct kvm_cpuid_entry2 *e, size_t n, unsigned index,
                                    unsigned ncpus);

/*
 * Rebuilds the topology leaves of (e, n entries, room for at least n + 3): removes every 0xB
 * and 0x1F entry and, when leaf 0 reaches 0xB, appends 0xB subleaves 0 (SMT), 1 (core) and 2
 * (invalid, ends the enumeration), filled per vCPU by cpuid_fixup_vcpu(). KVM since Linux 6.2
 * (also in 6.1/5.15/5.10 stable) returns 0xB/0x1F as subleaf 0 only, all zero, and a guest
 * reading a missing subleaf gets zeros: without this it saw N one-core packages. 0x1F is
 * dropped (reads as zero: the guest falls back to 0xB). Returns the new entry count.
 */
size_t cpuid_rebuild_topology(struct kvm_cpuid_entry2 *e, size_t n);

/* Returns the entry for (function, index) in (e, n), or NULL. */
struct kvm_cpuid_entry2 *cpuid_find(struct kvm_cpuid_entry2 *e, size_t n, uint32_t function,
                                    uint32_t index);

#endif
