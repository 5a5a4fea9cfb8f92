/* SPDX-License-Identifier: MIT */
/*
 * `--sandbox`: the monitor jailed as Firecracker's jailer does it (docs/security.md "Sandbox").
 *
 *   keeper (outside) --unshare(PID), fork--> jailed monitor (PID 1 of its namespace)
 *     forwards SIGINT/SIGTERM/SIGHUP;          loads the machine (every file opened and
 *     exits with the monitor's status;         cached), tears it down, sandbox_enter(),
 *     removes its cgroup and socket files      loads it again from the cache, seccomp, runs
 *
 * sandbox_enter: new mount, IPC and UTS namespaces; pivot_root into an empty read-only tmpfs of
 * its own (every file, /dev/kvm included, was opened before); rlimits; every capability dropped
 * from the bounding, ambient, effective, permitted and inheritable sets; the uid/gid switch
 * (65534:65534 unless --sandbox-user); no_new_privs; not dumpable. cgroup v2 CPU and memory
 * limits from --cpus and --memory where the cgroup tree allows it, skipped with a warning
 * otherwise. Needs root (user namespaces are not supported yet).
 */
#ifndef BAREIRON_VMM_SANDBOX_H
#define BAREIRON_VMM_SANDBOX_H

#include "base/compiler.h"
#include "base/error.h"
#include "vmm/options.h"

/*
 * Forks the jailed monitor into a new PID namespace. Returns 0 in the child (which goes on to
 * load the machine), 1 in the keeper once the child has exited, with (*status) its exit status
 * (128 + signal when killed), or -errno with (err) set (not root, unshare or fork failed).
 * Main thread, first thing after parsing: the process must have no other thread.
 */
MUST_CHECK int sandbox_spawn(const struct vmm_options *o, int *status, struct error *err);

/*
 * Enters the jail (the calling process must be single-threaded again; it waits up to 5 s for
 * threads still exiting). Every file the VM needs must be open and cached (base/fdcache.h).
 * Returns 0 or -errno with (err) set.
 */
MUST_CHECK int sandbox_enter(const struct vmm_options *o, struct error *err);

#endif
