/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for base/statefile.c's parser: any byte string is parsed as a saved-state file;
 * every section it accepts must lie inside the input (ASan catches reads outside), and each
 * accepted section's data is read back through struct sf_in to the end.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "base/statefile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct sf_file f;
    struct error err = {0};
    if (sf_parse(data, size, &f, &err) < 0)
        return 0;
    for (unsigned i = 0; i < f.nsections; i++) {
        const struct sf_section *s = &f.sections[i];
        struct sf_in in;
        if (s->offset > size || s->length > size - s->offset)
            abort();
        sf_in_init(&in, data + s->offset, (size_t)s->length);
        while (sf_in_end(&in) != 0 && !in.bad)
            (void)sf_get_u8(&in);
    }
    return 0;
}
