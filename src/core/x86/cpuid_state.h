/* SPDX-License-Identifier: MIT */
/*
 * The guest's CPUID in a saved state (docs/vmm.md "Saved state", section "cpuid"), and the
 * check at restore that the host offers every feature the guest was shown: a guest that
 * found AVX2 at boot keeps using it after a restore, so a host without it must refuse the
 * state rather than let the guest fault later. Pure functions over struct kvm_cpuid_entry2
 * arrays, unit-tested without /dev/kvm. Feature bits from the Intel SDM vol. 2A "CPUID" and
 * the AMD APM vol. 3 appendix E.
 */
#ifndef BAREIRON_CORE_X86_CPUID_STATE_H
#define BAREIRON_CORE_X86_CPUID_STATE_H

#include <stddef.h>

#include "base/compiler.h"
#include "base/error.h"

struct kvm_cpuid_entry2;
struct sf_buf;
struct sf_in;

#define CPUID_STATE_VERSION 1
/* Most entries a saved table may hold (KVM's own limit, KVM_MAX_CPUID_ENTRIES, is 256). */
#define CPUID_STATE_MAX_ENTRIES 256

/* Appends the table (e, n): u32 count, then per entry u32 function, index, flags, eax, ebx,
 * ecx, edx (all little-endian). */
void cpuid_state_put(struct sf_buf *b, const struct kvm_cpuid_entry2 *e, size_t n);

/*
 * Reads a table written by cpuid_state_put from (in) into a malloc'd array (*out) of (*n)
 * entries. Returns 0, -EINVAL (truncated, trailing bytes, more than CPUID_STATE_MAX_ENTRIES)
 * or -ENOMEM.
 */
MUST_CHECK int cpuid_state_get(struct sf_in *in, struct kvm_cpuid_entry2 **out, size_t *n);

/*
 * Checks that each feature bit set in the guest's table (saved, ns) is also set in (host, nh),
 * the table this host would give the same CPU model. The feature registers checked: leaf 1
 * ECX/EDX, leaf 7 subleaf 0 EBX/ECX/EDX and subleaf 1 EAX, leaf 0xD subleaf 0 EAX (XSAVE
 * state components) and subleaf 1 EAX, leaf 0x80000001 ECX/EDX. Returns 0, or -EINVAL with
 * (err) naming the first missing feature ("avx2 (CPUID leaf 0x7 subleaf 0 EBX bit 5)").
 */
MUST_CHECK int cpuid_state_check(const struct kvm_cpuid_entry2 *saved, size_t ns,
                                 const struct kvm_cpuid_entry2 *host, size_t nh, struct error *err);

/*
 * The table a restored guest gets, in (host, nh)'s place (same entries): this host's table
 * (what a fresh boot of the same CPU model gets) with every feature register of
 * cpuid_state_check narrowed to the bits the guest saw (saved & host). Nothing else of the
 * file reaches KVM: address widths, paravirt and "not affected" bits stay this host's.
 */
void cpuid_state_merge(const struct kvm_cpuid_entry2 *saved, size_t ns,
                       struct kvm_cpuid_entry2 *host, size_t nh);

#endif
