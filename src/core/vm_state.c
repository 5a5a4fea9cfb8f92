/* SPDX-License-Identifier: MIT */
/* Implementation of core/vm_state.h: the vCPU and VM state records a saved state carries. */
#define LOG_TAG "vmstate"
#include "core/vm_state.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "base/log.h"
#include "base/util.h"
#include "core/kvm.h"
#include "core/x86/cpuid_state.h"
#include "core/vcpu.h"
#include "core/vm.h"
#include "core/x86/msr.h"

enum rec_tag {
    REC_REGS = 1,
    REC_SREGS,
    REC_FPU,
    REC_XSAVE,
    REC_XCRS,
    REC_MSRS,
    REC_DEBUGREGS,
    REC_LAPIC,
    REC_EVENTS,
    REC_MP_STATE,
    REC_CLOCK,
    REC_PIC_MASTER,
    REC_PIC_SLAVE,
    REC_IOAPIC,
    REC_PIT2,
    REC_COUNT,
};

/* A state too large for any record (XSAVE areas are a few KiB; MSRS_MAX entries of 16 bytes). */
#define REC_MAX_BYTES (64U * 1024)
#define MSRS_MAX 64

#define MSR_IA32_TSC 0x10
#define MSR_IA32_TSC_ADJUST 0x3b
#define MSR_IA32_CR_PAT 0x277
#define MSR_IA32_TSC_DEADLINE 0x6e0
#define MSR_TSC_AUX 0xc0000103
#define MSR_KVM_WALL_CLOCK 0x11
#define MSR_KVM_SYSTEM_TIME 0x12
#define MSR_KVM_WALL_CLOCK_NEW 0x4b564d00
#define MSR_KVM_SYSTEM_TIME_NEW 0x4b564d01
#define MSR_KVM_ASYNC_PF_EN 0x4b564d02
#define MSR_KVM_STEAL_TIME 0x4b564d03
#define MSR_KVM_PV_EOI_EN 0x4b564d04

/* Records split out of a loaded section. */
struct recs {
    const uint8_t *p[REC_COUNT];
    uint32_t len[REC_COUNT];
};

static void put_rec(struct sf_buf *b, enum rec_tag tag, const void *p, size_t n)
{
    sf_put_u32(b, tag);
    sf_put_u32(b, (uint32_t)n);
    sf_put_bytes(b, p, n);
}

static int split_recs(const uint8_t *d, size_t len, struct recs *r, const char *what,
                      struct error *err)
{
    struct sf_in in;
    memset(r, 0, sizeof(*r));
    sf_in_init(&in, d, len);
    while (in.pos < in.len && !in.bad) {
        uint32_t tag = sf_get_u32(&in), n = sf_get_u32(&in);
        if (in.bad || tag == 0 || tag >= REC_COUNT || r->p[tag] != NULL || n > REC_MAX_BYTES ||
            n > in.len - in.pos)
            return error_set(err, -EINVAL, "state file: section %s: bad record %u", what, tag);
        r->p[tag] = in.p + in.pos;
        r->len[tag] = n;
        in.pos += n;
    }
    return in.bad ? error_set(err, -EINVAL, "state file: section %s: truncated record", what) : 0;
}

/* Copies record (tag) into (dst) of exactly (size) bytes. -EINVAL when absent or another size. */
static int take_rec(const struct recs *r, enum rec_tag tag, void *dst, size_t size,
                    const char *what, struct error *err)
{
    if (r->p[tag] == NULL || r->len[tag] != size)
        return error_set(err, -EINVAL, "state file: section %s: record %d %s", what, (int)tag,
                         r->p[tag] == NULL ? "missing" : "has the wrong size");
    memcpy(dst, r->p[tag], size);
    return 0;
}

static int ioctl_err(int ret, const char *what, const char *ioctl_name, struct error *err)
{
    if (ret >= 0)
        return 0;
    return error_set(err, -errno, "%s: %s: %s", what, ioctl_name, strerror(errno));
}

/* The MSRs worth saving that this KVM reports (KVM_GET_MSR_INDEX_LIST), into (out). Returns
 * how many, or -errno when the list cannot be read. */
static int msr_list(struct vcpu *v, uint32_t *out)
{
    static const uint32_t extra[] = {
        MSR_IA32_TSC,
        MSR_IA32_TSC_ADJUST,
        MSR_IA32_CR_PAT,
        MSR_IA32_TSC_DEADLINE,
        MSR_TSC_AUX,
        MSR_KVM_WALL_CLOCK,
        MSR_KVM_SYSTEM_TIME,
        MSR_KVM_WALL_CLOCK_NEW,
        MSR_KVM_SYSTEM_TIME_NEW,
        MSR_KVM_ASYNC_PF_EN,
        MSR_KVM_STEAL_TIME,
        MSR_KVM_PV_EOI_EN,
        MSR_STAR,
        MSR_LSTAR,
        MSR_CSTAR,
        MSR_SYSCALL_MASK,
        MSR_KERNEL_GS_BASE,
    };
    struct msr_value boot[16];
    size_t nboot = msr_boot_values(boot, ARRAY_SIZE(boot));
    uint32_t want[ARRAY_SIZE(extra) + ARRAY_SIZE(boot)];
    unsigned nwant = 0, n = 0;
    struct kvm_msr_list *list = calloc(1, sizeof(*list) + 4096 * sizeof(uint32_t));
    for (size_t i = 0; i < nboot; i++)
        want[nwant++] = boot[i].index;
    for (size_t i = 0; i < ARRAY_SIZE(extra); i++)
        want[nwant++] = extra[i];
    if (list == NULL)
        return -ENOMEM;
    list->nmsrs = 4096;
    if (ioctl(v->vm->kvm->fd, KVM_GET_MSR_INDEX_LIST, list) < 0) {
        int ret = -errno;
        free(list);
        return ret;
    }
    for (unsigned i = 0; i < nwant && n < MSRS_MAX; i++) {
        bool dup = false;
        for (unsigned j = 0; j < n; j++)
            dup = dup || out[j] == want[i];
        for (uint32_t k = 0; !dup && k < list->nmsrs; k++)
            if (list->indices[k] == want[i]) {
                out[n++] = want[i];
                break;
            }
    }
    free(list);
    return (int)n;
}

static int save_msrs(struct vcpu *v, struct sf_buf *b, struct error *err)
{
    uint32_t idx[MSRS_MAX];
    int n = msr_list(v, idx);
    struct kvm_msrs *m;
    int ret;
    if (n < 0)
        return error_set(err, n, "vcpu: KVM_GET_MSR_INDEX_LIST: %s", strerror(-n));
    m = calloc(1, sizeof(*m) + (size_t)n * sizeof(m->entries[0]));
    if (m == NULL)
        return error_set(err, -ENOMEM, "out of memory");
    m->nmsrs = (uint32_t)n;
    for (int i = 0; i < n; i++)
        m->entries[i].index = idx[i];
    ret = ioctl(v->fd, KVM_GET_MSRS, m);
    if (ret < 0) {
        ret = ioctl_err(ret, "vcpu", "KVM_GET_MSRS", err);
    } else {
        /* KVM stops at the first MSR it cannot read: keep those it read */
        m->nmsrs = (uint32_t)ret;
        put_rec(b, REC_MSRS, m, sizeof(*m) + (size_t)ret * sizeof(m->entries[0]));
        ret = 0;
    }
    free(m);
    return ret;
}

static int save_fpu(struct vcpu *v, struct sf_buf *b, struct error *err)
{
    int size = kvm_check_cap(v->vm->kvm, KVM_CAP_XSAVE) > 0 ? 4096 : 0;
    int size2 = ioctl(v->vm->fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2);
    struct kvm_fpu fpu;
    struct kvm_xsave *x;
    int ret;
    if (size == 0) {
        ret = ioctl_err(ioctl(v->fd, KVM_GET_FPU, &fpu), "vcpu", "KVM_GET_FPU", err);
        if (ret == 0)
            put_rec(b, REC_FPU, &fpu, sizeof(fpu));
        return ret;
    }
    if (size2 > (int)REC_MAX_BYTES)
        return error_set(err, -E2BIG, "vcpu: an XSAVE area of %d bytes does not fit a record",
                         size2);
    if (size2 > size)
        size = size2;
    x = calloc(1, (size_t)size);
    if (x == NULL)
        return error_set(err, -ENOMEM, "out of memory");
    ret = size2 > 0 ? ioctl(v->fd, KVM_GET_XSAVE2, x) : ioctl(v->fd, KVM_GET_XSAVE, x);
    ret = ioctl_err(ret, "vcpu", "KVM_GET_XSAVE", err);
    if (ret == 0)
        put_rec(b, REC_XSAVE, x, (size_t)size);
    free(x);
    return ret;
}

/* Lets a paused vCPU finish a PIO/MMIO access whose exit was handled (api.rst, KVM_RUN:
 * immediate_exit), so the registers read below hold its result. */
static int complete_io(struct vcpu *v, struct error *err)
{
    v->run->immediate_exit = 1;
    if (ioctl(v->fd, KVM_RUN, 0) == 0 || errno == EINTR)
        return 0;
    return error_set(err, -errno, "vcpu%u: KVM_RUN: %s", v->index, strerror(errno));
}

int vcpu_save_state(struct vcpu *v, struct sf_buf *b, struct error *err)
{
    struct kvm_regs regs;
    struct kvm_sregs sregs;
    struct kvm_lapic_state lapic;
    struct kvm_vcpu_events ev;
    struct kvm_mp_state mp;
    int ret = complete_io(v, err);
    if (ret == 0)
        ret = ioctl_err(ioctl(v->fd, KVM_GET_REGS, &regs), "vcpu", "KVM_GET_REGS", err);
    if (ret == 0)
        ret = ioctl_err(ioctl(v->fd, KVM_GET_SREGS, &sregs), "vcpu", "KVM_GET_SREGS", err);
    if (ret == 0)
        ret = ioctl_err(ioctl(v->fd, KVM_GET_LAPIC, &lapic), "vcpu", "KVM_GET_LAPIC", err);
    if (ret == 0)
        ret = ioctl_err(ioctl(v->fd, KVM_GET_VCPU_EVENTS, &ev), "vcpu", "KVM_GET_VCPU_EVENTS", err);
    if (ret == 0)
        ret = ioctl_err(ioctl(v->fd, KVM_GET_MP_STATE, &mp), "vcpu", "KVM_GET_MP_STATE", err);
    if (ret < 0)
        return ret;
    put_rec(b, REC_REGS, &regs, sizeof(regs));
    put_rec(b, REC_SREGS, &sregs, sizeof(sregs));
    put_rec(b, REC_LAPIC, &lapic, sizeof(lapic));
    put_rec(b, REC_EVENTS, &ev, sizeof(ev));
    put_rec(b, REC_MP_STATE, &mp, sizeof(mp));
    if (kvm_check_cap(v->vm->kvm, KVM_CAP_XCRS) > 0) {
        struct kvm_xcrs xcrs;
        ret = ioctl_err(ioctl(v->fd, KVM_GET_XCRS, &xcrs), "vcpu", "KVM_GET_XCRS", err);
        if (ret < 0)
            return ret;
        put_rec(b, REC_XCRS, &xcrs, sizeof(xcrs));
    }
    if (kvm_check_cap(v->vm->kvm, KVM_CAP_DEBUGREGS) > 0) {
        struct kvm_debugregs dr;
        ret = ioctl_err(ioctl(v->fd, KVM_GET_DEBUGREGS, &dr), "vcpu", "KVM_GET_DEBUGREGS", err);
        if (ret < 0)
            return ret;
        put_rec(b, REC_DEBUGREGS, &dr, sizeof(dr));
    }
    ret = save_fpu(v, b, err);
    if (ret == 0)
        ret = save_msrs(v, b, err);
    return ret;
}

static int load_fpu(struct vcpu *v, const struct recs *r, const char *what, struct error *err)
{
    struct kvm_fpu fpu;
    int host = ioctl(v->vm->fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2);
    size_t size;
    void *x;
    int ret;
    if (r->p[REC_XSAVE] == NULL) {
        ret = take_rec(r, REC_FPU, &fpu, sizeof(fpu), what, err);
        return ret < 0 ? ret : ioctl_err(ioctl(v->fd, KVM_SET_FPU, &fpu), what, "KVM_SET_FPU", err);
    }
    if (host < 4096)
        host = kvm_check_cap(v->vm->kvm, KVM_CAP_XSAVE) > 0 ? 4096 : 0;
    if (r->len[REC_XSAVE] < 4096 || r->len[REC_XSAVE] > (uint32_t)host)
        return error_set(err, -EINVAL,
                         "state file: section %s: an XSAVE area of %u bytes, this host's holds %d",
                         what, r->len[REC_XSAVE], host);
    size = (size_t)host;
    x = calloc(1, size);
    if (x == NULL)
        return error_set(err, -ENOMEM, "out of memory");
    memcpy(x, r->p[REC_XSAVE], r->len[REC_XSAVE]);
    ret = ioctl_err(ioctl(v->fd, KVM_SET_XSAVE, x), what, "KVM_SET_XSAVE", err);
    free(x);
    return ret;
}

/* Whether every MSR of (m) is one save_msrs writes on this host (msr_list). Returns 0 or
 * -EINVAL with (err) naming the first other one. */
static int check_msrs(struct vcpu *v, const struct kvm_msrs *m, const char *what, struct error *err)
{
    uint32_t idx[MSRS_MAX];
    int n = msr_list(v, idx);
    if (n < 0)
        return error_set(err, n, "vcpu: KVM_GET_MSR_INDEX_LIST: %s", strerror(-n));
    for (uint32_t i = 0; i < m->nmsrs; i++) {
        bool found = false;
        for (int j = 0; !found && j < n; j++)
            found = idx[j] == m->entries[i].index;
        if (!found)
            return error_set(err, -EINVAL,
                             "state file: section %s: MSR 0x%x is not one a save writes", what,
                             m->entries[i].index);
    }
    return 0;
}

static int load_msrs(struct vcpu *v, const struct recs *r, const char *what, struct error *err)
{
    const uint8_t *p = r->p[REC_MSRS];
    uint32_t len = r->len[REC_MSRS], n;
    struct kvm_msrs *m;
    int ret;
    if (p == NULL || len < sizeof(*m))
        return error_set(err, -EINVAL, "state file: section %s: no MSRs", what);
    memcpy(&n, p, sizeof(n));
    if (n > MSRS_MAX || len != sizeof(*m) + n * sizeof(m->entries[0]))
        return error_set(err, -EINVAL, "state file: section %s: bad MSR list", what);
    m = malloc(len);
    if (m == NULL)
        return error_set(err, -ENOMEM, "out of memory");
    memcpy(m, p, len);
    m->nmsrs = n; /* the count checked above, not a second read of the (mapped) file */
    ret = check_msrs(v, m, what, err); /* only MSRs a save writes: no others through the file */
    if (ret < 0) {
        free(m);
        return ret;
    }
    ret = ioctl(v->fd, KVM_SET_MSRS, m);
    if (ret >= 0 && (uint32_t)ret < n)
        ret = error_set(err, -EINVAL, "%s: this KVM refused MSR 0x%x", what, m->entries[ret].index);
    else
        ret = ioctl_err(ret, what, "KVM_SET_MSRS", err);
    free(m);
    return ret;
}

/* A fixed-size record and its set ioctl, in the order they are applied. */
struct fixed_rec {
    enum rec_tag tag;
    unsigned long set;
    size_t size;
    const char *name;
    bool is_optional;
};

static int load_fixed(int fd, const struct recs *r, const struct fixed_rec *f, const char *what,
                      struct error *err)
{
    union {
        struct kvm_regs regs;
        struct kvm_sregs sregs;
        struct kvm_xcrs xcrs;
        struct kvm_debugregs dr;
        struct kvm_lapic_state lapic;
        struct kvm_vcpu_events ev;
        struct kvm_mp_state mp;
    } u;
    int ret;
    if (f->is_optional && r->p[f->tag] == NULL)
        return 0;
    if (f->size > sizeof(u))
        return -EINVAL;
    ret = take_rec(r, f->tag, &u, f->size, what, err);
    /* nmi.pending and sipi_vector are applied only with these flags (api.rst) */
    if (ret == 0 && f->tag == REC_EVENTS)
        u.ev.flags |= KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SIPI_VECTOR;
    return ret < 0 ? ret : ioctl_err(ioctl(fd, f->set, &u), what, f->name, err);
}

int vcpu_load_state(struct vcpu *v, const uint8_t *data, size_t len, struct error *err)
{
    static const struct fixed_rec first[] = {
        {REC_SREGS, KVM_SET_SREGS, sizeof(struct kvm_sregs), "KVM_SET_SREGS", false},
        {REC_REGS, KVM_SET_REGS, sizeof(struct kvm_regs), "KVM_SET_REGS", false},
    };
    static const struct fixed_rec last[] = {
        {REC_XCRS, KVM_SET_XCRS, sizeof(struct kvm_xcrs), "KVM_SET_XCRS", true},
        {REC_DEBUGREGS, KVM_SET_DEBUGREGS, sizeof(struct kvm_debugregs), "KVM_SET_DEBUGREGS", true},
        {REC_LAPIC, KVM_SET_LAPIC, sizeof(struct kvm_lapic_state), "KVM_SET_LAPIC", false},
        {REC_EVENTS, KVM_SET_VCPU_EVENTS, sizeof(struct kvm_vcpu_events), "KVM_SET_VCPU_EVENTS",
         false},
        {REC_MP_STATE, KVM_SET_MP_STATE, sizeof(struct kvm_mp_state), "KVM_SET_MP_STATE", false},
    };
    char what[24];
    struct recs r;
    int ret;
    snprintf(what, sizeof(what), "vcpu.%u", v->index);
    ret = split_recs(data, len, &r, what, err);
    for (size_t i = 0; ret == 0 && i < ARRAY_SIZE(first); i++)
        ret = load_fixed(v->fd, &r, &first[i], what, err);
    if (ret == 0)
        ret = load_fpu(v, &r, what, err);
    if (ret == 0)
        ret = load_msrs(v, &r, what, err);
    for (size_t i = 0; ret == 0 && i < ARRAY_SIZE(last); i++)
        ret = load_fixed(v->fd, &r, &last[i], what, err);
    return ret;
}

static int save_chip(struct vm *vm, struct sf_buf *b, enum rec_tag tag, uint32_t id,
                     struct error *err)
{
    struct kvm_irqchip chip = {.chip_id = id};
    int ret = ioctl_err(ioctl(vm->fd, KVM_GET_IRQCHIP, &chip), "vm", "KVM_GET_IRQCHIP", err);
    if (ret == 0)
        put_rec(b, tag, &chip, sizeof(chip));
    return ret;
}

int vm_save_state(struct vm *vm, struct sf_buf *b, struct error *err)
{
    struct kvm_clock_data clock = {0};
    struct kvm_pit_state2 pit;
    int ret = ioctl_err(ioctl(vm->fd, KVM_GET_CLOCK, &clock), "vm", "KVM_GET_CLOCK", err);
    if (ret < 0)
        return ret;
    put_rec(b, REC_CLOCK, &clock, sizeof(clock));
    if (vm->irqchip != VM_IRQCHIP_KERNEL)
        return 0;
    ret = save_chip(vm, b, REC_PIC_MASTER, KVM_IRQCHIP_PIC_MASTER, err);
    if (ret == 0)
        ret = save_chip(vm, b, REC_PIC_SLAVE, KVM_IRQCHIP_PIC_SLAVE, err);
    if (ret == 0)
        ret = save_chip(vm, b, REC_IOAPIC, KVM_IRQCHIP_IOAPIC, err);
    if (ret == 0)
        ret = ioctl_err(ioctl(vm->fd, KVM_GET_PIT2, &pit), "vm", "KVM_GET_PIT2", err);
    if (ret == 0)
        put_rec(b, REC_PIT2, &pit, sizeof(pit));
    return ret;
}

static int load_chip(struct vm *vm, const struct recs *r, enum rec_tag tag, uint32_t id,
                     struct error *err)
{
    struct kvm_irqchip chip;
    int ret = take_rec(r, tag, &chip, sizeof(chip), "vm", err);
    if (ret == 0 && chip.chip_id != id)
        ret = error_set(err, -EINVAL, "state file: section vm: bad irqchip id %u", chip.chip_id);
    return ret < 0 ? ret
                   : ioctl_err(ioctl(vm->fd, KVM_SET_IRQCHIP, &chip), "vm", "KVM_SET_IRQCHIP", err);
}

int vm_load_state(struct vm *vm, const uint8_t *data, size_t len, struct error *err)
{
    struct kvm_clock_data clock;
    struct kvm_pit_state2 pit;
    struct recs r;
    int ret = split_recs(data, len, &r, "vm", err);
    if (ret == 0)
        ret = take_rec(&r, REC_CLOCK, &clock, sizeof(clock), "vm", err);
    if (ret < 0)
        return ret;
    clock.flags = 0; /* only the clock value: the host's realtime/TSC differ now */
    ret = ioctl_err(ioctl(vm->fd, KVM_SET_CLOCK, &clock), "vm", "KVM_SET_CLOCK", err);
    if (ret < 0 || vm->irqchip != VM_IRQCHIP_KERNEL)
        return ret;
    ret = load_chip(vm, &r, REC_PIC_MASTER, KVM_IRQCHIP_PIC_MASTER, err);
    if (ret == 0)
        ret = load_chip(vm, &r, REC_PIC_SLAVE, KVM_IRQCHIP_PIC_SLAVE, err);
    if (ret == 0)
        ret = load_chip(vm, &r, REC_IOAPIC, KVM_IRQCHIP_IOAPIC, err);
    if (ret == 0)
        ret = take_rec(&r, REC_PIT2, &pit, sizeof(pit), "vm", err);
    if (ret == 0)
        ret = ioctl_err(ioctl(vm->fd, KVM_SET_PIT2, &pit), "vm", "KVM_SET_PIT2", err);
    return ret;
}

void vm_save_cpuid(const struct vm *vm, struct sf_buf *b)
{
    cpuid_state_put(b, vm->cpuid->entries, vm->cpuid->nent);
}

/* Makes (e, n) the VM's table (vm->cpuid). Returns 0 or -ENOMEM. */
static int set_vm_cpuid(struct vm *vm, const struct kvm_cpuid_entry2 *e, size_t n)
{
    struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));
    if (c == NULL)
        return -ENOMEM;
    c->nent = (uint32_t)n;
    if (n > 0)
        memcpy(c->entries, e, n * sizeof(e[0]));
    free(vm->cpuid);
    vm->cpuid = c;
    return 0;
}

int vm_restore_cpuid(struct vm *vm, struct sf_in *in, struct error *err)
{
    struct kvm_cpuid_entry2 *saved = NULL;
    size_t n = 0;
    int ret = cpuid_state_get(in, &saved, &n);
    if (ret == 0 && n == 0)
        ret = -EINVAL; /* no CPU ever had an empty table */
    if (ret < 0) {
        free(saved);
        return error_set(err, ret, "%s", ret == -ENOMEM ? "out of memory" : "cannot be loaded");
    }
    ret = cpuid_state_check(saved, n, vm->cpuid->entries, vm->cpuid->nent, err);
    /* the guest keeps the features it found at boot, not this host's (which may offer more);
     * the rest of the table is this host's (cpuid_state_merge) */
    if (ret == 0) {
        struct kvm_cpuid_entry2 *merged = malloc(vm->cpuid->nent * sizeof(*merged));
        if (merged == NULL)
            ret = error_set(err, -ENOMEM, "out of memory");
        else
            memcpy(merged, vm->cpuid->entries, vm->cpuid->nent * sizeof(*merged));
        if (merged != NULL)
            cpuid_state_merge(saved, n, merged, vm->cpuid->nent);
        free(saved);
        saved = merged;
        n = vm->cpuid->nent;
    }
    for (unsigned i = 0; ret == 0 && i < vm->ncpus; i++) {
        ret = vcpu_set_cpuid(vm->vcpus[i], saved, n);
        if (ret < 0)
            error_set(err, ret, "vcpu%u: KVM_SET_CPUID2 with the saved table: %s", i,
                      strerror(-ret));
    }
    if (ret == 0 && (ret = set_vm_cpuid(vm, saved, n)) < 0)
        error_set(err, ret, "out of memory");
    free(saved);
    return ret;
}
