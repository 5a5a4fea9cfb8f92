/* SPDX-License-Identifier: MIT */
/*
 * The MSR values a vCPU starts with (Intel SDM vol. 4 "Model-Specific Registers"): fast
 * strings on, MTRRs enabled with default type write-back (so the guest does not run uncached),
 * SYSCALL/SYSENTER MSRs cleared. Built as a plain array (unit-tested) and loaded with
 * KVM_SET_MSRS by core/vcpu.c.
 */
#ifndef BAREIRON_CORE_X86_MSR_H
#define BAREIRON_CORE_X86_MSR_H

#include <stddef.h>
#include <stdint.h>

#define MSR_IA32_SYSENTER_CS 0x174
#define MSR_IA32_SYSENTER_ESP 0x175
#define MSR_IA32_SYSENTER_EIP 0x176
#define MSR_IA32_MISC_ENABLE 0x1a0
#define MSR_IA32_MISC_ENABLE_FAST_STRING (1ULL << 0)
#define MSR_IA32_MISC_ENABLE_BTS_UNAVAIL (1ULL << 11)
#define MSR_IA32_MISC_ENABLE_PEBS_UNAVAIL (1ULL << 12)
#define MSR_MTRR_DEF_TYPE 0x2ff
#define MSR_MTRR_ENABLE (1ULL << 11)
#define MSR_MTRR_TYPE_WB 6ULL
#define MSR_STAR 0xc0000081
#define MSR_LSTAR 0xc0000082
#define MSR_CSTAR 0xc0000083
#define MSR_SYSCALL_MASK 0xc0000084
#define MSR_KERNEL_GS_BASE 0xc0000102

struct msr_value {
    uint32_t index;
    uint64_t data;
};

/* Fills (out) with up to (max) boot MSRs. Returns how many were written. */
size_t msr_boot_values(struct msr_value *out, size_t max);

#endif
