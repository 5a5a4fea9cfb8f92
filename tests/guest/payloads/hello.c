/* SPDX-License-Identifier: MIT */
/*
 * The smallest payload: proves the runtime (multiboot entry, long mode, the drop to ring 3
 * with IOPL 3, COM1 output, the command line and isa-debug-exit). It also checks that it
 * really runs in ring 3 (CS.RPL = 3) with the IOPL it asked for (RFLAGS bits 12-13, Intel SDM
 * vol. 1 §3.4.3): 3, or 0 with `iopl=0` (not checked where the host does not honour IOPL 3,
 * kvm-pvm), that port I/O went through entry.S's #GP path exactly when ring 3 lacks IOPL 3,
 * and that the int $0x80 gate returns to ring 3 with paging and PAE on (CR0.PG, CR4.PAE).
 */
#include "rt.h"

const char payload_name[] = "hello";

void payload_main(void)
{
    uint16_t cs;
    uint64_t rflags;
    __asm__ volatile("mov %%cs, %0" : "=r"(cs));
    __asm__ volatile("pushfq; popq %0" : "=r"(rflags));
    if (rt_check((cs & 3) == 3, "ring3", "CS is 0x%x, not ring 3", cs))
        rt_pass("ring3");
    if (!rt_iopl3_honoured) {
        /* kvm-pvm: ring 3 reads the host's RFLAGS (IOPL 0, IF 1), not the ones entry.S set. */
        rt_printf("NOTE hello: this host does not honour IOPL 3 in ring 3 (RFLAGS reads 0x%lx); "
                  "port I/O takes the #GP path\n",
                  (unsigned long)rflags);
    } else {
        if (rt_check(((rflags >> 12) & 3) == rt_iopl, "iopl", "RFLAGS 0x%lx has IOPL %lu, want %u",
                     (unsigned long)rflags, (unsigned long)(rflags >> 12) & 3, rt_iopl))
            rt_pass("iopl");
        if (rt_check(!(rflags & 0x200), "if", "interrupts are enabled (RFLAGS 0x%lx)",
                     (unsigned long)rflags))
            rt_pass("if");
    }
    /* The #GP path ran exactly when ring 3 lacks IOPL 3 (START went out through it). */
    uint32_t traps = rt_gp_io_count;
    bool want_traps = rt_iopl == 0 || !rt_iopl3_honoured;
    if (rt_check(want_traps == (traps > 0), "gp-io", "%u port accesses trapped to #GP with IOPL %u",
                 traps, rt_iopl))
        rt_pass("gp-io");
    uint64_t cr0, cr4;
    __asm__ volatile("int $0x80" : "=a"(cr0), "=d"(cr4) : "a"(2ULL) : "memory");
    if (rt_check((cr0 & 0x80000001u) == 0x80000001u && (cr4 & 0x20), "gate",
                 "int $0x80 probe: CR0 0x%lx CR4 0x%lx", cr0, cr4))
        rt_pass("gate");
    rt_printf("hello from ring 3\n");
}
