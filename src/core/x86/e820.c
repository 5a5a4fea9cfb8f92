/* SPDX-License-Identifier: MIT */
/*
 * E820 memory map construction (ACPI 6.5 §15.1 "INT 15H, E820H - Query System Address Map";
 * the PC layout is core/x86/layout.h). The map is a small sorted array: insertion shifts the
 * tail, rejects overlaps and merges a new range with an adjacent one of the same type.
 */
#include "core/x86/e820.h"

#include <errno.h>
#include <string.h>

#include "base/ckd.h"
#include "core/x86/layout.h"

#define ONE_MIB 0x100000ULL

void e820_init(struct e820_map *m)
{
    memset(m, 0, sizeof(*m));
}

static uint64_t entry_end(const struct e820_entry *e)
{
    return e->addr + e->size;
}

/* Merges entry (i) with entry (i + 1) when they touch and have the same type. */
static void merge_next(struct e820_map *m, unsigned i)
{
    struct e820_entry *a = &m->entries[i], *b = &m->entries[i + 1];

    if (i + 1 >= m->n || a->type != b->type || entry_end(a) != b->addr)
        return;
    a->size += b->size;
    memmove(b, b + 1, (m->n - i - 2) * sizeof(*b));
    m->n--;
}

int e820_add(struct e820_map *m, uint64_t addr, uint64_t size, uint32_t type)
{
    uint64_t end;
    unsigned i;

    if (size == 0 || ckd_add(&end, addr, size))
        return -EINVAL;
    /* First entry that starts at or after the new range. */
    for (i = 0; i < m->n && m->entries[i].addr < addr; i++)
        ;
    if (i > 0 && entry_end(&m->entries[i - 1]) > addr)
        return -EEXIST;
    if (i < m->n && m->entries[i].addr < end)
        return -EEXIST;
    if (m->n >= E820_MAX)
        return -ENOSPC;
    memmove(&m->entries[i + 1], &m->entries[i], (m->n - i) * sizeof(m->entries[0]));
    m->entries[i] = (struct e820_entry){.addr = addr, .size = size, .type = type};
    m->n++;
    if (i + 1 < m->n)
        merge_next(m, i);
    if (i > 0)
        merge_next(m, i - 1);
    return 0;
}

int e820_build_pc(struct e820_map *m, const struct gmem *gm)
{
    uint64_t low_end = gmem_low_ram_end(gm);
    uint64_t high_bytes = gm->ram_bytes - low_end;
    int ret;

    e820_init(m);
    if (low_end < 2 * ONE_MIB)
        return -EINVAL;
    ret = e820_add(m, 0, BOOT_AREA_END, E820_RESERVED);
    if (ret == 0)
        ret = e820_add(m, BOOT_AREA_END, EBDA_GPA - BOOT_AREA_END, E820_RAM);
    if (ret == 0)
        ret = e820_add(m, EBDA_GPA, ACPI_GPA - EBDA_GPA, E820_RESERVED);
    if (ret == 0)
        ret = e820_add(m, ACPI_GPA, MPTABLE_GPA - ACPI_GPA, E820_ACPI);
    if (ret == 0)
        ret = e820_add(m, MPTABLE_GPA, ONE_MIB - MPTABLE_GPA, E820_RESERVED);
    if (ret == 0)
        ret = e820_add(m, ONE_MIB, low_end - ONE_MIB, E820_RAM);
    if (ret == 0)
        ret = e820_add(m, PCI_ECAM_BASE, PCI_ECAM_SIZE, E820_RESERVED);
    if (ret == 0 && high_bytes > 0)
        ret = e820_add(m, HIGH_RAM_BASE, high_bytes, E820_RAM);
    return ret;
}

uint64_t e820_ram_bytes(const struct e820_map *m)
{
    uint64_t total = 0;

    for (unsigned i = 0; i < m->n; i++) {
        if (m->entries[i].type == E820_RAM)
            total += m->entries[i].size;
    }
    return total;
}

const char *e820_type_name(uint32_t type)
{
    switch (type) {
    case E820_RAM:
        return "ram";
    case E820_RESERVED:
        return "reserved";
    case E820_ACPI:
        return "acpi";
    case E820_NVS:
        return "nvs";
    default:
        return "unknown";
    }
}
