/* SPDX-License-Identifier: MIT */
/* The option tests' parser call: PARSE(o, err, "--kernel", "k", ...) runs vmm_options_parse. */
#ifndef BAREIRON_TESTS_UNIT_VMM_PARSE_ARGS_H
#define BAREIRON_TESTS_UNIT_VMM_PARSE_ARGS_H

#include <string.h>

#include "vmm/options.h"

/* Parses (args), copied into static storage that stays valid until the next call (options
 * keep pointers into argv). */
static inline int parse_v(struct vmm_options *o, struct error *err, const char *const *args,
                          size_t n)
{
    static char store[32][256];
    static char *argv[34];
    assert_true(n < 32);
    argv[0] = store[31];
    strcpy(store[31], "bareiron-vmm");
    for (size_t i = 0; i < n; i++) {
        assert_true(strlen(args[i]) < sizeof(store[i]));
        strcpy(store[i], args[i]);
        argv[i + 1] = store[i];
    }
    argv[n + 1] = NULL;
    error_clear(err);
    return vmm_options_parse((int)n + 1, argv, o, err);
}

#define PARSE(o, err, ...)                                                                         \
    ({                                                                                             \
        const char *const a_[] = {__VA_ARGS__};                                                    \
        parse_v(&(o), &(err), a_, sizeof(a_) / sizeof(a_[0]));                                     \
    })

#endif
