/* SPDX-License-Identifier: MIT */
/*
 * vCPU creation and register setup for core/vcpu.h (api.rst §4.7 KVM_CREATE_VCPU, §4.20
 * KVM_SET_CPUID2, §4.18 KVM_SET_MSRS, §4.22 KVM_SET_FPU, §4.57 KVM_SET_LAPIC) and the crash
 * dump (registers plus instruction bytes at RIP, translated through the guest's page tables).
 */
#define LOG_TAG "vcpu"
#include "core/vcpu.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/log.h"
#include "core/gmem.h"
#include "core/kvm.h"
#include "core/vm.h"
#include "core/x86/cpuid.h"
#include "core/x86/msr.h"

#define APIC_LVT_LINT0 0x350
#define APIC_LVT_LINT1 0x360
#define APIC_MODE_NMI 0x4
#define APIC_MODE_EXTINT 0x7
#define APIC_LVT_MASKED (1U << 16)

int vcpu_set_cpuid(struct vcpu *vcpu, const struct kvm_cpuid_entry2 *e, size_t n)
{
    struct kvm_cpuid2 *c = cpuid_vcpu_table(e, n, vcpu->index, vcpu->vm->ncpus);
    int ret = 0;
    if (c == NULL)
        return -ENOMEM;
    if (ioctl(vcpu->fd, KVM_SET_CPUID2, c) < 0)
        ret = -errno;
    free(c);
    return ret;
}

static int setup_cpuid(struct vcpu *vcpu)
{
    return vcpu_set_cpuid(vcpu, vcpu->vm->cpuid->entries, vcpu->vm->cpuid->nent);
}

static int setup_msrs(struct vcpu *vcpu)
{
    struct msr_value vals[16];
    size_t n = msr_boot_values(vals, ARRAY_SIZE(vals));
    struct kvm_msrs *msrs = calloc(1, sizeof(*msrs) + n * sizeof(msrs->entries[0]));
    int ret;
    if (msrs == NULL)
        return -ENOMEM;
    msrs->nmsrs = (uint32_t)n;
    for (size_t i = 0; i < n; i++) {
        msrs->entries[i].index = vals[i].index;
        msrs->entries[i].data = vals[i].data;
    }
    ret = ioctl(vcpu->fd, KVM_SET_MSRS, msrs);
    if (ret < 0) {
        ret = -errno;
    } else {
        if ((size_t)ret < n)
            log_warn("vcpu%u: KVM accepted %d of %zu boot MSRs (first refused: 0x%x)", vcpu->index,
                     ret, n, msrs->entries[ret].index);
        ret = 0;
    }
    free(msrs);
    return ret;
}

static int setup_fpu(struct vcpu *vcpu)
{
    struct kvm_fpu fpu;
    memset(&fpu, 0, sizeof(fpu));
    fpu.fcw = 0x37f;    /* FNINIT default */
    fpu.mxcsr = 0x1f80; /* all SSE exceptions masked */
    return ioctl(vcpu->fd, KVM_SET_FPU, &fpu) < 0 ? -errno : 0;
}

static void set_lvt_mode(struct kvm_lapic_state *lapic, unsigned reg, uint32_t mode,
                         bool is_unmasked)
{
    uint32_t v;
    memcpy(&v, &lapic->regs[reg], sizeof(v));
    v = (v & ~0x700U) | (mode << 8);
    if (is_unmasked)
        v &= ~APIC_LVT_MASKED;
    memcpy(&lapic->regs[reg], &v, sizeof(v));
}

/*
 * LINT0 as ExtINT (the PIC's output) and LINT1 as NMI, as a PC BIOS leaves them ("virtual wire
 * mode", MultiProcessor Specification 1.4 §3.6.2.2). Where an 8259 exists, the boot CPU's
 * LINT0 is also unmasked, as SeaBIOS leaves it: Linux keeps ExtINT only when it finds LINT0
 * unmasked (arch/x86/kernel/apic/apic.c, setup_local_APIC), and without an IOAPIC the PIC is
 * its only way to get legacy interrupts. Without an 8259 (split irqchip) it stays masked.
 */
static int setup_lint(struct vcpu *vcpu)
{
    struct kvm_lapic_state lapic;
    bool has_pic = vcpu->vm->irqchip == VM_IRQCHIP_KERNEL;
    if (ioctl(vcpu->fd, KVM_GET_LAPIC, &lapic) < 0)
        return -errno;
    set_lvt_mode(&lapic, APIC_LVT_LINT0, APIC_MODE_EXTINT, has_pic && vcpu->index == 0);
    set_lvt_mode(&lapic, APIC_LVT_LINT1, APIC_MODE_NMI, true);
    return ioctl(vcpu->fd, KVM_SET_LAPIC, &lapic) < 0 ? -errno : 0;
}

static int configure(struct vcpu *vcpu)
{
    int ret = setup_cpuid(vcpu);
    if (ret < 0) {
        log_error("vcpu%u: KVM_SET_CPUID2: %s", vcpu->index, strerror(-ret));
        return ret;
    }
    ret = setup_msrs(vcpu);
    if (ret == 0)
        ret = setup_fpu(vcpu);
    if (ret == 0)
        ret = setup_lint(vcpu);
    if (ret < 0)
        log_error("vcpu%u: register setup: %s", vcpu->index, strerror(-ret));
    return ret;
}

int vcpu_create(struct vm *vm, unsigned index, struct vcpu **out)
{
    struct vcpu *vcpu = calloc(1, sizeof(*vcpu));
    void *run;
    int ret;
    if (vcpu == NULL)
        return -ENOMEM;
    vcpu->vm = vm;
    vcpu->index = index;
    vcpu->state = vcpu->want = VCPU_CREATED;
    pthread_mutex_init(&vcpu->lock, NULL);
    pthread_cond_init(&vcpu->cond, NULL);
    vcpu->fd = ioctl(vm->fd, KVM_CREATE_VCPU, (unsigned long)index);
    if (vcpu->fd < 0) {
        ret = -errno;
        log_error("vcpu%u: KVM_CREATE_VCPU: %s", index, strerror(-ret));
        goto err_free;
    }
    vcpu->run_bytes = vm->kvm->vcpu_mmap_bytes;
    run = mmap(NULL, vcpu->run_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu->fd, 0);
    if (run == MAP_FAILED) {
        ret = -errno;
        goto err_free;
    }
    vcpu->run = run;
    ret = configure(vcpu);
    if (ret < 0)
        goto err_free;
    *out = vcpu;
    return 0;
err_free:
    vcpu_destroy(vcpu);
    return ret;
}

int vcpu_set_boot_state(struct vcpu *vcpu, const struct boot_cpu *b)
{
    struct kvm_regs regs;
    struct kvm_sregs sregs;
    if (ioctl(vcpu->fd, KVM_GET_SREGS, &sregs) < 0)
        return -errno;
    regs_boot_state(b, &regs, &sregs);
    if (ioctl(vcpu->fd, KVM_SET_SREGS, &sregs) < 0)
        return -errno;
    if (ioctl(vcpu->fd, KVM_SET_REGS, &regs) < 0)
        return -errno;
    return 0;
}

/* Reads up to 16 bytes at CS:RIP, one byte at a time so a page boundary into unmapped memory
 * still yields the bytes before it. Returns how many were read. */
static size_t read_code(struct vcpu *vcpu, const struct kvm_regs *r, const struct kvm_sregs *s,
                        uint8_t code[16])
{
    /* in 64-bit mode (EFER.LMA and CS.L) the CPU ignores the CS base (SDM 3A 3.4.4) */
    bool is_64 = (s->efer & (1ULL << 10)) && s->cs.l;
    uint64_t lin = is_64 ? r->rip : s->cs.base + r->rip;
    size_t n = 0;
    for (; n < 16; n++) {
        uint64_t gpa;
        if (regs_translate(vcpu->vm->gm, s, lin + n, &gpa) < 0 ||
            gmem_read(vcpu->vm->gm, gpa, &code[n], 1) < 0)
            break;
    }
    return n;
}

/*
 * Register dumps of crashes: the first VCPU_DUMPS_IN_FULL of the process in full, then one line
 * at each power of two with the count, so that a guest crashing at every boot of a reboot loop
 * cannot fill the log (reboots keep the count: it is per process).
 */
#define VCPU_DUMPS_IN_FULL 3
static unsigned long vcpu_dumps;

void vcpu_dump(struct vcpu *vcpu, FILE *f)
{
    unsigned long nth = __atomic_add_fetch(&vcpu_dumps, 1, __ATOMIC_RELAXED);
    struct kvm_regs regs;
    struct kvm_sregs sregs;
    uint8_t code[16];
    size_t n;
    if (nth > VCPU_DUMPS_IN_FULL) {
        if ((nth & (nth - 1)) == 0)
            fprintf(f, "vcpu%u: register dump %lu not printed (only the first %d are)\n",
                    vcpu->index, nth, VCPU_DUMPS_IN_FULL);
        return;
    }
    if (ioctl(vcpu->fd, KVM_GET_REGS, &regs) < 0 || ioctl(vcpu->fd, KVM_GET_SREGS, &sregs) < 0) {
        fprintf(f, "vcpu%u: cannot read registers: %s\n", vcpu->index, strerror(errno));
        return;
    }
    n = read_code(vcpu, &regs, &sregs, code);
    flockfile(f);
    fprintf(f, "vcpu%u registers:\n", vcpu->index);
    regs_dump(f, &regs, &sregs, code, n);
    funlockfile(f);
}
