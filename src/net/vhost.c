/* SPDX-License-Identifier: MIT */
/*
 * Implementation of net/vhost.h over the vhost ioctls (linux/vhost.h). Everything handed to the
 * kernel comes from the device, which took the ring addresses from checked guest memory and
 * the regions from guest RAM only; the kernel checks every descriptor against the table.
 */
#define LOG_TAG "net-vhost"
#include "net/vhost.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/vhost.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "base/log.h"

int net_vhost_open(uint64_t *features, struct error *err)
{
    uint64_t f = 0;
    int fd = open("/dev/vhost-net", O_RDWR | O_CLOEXEC);
    int ret;

    if (fd < 0)
        return error_set(err, -errno, "/dev/vhost-net: %s", strerror(errno));
    if (ioctl(fd, VHOST_SET_OWNER, NULL) < 0 || ioctl(fd, VHOST_GET_FEATURES, &f) < 0) {
        ret = error_set(err, -errno, "/dev/vhost-net: %s", strerror(errno));
        close(fd);
        return ret;
    }
    *features = f & NET_VHOST_RING_FEATURES;
    return fd;
}

static int set_mem_table(int fd, const struct net_vhost_setup *s)
{
    struct vhost_memory *m;
    int ret = 0;

    m = calloc(1, sizeof(*m) + s->nregions * sizeof(m->regions[0]));
    if (m == NULL)
        return -ENOMEM;
    m->nregions = s->nregions;
    for (unsigned i = 0; i < s->nregions; i++) {
        m->regions[i].guest_phys_addr = s->regions[i].gpa;
        m->regions[i].memory_size = s->regions[i].size_bytes;
        m->regions[i].userspace_addr = s->regions[i].hva;
    }
    if (ioctl(fd, VHOST_SET_MEM_TABLE, m) < 0)
        ret = -errno;
    free(m);
    return ret;
}

static int set_ring(int fd, unsigned i, const struct net_vhost_ring *r, int err_fd)
{
    struct vhost_vring_state num = {.index = i, .num = r->size};
    struct vhost_vring_state base = {.index = i, .num = r->last_avail_idx};
    struct vhost_vring_addr addr = {
        .index = i,
        .desc_user_addr = r->desc_hva,
        .avail_user_addr = r->avail_hva,
        .used_user_addr = r->used_hva,
    };
    struct vhost_vring_file kick = {.index = i, .fd = r->kick_fd};
    struct vhost_vring_file call = {.index = i, .fd = r->call_fd};
    struct vhost_vring_file verr = {.index = i, .fd = err_fd};

    if (ioctl(fd, VHOST_SET_VRING_NUM, &num) < 0 || ioctl(fd, VHOST_SET_VRING_BASE, &base) < 0 ||
        ioctl(fd, VHOST_SET_VRING_ADDR, &addr) < 0 || ioctl(fd, VHOST_SET_VRING_KICK, &kick) < 0 ||
        ioctl(fd, VHOST_SET_VRING_CALL, &call) < 0)
        return -errno;
    /* the ring's errors: only reported, so a kernel refusing it does not stop vhost */
    if (err_fd >= 0 && ioctl(fd, VHOST_SET_VRING_ERR, &verr) < 0)
        log_ratelimited(LOG_WARN, "VHOST_SET_VRING_ERR %u: %s (ring errors not reported)", i,
                        strerror(errno));
    return 0;
}

static void set_backend(int fd, unsigned n, int tap_fd)
{
    for (unsigned i = 0; i < n; i++) {
        struct vhost_vring_file b = {.index = i, .fd = tap_fd};
        if (ioctl(fd, VHOST_NET_SET_BACKEND, &b) < 0 && tap_fd >= 0)
            log_warn("VHOST_NET_SET_BACKEND %u: %s", i, strerror(errno));
    }
}

int net_vhost_start(int fd, int tap_fd, int err_fd, const struct net_vhost_setup *s)
{
    /* The tap reads and writes the 12-byte header itself (TUNSETVNETHDRSZ): no
     * VHOST_NET_F_VIRTIO_NET_HDR, vhost passes the guest's header through. */
    uint64_t f = s->features & NET_VHOST_RING_FEATURES;
    const char *what = "VHOST_SET_FEATURES";
    int ret = 0;

    if (ioctl(fd, VHOST_SET_FEATURES, &f) < 0)
        ret = -errno;
    if (ret == 0) {
        what = "VHOST_SET_MEM_TABLE";
        ret = set_mem_table(fd, s);
    }
    for (unsigned i = 0; ret == 0 && i < 2; i++) {
        what = "vring setup";
        ret = set_ring(fd, i, &s->rings[i], err_fd);
    }
    for (unsigned i = 0; ret == 0 && i < 2; i++) {
        struct vhost_vring_file b = {.index = i, .fd = tap_fd};
        what = "VHOST_NET_SET_BACKEND";
        if (ioctl(fd, VHOST_NET_SET_BACKEND, &b) < 0)
            ret = -errno;
    }
    if (ret < 0) {
        log_warn("%s: %s", what, strerror(-ret));
        set_backend(fd, 2, -1);
    }
    return ret;
}

void net_vhost_stop(int fd, uint16_t last_avail[2])
{
    set_backend(fd, 2, -1);
    for (unsigned i = 0; i < 2; i++) {
        struct vhost_vring_state st = {.index = i};
        if (ioctl(fd, VHOST_GET_VRING_BASE, &st) < 0) {
            log_warn("VHOST_GET_VRING_BASE %u: %s", i, strerror(errno));
            continue;
        }
        last_avail[i] = (uint16_t)st.num;
    }
}
