/* SPDX-License-Identifier: MIT */
/*
 * The /dev/kvm system handle: opens the device, checks the API version (KVM_API_VERSION 12) and
 * the capabilities the monitor relies on (Documentation/virt/kvm/api.rst §4.1-4.4), and answers
 * system-level queries (vcpu mmap size, supported CPUID). One per process, shared by the VM.
 */
#ifndef BAREIRON_CORE_KVM_H
#define BAREIRON_CORE_KVM_H

#include <stddef.h>

#include "base/compiler.h"
#include "base/error.h"

struct kvm_cpuid2;

struct kvm {
    int fd;
    size_t vcpu_mmap_bytes; /* KVM_GET_VCPU_MMAP_SIZE */
    unsigned max_vcpus;     /* KVM_CAP_MAX_VCPUS (or NR_VCPUS) */
};

/* A capability the monitor cannot run without, with its name for messages. */
struct kvm_cap_req {
    int cap;
    const char *name;
};

/* Returns the table of required capabilities and its length in (*n). */
const struct kvm_cap_req *kvm_required_caps(size_t *n);

/*
 * Opens (path) (normally "/dev/kvm"), checks the API version and every required capability.
 * Returns 0 and the handle in (*out), or -ENODEV with a one-line message in (err) naming what
 * is wrong (device missing, permission, API version, the missing capability).
 */
MUST_CHECK int kvm_open(const char *path, struct kvm **out, struct error *err);
/* Closes and frees (kvm). NULL is allowed. */
void kvm_close(struct kvm *kvm);

/* KVM_CHECK_EXTENSION on the system fd: returns the (non-negative) value, 0 when absent. */
int kvm_check_cap(const struct kvm *kvm, int cap);

/*
 * KVM_GET_SUPPORTED_CPUID into a malloc'd struct kvm_cpuid2 (*out), growing the buffer until
 * it fits. The caller frees it. Returns 0 or -errno.
 */
MUST_CHECK int kvm_get_supported_cpuid(const struct kvm *kvm, struct kvm_cpuid2 **out);

#endif
