/* SPDX-License-Identifier: MIT */
/*
 * Implementation of net/slirp.h over libslirp 4.x (libslirp.h): configuration, the socket
 * set kept in an epoll descriptor of its own, timers on a timerfd, frames from libslirp held
 * while the device cannot take them, and host forwards.
 */
#define LOG_TAG "net-nat"
#include "net/slirp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libslirp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "base/evloop.h"
#include "base/iov.h"
#include "base/log.h"
#include "base/util.h"
#include "net/dns_relay.h"

/* Frames from libslirp held for the device (no RX buffer, or produced during a send). */
#define SLIRP_HELD_MAX 256u
/* libslirp's sockets watched at once before the pollfd array grows again. */
#define SLIRP_PFD_INIT 16u

struct slirp_frame {
    size_t len;
    uint8_t data[];
};

struct slirp_timer {
    struct slirp_timer *next;
    SlirpTimerId id;
    SlirpTimerCb cb; /* timer_new (libslirp before config version 4); NULL with an id */
    void *cb_opaque;
    int64_t expire_ms; /* -1: not armed */
};

struct watch {
    int fd;
    uint32_t events;
};

struct net_slirp {
    struct net_backend be; /* first: container_of */
    struct evloop *loop;
    Slirp *slirp;
    int epfd;    /* libslirp's sockets */
    int timerfd; /* its timers and TCP timeouts */
    struct pollfd *pfd;
    unsigned npfd, pfd_cap;
    struct watch *watched; /* what epfd holds now */
    unsigned nwatched, watched_cap;
    struct slirp_timer *timers;
    bool in_send;
    bool is_scheduled;
    struct slirp_frame *held[SLIRP_HELD_MAX];
    unsigned held_head, nheld;
    uint8_t *txbuf; /* NET_FRAME_MAX_BYTES: slirp_input wants one flat frame */
    uint8_t *rxbuf; /* NET_FRAME_MAX_BYTES: a DNS answer being rewritten */
    struct net_dns_relay dns;
    struct net_hostfwd fwd[NET_MAX_HOSTFWD];
    char fwd_str[NET_MAX_HOSTFWD][NET_HOSTFWD_STR_BYTES];
    unsigned nfwd;
};

static const struct net_backend_ops slirp_ops;

static struct net_slirp *to_slirp(struct net_backend *be)
{
    return container_of(be, struct net_slirp, be);
}

static int64_t now_ms(void)
{
    return (int64_t)(time_now_ns() / 1000000u);
}

/* ---- the socket set ---- */

static int add_poll(int fd, int events, void *opaque)
{
    struct net_slirp *s = opaque;
    struct pollfd *p;

    if (s->npfd == s->pfd_cap) {
        unsigned cap = s->pfd_cap ? s->pfd_cap * 2 : SLIRP_PFD_INIT;
        p = realloc(s->pfd, cap * sizeof(*p));
        if (p == NULL)
            return -1; /* libslirp then skips this socket for this round */
        s->pfd = p;
        s->pfd_cap = cap;
    }
    p = &s->pfd[s->npfd];
    p->fd = fd;
    p->events = (short)(((events & SLIRP_POLL_IN) ? POLLIN : 0) |
                        ((events & SLIRP_POLL_OUT) ? POLLOUT : 0) |
                        ((events & SLIRP_POLL_PRI) ? POLLPRI : 0));
    p->revents = 0;
    return (int)s->npfd++;
}

static int get_revents(int idx, void *opaque)
{
    const struct net_slirp *s = opaque;
    short r;

    if (idx < 0 || (unsigned)idx >= s->npfd)
        return 0;
    r = s->pfd[idx].revents;
    return ((r & POLLIN) ? SLIRP_POLL_IN : 0) | ((r & POLLOUT) ? SLIRP_POLL_OUT : 0) |
           ((r & POLLPRI) ? SLIRP_POLL_PRI : 0) | ((r & POLLERR) ? SLIRP_POLL_ERR : 0) |
           ((r & POLLHUP) ? SLIRP_POLL_HUP : 0);
}

static uint32_t epoll_events(short ev)
{
    return ((ev & POLLIN) ? EPOLLIN : 0u) | ((ev & POLLOUT) ? EPOLLOUT : 0u) |
           ((ev & POLLPRI) ? EPOLLPRI : 0u);
}

static int find_watch(const struct net_slirp *s, int fd)
{
    for (unsigned i = 0; i < s->nwatched; i++)
        if (s->watched[i].fd == fd)
            return (int)i;
    return -1;
}

static void drop_watch(struct net_slirp *s, unsigned i)
{
    (void)epoll_ctl(s->epfd, EPOLL_CTL_DEL, s->watched[i].fd, NULL);
    s->watched[i] = s->watched[--s->nwatched];
}

/* Makes epfd hold exactly the sockets of the last slirp_pollfds_fill. */
static void sync_watches(struct net_slirp *s)
{
    for (unsigned i = 0; i < s->nwatched;) {
        bool wanted = false;
        for (unsigned j = 0; j < s->npfd && !wanted; j++)
            wanted = s->pfd[j].fd == s->watched[i].fd;
        if (wanted)
            i++;
        else
            drop_watch(s, i);
    }
    for (unsigned j = 0; j < s->npfd; j++) {
        struct epoll_event ev = {.events = epoll_events(s->pfd[j].events), .data.fd = s->pfd[j].fd};
        int i = find_watch(s, s->pfd[j].fd);
        if (i >= 0) {
            if (s->watched[i].events != ev.events &&
                epoll_ctl(s->epfd, EPOLL_CTL_MOD, ev.data.fd, &ev) == 0)
                s->watched[i].events = ev.events;
            continue;
        }
        if (s->nwatched == s->watched_cap) {
            unsigned cap = s->watched_cap ? s->watched_cap * 2 : SLIRP_PFD_INIT;
            struct watch *w = realloc(s->watched, cap * sizeof(*w));
            if (w == NULL)
                return; /* retried at the next refill */
            s->watched = w;
            s->watched_cap = cap;
        }
        if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, ev.data.fd, &ev) < 0 &&
            (errno != EEXIST || epoll_ctl(s->epfd, EPOLL_CTL_MOD, ev.data.fd, &ev) < 0)) {
            log_ratelimited(LOG_WARN, "cannot watch socket %d: %s", ev.data.fd, strerror(errno));
            continue;
        }
        s->watched[s->nwatched++] = (struct watch){ev.data.fd, ev.events};
    }
}

/* Asks libslirp what to watch and when to wake up next. */
static void refill(struct net_slirp *s)
{
    uint32_t timeout_ms = UINT32_MAX;
    int64_t next;
    struct itimerspec its = {0};

    s->npfd = 0;
    slirp_pollfds_fill(s->slirp, &timeout_ms, add_poll, s);
    sync_watches(s);
    next = timeout_ms == UINT32_MAX ? INT64_MAX : now_ms() + timeout_ms;
    for (const struct slirp_timer *t = s->timers; t != NULL; t = t->next)
        if (t->expire_ms >= 0 && t->expire_ms < next)
            next = t->expire_ms;
    if (next != INT64_MAX) {
        if (next <= 0)
            next = 1;
        its.it_value.tv_sec = next / 1000;
        its.it_value.tv_nsec = (next % 1000) * 1000000;
    }
    if (timerfd_settime(s->timerfd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
        log_ratelimited(LOG_WARN, "timerfd_settime: %s", strerror(errno));
}

static void run_timers(struct net_slirp *s)
{
    int64_t now = now_ms();
    for (struct slirp_timer *t = s->timers; t != NULL; t = t->next) {
        if (t->expire_ms < 0 || t->expire_ms > now)
            continue;
        t->expire_ms = -1;
        if (t->cb != NULL)
            t->cb(t->cb_opaque);
        else
            slirp_handle_timer(s->slirp, t->id, t->cb_opaque);
    }
}

/* One round: the sockets that are ready, the timers that expired, then a new socket set. */
static void run(struct net_slirp *s)
{
    int n = s->npfd > 0 ? poll(s->pfd, s->npfd, 0) : 0;
    slirp_pollfds_poll(s->slirp, n < 0, get_revents, s);
    run_timers(s);
    refill(s);
}

static void on_sockets(void *opaque, uint32_t events)
{
    (void)events;
    run(opaque);
}

static void on_timer(void *opaque, uint32_t events)
{
    struct net_slirp *s = opaque;
    uint64_t ticks;
    (void)events;
    if (read(s->timerfd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
        log_ratelimited(LOG_WARN, "timerfd read: %s", strerror(errno));
    run(s);
}

/* ---- frames to the guest ---- */

static bool hold(struct net_slirp *s, const void *buf, size_t len)
{
    struct slirp_frame *f;

    if (s->nheld == SLIRP_HELD_MAX || (f = malloc(sizeof(*f) + len)) == NULL)
        return false;
    f->len = len;
    memcpy(f->data, buf, len);
    s->held[(s->held_head + s->nheld) % SLIRP_HELD_MAX] = f;
    s->nheld++;
    return true;
}

/* Delivers held frames in order until the device has no room. */
static void flush_held(struct net_slirp *s)
{
    static const struct net_hdr hdr;

    while (s->nheld > 0) {
        struct slirp_frame *f = s->held[s->held_head];
        if (s->be.rx != NULL && s->be.rx(s->be.opaque, 0, &hdr, f->data, f->len) == -EAGAIN)
            return;
        if (s->be.rx == NULL)
            s->be.stats.rx_dropped++;
        free(f);
        s->held_head = (s->held_head + 1) % SLIRP_HELD_MAX;
        s->nheld--;
    }
}

static void deferred(void *opaque)
{
    struct net_slirp *s = opaque;
    s->is_scheduled = false;
    flush_held(s);
    refill(s);
}

static void schedule(struct net_slirp *s)
{
    if (s->is_scheduled)
        return;
    if (evloop_call(s->loop, deferred, s) == 0)
        s->is_scheduled = true;
}

/* SlirpCb.send_packet: a frame for the guest. */
static ssize_t send_packet(const void *buf, size_t len, void *opaque)
{
    static const struct net_hdr hdr;
    struct net_slirp *s = opaque;

    if (len < NET_FRAME_MIN_BYTES || len > NET_FRAME_MAX_BYTES || s->be.rx == NULL ||
        !net_backend_link_is_up(&s->be)) {
        s->be.stats.rx_dropped++;
        return (ssize_t)len;
    }
    if (net_dns_relay_is_answer(&s->dns, buf, len)) {
        memcpy(s->rxbuf, buf, len);
        net_dns_relay_in(&s->dns, s->rxbuf, len);
        buf = s->rxbuf;
    }
    /* Inside a send the device lock is held: the frame waits for the deferred call. */
    if (s->in_send || s->nheld > 0 || s->be.rx(s->be.opaque, 0, &hdr, buf, len) == -EAGAIN) {
        if (!hold(s, buf, len))
            s->be.stats.rx_dropped++;
        schedule(s);
    }
    return (ssize_t)len;
}

static void guest_error(const char *msg, void *opaque)
{
    (void)opaque;
    log_ratelimited(LOG_WARN, "guest: %s", msg);
}

static int64_t clock_get_ns(void *opaque)
{
    (void)opaque;
    return (int64_t)time_now_ns();
}

static struct slirp_timer *timer_add(struct net_slirp *s, SlirpTimerId id, SlirpTimerCb cb,
                                     void *cb_opaque)
{
    struct slirp_timer *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return NULL; /* libslirp aborts on NULL: its only timer is IPv6's, which is off */
    t->id = id;
    t->cb = cb;
    t->cb_opaque = cb_opaque;
    t->expire_ms = -1;
    t->next = s->timers;
    s->timers = t;
    return t;
}

static void *timer_new(SlirpTimerCb cb, void *cb_opaque, void *opaque)
{
    return timer_add(opaque, SLIRP_TIMER_NUM, cb, cb_opaque);
}

static void *timer_new_opaque(SlirpTimerId id, void *cb_opaque, void *opaque)
{
    return timer_add(opaque, id, NULL, cb_opaque);
}

static void timer_free(void *timer, void *opaque)
{
    struct net_slirp *s = opaque;
    for (struct slirp_timer **p = &s->timers; *p != NULL; p = &(*p)->next)
        if (*p == timer) {
            *p = ((struct slirp_timer *)timer)->next;
            free(timer);
            return;
        }
}

static void timer_mod(void *timer, int64_t expire_ms, void *opaque)
{
    ((struct slirp_timer *)timer)->expire_ms = expire_ms;
    schedule(opaque); /* the timerfd is armed at the next refill */
}

static void register_poll_fd(int fd, void *opaque)
{
    (void)fd;
    (void)opaque;
}

/* A socket is about to be closed: forget it, so that a new socket given the same number later
 * is added to epfd rather than taken for the old one. */
static void unregister_poll_fd(int fd, void *opaque)
{
    struct net_slirp *s = opaque;
    int i = find_watch(s, fd);
    if (i >= 0)
        drop_watch(s, (unsigned)i);
}

static void notify(void *opaque)
{
    schedule(opaque);
}

static const SlirpCb slirp_cb = {
    .send_packet = send_packet,
    .guest_error = guest_error,
    .clock_get_ns = clock_get_ns,
    .timer_new = timer_new,
    .timer_free = timer_free,
    .timer_mod = timer_mod,
    .register_poll_fd = register_poll_fd,
    .unregister_poll_fd = unregister_poll_fd,
    .notify = notify,
    .timer_new_opaque = timer_new_opaque,
};

/* ---- frames from the guest ---- */

static int slirp_send(struct net_backend *be, const struct net_hdr *hdr, const struct iovec *iov,
                      unsigned cnt)
{
    struct net_slirp *s = to_slirp(be);
    uint64_t len = iov_size(iov, cnt);
    (void)hdr; /* no offloads offered: flags 0, GSO_NONE (the device checked) */

    if (len < NET_FRAME_MIN_BYTES || len > NET_FRAME_MAX_BYTES) {
        be->stats.tx_dropped++;
        return 0;
    }
    iov_to_buf(iov, (int)cnt, 0, s->txbuf, len);
    (void)net_dns_relay_out(&s->dns, s->txbuf, len);
    s->in_send = true;
    slirp_input(s->slirp, s->txbuf, (int)len);
    s->in_send = false;
    schedule(s); /* new sockets to watch, frames held meanwhile */
    return 0;
}

static void slirp_rx_ready(struct net_backend *be)
{
    struct net_slirp *s = to_slirp(be);
    if (s->nheld > 0)
        schedule(s);
}

/* ---- forwards ---- */

static int find_fwd(const struct net_slirp *s, const struct net_hostfwd *f)
{
    for (unsigned i = 0; i < s->nfwd; i++)
        if (net_hostfwd_same_host(&s->fwd[i], f))
            return (int)i;
    return -1;
}

static int fwd_add(struct net_slirp *s, const char *rule, struct error *err)
{
    struct net_hostfwd f;
    char str[NET_HOSTFWD_STR_BYTES];
    int ret = net_hostfwd_parse(rule, &f, err);

    if (ret < 0)
        return ret;
    net_hostfwd_format(&f, str, sizeof(str));
    if (find_fwd(s, &f) >= 0)
        return error_set(err, -EADDRINUSE, "hostfwd %s: that host port is already forwarded", rule);
    if (s->nfwd == NET_MAX_HOSTFWD)
        return error_set(err, -ENOSPC, "hostfwd %s: at most %u forwards per adapter", rule,
                         NET_MAX_HOSTFWD);
    errno = 0;
    if (slirp_add_hostfwd(s->slirp, f.is_udp, f.host_addr, f.host_port, f.guest_addr,
                          f.guest_port) < 0) {
        ret = errno != 0 ? -errno : -EADDRINUSE;
        if (ret == -EADDRINUSE)
            return error_set(err, ret, "hostfwd %s: host port %u is in use", rule, f.host_port);
        return error_set(err, ret, "hostfwd %s: %s", rule, strerror(-ret));
    }
    s->fwd[s->nfwd] = f;
    memcpy(s->fwd_str[s->nfwd], str, sizeof(str));
    s->nfwd++;
    return 0;
}

int net_slirp_hostfwd_add(struct net_backend *be, const char *rule, struct error *err)
{
    struct net_slirp *s = to_slirp(be);
    int ret = fwd_add(s, rule, err);
    if (ret == 0)
        refill(s); /* watch the new listening socket */
    return ret;
}

int net_slirp_hostfwd_remove(struct net_backend *be, const char *rule, struct error *err)
{
    struct net_slirp *s = to_slirp(be);
    struct net_hostfwd f;
    int i, ret = net_hostfwd_parse(rule, &f, err);

    if (ret < 0)
        return ret;
    i = find_fwd(s, &f);
    if (i < 0)
        return error_set(err, -ENOENT, "hostfwd %s: no such forward", rule);
    if (slirp_remove_hostfwd(s->slirp, f.is_udp, f.host_addr, f.host_port) < 0)
        return error_set(err, -ENOENT, "hostfwd %s: no such forward", rule);
    s->nfwd--;
    s->fwd[i] = s->fwd[s->nfwd];
    memcpy(s->fwd_str[i], s->fwd_str[s->nfwd], NET_HOSTFWD_STR_BYTES);
    refill(s);
    return 0;
}

unsigned net_slirp_hostfwds(const struct net_backend *be, const char **out, unsigned max)
{
    const struct net_slirp *s = (const struct net_slirp *)be; /* be is the first member */
    for (unsigned i = 0; i < s->nfwd && i < max; i++)
        out[i] = s->fwd_str[i];
    return s->nfwd;
}

bool net_backend_is_nat(const struct net_backend *be)
{
    return be != NULL && be->ops == &slirp_ops;
}

/* ---- life cycle ---- */

static void slirp_close(struct net_backend *be)
{
    struct net_slirp *s = to_slirp(be);

    evloop_cancel(s->loop, s);
    if (s->slirp != NULL)
        slirp_cleanup(s->slirp); /* closes its sockets, frees its timers */
    if (s->epfd >= 0) {
        evloop_del(s->loop, s->epfd);
        close(s->epfd);
    }
    if (s->timerfd >= 0) {
        evloop_del(s->loop, s->timerfd);
        close(s->timerfd);
    }
    while (s->nheld > 0) {
        free(s->held[s->held_head]);
        s->held_head = (s->held_head + 1) % SLIRP_HELD_MAX;
        s->nheld--;
    }
    while (s->timers != NULL) {
        struct slirp_timer *t = s->timers;
        s->timers = t->next;
        free(t);
    }
    free(s->pfd);
    free(s->watched);
    free(s->txbuf);
    free(s->rxbuf);
    free(s);
}

static const struct net_backend_ops slirp_ops = {
    .send = slirp_send,
    .rx_ready = slirp_rx_ready,
    .close = slirp_close,
};

static Slirp *new_slirp(struct net_slirp *s, const struct net_slirp_opts *o)
{
    SlirpConfig cfg = {.version = 4,
                       .restricted = o->is_restricted,
                       .in_enabled = true,
                       .tftp_path = o->tftp,
                       .bootfile = o->bootfile};

    inet_pton(AF_INET, NET_NAT_NETWORK, &cfg.vnetwork);
    inet_pton(AF_INET, NET_NAT_NETMASK, &cfg.vnetmask);
    inet_pton(AF_INET, NET_NAT_GATEWAY, &cfg.vhost);
    inet_pton(AF_INET, NET_NAT_GUEST, &cfg.vdhcp_start);
    inet_pton(AF_INET, NET_NAT_DNS, &cfg.vnameserver);
    cfg.vhostname = "bareiron";
    return slirp_new(&cfg, &slirp_cb, s);
}

/* The DNS relay (net/dns_relay.h): not in restricted mode, where libslirp answers no query. */
static void setup_dns(struct net_slirp *s, bool is_restricted)
{
    struct in_addr guest_dns, gateway;
    char addr[INET_ADDRSTRLEN];

    inet_pton(AF_INET, NET_NAT_DNS, &guest_dns);
    inet_pton(AF_INET, NET_NAT_GATEWAY, &gateway);
    if (is_restricted) {
        memset(&s->dns, 0, sizeof(s->dns));
        return;
    }
    if (!net_dns_relay_init(&s->dns, "/etc/resolv.conf", guest_dns, gateway)) {
        log_info("the host's resolver is inside %s/24: the guest's DNS (%s) cannot reach it",
                 NET_NAT_NETWORK, NET_NAT_DNS);
        return;
    }
    inet_ntop(AF_INET, &s->dns.resolver, addr, sizeof(addr));
    log_debug("DNS %s relayed to %s", NET_NAT_DNS, addr);
}

static int setup_fds(struct net_slirp *s, struct error *err)
{
    int ret;

    s->epfd = epoll_create1(EPOLL_CLOEXEC);
    s->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (s->epfd < 0 || s->timerfd < 0)
        return error_set(err, -errno, "nat: %s", strerror(errno));
    ret = evloop_add(s->loop, s->epfd, EPOLLIN, on_sockets, s);
    if (ret == 0)
        ret = evloop_add(s->loop, s->timerfd, EPOLLIN, on_timer, s);
    if (ret < 0)
        return error_set(err, ret, "nat: %s", strerror(-ret));
    return 0;
}

int net_slirp_create(struct evloop *loop, const struct net_slirp_opts *o, struct net_backend **out,
                     struct error *err)
{
    struct net_slirp *s = calloc(1, sizeof(*s));
    int ret;

    if (s == NULL)
        return error_set(err, -ENOMEM, "nat: out of memory");
    s->be.ops = &slirp_ops;
    s->be.type = "nat";
    s->be.has_carrier = true;
    s->be.is_admin_up = true;
    s->loop = loop;
    s->epfd = s->timerfd = -1;
    ret = -ENOMEM;
    s->txbuf = malloc(NET_FRAME_MAX_BYTES);
    s->rxbuf = malloc(NET_FRAME_MAX_BYTES);
    if (s->txbuf == NULL || s->rxbuf == NULL || (s->slirp = new_slirp(s, o)) == NULL) {
        error_set(err, ret, "nat: cannot create the NAT network");
        goto err_close;
    }
    setup_dns(s, o->is_restricted);
    ret = setup_fds(s, err);
    for (unsigned i = 0; ret == 0 && i < o->nhostfwd; i++)
        ret = fwd_add(s, o->hostfwd[i], err);
    if (ret < 0)
        goto err_close;
    refill(s);
    log_debug("NAT network %s/24%s, %u forwards%s%s", NET_NAT_NETWORK,
              o->is_restricted ? " (restricted)" : "", s->nfwd, o->tftp ? ", TFTP from " : "",
              o->tftp ? o->tftp : "");
    *out = &s->be;
    return 0;

err_close:
    slirp_close(&s->be);
    return ret;
}
