/* SPDX-License-Identifier: MIT */
/*
 * Running a VM's monitor (docs/cli.md "How a VM runs"): finding `bareiron-vmm`, turning a
 * definition into its command line (the contract in the monitor's --help), spawning it
 * detached under a small supervisor process that records how it exited (run/exit.json) and
 * cleans run/ up, waiting (bounded) until its control socket answers, and probing the truth
 * about a VM's monitor for the state machine (mgr/state.h).
 */
#ifndef BAREIRON_MGR_PROC_H
#define BAREIRON_MGR_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>

#include "base/compiler.h"
#include "base/error.h"
#include "mgr/config.h"
#include "mgr/state.h"
#include "mgr/store.h"

/* The VNC socket of a VM with a display adapter, in its run/ directory. */
#define PROC_VNC_SOCKET "vnc.sock"

/* How long `start` waits for the control socket (BAREIRON_START_TIMEOUT_MS overrides). */
/* run/vmm.log is started afresh past this size, the older part kept as run/vmm.log.1. */
#define PROC_LOG_MAX_BYTES (1u << 20)
#define PROC_START_TIMEOUT_MS 15000
/* Per-request timeout of control calls, and of the query-state of a probe (a hung monitor
 * must not make `list` slow). */
#define PROC_CALL_TIMEOUT_MS 5000
#define PROC_PROBE_TIMEOUT_MS 1000

/* What proc_probe found. */
struct proc_status {
    enum vm_state state;
    pid_t pid;       /* the monitor's pid, 0 if none */
    bool has_exit;   /* the last run's exit record exists */
    int exit_status; /* its exit status (-1 if killed by a signal) */
    int exit_signal; /* the signal that killed it, 0 if none */
};

/*
 * Finds the monitor binary: $BAREIRON_VMM, else bareiron-vmm next to the running `bareiron`,
 * else ../vmm/bareiron-vmm relative to it (build tree), else "bareiron-vmm" on $PATH.
 * Returns 0 with the path in (buf), or -ENOENT with (err) saying where it looked.
 */
MUST_CHECK int proc_find_vmm(char *buf, size_t size, struct error *err);

/* True when started monitors are jailed (--sandbox): as root, unless $BAREIRON_SANDBOX is 0. */
bool proc_wants_sandbox(void);

/*
 * Builds the monitor's argv for (cfg) ((vmm) is argv[0]; paths of run/ files are relative to
 * the run directory, which is the monitor's working directory). The array and its strings
 * are malloc'd; free with proc_argv_free. Returns 0, -ENOTSUP for settings the monitor cannot
 * run yet (no kernel: firmware boot; those of config_check_supported) with (err) naming them,
 * or -ENOMEM. ACPI and the IO-APIC, on by default, are turned off with --acpi off and
 * --ioapic off. --sandbox is added when proc_wants_sandbox().
 */
MUST_CHECK int proc_build_argv(const struct vm_config *cfg, const char *vmm, char ***argv,
                               struct error *err);
void proc_argv_free(char **argv);

/* Probes VM (name): pid file, liveness, control socket, exit record -> (out). Returns 0 or
 * -errno (only for unusable paths). Does not need the lock. */
MUST_CHECK int proc_probe(const struct store *st, const char *name, struct proc_status *out);

/*
 * Starts (cfg)'s monitor and waits until it answers (or dies, or the timeout passes, in which
 * case it is killed). The caller holds the VM's lock and has checked that it is not live.
 * Returns 0 with the pid in (*pid), or a negative errno with (err) explaining, including the
 * tail of run/vmm.log when the monitor exited (its exit status maps back to an errno of the
 * same class by exit_status_to_errno: 3 -ENOENT, 4 -EBUSY, 5 -ENODEV, 2 and 6 -EINVAL).
 */
MUST_CHECK int proc_start(const struct store *st, const struct vm_config *cfg, pid_t *pid,
                          struct error *err);

/*
 * proc_start for a saved VM: the monitor is given --restore (state), passed as a descriptor
 * too (--fd), so a sandboxed monitor maps it without opening the path, and resumes that
 * state instead of booting.
 */
MUST_CHECK int proc_resume(const struct store *st, const struct vm_config *cfg, const char *state,
                           pid_t *pid, struct error *err);

/*
 * Sends one control command to VM (name)'s monitor and returns its result object in
 * (*result) (may be NULL). -ESRCH (with a message) if no monitor answers.
 */
MUST_CHECK int proc_call(const struct store *st, const char *name, const char *cmd, json_t *args,
                         json_t **result, struct error *err);

/*
 * Waits up to (timeout_ms) for VM (name)'s monitor to exit (state no longer live). Returns
 * 0 with the final probe in (out), or -ETIMEDOUT.
 */
MUST_CHECK int proc_wait_exit(const struct store *st, const char *name, int timeout_ms,
                              struct proc_status *out);

/*
 * True if the monitor binary (vmm) has network adapters: its --help output (read for at most
 * 5 s) names the option --nic. A monitor without them is given no adapter: proc_build_argv
 * refuses a definition that has some ("not supported yet").
 */
bool proc_vmm_has_nic(const char *vmm);

/* Writes the monitor's --nic value for adapter (n) into (buf): "nat,mac=M,hostfwd=R,...
 * [,restrict=on]", "tap,ifname=IF,mac=M" or "none,mac=M". Returns 0 or -ENAMETOOLONG. */
MUST_CHECK int proc_nic_arg(const struct nic_config *n, char *buf, size_t size);

/* Checks that the interface of every tap adapter of (cfg) exists (/sys/class/net/IFNAME), so
 * that a missing one is one line before the monitor runs. Returns 0 or -ENOENT naming it. */
MUST_CHECK int proc_check_taps(const struct vm_config *cfg, struct error *err);

/*
 * Makes the forwards of VM (name)'s running monitor go from those of (from) to those of (to)
 * (the definition before and after a `set`; their adapters are the same) with
 * net-hostfwd-remove and net-hostfwd-add, removals first. If the monitor refuses one (a port
 * in use: -EADDRINUSE), the changes already made are undone and its error is returned with
 * its message in (err). Returns 0, or -ESRCH when no monitor answers.
 */
MUST_CHECK int proc_apply_forwards(const struct store *st, const char *name,
                                   const struct vm_config *from, const struct vm_config *to,
                                   struct error *err);

/*
 * Puts (path) (NULL: ejects) in removable drive (drive) ("floppy", "cdrom") of VM (name)'s
 * running monitor with media-change, the image opened here (read-only when (is_readonly),
 * else read-write) and its descriptor sent along. Returns 0, -ESRCH when no monitor answers,
 * or the monitor's error (-ENODEV: the VM has no such drive) with its message in (err).
 */
MUST_CHECK int proc_media_change(const struct store *st, const char *name, const char *drive,
                                 const char *path, bool is_readonly, struct error *err);

/* Sends query-net to VM (name)'s monitor: a new reference to its checked "nics" array in
 * (*nics). -ENOTSUP from a monitor without network, -ESRCH when none answers. */
MUST_CHECK int proc_query_net(const struct store *st, const char *name, json_t **nics,
                              struct error *err);

/* Reads the start time (clock ticks since boot, field 22 of /proc/PID/stat) of (pid) and
 * whether it is a zombie. Returns 0 or -errno (-ENOENT: no such process). */
MUST_CHECK int proc_stat(pid_t pid, unsigned long long *start, bool *is_zombie);

/* Copies the last (lines) lines of run/vmm.log into (buf) ("" if none). */
void proc_log_tail(const struct store *st, const char *name, int lines, char *buf, size_t size);

#endif
