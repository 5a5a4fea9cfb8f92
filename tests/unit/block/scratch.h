/* SPDX-License-Identifier: MIT */
/*
 * Scratch files for the block layer's tests: a directory per test binary, made by the group
 * setup and removed with its contents by the group teardown of cmocka_run_group_tests(), and
 * single temporary files for the tests that need no directory.
 */
#ifndef BAREIRON_TESTS_UNIT_BLOCK_SCRATCH_H
#define BAREIRON_TESTS_UNIT_BLOCK_SCRATCH_H

#include <stdint.h>

/* Group setup: a fresh scratch directory under /tmp. */
int scratch_setup(void **state);
/* Group setup: the same under /var/tmp, on a disk filesystem rather than tmpfs. */
int scratch_setup_var_tmp(void **state);
/* Group teardown: removes the scratch directory and what is left in it. */
int scratch_teardown(void **state);

/* The scratch directory. */
const char *scratch_dir(void);
/* (name) inside the scratch directory; the last four results stay valid. */
const char *scratch_path(const char *name);
/* Removes everything inside the scratch directory (dot files too), keeping the directory. */
void scratch_empty(void);

/* A new sparse file of (size) bytes under /tmp; the caller unlinks and frees the path. */
char *scratch_file(uint64_t size);

#endif
