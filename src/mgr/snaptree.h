/* SPDX-License-Identifier: MIT */
/*
 * A VM's snapshot tree (`bareiron snapshot`), kept in vms/NAME/snapshots.json next to its
 * definition and replaced atomically under the VM's lock. Each snapshot has a UUID (also the
 * name of the qcow2 internal snapshot it made in every writable disk), a name unique in the
 * VM, a description, the time it was taken, its parent and the VM definition as it was.
 * "current" is the snapshot the VM's present state descends from (VirtualBox's current
 * snapshot). Parsing is strict and treats the file as hostile: limits on counts and lengths,
 * unique UUIDs and names, parents that exist and form no cycle, and every definition parsed.
 */
#ifndef BAREIRON_MGR_SNAPTREE_H
#define BAREIRON_MGR_SNAPTREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "base/compiler.h"
#include "base/error.h"
#include "mgr/store.h"

#define SNAPTREE_VERSION 1
#define SNAPTREE_MAX 256       /* snapshots per VM */
#define SNAPTREE_MAX_NAME 64   /* bytes of a snapshot name */
#define SNAPTREE_MAX_DESC 1024 /* bytes of a description */
#define SNAPTREE_MAX_BYTES (16u << 20)

struct snap {
    char uuid[37];
    char *name;
    char *description; /* never NULL */
    int64_t time_sec;  /* wall clock when taken */
    int parent;        /* index in the tree, -1 for a root */
    json_t *config;    /* the VM definition (a vm.json object) */
    bool has_state;    /* taken with the machine state (snapshots/UUID/state) */
};

struct snap_tree {
    struct snap *v;
    size_t n;
    int current; /* index, -1 when none (none taken yet, or the current root was deleted) */
};

/* Checks a snapshot name: 1..64 printable bytes, not starting with '-', not a UUID-shaped
 * string. Returns 0 or -EINVAL with (err). */
MUST_CHECK int snaptree_check_name(const char *name, struct error *err);

/* Parses snapshots.json text into (t) (uninitialized). (what) names the source. Returns 0,
 * -EINVAL naming what is wrong, -ENOTSUP (a newer version) or -ENOMEM. On failure (t) holds
 * nothing to free. */
MUST_CHECK int snaptree_parse(const char *text, size_t len, const char *what, struct snap_tree *t,
                              struct error *err);
/* Serializes (t) as indented JSON (malloc'd, newline-terminated). Returns 0 or -ENOMEM. */
MUST_CHECK int snaptree_dump(const struct snap_tree *t, char **out);
void snaptree_free(struct snap_tree *t);

/* Loads VM (name)'s tree (an empty one when it has no file). The caller holds the lock. */
MUST_CHECK int snaptree_load(const struct store *st, const char *name, struct snap_tree *t,
                             struct error *err);
/* Replaces VM (name)'s tree atomically (an empty tree removes the file). */
MUST_CHECK int snaptree_save(const struct store *st, const char *name, const struct snap_tree *t,
                             struct error *err);

/* The index of the snapshot called (key) (a name or a UUID), or -1. */
int snaptree_find(const struct snap_tree *t, const char *key);
/* Number of children of snapshot (i). */
size_t snaptree_children(const struct snap_tree *t, int i);
/* Appends a snapshot, child of the current one, and makes it current. Takes a reference to
 * (config). Returns its index or -ENOMEM / -ENOSPC (SNAPTREE_MAX reached). */
MUST_CHECK int snaptree_add(struct snap_tree *t, const char *uuid, const char *name,
                            const char *description, int64_t time_sec, json_t *config);
/* Removes snapshot (i): its children get its parent; when it was current, its parent
 * becomes current. */
void snaptree_remove(struct snap_tree *t, int i);
/* Writes a random (version 4) UUID into (out). Returns 0 or -errno. */
MUST_CHECK int snaptree_new_uuid(char out[37]);

#endif
