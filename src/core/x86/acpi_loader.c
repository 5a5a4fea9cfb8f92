/* SPDX-License-Identifier: MIT */
/*
 * Writer of QEMU's ACPI linker/loader script (core/x86/acpi_loader.h has the format). The
 * commands are checked here as the firmware will check them: names that fit with their NUL,
 * power-of-2 alignments, pointer sizes of 1, 2, 4 or 8 bytes.
 */
#include "core/x86/acpi_loader.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

void acpi_loader_init(struct acpi_loader *l)
{
    memset(l, 0, sizeof(*l));
}

void acpi_loader_fini(struct acpi_loader *l)
{
    free(l->entries);
    acpi_loader_init(l);
}

static void fail(struct acpi_loader *l, int err)
{
    if (!l->err)
        l->err = err;
}

/* Returns a zeroed entry at the end of the script, or NULL (error recorded). */
static struct acpi_loader_entry *append(struct acpi_loader *l, enum acpi_loader_command cmd)
{
    struct acpi_loader_entry *e;

    if (l->err)
        return NULL;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        e = realloc(l->entries, cap * sizeof(*e));
        if (!e) {
            fail(l, -ENOMEM);
            return NULL;
        }
        l->entries = e;
        l->cap = cap;
    }
    e = &l->entries[l->n++];
    memset(e, 0, sizeof(*e));
    e->command = cmd;
    return e;
}

static bool put_name(struct acpi_loader *l, char dst[ACPI_LOADER_FILESZ], const char *name)
{
    size_t len = strlen(name);

    if (len == 0 || len >= ACPI_LOADER_FILESZ) {
        fail(l, -EINVAL);
        return false;
    }
    memcpy(dst, name, len);
    return true;
}

void acpi_loader_allocate(struct acpi_loader *l, const char *file, uint32_t align,
                          enum acpi_loader_zone zone)
{
    struct acpi_loader_entry *e;

    if (align == 0 || (align & (align - 1)) != 0) {
        fail(l, -EINVAL);
        return;
    }
    e = append(l, ACPI_LOADER_ALLOCATE);
    if (!e || !put_name(l, e->u.alloc.file, file))
        return;
    e->u.alloc.align = align;
    e->u.alloc.zone = (uint8_t)zone;
}

void acpi_loader_add_pointer(struct acpi_loader *l, const char *dest_file, const char *src_file,
                             uint32_t offset, uint8_t size)
{
    struct acpi_loader_entry *e;

    if (size != 1 && size != 2 && size != 4 && size != 8) {
        fail(l, -EINVAL);
        return;
    }
    e = append(l, ACPI_LOADER_ADD_POINTER);
    if (!e || !put_name(l, e->u.pointer.dest_file, dest_file) ||
        !put_name(l, e->u.pointer.src_file, src_file))
        return;
    e->u.pointer.offset = offset;
    e->u.pointer.size = size;
}

void acpi_loader_add_checksum(struct acpi_loader *l, const char *file, uint32_t offset,
                              uint32_t start, uint32_t length)
{
    struct acpi_loader_entry *e;

    if (offset < start || offset - start >= length) {
        fail(l, -EINVAL);
        return;
    }
    e = append(l, ACPI_LOADER_ADD_CHECKSUM);
    if (!e || !put_name(l, e->u.checksum.file, file))
        return;
    e->u.checksum.offset = offset;
    e->u.checksum.start = start;
    e->u.checksum.length = length;
}
