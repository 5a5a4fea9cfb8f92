/* SPDX-License-Identifier: MIT */
/*
 * Implementation of base/evloop.h over epoll(7). Watches live in a small array indexed by a
 * slot number stored in epoll_event.data; a deleted slot is marked dead and reused only after
 * the round that may still be delivering its events has ended. Cross-thread wake-ups (stop,
 * deferred calls) go through one eventfd.
 */
#include "base/evloop.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct watch {
    int fd; /* -1 when the slot is free */
    bool is_dead;
    evloop_fn cb;
    void *opaque;
};

struct call {
    struct call *next;
    evloop_call_fn fn;
    void *opaque;
};

struct evloop {
    int epfd;
    int wakefd;
    pthread_mutex_t lock; /* protects watches, calls, is_stopping */
    struct watch *watches;
    size_t nwatches;
    struct call *calls_head, *calls_tail;
    bool is_stopping;
};

#define WAKE_SLOT UINT64_MAX

int evloop_create(struct evloop **out)
{
    struct evloop *loop = calloc(1, sizeof(*loop));
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = WAKE_SLOT};
    int ret;
    if (loop == NULL)
        return -ENOMEM;
    loop->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (loop->epfd < 0) {
        ret = -errno;
        goto err_free;
    }
    loop->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (loop->wakefd < 0) {
        ret = -errno;
        goto err_close_ep;
    }
    if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, loop->wakefd, &ev) < 0) {
        ret = -errno;
        goto err_close_wake;
    }
    pthread_mutex_init(&loop->lock, NULL);
    *out = loop;
    return 0;
err_close_wake:
    close(loop->wakefd);
err_close_ep:
    close(loop->epfd);
err_free:
    free(loop);
    return ret;
}

void evloop_destroy(struct evloop *loop)
{
    struct call *c, *next;
    if (loop == NULL)
        return;
    for (c = loop->calls_head; c; c = next) {
        next = c->next;
        free(c);
    }
    close(loop->wakefd);
    close(loop->epfd);
    pthread_mutex_destroy(&loop->lock);
    free(loop->watches);
    free(loop);
}

/* Called with loop->lock held. */
static long find_slot(struct evloop *loop, int fd)
{
    for (size_t i = 0; i < loop->nwatches; i++)
        if (loop->watches[i].fd == fd && !loop->watches[i].is_dead)
            return (long)i;
    return -1;
}

/* Called with loop->lock held. */
static long alloc_slot(struct evloop *loop)
{
    struct watch *w;
    size_t n, old = loop->nwatches;
    for (size_t i = 0; i < loop->nwatches; i++)
        if (loop->watches[i].fd < 0)
            return (long)i;
    n = loop->nwatches ? loop->nwatches * 2 : 16;
    w = realloc(loop->watches, n * sizeof(*w));
    if (w == NULL)
        return -1;
    for (size_t i = loop->nwatches; i < n; i++)
        w[i] = (struct watch){.fd = -1};
    loop->watches = w;
    loop->nwatches = n;
    return (long)old;
}

int evloop_add(struct evloop *loop, int fd, uint32_t events, evloop_fn cb, void *opaque)
{
    struct epoll_event ev = {.events = events};
    long slot;
    int ret = 0;
    pthread_mutex_lock(&loop->lock);
    if (find_slot(loop, fd) >= 0) {
        ret = -EEXIST;
        goto out;
    }
    slot = alloc_slot(loop);
    if (slot < 0) {
        ret = -ENOMEM;
        goto out;
    }
    ev.data.u64 = (uint64_t)slot;
    if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
        ret = -errno;
        goto out;
    }
    loop->watches[slot] = (struct watch){.fd = fd, .cb = cb, .opaque = opaque};
out:
    pthread_mutex_unlock(&loop->lock);
    return ret;
}

int evloop_mod(struct evloop *loop, int fd, uint32_t events)
{
    struct epoll_event ev = {.events = events};
    long slot;
    int ret = 0;
    pthread_mutex_lock(&loop->lock);
    slot = find_slot(loop, fd);
    if (slot < 0) {
        ret = -ENOENT;
    } else {
        ev.data.u64 = (uint64_t)slot;
        if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev) < 0)
            ret = -errno;
    }
    pthread_mutex_unlock(&loop->lock);
    return ret;
}

int evloop_del(struct evloop *loop, int fd)
{
    long slot;
    pthread_mutex_lock(&loop->lock);
    slot = find_slot(loop, fd);
    if (slot >= 0) {
        epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
        /* Keep the slot until the end of the round: events for it may be pending. */
        loop->watches[slot].is_dead = true;
    }
    pthread_mutex_unlock(&loop->lock);
    return slot >= 0 ? 0 : -ENOENT;
}

static void wake(struct evloop *loop)
{
    uint64_t one = 1;
    ssize_t n = write(loop->wakefd, &one, sizeof(one));
    (void)n; /* EAGAIN means a wake-up is already pending */
}

int evloop_call(struct evloop *loop, evloop_call_fn fn, void *opaque)
{
    struct call *c = malloc(sizeof(*c));
    if (c == NULL)
        return -ENOMEM;
    *c = (struct call){.fn = fn, .opaque = opaque};
    pthread_mutex_lock(&loop->lock);
    if (loop->calls_tail)
        loop->calls_tail->next = c;
    else
        loop->calls_head = c;
    loop->calls_tail = c;
    pthread_mutex_unlock(&loop->lock);
    wake(loop);
    return 0;
}

unsigned evloop_cancel(struct evloop *loop, const void *opaque)
{
    struct call **pp, *c, *dead = NULL;
    unsigned n = 0;

    pthread_mutex_lock(&loop->lock);
    loop->calls_tail = NULL;
    for (pp = &loop->calls_head; (c = *pp) != NULL;) {
        if (c->opaque == opaque) {
            *pp = c->next;
            c->next = dead;
            dead = c;
            n++;
            continue;
        }
        loop->calls_tail = c;
        pp = &c->next;
    }
    pthread_mutex_unlock(&loop->lock);
    for (; dead; dead = c) {
        c = dead->next;
        free(dead);
    }
    return n;
}

void evloop_stop(struct evloop *loop)
{
    pthread_mutex_lock(&loop->lock);
    loop->is_stopping = true;
    pthread_mutex_unlock(&loop->lock);
    wake(loop);
}

static void run_calls(struct evloop *loop)
{
    struct call *c;
    uint64_t v;
    ssize_t n = read(loop->wakefd, &v, sizeof(v));
    (void)n;
    for (;;) {
        pthread_mutex_lock(&loop->lock);
        c = loop->calls_head;
        if (c) {
            loop->calls_head = c->next;
            if (loop->calls_head == NULL)
                loop->calls_tail = NULL;
        }
        pthread_mutex_unlock(&loop->lock);
        if (c == NULL)
            break;
        c->fn(c->opaque);
        free(c);
    }
}

int evloop_run_once(struct evloop *loop, int timeout_ms)
{
    struct epoll_event evs[32];
    int n = epoll_wait(loop->epfd, evs, (int)ARRAY_SIZE(evs), timeout_ms);
    if (n < 0)
        return errno == EINTR ? 0 : -errno;
    for (int i = 0; i < n; i++) {
        struct watch w;
        uint64_t slot = evs[i].data.u64;
        if (slot == WAKE_SLOT) {
            run_calls(loop);
            continue;
        }
        pthread_mutex_lock(&loop->lock);
        w = loop->watches[slot];
        pthread_mutex_unlock(&loop->lock);
        if (w.fd >= 0 && !w.is_dead)
            w.cb(w.opaque, evs[i].events);
    }
    pthread_mutex_lock(&loop->lock);
    for (size_t i = 0; i < loop->nwatches; i++)
        if (loop->watches[i].is_dead)
            loop->watches[i] = (struct watch){.fd = -1};
    pthread_mutex_unlock(&loop->lock);
    return n;
}

int evloop_run(struct evloop *loop)
{
    for (;;) {
        bool stop;
        int ret;
        pthread_mutex_lock(&loop->lock);
        stop = loop->is_stopping;
        loop->is_stopping = false;
        pthread_mutex_unlock(&loop->lock);
        if (stop)
            return 0;
        ret = evloop_run_once(loop, -1);
        if (ret < 0)
            return ret;
    }
}
