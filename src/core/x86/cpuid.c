/* SPDX-License-Identifier: MIT */
/*
 * Implementation of core/x86/cpuid.h. Bit positions from the Intel SDM vol. 2A, CPUID
 * (tables 3-10 "Feature Information Returned in the ECX Register", 3-11 "... EDX Register")
 * and the x86-64 psABI's micro-architecture levels (x86-64-v2: CMPXCHG16B, LAHF-SAHF, POPCNT,
 * SSE3, SSE4.1, SSE4.2, SSSE3).
 */
#include "core/x86/cpuid.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/compiler.h"

#define BIT(n) (1U << (n))

/* The baseline model keeps these bits (all others in the masked registers are cleared). */
/* Leaf 1 EDX: FPU VME DE PSE TSC MSR PAE MCE CX8 APIC SEP MTRR PGE MCA CMOV PAT PSE36 CLFSH MMX
 * FXSR SSE SSE2 HTT. */
#define BASE_1_EDX                                                                                 \
    (BIT(0) | BIT(1) | BIT(2) | BIT(3) | BIT(4) | BIT(5) | BIT(6) | BIT(7) | BIT(8) | BIT(9) |     \
     BIT(11) | BIT(12) | BIT(13) | BIT(14) | BIT(15) | BIT(16) | BIT(17) | BIT(19) | BIT(23) |     \
     BIT(24) | BIT(25) | BIT(26) | BIT(28))
/* Leaf 1 ECX: SSE3 PCLMULQDQ SSSE3 CX16 SSE4.1 SSE4.2 x2APIC POPCNT TSC-deadline AES
 * hypervisor. */
#define BASE_1_ECX                                                                                 \
    (BIT(0) | BIT(1) | BIT(9) | BIT(13) | BIT(19) | BIT(20) | BIT(21) | BIT(23) | BIT(24) |        \
     BIT(25) | BIT(31))
/* Leaf 0x80000001 ECX: LAHF/SAHF; EDX: SYSCALL NX LM. */
#define BASE_EXT1_ECX BIT(0)
#define BASE_EXT1_EDX (BIT(11) | BIT(20) | BIT(29))

int cpuid_parse_model(const char *s, enum cpu_model *out)
{
    if (strcmp(s, "host") == 0)
        *out = CPU_MODEL_HOST;
    else if (strcmp(s, "baseline") == 0)
        *out = CPU_MODEL_BASELINE;
    else
        return -EINVAL;
    return 0;
}

const char *cpuid_model_name(enum cpu_model model)
{
    return model == CPU_MODEL_BASELINE ? "baseline" : "host";
}

struct kvm_cpuid_entry2 *cpuid_find(struct kvm_cpuid_entry2 *e, size_t n, uint32_t function,
                                    uint32_t index)
{
    for (size_t i = 0; i < n; i++) {
        bool indexed = e[i].flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
        if (e[i].function == function && (!indexed || e[i].index == index))
            return &e[i];
    }
    return NULL;
}

static void mask_baseline(struct kvm_cpuid_entry2 *c)
{
    switch (c->function) {
    case 0x1:
        c->ecx &= BASE_1_ECX;
        c->edx &= BASE_1_EDX;
        break;
    case 0x6: /* thermal and power management: nothing */
        c->eax = c->ebx = c->ecx = c->edx = 0;
        break;
    case 0x7: /* structured extended features: none (no AVX*, no BMI, no TSX) */
        c->ebx = c->ecx = c->edx = 0;
        if (c->index == 0)
            c->eax = 0; /* no further subleaves */
        break;
    case 0xd: /* XSAVE is off in leaf 1, so the XSAVE leaf describes nothing */
        c->eax = c->ebx = c->ecx = c->edx = 0;
        break;
    case 0x80000001:
        c->ecx &= BASE_EXT1_ECX;
        c->edx &= BASE_EXT1_EDX;
        break;
    default:
        break;
    }
}

void cpuid_apply_model(struct kvm_cpuid_entry2 *e, size_t n, enum cpu_model model)
{
    if (model == CPU_MODEL_HOST)
        return;
    for (size_t i = 0; i < n; i++)
        mask_baseline(&e[i]);
}

/* Number of APIC-ID bits needed for (ncpus) logical processors. */
static unsigned id_bits(unsigned ncpus)
{
    unsigned bits = 0;
    while ((1U << bits) < ncpus)
        bits++;
    return bits;
}

/* Leaves 0xB and 0x1F: level 0 = SMT (one thread per core), level 1 = core (ncpus cores). */
static void fixup_topology(struct kvm_cpuid_entry2 *c, unsigned index, unsigned ncpus)
{
    c->edx = index;
    switch (c->index) {
    case 0:
        c->eax = 0;
        c->ebx = 1;
        c->ecx = (1U << 8) | 0; /* type SMT */
        break;
    case 1:
        c->eax = id_bits(ncpus);
        c->ebx = ncpus;
        c->ecx = (2U << 8) | 1; /* type core */
        break;
    default:
        c->eax = c->ebx = 0;
        c->ecx = c->index; /* type invalid ends the enumeration */
        break;
    }
}

size_t cpuid_rebuild_topology(struct kvm_cpuid_entry2 *e, size_t n)
{
    struct kvm_cpuid_entry2 *leaf0 = cpuid_find(e, n, 0, 0);
    bool has_0b = leaf0 != NULL && leaf0->eax >= 0xb;
    size_t out = 0;
    for (size_t i = 0; i < n; i++)
        if (e[i].function != 0xb && e[i].function != 0x1f)
            e[out++] = e[i];
    for (uint32_t sub = 0; has_0b && sub < 3; sub++)
        e[out++] = (struct kvm_cpuid_entry2){
            .function = 0xb, .index = sub, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX};
    return out;
}

struct kvm_cpuid2 *cpuid_vcpu_table(const struct kvm_cpuid_entry2 *e, size_t n, unsigned index,
                                    unsigned ncpus)
{
    struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));
    if (c == NULL)
        return NULL;
    c->nent = (uint32_t)n;
    if (n > 0)
        memcpy(c->entries, e, n * sizeof(e[0]));
    cpuid_fixup_vcpu(c->entries, n, index, ncpus);
    return c;
}

void cpuid_fixup_vcpu(struct kvm_cpuid_entry2 *e, size_t n, unsigned index, unsigned ncpus)
{
    for (size_t i = 0; i < n; i++) {
        struct kvm_cpuid_entry2 *c = &e[i];
        switch (c->function) {
        case 0x1:
            c->ebx = (c->ebx & 0x0000ffffU) | (index << 24) | ((ncpus & 0xffU) << 16);
            c->ecx |= BIT(31); /* running under a hypervisor */
            if (ncpus > 1)
                c->edx |= BIT(28); /* HTT: the package has more than one logical CPU */
            break;
        case 0x4: /* cores per package - 1 in EAX[31:26], keep the cache description */
            c->eax = (c->eax & 0x03ffffffU) | (((ncpus - 1) & 0x3fU) << 26);
            break;
        case 0xb:
        case 0x1f:
            fixup_topology(c, index, ncpus);
            break;
        case 0x40000000:
            c->eax = MAX(c->eax, 0x40000001U);
            memcpy(&c->ebx, "KVMK", 4);
            memcpy(&c->ecx, "VMKV", 4);
            memcpy(&c->edx, "M\0\0\0", 4);
            break;
        default:
            break;
        }
    }
}
