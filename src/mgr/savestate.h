/* SPDX-License-Identifier: MIT */
/*
 * A VM's saved machine state in the library (docs/cli.md "Saved state"): the file
 * vms/NAME/saved.state, written by the monitor's control command save (docs/vmm.md "Saved
 * state") and resumed by `start` with --restore. Its presence makes the VM "saved" when no
 * monitor runs (mgr/state.h). It is only ever replaced whole: a new state is written under
 * saved.state.new, read back and checked (header, every section header and checksum), then
 * renamed over the old one and the directory synced, so a crash at any point leaves either
 * the previous state or the new one, never a mix. The caller holds the VM's lock.
 */
#ifndef BAREIRON_MGR_SAVESTATE_H
#define BAREIRON_MGR_SAVESTATE_H

#include <stdbool.h>
#include <stddef.h>

#include "base/compiler.h"
#include "base/error.h"
#include "mgr/store.h"

#define SAVESTATE_LEAF "saved.state"
/* How long `save` waits for the monitor to write the state (a large guest on a slow disk). */
#define SAVESTATE_CALL_TIMEOUT_MS (10 * 60 * 1000)

/* Writes the path of VM (name)'s saved state into (buf). Returns 0 or -ENAMETOOLONG. */
MUST_CHECK int savestate_path(const struct store *st, const char *name, char *buf, size_t size);
/* True when VM (name) has a saved state. */
bool savestate_exists(const struct store *st, const char *name);

/*
 * Checks that (path) is a state file this version reads: header, section headers and every
 * checksummed section (guest memory is only bounds-checked, as a restore does). Returns 0, or
 * -EINVAL with (err) one line naming the file and the header or section that is wrong, or
 * -errno when it cannot be read.
 */
MUST_CHECK int savestate_verify(const char *path, struct error *err);

/*
 * Asks VM (name)'s monitor (running or paused) to save its state, then installs it as the
 * VM's saved state (verified, renamed over any older one). The monitor exits once the state
 * is written; the caller waits for that. Returns 0, -ESRCH when no monitor answers, or the
 * monitor's refusal (a device without saved state: -ENOTSUP) with its message in (err); the
 * VM then runs on.
 */
MUST_CHECK int savestate_save(const struct store *st, const char *name, struct error *err);
/* savestate_save_to flags: guest memory compressed; memory copied while the guest runs, which
 * is paused only for the last round (docs/vmm.md "Saved state"). Not both. */
#define SAVESTATE_ZSTD 1u
#define SAVESTATE_LIVE 2u
/* savestate_save into (path) (a snapshot's state file) instead of the VM's saved state, through
 * (path).new the same way; (flags): SAVESTATE_*. */
MUST_CHECK int savestate_save_to(const struct store *st, const char *name, const char *path,
                                 unsigned flags, struct error *err);

/*
 * Installs the state file (from) (a snapshot's, in the VM's directory) as VM (name)'s saved
 * state: verified, then hard-linked as saved.state.new and renamed over the current one (the
 * file is never written in place, so both names may share it). Returns 0 or -errno with (err)
 * set.
 */
MUST_CHECK int savestate_install(const struct store *st, const char *name, const char *from,
                                 struct error *err);

/* Drops VM (name)'s saved state (none is fine) and syncs the directory. Returns 0 or -errno. */
MUST_CHECK int savestate_discard(const struct store *st, const char *name, struct error *err);

#endif
