/* SPDX-License-Identifier: MIT */
/* Shared by cmd_snapshot.c and cmd_snapshot_show.c (private to src/cli/). */
#ifndef BAREIRON_CLI_CMD_SNAPSHOT_H
#define BAREIRON_CLI_CMD_SNAPSHOT_H

#include "mgr/snaptree.h"

/* Prints the children of (parent) (-1: the roots) and their subtrees at (depth). Returns 0. */
int snapshot_print_list(const struct snap_tree *t, int parent, int depth);
/* Prints snapshot (i)'s details. Returns 0. */
int snapshot_print_show(const struct snap_tree *t, int i);

#endif
