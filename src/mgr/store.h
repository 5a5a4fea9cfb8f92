/* SPDX-License-Identifier: MIT */
/*
 * The VM library on disk (docs/cli.md "Files"). The root is $BAREIRON_HOME, else
 * $XDG_DATA_HOME/bareiron, else ~/.local/share/bareiron, and holds
 *
 *   vms/NAME/vm.json    the definition (mgr/config.h), replaced atomically
 *   vms/NAME/lock       flock(2) target: every change holds it exclusively
 *   vms/NAME/disks/     disk images created for this VM
 *   vms/NAME/run/       (0700) vmm.pid, control.sock (0600), console.sock, vmm.log, exit.json
 *   disks/              disks kept by `delete --keep-disks`
 *
 * A VM is created by building it in a hidden staging directory and renaming it into place, and
 * deleted by renaming it away before removing it, so a crash never leaves half a VM visible.
 * BAREIRON_FAULT_INJECT=<step> makes a definition write abort() at that step (tests check that
 * the old definition survives): tmp-open, tmp-partial, tmp-written, tmp-synced, renamed.
 */
#ifndef BAREIRON_MGR_STORE_H
#define BAREIRON_MGR_STORE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/compiler.h"
#include "base/error.h"
#include "mgr/config.h"

struct store {
    char root[PATH_MAX - 128]; /* leaves room for vms/NAME/leaf below it */
};

/* Finds the library root into (st); creates nothing (store_create makes the directories it
 * needs). Returns 0 or -errno with (err). */
MUST_CHECK int store_open(struct store *st, struct error *err);

/* Checks a VM name; the message says what a name may contain. Returns 0 or -EINVAL. */
MUST_CHECK int store_check_name(const char *name, struct error *err);

/* Writes "<root>/vms/<name>[/<leaf>]" into (buf). Returns 0 or -ENAMETOOLONG. */
MUST_CHECK int store_vm_path(const struct store *st, const char *name, const char *leaf, char *buf,
                             size_t size);

/* True if a VM called (name) exists (its vm.json is present). */
bool store_exists(const struct store *st, const char *name);

/*
 * Takes the VM's lock (flock LOCK_EX on vms/NAME/lock, waiting for other holders) and returns
 * its fd in (*fd) (close-on-exec). Returns 0, -ENOENT if there is no such VM (also when it was
 * deleted while we waited), or -errno.
 */
MUST_CHECK int store_lock(const struct store *st, const char *name, int *fd, struct error *err);
/* Releases a lock taken by store_lock (fd < 0 is ignored). */
void store_unlock(int fd);

/* Loads the definition of (name) into (cfg). -ENOENT: no such VM; -EINVAL/-ENOTSUP: a bad
 * vm.json (the message names the file). */
MUST_CHECK int store_load(const struct store *st, const char *name, struct vm_config *cfg,
                          struct error *err);

/* Validates (cfg) and replaces its vm.json atomically. The caller holds the lock. */
MUST_CHECK int store_save(const struct store *st, const struct vm_config *cfg, struct error *err);

/* Reads file (leaf) of VM (name)'s directory (at most (max) bytes) into a malloc'd,
 * NUL-terminated (*text, *len). Returns 0, -ENOENT when absent, -EFBIG, or -errno. */
MUST_CHECK int store_read_leaf(const struct store *st, const char *name, const char *leaf,
                               size_t max, char **text, size_t *len);
/* Replaces file (leaf) of VM (name)'s directory with (data) atomically; (data) NULL removes
 * it. The caller holds the lock. Returns 0 or -errno with (err). */
MUST_CHECK int store_write_leaf(const struct store *st, const char *name, const char *leaf,
                                const char *data, size_t len, struct error *err);

/* Creates a new VM from (cfg). Returns 0, -EEXIST if the name is taken, or -errno. */
MUST_CHECK int store_create(const struct store *st, const struct vm_config *cfg, struct error *err);

/*
 * Deletes VM (name) with its directory. With (keep_disks) the images in its disks/ are moved
 * to <root>/disks/<name>/ first and that path is written to (kept_dir) (else ""). Disks that
 * live outside the VM's directory are never touched. The caller holds the lock and has
 * checked that no monitor runs.
 */
MUST_CHECK int store_delete(const struct store *st, const char *name, bool keep_disks,
                            char *kept_dir, size_t kept_size, struct error *err);

/* Lists the VM names (sorted, malloc'd array of malloc'd strings) into (*names, *count). */
MUST_CHECK int store_list(const struct store *st, char ***names, size_t *count, struct error *err);
/* Frees a list from store_list. */
void store_list_free(char **names, size_t count);

/*
 * Looks for MAC (mac) (case-insensitive) in the adapters of every VM but (self) (NULL: every
 * VM). Returns 1 with the first owner's name in (owner) and its adapter number (1..) in
 * (*nic), 0 when no other VM has it, or -errno when the library cannot be listed. Definitions
 * that do not load are skipped (their own commands report them).
 */
MUST_CHECK int store_find_mac(const struct store *st, const char *self, const char *mac,
                              char *owner, size_t owner_size, size_t *nic);

#endif
