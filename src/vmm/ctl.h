/* SPDX-License-Identifier: MIT */
/*
 * The monitor's side of the control API: the struct control_ops callbacks the control server
 * (mgr/control_server.h, docs/control-api.md) calls on the event-loop thread, implemented over
 * the running machine (pause/resume, power button, power-off, reset, query, stats).
 */
#ifndef BAREIRON_VMM_CTL_H
#define BAREIRON_VMM_CTL_H

#include <stdbool.h>
#include <stdint.h>

#include "mgr/control_server.h"
#include "vmm/options.h"

struct machine;
struct net_backend;

/*
 * What the callbacks reach: the current machine (replaced on reboot) and the options.
 *
 * A reset rebuilds the machine in the same process; between the two machines (machine NULL)
 * the control socket keeps answering and the run state stays what the VM will be once rebuilt:
 *
 *   RUNNING/PAUSED --reset--> (rebuild; query-state unchanged) --> RUNNING/PAUSED
 *   (rebuild) --pause/resume--> only the state the new machine starts in changes
 *   any --poweroff--> STOPPING, has_poweroff: the monitor exits 0 instead of (re)starting
 *   RUNNING/PAUSED --save--> (paused, state written) STOPPING, has_poweroff: exits 0
 */
struct vmm_ctl {
    /* read-only but for the media a media-change puts in a drive, which a reset keeps */
    struct vmm_options *opts;
    struct machine *machine; /* NULL between two machines */
    enum control_run_state state;
    bool has_poweroff; /* poweroff was asked: exit 0 rather than rebuild after a reset */
    struct net_backend *const *nics; /* the --nic backends (main.c's, live across resets) */
    unsigned nnics;
    char vnc_address[4200]; /* query-display's "vnc" (built on the event-loop thread) */
    uint8_t *png;           /* the image screenshot-data serves (offset 0 encodes it anew) */
    size_t png_bytes;
};

/* The ops table; opaque is a struct vmm_ctl *. */
extern const struct control_ops vmm_ctl_ops;

#endif
