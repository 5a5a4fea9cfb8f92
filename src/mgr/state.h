/* SPDX-License-Identifier: MIT */
/*
 * The VM lifecycle state machine (docs/cli.md, after cloud-hypervisor's valid_transition): one
 * table of legal (state, event) -> state transitions, and the rule that derives the state
 * shown to users from what is true right now (pid file, process alive, control socket answer,
 * the supervisor's exit record), so a dead monitor shows as "aborted" instead of "running".
 *
 *   powered-off --start--> starting --started--> running --pause--> paused --resume--> running
 *   running/paused --power-button/poweroff--> stopping --exited--> powered-off
 *   any live state --died--> aborted --start--> starting
 *   running/paused --save--> saved --restore--> starting (`start`);  saved --discard--> powered-off
 */
#ifndef BAREIRON_MGR_STATE_H
#define BAREIRON_MGR_STATE_H

#include <stdbool.h>
#include <stdint.h>

#include "base/compiler.h"

enum vm_state {
    VM_STATE_POWERED_OFF = 0,
    VM_STATE_STARTING,
    VM_STATE_RUNNING,
    VM_STATE_PAUSED,
    VM_STATE_STOPPING,
    VM_STATE_ABORTED,
    VM_STATE_SAVED, /* no monitor, and a saved machine state waits in saved.state */
    VM_STATE_COUNT,
};

enum vm_event {
    VM_EVENT_START = 0,    /* `start` spawns a monitor */
    VM_EVENT_STARTED,      /* the monitor's control socket answered */
    VM_EVENT_PAUSE,        /* `pause` */
    VM_EVENT_RESUME,       /* `resume` */
    VM_EVENT_POWER_BUTTON, /* `stop`: ACPI power button pressed */
    VM_EVENT_POWEROFF,     /* `poweroff`: hard power-off requested */
    VM_EVENT_RESET,        /* `reset`: hard reset */
    VM_EVENT_EXITED,       /* the monitor exited with status 0 (guest powered off) */
    VM_EVENT_DIED,         /* the monitor failed, crashed or vanished */
    VM_EVENT_SAVE,         /* `save`: the machine state is written, the monitor exits */
    VM_EVENT_RESTORE,      /* `start` of a saved VM: the monitor resumes the state */
    VM_EVENT_DISCARD,      /* `discard`: the saved state is dropped */
    VM_EVENT_COUNT,
};

/*
 * Looks up the transition of (state) on (event). Returns 0 with the new state in (*next), or
 * -EINVAL if the event is illegal in that state (or either value is out of range).
 */
MUST_CHECK int vm_state_next(enum vm_state state, enum vm_event event, enum vm_state *next);

/* Stable names used by the CLI, the JSON output and the docs: "powered-off", "running"... */
const char *vm_state_name(enum vm_state state);
const char *vm_event_name(enum vm_event event);
/* Parses a state name. Returns 0 or -EINVAL. */
MUST_CHECK int vm_state_parse(const char *name, enum vm_state *out);
/* True for states in which a monitor process exists (starting, running, paused, stopping). */
bool vm_state_is_live(enum vm_state state);

/* What is known about a VM's monitor right now (filled by mgr/proc.c). */
struct vm_probe {
    bool has_pid_file;     /* run/vmm.pid exists */
    bool is_alive;         /* the pid in it is a live process */
    bool is_answering;     /* the control socket answered query-state */
    const char *run_state; /* query-state's "state" when answering */
    bool has_exit_record;  /* run/exit.json written by the supervisor */
    bool is_exit_clean;    /* that record says exit status 0 */
    bool has_saved_state;  /* the VM directory holds a saved machine state (saved.state) */
    uint64_t pid_age_ms;   /* age of the pid file */
    uint64_t start_timeout_ms;
};

/*
 * Derives the state to show from (p): no live monitor and a saved state -> saved; no pid file
 * and no failed exit -> powered-off; a failed
 * exit record or a dead pid -> aborted; alive and answering -> the monitor's own run state;
 * alive and silent -> starting while younger than the start timeout, else aborted.
 */
enum vm_state vm_state_derive(const struct vm_probe *p);

#endif
