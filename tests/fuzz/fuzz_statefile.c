/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for base/statefile.c's parser: any byte string is parsed as a saved-state file;
 * every section it accepts must lie inside the input (ASan catches reads outside), and each
 * accepted section's data is read back through struct sf_in to the end. The section decoders
 * that take no device run too: "cpuid" through core/x86/cpuid_state.c, and "<region>.zstd"
 * (compressed guest memory) through vmm/machine_state_zstd.c into a 64 KiB region.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/statefile.h"
#include "core/gmem.h"
#include "core/x86/cpuid_state.h"
#include "vmm/machine_internal.h"

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
        if (strcmp(s->name, "cpuid") == 0) {
            struct kvm_cpuid_entry2 *e = NULL;
            size_t n;
            if (cpuid_state_get(&in, &e, &n) == 0)
                free(e);
        } else if (strstr(s->name, ".zstd") != NULL) {
            static uint8_t ram[64 << 10];
            struct gmem_region r = {
                .size_bytes = sizeof(ram), .hva = ram, .memfd = -1, .name = "ram"};
            (void)machine_load_region_zstd(&r, data + s->offset, (size_t)s->length, &err);
        }
        while (sf_in_end(&in) != 0 && !in.bad)
            (void)sf_get_u8(&in);
    }
    return 0;
}
