/* SPDX-License-Identifier: MIT */
/* Implementation of base/thread_class.h. */
#include "base/thread_class.h"

#include <stddef.h>

static thread_class_hook_fn class_hook;
/* initial-exec: read from a SIGSYS handler, which must not allocate */
static __thread enum thread_class current_class __attribute__((tls_model("initial-exec"))) =
    THREAD_CLASS_MAIN;

void thread_class_set_hook(thread_class_hook_fn fn)
{
    class_hook = fn;
}

void thread_class_enter(enum thread_class cls)
{
    current_class = cls;
    if (class_hook != NULL)
        class_hook(cls);
}

enum thread_class thread_class_current(void)
{
    return current_class;
}

const char *thread_class_name(enum thread_class cls)
{
    switch (cls) {
    case THREAD_CLASS_MAIN:
        return "main";
    case THREAD_CLASS_VCPU:
        return "vcpu";
    case THREAD_CLASS_BLK_WORKER:
        return "blk-worker";
    case THREAD_CLASS_DISPLAY:
        return "display";
    case THREAD_CLASS_COUNT:
    default:
        return "unknown";
    }
}
