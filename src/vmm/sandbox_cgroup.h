/* SPDX-License-Identifier: MIT */
/*
 * cgroup v2 limits for the jailed monitor (vmm/sandbox.h): a child cgroup
 * "bareiron-vmm-<keeper pid>" of the keeper's own cgroup, with cpu.max = --cpus whole CPUs and
 * memory.max = --memory plus the monitor's overhead (max(128 MiB, memory / 8)). Used by the
 * keeper only.
 */
#ifndef BAREIRON_VMM_SANDBOX_CGROUP_H
#define BAREIRON_VMM_SANDBOX_CGROUP_H

#include <stddef.h>
#include <sys/types.h>

#include "vmm/options.h"

/*
 * Creates the cgroup and writes the limits into (path) (PATH_MAX bytes; "" when skipped, with
 * a warning naming why: no cgroup2 mount, controllers not delegated, not writable).
 */
void sandbox_cgroup_create(const struct vmm_options *o, char *path, size_t path_len);

/* Moves (pid) into the cgroup at (path) ("" does nothing). Returns 0 or -errno. */
int sandbox_cgroup_add(const char *path, pid_t pid);

/* Removes the cgroup at (path) once empty ("" does nothing). */
void sandbox_cgroup_remove(const char *path);

#endif
