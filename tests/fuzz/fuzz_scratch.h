/* SPDX-License-Identifier: MIT */
/*
 * The scratch directory of the fuzz targets that need files (blk_bounce, blk_teardown,
 * qcow2_backing): made once from LLVMFuzzerInitialize under /var/tmp (a real file system:
 * tmpfs has no O_DIRECT) and removed with everything in it when the process exits.
 */
#ifndef BAREIRON_TESTS_FUZZ_SCRATCH_H
#define BAREIRON_TESTS_FUZZ_SCRATCH_H

#include <stddef.h>

/* Quiets the log (the inputs are hostile: warnings are expected) and makes the directory
 * /var/tmp/fuzz_<name>.XXXXXX; aborts if it cannot. */
void fuzz_scratch_init(const char *name);
/* Writes the path of (name) inside the scratch directory into (out). */
void fuzz_scratch_path(char *out, size_t size, const char *name);

#endif
