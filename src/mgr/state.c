/* SPDX-License-Identifier: MIT */
/*
 * Implementation of mgr/state.h: the lifecycle transition table and the derivation of the
 * shown state from the probe of the monitor.
 */
#include "mgr/state.h"

#include <errno.h>
#include <string.h>

#define X VM_STATE_COUNT /* illegal */

/* transitions[state][event]; X marks an illegal event in that state. */
static const enum vm_state transitions[VM_STATE_COUNT][VM_EVENT_COUNT] = {
    /*                 START  STARTED  PAUSE  RESUME  PWRBTN  POWEROFF  RESET  EXITED  DIED
                       SAVE  RESTORE  DISCARD */
    [VM_STATE_POWERED_OFF] = {VM_STATE_STARTING, X, X, X, X, X, X, X, X, X, X, X},
    [VM_STATE_STARTING] = {X, VM_STATE_RUNNING, X, X, X, VM_STATE_STOPPING, X, VM_STATE_POWERED_OFF,
                           VM_STATE_ABORTED, X, X, X},
    [VM_STATE_RUNNING] = {X, X, VM_STATE_PAUSED, X, VM_STATE_STOPPING, VM_STATE_STOPPING,
                          VM_STATE_RUNNING, VM_STATE_POWERED_OFF, VM_STATE_ABORTED, VM_STATE_SAVED,
                          X, X},
    [VM_STATE_PAUSED] = {X, X, X, VM_STATE_RUNNING, X, VM_STATE_STOPPING, VM_STATE_PAUSED,
                         VM_STATE_POWERED_OFF, VM_STATE_ABORTED, VM_STATE_SAVED, X, X},
    [VM_STATE_STOPPING] = {X, X, X, X, VM_STATE_STOPPING, VM_STATE_STOPPING, X,
                           VM_STATE_POWERED_OFF, VM_STATE_ABORTED, X, X, X},
    [VM_STATE_ABORTED] = {VM_STATE_STARTING, X, X, X, X, X, X, X, X, X, X, X},
    [VM_STATE_SAVED] = {X, X, X, X, X, X, X, X, X, X, VM_STATE_STARTING, VM_STATE_POWERED_OFF},
};

static const char *const state_names[VM_STATE_COUNT] = {
    "powered-off", "starting", "running", "paused", "stopping", "aborted", "saved",
};

static const char *const event_names[VM_EVENT_COUNT] = {
    "start", "started", "pause", "resume", "power-button", "poweroff",
    "reset", "exited",  "died",  "save",   "restore",      "discard",
};

int vm_state_next(enum vm_state state, enum vm_event event, enum vm_state *next)
{
    if ((unsigned)state >= VM_STATE_COUNT || (unsigned)event >= VM_EVENT_COUNT)
        return -EINVAL;
    if (transitions[state][event] == X)
        return -EINVAL;
    *next = transitions[state][event];
    return 0;
}

const char *vm_state_name(enum vm_state state)
{
    return (unsigned)state < VM_STATE_COUNT ? state_names[state] : "unknown";
}

const char *vm_event_name(enum vm_event event)
{
    return (unsigned)event < VM_EVENT_COUNT ? event_names[event] : "unknown";
}

int vm_state_parse(const char *name, enum vm_state *out)
{
    for (unsigned i = 0; i < VM_STATE_COUNT; i++) {
        if (strcmp(name, state_names[i]) == 0) {
            *out = (enum vm_state)i;
            return 0;
        }
    }
    return -EINVAL;
}

bool vm_state_is_live(enum vm_state state)
{
    return state == VM_STATE_STARTING || state == VM_STATE_RUNNING || state == VM_STATE_PAUSED ||
           state == VM_STATE_STOPPING;
}

enum vm_state vm_state_derive(const struct vm_probe *p)
{
    enum vm_state s;
    if (!p->has_pid_file || !p->is_alive) {
        /* Whatever the last run's end: a state file installed by `save` (or a snapshot's
         * restore) is what the next start resumes, until the resumed guest runs. */
        if (p->has_saved_state)
            return VM_STATE_SAVED;
        if (p->has_exit_record)
            return p->is_exit_clean ? VM_STATE_POWERED_OFF : VM_STATE_ABORTED;
        /* A pid file whose process is gone without an exit record: the monitor and its
         * supervisor were killed. */
        return p->has_pid_file ? VM_STATE_ABORTED : VM_STATE_POWERED_OFF;
    }
    if (p->is_answering) {
        if (p->run_state && vm_state_parse(p->run_state, &s) == 0 && vm_state_is_live(s))
            return s;
        return VM_STATE_RUNNING;
    }
    return p->pid_age_ms < p->start_timeout_ms ? VM_STATE_STARTING : VM_STATE_ABORTED;
}
