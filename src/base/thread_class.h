/* SPDX-License-Identifier: MIT */
/*
 * The classes of threads a monitor runs, for per-thread policies (the seccomp allowlists of
 * vmm/seccomp.h) and crash messages. Every thread the monitor starts calls
 * thread_class_enter() first thing; the main thread (the event loop) is THREAD_CLASS_MAIN
 * without calling it. The policy is a hook set by the program (none in the CLI and the tests),
 * so that the lower layers (core, block) need no knowledge of seccomp.
 */
#ifndef BAREIRON_BASE_THREAD_CLASS_H
#define BAREIRON_BASE_THREAD_CLASS_H

enum thread_class {
    THREAD_CLASS_MAIN,       /* the event loop: devices' loop work, control API, block I/O */
    THREAD_CLASS_VCPU,       /* one per vCPU: KVM_RUN and the PIO/MMIO exits */
    THREAD_CLASS_BLK_WORKER, /* block engine workers: I/O and slow block work (qcow2 jobs) */
    THREAD_CLASS_DISPLAY,    /* the VNC server (ui/vnc.c): viewers' sockets, screen refresh */
    THREAD_CLASS_COUNT,
};

typedef void (*thread_class_hook_fn)(enum thread_class cls);

/* Sets the hook run by thread_class_enter (NULL: none). Main thread, before any thread. */
void thread_class_set_hook(thread_class_hook_fn fn);

/* Records (cls) as the calling thread's class and runs the hook. First thing in a thread. */
void thread_class_enter(enum thread_class cls);

/* The calling thread's class (THREAD_CLASS_MAIN until thread_class_enter). Async-signal-safe. */
enum thread_class thread_class_current(void);

/* "main", "vcpu", "blk-worker". */
const char *thread_class_name(enum thread_class cls);

#endif
