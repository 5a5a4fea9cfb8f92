/* SPDX-License-Identifier: MIT */
/*
 * The saved-state payload (docs/testing.md): counts in memory and prints a line per tick,
 * "COUNT <tick> <check>", until `ticks=` (default 300) and then passes. A tick is 2^`shift`
 * (default 20) increments of a counter in memory; at tick t it also writes t into page
 * t % PAGES of a `mib=` MiB buffer (default 16) and checks that the page written at tick t - 1
 * still holds t - 1, so the memory a restore maps back is checked as the count goes on. The
 * harness saves the machine mid-run and restores it (once or twice from one file): the COUNT
 * lines of the runs, joined, must follow each other without a gap or a repeat beyond the line
 * the save interrupted.
 */
#include "rt.h"

const char payload_name[] = "counter";

#define PAGE 4096

static uint8_t buffer[64 << 20] __attribute__((aligned(PAGE)));
static volatile uint64_t counter;

void payload_main(void)
{
    uint64_t ticks = rt_cmdline_u64("ticks", 300), shift = rt_cmdline_u64("shift", 20);
    uint64_t mib = rt_cmdline_u64("mib", 16), pages, bad = 0;
    if (mib == 0 || mib > sizeof(buffer) >> 20 || shift > 40) {
        rt_fail("counter-args", "mib must be 1..64, shift at most 40");
        return;
    }
    pages = (mib << 20) / PAGE;
    rt_printf("READY counter\n");
    for (uint64_t t = 1; t <= ticks; t++) {
        while ((counter >> shift) < t)
            counter = counter + 1;
        volatile uint64_t *cur = (volatile uint64_t *)&buffer[(t % pages) * PAGE];
        volatile uint64_t *prev = (volatile uint64_t *)&buffer[((t - 1) % pages) * PAGE];
        *cur = t;
        if (t > 1 && *prev != t - 1)
            bad++;
        rt_printf("COUNT %lu %lu\n", (unsigned long)t, (unsigned long)bad);
    }
    if (rt_check(bad == 0, "memory", "%lu pages lost their value", (unsigned long)bad))
        rt_pass("memory");
}
