/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the two files of the AML builder (core/x86/aml.c for the terms,
 * core/x86/aml_res.c for the resource descriptors); not for other modules.
 */
#ifndef BAREIRON_CORE_X86_AML_INTERNAL_H
#define BAREIRON_CORE_X86_AML_INTERNAL_H

#include <stdint.h>

#include "core/x86/aml.h"

/* Records (err) in a->err unless an earlier error is there. */
void aml_fail(struct aml *a, int err);
/* Appends the low (n) bytes of (v), little-endian. */
void aml_put_le(struct aml *a, uint64_t v, unsigned n);

#endif
