/* SPDX-License-Identifier: MIT */
/*
 * Implementation of core/x86/cpuid_state.h. The names of the feature bits are those Linux
 * shows in /proc/cpuinfo (arch/x86/include/asm/cpufeatures.h), so that a refusal names what a
 * user can look up on both hosts; a bit without a name here is named by its position.
 */
#include "core/x86/cpuid_state.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/statefile.h"

enum reg { EAX, EBX, ECX, EDX };

/* A feature register: (function, index, reg). */
struct feature_reg {
    uint32_t function, index;
    enum reg reg;
    const char *names[32]; /* by bit; NULL: unnamed */
};

static const struct feature_reg feature_regs[] = {
    {1,
     0,
     ECX,
     {[0] = "pni (sse3)",
      [1] = "pclmulqdq",
      [3] = "monitor",
      [9] = "ssse3",
      [12] = "fma",
      [13] = "cx16",
      [19] = "sse4_1",
      [20] = "sse4_2",
      [21] = "x2apic",
      [22] = "movbe",
      [23] = "popcnt",
      [24] = "tsc_deadline_timer",
      [25] = "aes",
      [26] = "xsave",
      [28] = "avx",
      [29] = "f16c",
      [30] = "rdrand"}},
    {1,
     0,
     EDX,
     {[0] = "fpu",
      [4] = "tsc",
      [5] = "msr",
      [6] = "pae",
      [8] = "cx8",
      [9] = "apic",
      [11] = "sep",
      [13] = "pge",
      [15] = "cmov",
      [16] = "pat",
      [19] = "clflush",
      [23] = "mmx",
      [24] = "fxsr",
      [25] = "sse",
      [26] = "sse2"}},
    {7, 0, EBX, {[0] = "fsgsbase", [3] = "bmi1",      [4] = "hle",         [5] = "avx2",
                 [7] = "smep",     [8] = "bmi2",      [9] = "erms",        [10] = "invpcid",
                 [11] = "rtm",     [16] = "avx512f",  [17] = "avx512dq",   [18] = "rdseed",
                 [19] = "adx",     [20] = "smap",     [21] = "avx512ifma", [23] = "clflushopt",
                 [24] = "clwb",    [26] = "avx512pf", [27] = "avx512er",   [28] = "avx512cd",
                 [29] = "sha_ni",  [30] = "avx512bw", [31] = "avx512vl"}},
    {7,
     0,
     ECX,
     {[1] = "avx512vbmi",
      [2] = "umip",
      [3] = "pku",
      [5] = "waitpkg",
      [6] = "avx512_vbmi2",
      [8] = "gfni",
      [9] = "vaes",
      [10] = "vpclmulqdq",
      [11] = "avx512_vnni",
      [12] = "avx512_bitalg",
      [14] = "avx512_vpopcntdq",
      [16] = "la57",
      [22] = "rdpid",
      [25] = "cldemote",
      [27] = "movdiri",
      [28] = "movdir64b"}},
    {7,
     0,
     EDX,
     {[4] = "fsrm",
      [8] = "avx512_vp2intersect",
      [14] = "serialize",
      [22] = "amx_bf16",
      [23] = "avx512_fp16",
      [24] = "amx_tile",
      [25] = "amx_int8"}},
    {7,
     1,
     EAX,
     {[4] = "avx_vnni", [5] = "avx512_bf16", [10] = "fzrm", [11] = "fsrs", [12] = "fsrc"}},
    {0xd,
     0,
     EAX,
     {[0] = "xsave state x87",
      [1] = "xsave state sse",
      [2] = "xsave state avx",
      [3] = "xsave state mpx bndregs",
      [4] = "xsave state mpx bndcsr",
      [5] = "xsave state avx-512 opmask",
      [6] = "xsave state avx-512 zmm_hi256",
      [7] = "xsave state avx-512 hi16_zmm",
      [9] = "xsave state pkru",
      [17] = "xsave state amx tilecfg",
      [18] = "xsave state amx tiledata"}},
    {0xd, 1, EAX, {[0] = "xsaveopt", [1] = "xsavec", [2] = "xgetbv1", [3] = "xsaves"}},
    {0x80000001,
     0,
     ECX,
     {[0] = "lahf_lm",
      [5] = "abm (lzcnt)",
      [6] = "sse4a",
      [8] = "3dnowprefetch",
      [11] = "xop",
      [16] = "fma4",
      [21] = "tbm"}},
    {0x80000001,
     0,
     EDX,
     {[11] = "syscall", [20] = "nx", [26] = "pdpe1gb", [27] = "rdtscp", [29] = "lm"}},
};

void cpuid_state_put(struct sf_buf *b, const struct kvm_cpuid_entry2 *e, size_t n)
{
    sf_put_u32(b, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        sf_put_u32(b, e[i].function);
        sf_put_u32(b, e[i].index);
        sf_put_u32(b, e[i].flags);
        sf_put_u32(b, e[i].eax);
        sf_put_u32(b, e[i].ebx);
        sf_put_u32(b, e[i].ecx);
        sf_put_u32(b, e[i].edx);
    }
}

int cpuid_state_get(struct sf_in *in, struct kvm_cpuid_entry2 **out, size_t *n)
{
    uint32_t count = sf_get_u32(in);
    struct kvm_cpuid_entry2 *e;
    if (in->bad || count > CPUID_STATE_MAX_ENTRIES)
        return -EINVAL;
    e = calloc(count ? count : 1, sizeof(*e));
    if (e == NULL)
        return -ENOMEM;
    for (uint32_t i = 0; i < count; i++) {
        e[i].function = sf_get_u32(in);
        e[i].index = sf_get_u32(in);
        e[i].flags = sf_get_u32(in);
        e[i].eax = sf_get_u32(in);
        e[i].ebx = sf_get_u32(in);
        e[i].ecx = sf_get_u32(in);
        e[i].edx = sf_get_u32(in);
    }
    if (sf_in_end(in) < 0) {
        free(e);
        return -EINVAL;
    }
    *out = e;
    *n = count;
    return 0;
}

/* The entry (function, index) of (e, n); the index only counts for entries that say so. */
static const struct kvm_cpuid_entry2 *find(const struct kvm_cpuid_entry2 *e, size_t n,
                                           uint32_t function, uint32_t index)
{
    for (size_t i = 0; i < n; i++)
        if (e[i].function == function &&
            (!(e[i].flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) || e[i].index == index))
            return &e[i];
    return NULL;
}

static uint32_t reg_of(const struct kvm_cpuid_entry2 *e, enum reg r)
{
    if (e == NULL)
        return 0;
    return r == EAX ? e->eax : r == EBX ? e->ebx : r == ECX ? e->ecx : e->edx;
}

static void set_reg(struct kvm_cpuid_entry2 *e, enum reg r, uint32_t v)
{
    if (r == EAX)
        e->eax = v;
    else if (r == EBX)
        e->ebx = v;
    else if (r == ECX)
        e->ecx = v;
    else
        e->edx = v;
}

void cpuid_state_merge(const struct kvm_cpuid_entry2 *saved, size_t ns,
                       struct kvm_cpuid_entry2 *host, size_t nh)
{
    for (size_t i = 0; i < sizeof(feature_regs) / sizeof(feature_regs[0]); i++) {
        const struct feature_reg *f = &feature_regs[i];
        const struct kvm_cpuid_entry2 *h = find(host, nh, f->function, f->index);
        if (h != NULL) {
            size_t k = (size_t)(h - host);
            set_reg(&host[k], f->reg,
                    reg_of(h, f->reg) & reg_of(find(saved, ns, f->function, f->index), f->reg));
        }
    }
}

int cpuid_state_check(const struct kvm_cpuid_entry2 *saved, size_t ns,
                      const struct kvm_cpuid_entry2 *host, size_t nh, struct error *err)
{
    static const char *const reg_names[] = {"EAX", "EBX", "ECX", "EDX"};
    for (size_t i = 0; i < sizeof(feature_regs) / sizeof(feature_regs[0]); i++) {
        const struct feature_reg *f = &feature_regs[i];
        uint32_t want = reg_of(find(saved, ns, f->function, f->index), f->reg);
        uint32_t missing = want & ~reg_of(find(host, nh, f->function, f->index), f->reg);
        int bit;
        if (missing == 0)
            continue;
        bit = __builtin_ctz(missing);
        return error_set(err, -EINVAL,
                         "the guest uses CPU feature %s (CPUID leaf 0x%x subleaf %u %s bit %d), "
                         "which this host does not offer",
                         f->names[bit] ? f->names[bit] : "(unnamed)", f->function, f->index,
                         reg_names[f->reg], bit);
    }
    return 0;
}
