/* SPDX-License-Identifier: MIT */
/*
 * The runtime shared by the ring-3 test payloads: port I/O (ring 3 may use every port because
 * entry.S sets IOPL 3; where IOPL 3 is not honoured (kvm-pvm hosts), or with `iopl=0` on the
 * command line, each IN/OUT faults and entry.S's #GP handler performs it in ring 0), MMIO accessors
 * over the identity map, COM1 output (16550A, polled), a small printf, string helpers, the
 * Multiboot v1 command line (Multiboot Specification 0.6.96 §3.3, `key=value` words), PASS/FAIL
 * reporting and the exit through QEMU's isa-debug-exit at port 0xf4 (status (value << 1) | 1).
 */
#ifndef BAREIRON_GUEST_RT_H
#define BAREIRON_GUEST_RT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define COM1 0x3f8
#define PORT_DEBUG_EXIT 0xf4
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static inline void outb(uint16_t port, uint8_t v)
{
    __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outw(uint16_t port, uint16_t v)
{
    __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outl(uint16_t port, uint32_t v)
{
    __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static inline uint16_t inw(uint16_t port)
{
    uint16_t v;
    __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static inline uint32_t inl(uint16_t port)
{
    uint32_t v;
    __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static inline uint8_t mmio_read8(uint64_t pa)
{
    return *(volatile uint8_t *)(uintptr_t)pa;
}

static inline uint16_t mmio_read16(uint64_t pa)
{
    return *(volatile uint16_t *)(uintptr_t)pa;
}

static inline uint32_t mmio_read32(uint64_t pa)
{
    return *(volatile uint32_t *)(uintptr_t)pa;
}

static inline void mmio_write8(uint64_t pa, uint8_t v)
{
    *(volatile uint8_t *)(uintptr_t)pa = v;
}

static inline void mmio_write16(uint64_t pa, uint16_t v)
{
    *(volatile uint16_t *)(uintptr_t)pa = v;
}

static inline void mmio_write32(uint64_t pa, uint32_t v)
{
    *(volatile uint32_t *)(uintptr_t)pa = v;
}

/* Stops the compiler from moving memory accesses across this point. */
static inline void barrier(void)
{
    __asm__ volatile("" : : : "memory");
}

static inline void cpu_relax(void)
{
    __asm__ volatile("pause" : : : "memory");
}

/* Highest usable guest-physical address of the identity map (entry.S maps 8 GiB). */
#define RT_MAP_LIMIT 0x200000000ULL

/* The IOPL ring 3 runs with: 3, or 0 after `iopl=0` on the command line (rt_main). */
extern unsigned rt_iopl;
/* Whether port I/O with IOPL 3 ran without trapping (false on kvm-pvm hosts). */
extern bool rt_iopl3_honoured;

/* #GP faults from ring 3 that entry.S's isr13 looked at as IN/OUT or CLI/STI (counted before
 * decoding; 0 while IOPL 3 is honoured). */
extern volatile uint32_t rt_gp_io_count;

/* Multiboot v1 boot state saved by entry.S. */
extern uint64_t rt_boot_magic;
extern uint64_t rt_boot_info;

/* Interrupts taken on vectors 0x40 + i (entry.S); the stub EOIs at rt_lapic_eoi when set. */
extern volatile uint32_t rt_irq_count[16];
extern uint64_t rt_lapic_eoi;

static inline void sti(void)
{
    __asm__ volatile("sti" : : : "memory");
}

static inline void cli(void)
{
    __asm__ volatile("cli" : : : "memory");
}

/* Each payload implements this; returns normally to report its verdict (rt_finish). */
void payload_main(void);

/* The payload's name, used in PASS/FAIL lines (defined by each payload). */
extern const char payload_name[];

/* Writes one character / a string to COM1 (polled; gives up on a dead UART). */
void rt_putc(char c);
void rt_puts(const char *s);

/* printf subset: %d %i %u %x %X %c %s %p, flags 0 and -, width, .precision (%s), l/ll/z/h. */
int rt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int rt_snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void rt_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Reports one check: prints "PASS <payload>-<what>" or "FAIL <payload>-<what>: <why>". */
void rt_pass(const char *what);
void rt_fail(const char *what, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Checks (cond); on failure reports (what) with the formatted reason. Returns (cond). */
bool rt_check(bool cond, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Number of failed checks so far. */
unsigned rt_failures(void);

/* Prints the final verdict line and leaves through isa-debug-exit (0 pass, 1 fail). */
__attribute__((noreturn)) void rt_finish(void);
/* Writes (code) to the isa-debug-exit port; if that returns, halts forever. */
__attribute__((noreturn)) void rt_exit(uint8_t code);
/* int $0x80 actions (entry.S): halt with interrupts off; triple fault. */
__attribute__((noreturn)) void rt_sys_halt(void);
__attribute__((noreturn)) void rt_sys_triple_fault(void);

/* Multiboot memory map entry (idx): returns false past the end or without a map (info flag
 * bit 6). (type) 1 is usable RAM, 2 reserved, 3 ACPI reclaimable, 4 ACPI NVS. */
bool rt_mmap_entry(unsigned idx, uint64_t *base, uint64_t *len, uint32_t *type);

/* The kernel command line from the multiboot info ("" when absent). */
const char *rt_cmdline(void);
/* Copies the value of `key=` from the command line into (buf); returns false when absent. */
bool rt_cmdline_get(const char *key, char *buf, size_t size);
/* Returns the numeric value of `key=` (decimal or 0x hex), or (def) when absent or bad. */
uint64_t rt_cmdline_u64(const char *key, uint64_t def);
/* Parses a decimal or 0x-prefixed number; returns false on junk. */
bool rt_parse_u64(const char *s, uint64_t *out);

/* Busy-waits about (us) microseconds on the ACPI PM timer (set up by acpi_init). */
void rt_udelay(uint64_t us);
/* Microseconds since an arbitrary origin, from the PM timer (0 when there is none). */
uint64_t rt_now_us(void);
/* The PM timer port and width in bits; set by acpi_init(). */
extern uint16_t rt_pmtmr_port;
extern unsigned rt_pmtmr_bits;

void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);

#endif
