/* SPDX-License-Identifier: MIT */
/*
 * Guest RAM as the boot information describes it (Multiboot Specification 0.6.96 §3.3: flags
 * bit 0 mem_lower/mem_upper, bit 6 the e820-style memory map; ACPI 6.4 §15 address range
 * types): the map's entries do not overlap, usable RAM adds up to `mem=` MiB (within the few
 * pages firmware and tables take), mem_upper agrees with the map, and every usable 4 KiB page
 * outside the payload's image and the boot information holds a value unique to its address
 * when written and read back (pages that alias each other or are not backed by RAM are caught).
 */
#include "rt.h"

const char payload_name[] = "memory";

extern const uint8_t _end[];

#define MAX_ENTRIES 32

static uint64_t base[MAX_ENTRIES], len[MAX_ENTRIES];
static uint32_t type[MAX_ENTRIES];
static unsigned n;

static uint64_t tag(uint64_t pa)
{
    return pa * 0x9e3779b97f4a7c15ULL ^ 0x5a5aa5a5c3c33c3cULL;
}

static void check_map(void)
{
    uint64_t usable = 0;
    unsigned overlaps = 0;
    for (n = 0; n < MAX_ENTRIES && rt_mmap_entry(n, &base[n], &len[n], &type[n]); n++) {
        if (type[n] == 1)
            usable += len[n];
    }
    for (unsigned i = 0; i < n; i++) {
        for (unsigned j = i + 1; j < n; j++)
            overlaps += base[i] < base[j] + len[j] && base[j] < base[i] + len[i];
    }
    if (!rt_check(n > 0, "map", "no multiboot memory map"))
        return;
    if (rt_check(!overlaps, "map", "%u overlapping memory map entries", overlaps))
        rt_pass("map");
    uint64_t mem = rt_cmdline_u64("mem", 0) << 20;
    rt_printf("  %u map entries, %lu KiB usable\n", n, (unsigned long)(usable >> 10));
    if (mem && rt_check(usable <= mem && usable + (4u << 20) >= mem, "size",
                        "%lu KiB usable, want %lu KiB less at most 4 MiB",
                        (unsigned long)(usable >> 10), (unsigned long)(mem >> 10)))
        rt_pass("size");
    const volatile uint32_t *mbi = (const volatile uint32_t *)(uintptr_t)rt_boot_info;
    if (mbi[0] & 1) {
        uint64_t upper_end = 0x100000 + ((uint64_t)mbi[2] << 10);
        bool ok = false;
        for (unsigned i = 0; i < n; i++)
            ok |= type[i] == 1 && base[i] <= 0x100000 && base[i] + len[i] >= upper_end;
        rt_printf("  mem_lower %u KiB, mem_upper %u KiB\n", mbi[1], mbi[2]);
        if (rt_check(ok && mbi[1] >= 512 && mbi[1] <= 640, "mem-upper",
                     "mem_lower %u KiB / mem_upper %u KiB disagree with the map", mbi[1], mbi[2]))
            rt_pass("mem-upper");
    }
}

/* Pages holding the multiboot information, command line and memory map are kept intact. */
static uint64_t keep[3][2];

static void find_boot_info(void)
{
    const volatile uint32_t *mbi = (const volatile uint32_t *)(uintptr_t)rt_boot_info;
    const char *cmd = rt_cmdline();
    keep[0][0] = rt_boot_info;
    keep[0][1] = rt_boot_info + 88;
    keep[1][0] = (uintptr_t)cmd;
    keep[1][1] = (uintptr_t)cmd + strlen(cmd) + 1;
    keep[2][0] = mbi[12];
    keep[2][1] = (uint64_t)mbi[12] + mbi[11];
}

/* Usable pages above 1 MiB and past the payload image, below the identity map's end. */
static bool testable(uint64_t pa)
{
    for (unsigned i = 0; i < ARRAY_SIZE(keep); i++) {
        if (pa < keep[i][1] && keep[i][0] < pa + 4096)
            return false;
    }
    return pa >= (((uintptr_t)_end + 0xfff) & ~0xfffULL) && pa + 4096 <= RT_MAP_LIMIT;
}

static void check_pages(void)
{
    uint64_t pages = 0, bad = 0, first_bad = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (unsigned i = 0; i < n; i++) {
            if (type[i] != 1)
                continue;
            for (uint64_t pa = (base[i] + 0xfff) & ~0xfffULL; pa + 4096 <= base[i] + len[i];
                 pa += 4096) {
                if (!testable(pa))
                    continue;
                volatile uint64_t *p = (volatile uint64_t *)(uintptr_t)pa;
                if (pass == 0) {
                    p[0] = tag(pa);
                    p[511] = ~tag(pa);
                    pages++;
                } else if (p[0] != tag(pa) || p[511] != ~tag(pa)) {
                    if (!bad++)
                        first_bad = pa;
                }
            }
        }
    }
    rt_printf("  %lu pages written and read back\n", (unsigned long)pages);
    if (rt_check(pages > 0 && !bad, "pages", "%lu of %lu pages lost their value (first 0x%lx)",
                 (unsigned long)bad, (unsigned long)pages, (unsigned long)first_bad))
        rt_pass("pages");
}

void payload_main(void)
{
    check_map();
    find_boot_info();
    check_pages();
    rt_printf("  command line still reads '%s'\n", rt_cmdline());
}
