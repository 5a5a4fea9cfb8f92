/* SPDX-License-Identifier: MIT */
/*
 * Implementation of core/x86/msr.h: the boot MSR list (Intel SDM vol. 4 table 2-2 for
 * IA32_MISC_ENABLE and IA32_MTRR_DEF_TYPE, vol. 3A §11.11.2.1).
 */
#include "core/x86/msr.h"

#include "base/compiler.h"

static const struct msr_value boot_msrs[] = {
    {MSR_IA32_SYSENTER_CS, 0},
    {MSR_IA32_SYSENTER_ESP, 0},
    {MSR_IA32_SYSENTER_EIP, 0},
    {MSR_STAR, 0},
    {MSR_LSTAR, 0},
    {MSR_CSTAR, 0},
    {MSR_SYSCALL_MASK, 0},
    {MSR_KERNEL_GS_BASE, 0},
    /* keep KVM's reset bits: BTS and PEBS are not virtualized (a guest must not use them) */
    {MSR_IA32_MISC_ENABLE, MSR_IA32_MISC_ENABLE_FAST_STRING | MSR_IA32_MISC_ENABLE_BTS_UNAVAIL |
                               MSR_IA32_MISC_ENABLE_PEBS_UNAVAIL},
    {MSR_MTRR_DEF_TYPE, MSR_MTRR_ENABLE | MSR_MTRR_TYPE_WB},
};

size_t msr_boot_values(struct msr_value *out, size_t max)
{
    size_t n = MIN(max, ARRAY_SIZE(boot_msrs));
    for (size_t i = 0; i < n; i++)
        out[i] = boot_msrs[i];
    return n;
}
