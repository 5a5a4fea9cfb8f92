/* SPDX-License-Identifier: MIT */
/*
 * The main event loop (epoll): ioeventfds, tap, libslirp, io_uring completions, the control
 * socket, signalfd and timerfds all hang off one loop run by the monitor's main thread.
 * Callbacks run on the loop thread and must not block. evloop_add/evloop_mod/evloop_del may be
 * called from any thread; evloop_stop and evloop_call are the thread-safe ways to reach the
 * loop thread from vCPU threads.
 */
#ifndef BAREIRON_BASE_EVLOOP_H
#define BAREIRON_BASE_EVLOOP_H

#include <stdint.h>

#include "base/compiler.h"

struct evloop;

/* Called on the loop thread with the epoll events that fired (EPOLLIN, EPOLLOUT, EPOLLHUP...). */
typedef void (*evloop_fn)(void *opaque, uint32_t events);
/* A deferred call (see evloop_call). */
typedef void (*evloop_call_fn)(void *opaque);

/* Creates a loop in (*out). Returns 0 or -errno. */
MUST_CHECK int evloop_create(struct evloop **out);
/* Destroys (loop); its fds are not closed (their owners close them). */
void evloop_destroy(struct evloop *loop);

/* Watches (fd) for (events); (cb)(opaque, events) runs on the loop thread. One watch per fd.
 * Returns 0, -EEXIST if fd is watched already, or -errno. */
MUST_CHECK int evloop_add(struct evloop *loop, int fd, uint32_t events, evloop_fn cb, void *opaque);
/* Changes the events watched for (fd). Returns 0 or -errno. */
MUST_CHECK int evloop_mod(struct evloop *loop, int fd, uint32_t events);
/* Stops watching (fd). Safe to call from inside that fd's own callback. Returns 0 or -ENOENT. */
int evloop_del(struct evloop *loop, int fd);

/*
 * Runs (fn)(opaque) on the loop thread soon. Thread-safe; calls run in submission order.
 * Returns 0 or -ENOMEM.
 */
MUST_CHECK int evloop_call(struct evloop *loop, evloop_call_fn fn, void *opaque);
/*
 * Drops every call queued with (opaque) that has not started yet, so its owner can be freed:
 * an object that queues calls on itself cancels them before it goes away. Thread-safe; a call
 * already running on the loop thread is not waited for. Returns the number of calls dropped.
 */
unsigned evloop_cancel(struct evloop *loop, const void *opaque);

/* Runs until evloop_stop(). Returns 0, or -errno if epoll_wait failed. */
int evloop_run(struct evloop *loop);
/* Runs one round, waiting at most (timeout_ms) (-1: forever). Returns the number of fds that
 * fired, or -errno. */
int evloop_run_once(struct evloop *loop, int timeout_ms);
/* Makes evloop_run() return after the current round. Thread-safe, async-signal-unsafe. */
void evloop_stop(struct evloop *loop);

#endif
