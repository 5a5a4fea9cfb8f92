/* SPDX-License-Identifier: MIT */
/*
 * ioeventfd registration (api.rst §4.59 KVM_IOEVENTFD): a guest write to a doorbell signals an
 * eventfd inside the kernel, so queue notifications reach the event loop without a vCPU exit.
 */
#define LOG_TAG "ioevent"
#include "core/vm.h"

#include <errno.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>

#include "base/log.h"

int vm_ioeventfd(struct vm *vm, uint64_t addr, unsigned len, bool is_pio, int fd, bool is_assign)
{
    struct kvm_ioeventfd req;
    if (len != 0 && len != 1 && len != 2 && len != 4 && len != 8)
        return -EINVAL;
    memset(&req, 0, sizeof(req));
    req.addr = addr;
    req.len = len;
    req.fd = fd;
    req.flags =
        (is_pio ? KVM_IOEVENTFD_FLAG_PIO : 0) | (is_assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN);
    if (ioctl(vm->fd, KVM_IOEVENTFD, &req) < 0) {
        int ret = -errno;
        log_debug("ioeventfd %s 0x%llx len %u: %s", is_pio ? "pio" : "mmio",
                  (unsigned long long)addr, len, strerror(-ret));
        return ret;
    }
    return 0;
}
