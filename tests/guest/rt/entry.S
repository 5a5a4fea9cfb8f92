/* SPDX-License-Identifier: MIT */
/*
 * Entry of every ring-3 test payload: the Multiboot v1 header (Multiboot Specification 0.6.96
 * §3.1), the 32-bit entry (§3.2 machine state: protected mode, paging off, EBX = info), the
 * switch to long mode (Intel SDM vol. 3 §9.8.5) over static identity page tables whose pages
 * are all user-accessible, a GDT with ring-3 segments and a 64-bit TSS (§8.7), a minimal IDT
 * (exceptions report and fail; vector 0x80 is a DPL-3 gate for the few privileged actions;
 * vectors 0x40-0x4f count device interrupts and EOI the LAPIC),
 * then IRETQ to ring 3 with IOPL 3 where rt_main() does all the work. Where ring 3 has no
 * IOPL 3 after all (kvm-pvm hosts ignore it; `iopl=0` drops it on purpose), IN/OUT and CLI/STI
 * raise #GP and isr13 performs them in ring 0; kvm-pvm's #UD for `int $0x80` is turned back
 * into the gate by isr6. Ring-0 work is kept to a few hundred instructions at boot and a few
 * dozen per trap because kvm-pvm hosts emulate ring 0 (and refuse INT3, so the triple fault
 * uses UD2). Also holds the real-mode AP trampoline (§8.4.4) that the smp payload copies
 * below 1 MiB.
 */

#define MB_MAGIC 0x1badb002
#define MB_FLAGS 0x00000003 /* page-align modules, want mem_* */

#define SEL_KCODE 0x08
#define SEL_KDATA 0x10
#define SEL_UDATA 0x18
#define SEL_UCODE 0x20
#define SEL_TSS 0x28

#define PTE_P 0x1
#define PTE_RW 0x2
#define PTE_US 0x4
#define PTE_PWT 0x8
#define PTE_PCD 0x10
#define PTE_PS 0x80

/* Pages mapped: the first 8 GiB (RAM, the 32-bit PCI hole and a 64-bit BAR window at 4 GiB). */
#define MAP_GIB 8

    .section .multiboot, "a"
    .align 4
    .long MB_MAGIC
    .long MB_FLAGS
    .long -(MB_MAGIC + MB_FLAGS)

/* ---- 32-bit entry (ring 0, paging off) ---- */
    .section .text.boot, "ax"
    .code32
    .global _start
_start:
    cli
    cld
    movl $boot_stack_top, %esp
    movl %eax, rt_boot_magic
    movl %ebx, rt_boot_info
    /* The TSS base is a link-time address that gas cannot split into descriptor fields. */
    movl $tss, %eax
    movw %ax, gdt_tss + 2
    shrl $16, %eax
    movb %al, gdt_tss + 4
    movb %ah, gdt_tss + 7
    /* CR4.PAE, CR3, EFER.LME, then CR0.PG (SDM §9.8.5). */
    movl %cr4, %eax
    orl $0x20, %eax
    movl %eax, %cr4
    movl $pml4, %eax
    movl %eax, %cr3
    movl $0xc0000080, %ecx
    rdmsr
    orl $0x100, %eax
    wrmsr
    movl %cr0, %eax
    andl $0x9fffffff, %eax /* clear CD and NW */
    orl $0x80000001, %eax
    movl %eax, %cr0
    lgdt gdt_ptr
    ljmp $SEL_KCODE, $long_entry

/* ---- 64-bit ring 0: IDT, TSS, then IRETQ to ring 3 ---- */
    .code64
long_entry:
    movw $SEL_KDATA, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    xorl %eax, %eax
    movw %ax, %fs
    movw %ax, %gs
    /* Fill the IDT from gate_table: {handler, vector, attributes} per gate. */
    leaq idt(%rip), %rdi
    leaq gate_table(%rip), %rsi
    movl $((gate_table_end - gate_table) / 16), %ecx
1:  movq (%rsi), %rax
    movzbl 8(%rsi), %r8d
    movzwl 10(%rsi), %edx
    shlq $4, %r8
    addq %rdi, %r8
    movw %ax, (%r8)
    movw $SEL_KCODE, 2(%r8)
    movw %dx, 4(%r8)
    shrq $16, %rax
    movw %ax, 6(%r8)
    shrq $16, %rax
    movl %eax, 8(%r8)
    movl $0, 12(%r8)
    addq $16, %rsi
    decl %ecx
    jnz 1b
    lidt idt_ptr(%rip)
    movw $SEL_TSS, %ax
    ltr %ax
    /* IRETQ frame: SS, RSP, RFLAGS (IOPL 3, IF 0), CS, RIP. */
    pushq $(SEL_UDATA | 3)
    leaq user_stack_top(%rip), %rax
    pushq %rax
    pushq $0x3002
    pushq $(SEL_UCODE | 3)
    leaq user_entry(%rip), %rax
    pushq %rax
    iretq

/* ---- ring 3 ---- */
user_entry:
    xorl %ebp, %ebp
    call rt_main
    ud2

/* ---- exception stubs (ring 0): push a dummy error code where the CPU pushes none ---- */
.macro ISR_NOERR n
isr\n:
    pushq $0
    pushq $\n
    jmp isr_common
.endm
.macro ISR_ERR n
isr\n:
    pushq $\n
    jmp isr_common
.endm
ISR_NOERR 0
ISR_NOERR 1
ISR_NOERR 2
ISR_NOERR 3
ISR_NOERR 4
ISR_NOERR 5
ISR_NOERR 7
ISR_ERR 8
ISR_NOERR 9
ISR_ERR 10
ISR_ERR 11
ISR_ERR 12
ISR_ERR 14
ISR_NOERR 15
ISR_NOERR 16
ISR_ERR 17
ISR_NOERR 18
ISR_NOERR 19
ISR_NOERR 20
ISR_ERR 21
ISR_NOERR 22
ISR_NOERR 23
ISR_NOERR 24
ISR_NOERR 25
ISR_NOERR 26
ISR_NOERR 27
ISR_NOERR 28
ISR_ERR 29
ISR_ERR 30
ISR_NOERR 31

/*
 * #UD (vector 6). kvm-pvm hosts raise #UD for `int $0x80` in ring 3 instead of taking the
 * DPL-3 gate; a #UD from ring 3 at the bytes CD 80 therefore continues as that gate would:
 * RIP past the instruction, then syscall_entry with the same frame. Anything else reports.
 */
isr6:
    testb $3, 8(%rsp)
    jz 1f
    pushq %rsi
    movq 8(%rsp), %rsi
    cmpw $0x80cd, (%rsi)
    popq %rsi
    jne 1f
    addq $2, (%rsp)
    jmp syscall_entry
1:  pushq $0
    pushq $6
    jmp isr_common

/*
 * #GP (vector 13). Ring 3 runs with IOPL 3, so port I/O and CLI/STI there never fault, except
 * where IOPL 3 is not honoured (kvm-pvm hosts) or the payload dropped to IOPL 0 (`iopl=0`,
 * rt_main). Then a #GP with error code 0 from ring 3 whose instruction is IN/OUT (E4-E7 imm8,
 * EC-EF DX; 8, 16 with a 0x66 prefix, or 32 bits) or CLI/STI is carried out here: the access
 * with the ring-3 RAX/DX, or RFLAGS.IF in the frame; RIP moves past the instruction and IRETQ
 * goes back. Anything else, INS/OUTS included, goes to rt_exception as before. About 25
 * instructions per fault: kvm-pvm hosts emulate ring 0.
 * Stack after the three pushes: RSI, RDX, RCX, error code, RIP, CS, RFLAGS, RSP, SS.
 */
isr13:
    cmpq $0, (%rsp)
    jne 9f
    testb $3, 16(%rsp)
    jz 9f
    pushq %rcx
    pushq %rdx
    pushq %rsi
    movq 32(%rsp), %rsi
    incl rt_gp_io_count(%rip)
    movzbl (%rsi), %ecx
    cmpl $0x66, %ecx
    jne 1f
    incq %rsi
    movzbl (%rsi), %ecx
    orl $0x100, %ecx /* bit 8: operand-size prefix */
1:  incq %rsi /* RSI: past the opcode */
    cmpb $0xfa, %cl
    je gp_cli
    cmpb $0xfb, %cl
    je gp_sti
    cmpb $0xe4, %cl
    jb 8f
    cmpb $0xe7, %cl
    ja 2f
    movzbl (%rsi), %edx /* imm8 port; the pushed RDX is restored below */
    incq %rsi
    addl $8, %ecx /* E4-E7 -> EC-EF */
2:  cmpb $0xec, %cl
    je gp_in8
    cmpb $0xee, %cl
    je gp_out8
    cmpb $0xed, %cl
    je gp_in
    cmpb $0xef, %cl
    jne 8f
    testl $0x100, %ecx
    jnz 3f
    outl %eax, %dx
    jmp gp_done
3:  outw %ax, %dx
    jmp gp_done
gp_in:
    testl $0x100, %ecx
    jnz 4f
    inl %dx, %eax
    jmp gp_done
4:  inw %dx, %ax
    jmp gp_done
gp_in8:
    inb %dx, %al
    jmp gp_done
gp_out8:
    outb %al, %dx
    jmp gp_done
gp_cli:
    andq $~0x200, 48(%rsp)
    jmp gp_done
gp_sti:
    orq $0x200, 48(%rsp)
gp_done:
    movq %rsi, 32(%rsp)
    popq %rsi
    popq %rdx
    popq %rcx
    addq $8, %rsp
    iretq
8:  popq %rsi
    popq %rdx
    popq %rcx
9:  pushq $13
    jmp isr_common

isr_common:
    /* Stack: vector, error code, RIP, CS, RFLAGS, RSP, SS. Report and never return. */
    movq %rsp, %rdi
    andq $-16, %rsp
    call rt_exception
1:  cli
    hlt
    jmp 1b

/*
 * Device interrupts, vectors 0x40-0x4f (ring 0, a few instructions): count the vector in
 * rt_irq_count[vector - 0x40], write the LAPIC EOI register when rt_lapic_eoi is set, return.
 */
.macro IRQ n
irq\n:
    pushq %rax
    movl $(\n - 0x40), %eax
    jmp irq_common
.endm
IRQ 0x40
IRQ 0x41
IRQ 0x42
IRQ 0x43
IRQ 0x44
IRQ 0x45
IRQ 0x46
IRQ 0x47
IRQ 0x48
IRQ 0x49
IRQ 0x4a
IRQ 0x4b
IRQ 0x4c
IRQ 0x4d
IRQ 0x4e
IRQ 0x4f

irq_common:
    lock incl rt_irq_count(,%rax,4)
    movq rt_lapic_eoi(%rip), %rax
    testq %rax, %rax
    jz 1f
    movl $0, (%rax)
1:  popq %rax
    iretq

/*
 * int $0x80 from ring 3: RAX selects the privileged action.
 *   0  HLT forever with interrupts off
 *   1  triple fault (load an empty IDT, then UD2: #UD -> #GP -> #DF -> shutdown; not INT3,
 *      which kvm-pvm's ring-0 emulator refuses)
 *   2  return CR0 in RAX, CR4 in RDX (a harmless probe)
 *   3  return to ring 3 with IOPL 0 (port I/O and CLI/STI then go through isr13)
 */
syscall_entry:
    cmpq $0, %rax
    je sys_halt
    cmpq $1, %rax
    je sys_triple
    cmpq $3, %rax
    je sys_iopl0
    movq %cr0, %rax
    movq %cr4, %rdx
    iretq
sys_halt:
    cli
1:  hlt
    jmp 1b
sys_triple:
    lidt null_idt_ptr(%rip)
    ud2
    jmp sys_triple
sys_iopl0:
    andq $~0x3000, 16(%rsp) /* RFLAGS in the IRETQ frame */
    iretq

/* ---- real-mode AP trampoline, copied to a page below 1 MiB by the smp payload ---- */
    .code16
    .global ap_tramp_start, ap_tramp_end, ap_tramp_count_off, ap_tramp_bitmap_off
ap_tramp_start:
    cli
    movw %cs, %ax
    movw %ax, %ds
    movl $1, %eax
    cpuid
    shrl $24, %ebx
    lock btsl %ebx, (ap_bitmap - ap_tramp_start)
    lock incl (ap_count - ap_tramp_start)
1:  hlt
    jmp 1b
    .align 8
ap_count:
    .long 0
    .long 0
ap_bitmap:
    .quad 0
    .quad 0
    .quad 0
    .quad 0
ap_tramp_end:
    .code64

    .section .rodata
    .align 8
    .global ap_tramp_count_off, ap_tramp_bitmap_off
ap_tramp_count_off:
    .quad ap_count - ap_tramp_start
ap_tramp_bitmap_off:
    .quad ap_bitmap - ap_tramp_start
/* IDT gates: handler, vector, attributes (0x8e00 interrupt gate DPL 0, 0xee00 DPL 3). */
.macro GATE handler, vector, attr
    .quad \handler
    .byte \vector, 0
    .word \attr
    .long 0
.endm
gate_table:
    GATE isr0, 0, 0x8e00
    GATE isr1, 1, 0x8e00
    GATE isr2, 2, 0x8e00
    GATE isr3, 3, 0x8e00
    GATE isr4, 4, 0x8e00
    GATE isr5, 5, 0x8e00
    GATE isr6, 6, 0x8e00
    GATE isr7, 7, 0x8e00
    GATE isr8, 8, 0x8e00
    GATE isr9, 9, 0x8e00
    GATE isr10, 10, 0x8e00
    GATE isr11, 11, 0x8e00
    GATE isr12, 12, 0x8e00
    GATE isr13, 13, 0x8e00
    GATE isr14, 14, 0x8e00
    GATE isr15, 15, 0x8e00
    GATE isr16, 16, 0x8e00
    GATE isr17, 17, 0x8e00
    GATE isr18, 18, 0x8e00
    GATE isr19, 19, 0x8e00
    GATE isr20, 20, 0x8e00
    GATE isr21, 21, 0x8e00
    GATE isr22, 22, 0x8e00
    GATE isr23, 23, 0x8e00
    GATE isr24, 24, 0x8e00
    GATE isr25, 25, 0x8e00
    GATE isr26, 26, 0x8e00
    GATE isr27, 27, 0x8e00
    GATE isr28, 28, 0x8e00
    GATE isr29, 29, 0x8e00
    GATE isr30, 30, 0x8e00
    GATE isr31, 31, 0x8e00
    GATE syscall_entry, 0x80, 0xee00
    GATE irq0x40, 0x40, 0x8e00
    GATE irq0x41, 0x41, 0x8e00
    GATE irq0x42, 0x42, 0x8e00
    GATE irq0x43, 0x43, 0x8e00
    GATE irq0x44, 0x44, 0x8e00
    GATE irq0x45, 0x45, 0x8e00
    GATE irq0x46, 0x46, 0x8e00
    GATE irq0x47, 0x47, 0x8e00
    GATE irq0x48, 0x48, 0x8e00
    GATE irq0x49, 0x49, 0x8e00
    GATE irq0x4a, 0x4a, 0x8e00
    GATE irq0x4b, 0x4b, 0x8e00
    GATE irq0x4c, 0x4c, 0x8e00
    GATE irq0x4d, 0x4d, 0x8e00
    GATE irq0x4e, 0x4e, 0x8e00
    GATE irq0x4f, 0x4f, 0x8e00
gate_table_end:

/* ---- data: descriptor tables and identity page tables (static, no ring-0 loops) ---- */
    .section .data
    .align 16
gdt:
    .quad 0
    .quad 0x00af9a000000ffff /* 0x08 kernel code, 64-bit */
    .quad 0x00cf92000000ffff /* 0x10 kernel data */
    .quad 0x00cff2000000ffff /* 0x18 user data, DPL 3 */
    .quad 0x00affa000000ffff /* 0x20 user code, 64-bit, DPL 3 */
gdt_tss:
    .quad 0x0000890000000067 /* 0x28 64-bit TSS, limit 103; base patched by _start */
    .quad 0
gdt_end:
gdt_ptr:
    .word gdt_end - gdt - 1
    .quad gdt
    .align 16
idt_ptr:
    .word 256 * 16 - 1
    .quad idt
null_idt_ptr:
    .word 0
    .quad 0

    .align 16
    .global tss
tss:
    .long 0
    .quad boot_stack_top /* RSP0: exceptions and int 0x80 from ring 3 land here */
    .quad 0 /* RSP1, RSP2 */
    .quad 0
    .fill 74, 1, 0 /* reserved, IST1-7, reserved: up to offset 102 */
    /* I/O permission bitmap offset (offset 102): past the limit, so no bitmap and without
     * IOPL 3 every port faults. */
    .word 104

    .align 4096
pml4:
    .quad pdpt + (PTE_P | PTE_RW | PTE_US)
    .fill 511, 8, 0
pdpt:
    .set i, 0
    .rept MAP_GIB
    .quad pd + i * 4096 + (PTE_P | PTE_RW | PTE_US)
    .set i, i + 1
    .endr
    .fill 512 - MAP_GIB, 8, 0
pd:
    /* 2 MiB pages; everything from 3 GiB up (PCI holes, APICs) is uncached. */
    .set addr, 0
    .rept MAP_GIB * 512
    .if addr < 0xc0000000
    .quad addr + (PTE_P | PTE_RW | PTE_US | PTE_PS)
    .else
    .quad addr + (PTE_P | PTE_RW | PTE_US | PTE_PS | PTE_PWT | PTE_PCD)
    .endif
    .set addr, addr + 0x200000
    .endr

    .global rt_boot_magic, rt_boot_info, rt_irq_count, rt_lapic_eoi, rt_gp_io_count
    .align 8
rt_irq_count:
    .fill 16, 4, 0
rt_gp_io_count:
    .long 0
    .long 0
rt_lapic_eoi:
    .quad 0
rt_boot_magic:
    .quad 0
rt_boot_info:
    .quad 0

    .section .bss
    .align 4096
idt:
    .fill 256 * 16, 1, 0
    .align 16
    .fill 16384, 1, 0
boot_stack_top:
    .fill 65536, 1, 0
user_stack_top:

    .section .note.GNU-stack, "", @progbits
