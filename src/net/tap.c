/* SPDX-License-Identifier: MIT */
/*
 * Implementation of net/tap.h over the Linux tun/tap driver (Documentation/networking/tuntap.rst,
 * linux/if_tun.h): TUNSETIFF with IFF_TAP | IFF_NO_PI | IFF_VNET_HDR (and IFF_MULTI_QUEUE for
 * queues=N: one descriptor per queue pair, attached and detached with TUNSETQUEUE as the guest
 * uses more or fewer pairs), TUNSETVNETHDRSZ 12, TUNSETOFFLOAD for the offloads the guest
 * takes; with vhost-net (net/vhost.h) the kernel moves the frames of each pair while the
 * device runs, and this file's read path stands aside for that pair. vhost's error eventfd
 * (one per pair, watched on the loop) tells the device a ring broke (net_backend_fault).
 */
#define LOG_TAG "net-tap"
#include "net/tap.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include "base/evloop.h"
#include "base/iov.h"
#include "base/log.h"
#include "net/vhost.h"

/* Frames read per wakeup before the loop serves its other descriptors. */
#define TAP_RX_BUDGET 64u
#define TAP_BUF_BYTES (sizeof(struct net_hdr) + NET_FRAME_MAX_BYTES)

#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#define TUN_F_USO6 0x40
#endif

struct net_tap;

/* One queue pair's descriptor. */
struct tap_queue {
    struct net_tap *t;
    unsigned index;
    int fd;
    int vhost_fd;         /* /dev/vhost-net for this pair, -1 without */
    int err_fd;           /* vhost's ring errors for this pair (eventfd), -1 without */
    atomic_bool is_vhost; /* vhost moves the frames: the read path stands aside */
    bool is_attached;     /* TUNSETQUEUE: frames from the host come to this queue */
    bool is_rx_paused;    /* the device had no room: fd not watched */
    size_t pending_len;   /* a frame read and not yet taken (in rxbuf) */
    uint8_t *rxbuf;       /* TAP_BUF_BYTES */
};

struct net_tap {
    struct net_backend be; /* first */
    struct evloop *loop;
    char ifname[IFNAMSIZ];
    bool is_scheduled; /* resume() queued */
    unsigned nq;
    struct tap_queue q[NET_MAX_QUEUES];
    uint8_t *txbuf; /* TAP_BUF_BYTES, for chains of more than IOV_MAX - 1 pieces */
    struct iovec txiov[IOV_MAX];
};

static struct net_tap *to_tap(struct net_backend *be)
{
    return container_of(be, struct net_tap, be);
}

static unsigned tun_flags(uint32_t offloads)
{
    unsigned f = 0;
    if (offloads & NET_OFFLOAD_CSUM)
        f |= TUN_F_CSUM;
    if (offloads & NET_OFFLOAD_TSO4)
        f |= TUN_F_TSO4;
    if (offloads & NET_OFFLOAD_TSO6)
        f |= TUN_F_TSO6;
    if (offloads & NET_OFFLOAD_ECN)
        f |= TUN_F_TSO_ECN;
    if (offloads & NET_OFFLOAD_USO)
        f |= TUN_F_USO4 | TUN_F_USO6;
    return f;
}

static int tap_set_offloads(struct net_backend *be, uint32_t offloads)
{
    struct net_tap *t = to_tap(be);
    /* TSO without checksum offload means nothing to the kernel */
    if (!(offloads & NET_OFFLOAD_CSUM))
        offloads = 0;
    /* the offloads are the interface's: one queue sets them for all */
    if (ioctl(t->q[0].fd, TUNSETOFFLOAD, (unsigned long)tun_flags(offloads)) < 0)
        return -errno;
    return 0;
}

/* Hands the frame in q->rxbuf to the device. Returns false when it had no room. */
static bool deliver(struct tap_queue *q)
{
    struct net_tap *t = q->t;
    struct net_hdr hdr;

    if (q->pending_len < sizeof(hdr) + NET_FRAME_MIN_BYTES || t->be.rx == NULL ||
        !net_backend_link_is_up(&t->be)) {
        t->be.stats.rx_dropped++;
        q->pending_len = 0;
        return true;
    }
    memcpy(&hdr, q->rxbuf, sizeof(hdr));
    if (t->be.rx(t->be.opaque, q->index, &hdr, q->rxbuf + sizeof(hdr),
                 q->pending_len - sizeof(hdr)) == -EAGAIN)
        return false;
    q->pending_len = 0;
    return true;
}

static void pause_rx(struct tap_queue *q)
{
    if (!q->is_rx_paused && evloop_mod(q->t->loop, q->fd, 0) == 0)
        q->is_rx_paused = true;
}

static void on_readable(void *opaque, uint32_t events)
{
    struct tap_queue *q = opaque;
    (void)events;

    if (atomic_load(&q->is_vhost)) {
        pause_rx(q); /* vhost reads the tap; tap_vhost_stop resumes */
        return;
    }
    for (unsigned i = 0; i < TAP_RX_BUDGET; i++) {
        ssize_t n;
        if (q->pending_len > 0 && !deliver(q)) {
            pause_rx(q);
            return;
        }
        n = read(q->fd, q->rxbuf, TAP_BUF_BYTES);
        if (n <= 0) {
            if (n < 0 && errno != EAGAIN && errno != EINTR) {
                log_ratelimited(LOG_WARN, "%s: read: %s", q->t->ifname, strerror(errno));
                q->t->be.stats.errors++;
            }
            return;
        }
        q->pending_len = (size_t)n;
    }
    if (q->pending_len > 0 && !deliver(q))
        pause_rx(q);
}

static void resume(void *opaque)
{
    struct net_tap *t = opaque;
    t->is_scheduled = false;
    for (unsigned i = 0; i < t->nq; i++) {
        struct tap_queue *q = &t->q[i];
        if (q->pending_len > 0 && !deliver(q))
            continue;
        if (q->is_rx_paused && !atomic_load(&q->is_vhost) &&
            evloop_mod(t->loop, q->fd, EPOLLIN) == 0)
            q->is_rx_paused = false;
    }
}

static void tap_rx_ready(struct net_backend *be)
{
    struct net_tap *t = to_tap(be);
    bool is_waiting = false;

    for (unsigned i = 0; i < t->nq; i++)
        is_waiting |= t->q[i].is_rx_paused || t->q[i].pending_len > 0;
    if (is_waiting && !t->is_scheduled && evloop_call(t->loop, resume, t) == 0)
        t->is_scheduled = true;
}

static int tap_send(struct net_backend *be, const struct net_hdr *hdr, const struct iovec *iov,
                    unsigned cnt)
{
    struct net_tap *t = to_tap(be);
    struct net_hdr h = *hdr;
    uint64_t len = iov_size(iov, cnt);
    int fd = t->q[0].fd; /* any queue of the interface sends */
    ssize_t n;

    h.num_buffers = 0;
    if (len > NET_FRAME_MAX_BYTES) {
        be->stats.tx_dropped++;
        return 0;
    }
    if (cnt + 1 > IOV_MAX) { /* flatten: writev takes at most IOV_MAX pieces */
        iov_to_buf(iov, (int)cnt, 0, t->txbuf + sizeof(h), len);
        memcpy(t->txbuf, &h, sizeof(h));
        n = write(fd, t->txbuf, sizeof(h) + len);
    } else {
        t->txiov[0] = (struct iovec){&h, sizeof(h)};
        memcpy(&t->txiov[1], iov, cnt * sizeof(*iov));
        n = writev(fd, t->txiov, (int)cnt + 1);
    }
    if (n < 0) {
        /* EAGAIN: the interface's queue is full (or it is down); the frame is lost as on a
         * wire, and TCP in the guest sends it again */
        if (errno != EAGAIN && errno != EIO)
            log_ratelimited(LOG_WARN, "%s: write: %s", t->ifname, strerror(errno));
        be->stats.tx_dropped++;
    }
    return 0;
}

/* Attaches or detaches queue (q) (IFF_MULTI_QUEUE taps only). */
static int attach(struct tap_queue *q, bool is_on)
{
    struct ifreq ifr = {.ifr_flags = is_on ? IFF_ATTACH_QUEUE : IFF_DETACH_QUEUE};

    if (q->is_attached == is_on)
        return 0;
    if (ioctl(q->fd, TUNSETQUEUE, &ifr) < 0)
        return -errno;
    q->is_attached = is_on;
    return 0;
}

static int tap_set_queues(struct net_backend *be, unsigned n)
{
    struct net_tap *t = to_tap(be);
    int ret = 0;

    if (t->nq < 2)
        return 0;
    for (unsigned i = 0; i < t->nq && ret == 0; i++)
        ret = attach(&t->q[i], i < n);
    if (ret < 0)
        log_warn("%s: cannot use %u queues: %s", t->ifname, n, strerror(-ret));
    return ret;
}

static int tap_vhost_start(struct net_backend *be, unsigned pair, const struct net_vhost_setup *s)
{
    struct net_tap *t = to_tap(be);
    struct tap_queue *q;
    int ret;

    if (pair >= t->nq || t->q[pair].vhost_fd < 0)
        return -ENOTSUP;
    q = &t->q[pair];
    ret = net_vhost_start(q->vhost_fd, q->fd, q->err_fd, s);
    if (ret == 0)
        atomic_store(&q->is_vhost, true);
    return ret;
}

static void tap_vhost_stop(struct net_backend *be, unsigned pair, uint16_t last_avail[2])
{
    struct net_tap *t = to_tap(be);
    struct tap_queue *q;

    if (pair >= t->nq)
        return;
    q = &t->q[pair];
    if (q->vhost_fd < 0 || !atomic_load(&q->is_vhost))
        return;
    net_vhost_stop(q->vhost_fd, last_avail);
    atomic_store(&q->is_vhost, false);
    tap_rx_ready(be); /* watch the tap again if the read path paused */
}

static void queues_close(struct net_tap *t)
{
    for (unsigned i = 0; i < NET_MAX_QUEUES; i++) {
        struct tap_queue *q = &t->q[i];
        if (q->vhost_fd >= 0)
            close(q->vhost_fd);
        if (q->err_fd >= 0) {
            (void)evloop_del(t->loop, q->err_fd);
            close(q->err_fd);
        }
        if (q->fd >= 0) {
            (void)evloop_del(t->loop, q->fd);
            close(q->fd);
        }
        free(q->rxbuf);
    }
}

static void tap_close(struct net_backend *be)
{
    struct net_tap *t = to_tap(be);
    evloop_cancel(t->loop, t);
    queues_close(t);
    free(t->txbuf);
    free(t);
}

static const struct net_backend_ops tap_ops = {
    .send = tap_send,
    .set_offloads = tap_set_offloads,
    .rx_ready = tap_rx_ready,
    .set_queues = tap_set_queues,
    .vhost_start = tap_vhost_start,
    .vhost_stop = tap_vhost_stop,
    .close = tap_close,
};

/*
 * Whether interface (name) is known not to be a tun/tap device: sysfs lists it without the
 * tun_flags that tun/tap devices have. Unknown (no sysfs, or a sysfs of another network
 * namespace that does not list it) is false, and the message stays the plain one.
 */
static bool is_not_tun_device(const char *name)
{
    char path[64 + IFNAMSIZ];
    snprintf(path, sizeof(path), "/sys/class/net/%s", name);
    if (access(path, F_OK) < 0)
        return false;
    snprintf(path, sizeof(path), "/sys/class/net/%s/tun_flags", name);
    return access(path, F_OK) < 0;
}

/* Opens /dev/net/tun (nq) times and attaches each to interface (name). */
static int open_ifname(struct net_tap *t, const char *name, struct error *err)
{
    struct ifreq ifr = {.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR};

    if (strlen(name) >= IFNAMSIZ)
        return error_set(err, -EINVAL, "tap ifname=%s: name longer than %d bytes", name,
                         IFNAMSIZ - 1);
    if (if_nametoindex(name) == 0)
        return error_set(err, -ENODEV, "tap ifname=%s: no such network interface", name);
    if (t->nq > 1)
        ifr.ifr_flags |= IFF_MULTI_QUEUE;
    memcpy(ifr.ifr_name, name, strlen(name));
    /*
     * Not through the descriptor cache: every open of the clone device is a new tap queue, and
     * a second adapter must not get a duplicate of the first one's. The backend is opened once
     * per process, before the cache is sealed and the filters forbid opens, and kept across
     * reboots, so nothing needs to open it again.
     */
    for (unsigned i = 0; i < t->nq; i++) {
        struct tap_queue *q = &t->q[i];
        q->fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
        if (q->fd < 0)
            return error_set(err, -errno, "tap ifname=%s: /dev/net/tun: %s", name, strerror(errno));
        if (ioctl(q->fd, TUNSETIFF, &ifr) < 0) {
            int e = errno;
            return error_set(
                err, -e, "tap ifname=%s: cannot attach%s: %s%s", name, t->nq > 1 ? " a queue" : "",
                strerror(e),
                e == EPERM ? " (not its owner, and no CAP_NET_ADMIN)"
                : e == EINVAL && is_not_tun_device(name)
                    ? " (not a tap device: make one with 'ip tuntap add NAME mode tap')"
                : e == EINVAL && t->nq > 1 ? " (not a multi-queue tap: made without multi_queue?)"
                                           : "");
        }
        q->is_attached = true;
    }
    return 0;
}

/* Checks that descriptor (fd) is a tap with IFF_VNET_HDR and takes it. */
static int take_fd(struct net_tap *t, int fd, struct error *err)
{
    struct ifreq ifr = {0};

    if (ioctl(fd, TUNGETIFF, &ifr) < 0)
        return error_set(err, -EINVAL, "tap fd=%d: not a tap descriptor: %s", fd, strerror(errno));
    if ((ifr.ifr_flags & (IFF_TAP | IFF_VNET_HDR | IFF_NO_PI)) !=
        (IFF_TAP | IFF_VNET_HDR | IFF_NO_PI))
        return error_set(err, -EINVAL,
                         "tap fd=%d: %s was not opened with IFF_TAP|IFF_NO_PI|IFF_VNET_HDR", fd,
                         ifr.ifr_name);
    t->q[0].fd = fd;
    t->q[0].is_attached = true;
    memcpy(t->ifname, ifr.ifr_name, IFNAMSIZ - 1);
    return 0;
}

/* The offloads the interface takes for frames it gives us, widest first. */
static void probe_offloads(struct net_tap *t)
{
    static const uint32_t sets[] = {
        NET_OFFLOAD_CSUM | NET_OFFLOAD_TSO4 | NET_OFFLOAD_TSO6 | NET_OFFLOAD_ECN | NET_OFFLOAD_USO,
        NET_OFFLOAD_CSUM | NET_OFFLOAD_TSO4 | NET_OFFLOAD_TSO6 | NET_OFFLOAD_ECN,
        NET_OFFLOAD_CSUM,
    };
    int fd = t->q[0].fd;
    for (size_t i = 0; i < ARRAY_SIZE(sets); i++)
        if (ioctl(fd, TUNSETOFFLOAD, (unsigned long)tun_flags(sets[i])) == 0) {
            t->be.offloads = sets[i];
            break;
        }
    (void)ioctl(fd, TUNSETOFFLOAD, 0ul); /* none until the guest accepts them */
}

static int setup_queue(struct net_tap *t, struct tap_queue *q, struct error *err)
{
    int hdr_bytes = (int)sizeof(struct net_hdr), fl, ret;

    if (ioctl(q->fd, TUNSETVNETHDRSZ, &hdr_bytes) < 0)
        return error_set(err, -errno, "tap %s: TUNSETVNETHDRSZ: %s", t->ifname, strerror(errno));
    fl = fcntl(q->fd, F_GETFL);
    if (fl < 0 || fcntl(q->fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return error_set(err, -errno, "tap %s: O_NONBLOCK: %s", t->ifname, strerror(errno));
    ret = evloop_add(t->loop, q->fd, EPOLLIN, on_readable, q);
    if (ret < 0)
        return error_set(err, ret, "tap %s: %s", t->ifname, strerror(-ret));
    return 0;
}

/* vhost signalled a ring error of pair (q) (vhost_vq_err: a descriptor it could not use) and
 * stopped that ring: the device is told, it marks itself broken and takes the rings back. */
static void on_vhost_error(void *opaque, uint32_t events)
{
    struct tap_queue *q = opaque;
    uint64_t n;
    (void)events;

    if (read(q->err_fd, &n, sizeof(n)) != (ssize_t)sizeof(n) || !atomic_load(&q->is_vhost))
        return;
    q->t->be.stats.errors++;
    log_ratelimited(LOG_WARN, "%s: vhost-net queue pair %u: the kernel found a ring broken",
                    q->t->ifname, q->index);
    net_backend_fault(&q->t->be, "vhost-net found a ring broken");
}

/* An error eventfd for pair (q), watched on the loop; without one, ring errors go unreported. */
static void open_err_fd(struct tap_queue *q)
{
    q->err_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (q->err_fd >= 0 && evloop_add(q->t->loop, q->err_fd, EPOLLIN, on_vhost_error, q) == 0)
        return;
    log_warn("%s: queue pair %u: vhost-net's ring errors will not be reported", q->t->ifname,
             q->index);
    if (q->err_fd >= 0)
        close(q->err_fd);
    q->err_fd = -1;
}

/* vhost=auto|on: /dev/vhost-net once per pair, before the jail (the filters forbid opens). */
static int open_vhost(struct net_tap *t, enum net_vhost mode, struct error *err)
{
    struct error verr = {0};
    uint64_t features = 0;

    if (mode == NET_VHOST_OFF)
        return 0;
    for (unsigned i = 0; i < t->nq; i++) {
        int fd = net_vhost_open(&features, &verr);
        if (fd < 0 && mode == NET_VHOST_ON)
            return error_set(err, fd, "tap %s: vhost=on: %s", t->ifname, verr.message);
        if (fd < 0) {
            log_debug("tap %s: no vhost-net (%s), frames go through the monitor", t->ifname,
                      verr.message);
            for (unsigned k = 0; k < i; k++) {
                close(t->q[k].vhost_fd);
                t->q[k].vhost_fd = -1;
            }
            return 0;
        }
        t->q[i].vhost_fd = fd;
    }
    for (unsigned i = 0; i < t->nq; i++)
        open_err_fd(&t->q[i]);
    t->be.vhost_features = features;
    t->be.is_vhost_required = mode == NET_VHOST_ON;
    return 0;
}

static int open_queues(struct net_tap *t, const struct net_tap_opts *o, struct error *err)
{
    int ret;

    for (unsigned i = 0; i < t->nq; i++) {
        t->q[i].rxbuf = malloc(TAP_BUF_BYTES);
        if (t->q[i].rxbuf == NULL)
            return error_set(err, -ENOMEM, "tap: out of memory");
    }
    if (o->ifname != NULL) {
        snprintf(t->ifname, sizeof(t->ifname), "%s", o->ifname);
        ret = open_ifname(t, o->ifname, err);
    } else {
        ret = take_fd(t, o->fd, err);
    }
    for (unsigned i = 0; ret == 0 && i < t->nq; i++)
        ret = setup_queue(t, &t->q[i], err);
    if (ret == 0)
        probe_offloads(t);
    if (ret == 0)
        ret = open_vhost(t, o->vhost, err);
    return ret;
}

int net_tap_create(struct evloop *loop, const struct net_tap_opts *o, struct net_backend **out,
                   struct error *err)
{
    struct net_tap *t;
    int ret;

    if (o->queues > NET_MAX_QUEUES || (o->queues > 1 && o->ifname == NULL))
        return error_set(err, -ENOTSUP, "tap: queues=%u: %s", o->queues,
                         o->queues > NET_MAX_QUEUES ? "at most 8"
                                                    : "with fd= not supported yet (one queue)");
    t = calloc(1, sizeof(*t));
    if (t == NULL)
        return error_set(err, -ENOMEM, "tap: out of memory");
    t->be.ops = &tap_ops;
    t->be.type = "tap";
    t->be.has_carrier = true;
    t->be.is_admin_up = true;
    t->loop = loop;
    t->nq = o->queues > 1 ? o->queues : 1;
    t->be.nqueues = t->nq;
    for (unsigned i = 0; i < NET_MAX_QUEUES; i++) {
        t->q[i] = (struct tap_queue){.t = t, .index = i, .fd = -1, .vhost_fd = -1, .err_fd = -1};
        atomic_init(&t->q[i].is_vhost, false);
    }
    t->txbuf = malloc(TAP_BUF_BYTES);
    ret = t->txbuf != NULL ? open_queues(t, o, err) : error_set(err, -ENOMEM, "tap: out of memory");
    if (ret < 0) {
        queues_close(t);
        free(t->txbuf);
        free(t);
        return ret;
    }
    /* until the driver says otherwise (VQ_PAIRS_SET), frames come to the first pair only */
    (void)tap_set_queues(&t->be, 1);
    log_debug("tap %s: %u queues, offloads 0x%x, vhost features 0x%llx", t->ifname, t->nq,
              t->be.offloads, (unsigned long long)t->be.vhost_features);
    *out = &t->be;
    return 0;
}
