/* SPDX-License-Identifier: MIT */
/*
 * Implementation of core/kvm.h: /dev/kvm open, API version and capability checks
 * (Documentation/virt/kvm/api.rst §4.1 KVM_GET_API_VERSION, §4.4 KVM_CHECK_EXTENSION,
 * §4.46 KVM_GET_SUPPORTED_CPUID).
 */
#define LOG_TAG "kvm"
#include "core/kvm.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "base/log.h"

static const struct kvm_cap_req required_caps[] = {
    {KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP"},
    {KVM_CAP_PIT2, "KVM_CAP_PIT2"},
    {KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD"},
    {KVM_CAP_IRQFD, "KVM_CAP_IRQFD"},
    {KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY"},
    {KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR"},
    {KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID"},
    {KVM_CAP_VCPU_EVENTS, "KVM_CAP_VCPU_EVENTS"},
    {KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT"},
    {KVM_CAP_READONLY_MEM, "KVM_CAP_READONLY_MEM"},
    {KVM_CAP_SIGNAL_MSI, "KVM_CAP_SIGNAL_MSI"},
};

const struct kvm_cap_req *kvm_required_caps(size_t *n)
{
    *n = ARRAY_SIZE(required_caps);
    return required_caps;
}

int kvm_check_cap(const struct kvm *kvm, int cap)
{
    int ret = ioctl(kvm->fd, KVM_CHECK_EXTENSION, cap);
    return ret < 0 ? 0 : ret;
}

static int check_kvm(struct kvm *kvm, const char *path, struct error *err)
{
    int version = ioctl(kvm->fd, KVM_GET_API_VERSION, 0);
    int size;
    if (version != KVM_API_VERSION)
        return error_set(err, -ENODEV, "%s: unsupported KVM API version %d (need %d)", path,
                         version, KVM_API_VERSION);
    for (size_t i = 0; i < ARRAY_SIZE(required_caps); i++)
        if (kvm_check_cap(kvm, required_caps[i].cap) <= 0)
            return error_set(err, -ENODEV, "%s: KVM lacks required capability %s", path,
                             required_caps[i].name);
    size = ioctl(kvm->fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (size <= 0)
        return error_set(err, -ENODEV, "%s: KVM_GET_VCPU_MMAP_SIZE failed", path);
    kvm->vcpu_mmap_bytes = (size_t)size;
    kvm->max_vcpus = (unsigned)kvm_check_cap(kvm, KVM_CAP_MAX_VCPUS);
    if (kvm->max_vcpus == 0)
        kvm->max_vcpus = (unsigned)kvm_check_cap(kvm, KVM_CAP_NR_VCPUS);
    if (kvm->max_vcpus == 0)
        kvm->max_vcpus = 4; /* api.rst: assume 4 when KVM_CAP_NR_VCPUS is absent */
    return 0;
}

int kvm_open(const char *path, struct kvm **out, struct error *err)
{
    struct kvm *kvm;
    int ret;
    kvm = calloc(1, sizeof(*kvm));
    if (kvm == NULL)
        return error_set(err, -ENOMEM, "out of memory");
    kvm->fd = open(path, O_RDWR | O_CLOEXEC);
    if (kvm->fd < 0) {
        ret = errno;
        error_set(err, -ENODEV, "%s: %s (KVM is %s)", path, strerror(ret),
                  ret == ENOENT ? "not available on this host" : "not usable");
        ret = -ENODEV;
        goto err_free;
    }
    ret = check_kvm(kvm, path, err);
    if (ret < 0)
        goto err_close;
    log_debug("%s: api %d, vcpu mmap %zu bytes, max %u vcpus", path, KVM_API_VERSION,
              kvm->vcpu_mmap_bytes, kvm->max_vcpus);
    *out = kvm;
    return 0;
err_close:
    close(kvm->fd);
err_free:
    free(kvm);
    return ret;
}

void kvm_close(struct kvm *kvm)
{
    if (kvm == NULL)
        return;
    close(kvm->fd);
    free(kvm);
}

int kvm_get_supported_cpuid(const struct kvm *kvm, struct kvm_cpuid2 **out)
{
    for (unsigned n = 64; n <= 4096; n *= 2) {
        struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));
        if (c == NULL)
            return -ENOMEM;
        c->nent = n;
        if (ioctl(kvm->fd, KVM_GET_SUPPORTED_CPUID, c) == 0) {
            *out = c;
            return 0;
        }
        free(c);
        if (errno != E2BIG)
            return -errno;
    }
    return -E2BIG;
}
