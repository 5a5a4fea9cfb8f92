/* SPDX-License-Identifier: MIT */
/*
 * The payload runtime (rt.h): COM1 as a polled 16550A (PC16550D data sheet, registers at
 * 0x3f8), a small vsnprintf, the Multiboot v1 command line (Multiboot Specification 0.6.96 §3.3,
 * info flag bit 2), PASS/FAIL bookkeeping, the exception reporter called from entry.S, the
 * int $0x80 wrappers, the `iopl=0` switch and the ACPI PM timer clock (ACPI 6.4 §4.8.3.3,
 * 3.579545 MHz).
 */
#include "rt.h"

#define UART_LSR 5
#define UART_LSR_THRE 0x20
#define MB_INFO_MAGIC 0x2badb002
#define MB_INFO_CMDLINE (1u << 2)
#define MB_INFO_MMAP (1u << 6)
#define PMTMR_HZ 3579545ULL

uint16_t rt_pmtmr_port;
unsigned rt_pmtmr_bits = 24;
static unsigned failures;
static bool uart_dead;

void rt_putc(char c)
{
    if (c == '\n')
        rt_putc('\r');
    for (unsigned spins = 0; !uart_dead; spins++) {
        if (inb(COM1 + UART_LSR) & UART_LSR_THRE)
            break;
        if (spins > 1000000)
            uart_dead = true;
    }
    outb(COM1, (uint8_t)c);
}

void rt_puts(const char *s)
{
    while (*s)
        rt_putc(*s++);
}

struct fmt_out {
    char *buf;
    size_t size;
    size_t len;
};

static void emit(struct fmt_out *o, char c)
{
    if (o->len + 1 < o->size)
        o->buf[o->len] = c;
    o->len++;
}

static void emit_num(struct fmt_out *o, uint64_t v, unsigned base, bool neg, int width, char pad,
                     bool upper)
{
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = digits[v % base];
        v /= base;
    } while (v);
    if (neg)
        tmp[n++] = '-';
    for (int i = n; i < width; i++)
        emit(o, pad);
    while (n)
        emit(o, tmp[--n]);
}

static uint64_t arg_unsigned(va_list *ap, int lmod)
{
    if (lmod >= 2)
        return va_arg(*ap, unsigned long long);
    if (lmod == 1)
        return va_arg(*ap, unsigned long);
    return va_arg(*ap, unsigned int);
}

static int64_t arg_signed(va_list *ap, int lmod)
{
    if (lmod >= 2)
        return va_arg(*ap, long long);
    if (lmod == 1)
        return va_arg(*ap, long);
    return va_arg(*ap, int);
}

static void emit_str(struct fmt_out *o, const char *s, int width, int prec, bool left)
{
    int n = 0;
    while (s[n] && (prec < 0 || n < prec))
        n++;
    for (int i = n; !left && i < width; i++)
        emit(o, ' ');
    for (int i = 0; i < n; i++)
        emit(o, s[i]);
    for (int i = n; left && i < width; i++)
        emit(o, ' ');
}

/* Handles one conversion starting after '%'; returns the pointer past it. */
static const char *convert(struct fmt_out *o, const char *f, va_list *ap)
{
    char pad = ' ';
    bool left = false;
    int width = 0, lmod = 0, prec = -1;
    for (; *f == '0' || *f == '-'; f++) {
        if (*f == '0')
            pad = '0';
        else
            left = true;
    }
    for (; *f >= '0' && *f <= '9'; f++)
        width = width * 10 + (*f - '0');
    if (*f == '.') {
        for (prec = 0, f++; *f >= '0' && *f <= '9'; f++)
            prec = prec * 10 + (*f - '0');
    }
    for (; *f == 'l' || *f == 'z' || *f == 'h'; f++)
        lmod += (*f == 'h') ? 0 : (*f == 'z' ? 2 : 1);
    switch (*f) {
    case 'd':
    case 'i': {
        int64_t v = arg_signed(ap, lmod);
        emit_num(o, v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v, 10, v < 0, width, pad, false);
        break;
    }
    case 'u':
        emit_num(o, arg_unsigned(ap, lmod), 10, false, width, pad, false);
        break;
    case 'x':
    case 'X':
        emit_num(o, arg_unsigned(ap, lmod), 16, false, width, pad, *f == 'X');
        break;
    case 'p':
        emit(o, '0');
        emit(o, 'x');
        emit_num(o, (uintptr_t)va_arg(*ap, void *), 16, false, width, pad, false);
        break;
    case 'c':
        emit(o, (char)va_arg(*ap, int));
        break;
    case 's': {
        const char *s = va_arg(*ap, const char *);
        emit_str(o, s ? s : "(null)", width, prec, left);
        break;
    }
    case '%':
        emit(o, '%');
        break;
    default:
        emit(o, '?');
        return *f ? f + 1 : f;
    }
    return f + 1;
}

int rt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
    struct fmt_out o = {buf, size, 0};
    va_list aq;
    va_copy(aq, ap);
    while (*fmt) {
        if (*fmt != '%') {
            emit(&o, *fmt++);
            continue;
        }
        fmt = convert(&o, fmt + 1, &aq);
    }
    va_end(aq);
    if (size)
        buf[o.len < size ? o.len : size - 1] = '\0';
    return (int)o.len;
}

int rt_snprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = rt_vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

void rt_printf(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    rt_vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    rt_puts(buf);
}

void rt_pass(const char *what)
{
    rt_printf("PASS %s-%s\n", payload_name, what);
}

static void vfail(const char *what, const char *fmt, va_list ap)
{
    char why[400];
    rt_vsnprintf(why, sizeof(why), fmt, ap);
    failures++;
    rt_printf("FAIL %s-%s: %s\n", payload_name, what, why);
}

void rt_fail(const char *what, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(what, fmt, ap);
    va_end(ap);
}

bool rt_check(bool cond, const char *what, const char *fmt, ...)
{
    if (cond)
        return true;
    va_list ap;
    va_start(ap, fmt);
    vfail(what, fmt, ap);
    va_end(ap);
    return false;
}

unsigned rt_failures(void)
{
    return failures;
}

void rt_exit(uint8_t code)
{
    outb(PORT_DEBUG_EXIT, code);
    rt_printf("NOTE %s: isa-debug-exit did not stop the machine\n", payload_name);
    rt_sys_halt();
}

void rt_finish(void)
{
    if (failures)
        rt_printf("FAIL %s: %u check(s) failed\n", payload_name, failures);
    else
        rt_printf("PASS %s\n", payload_name);
    rt_exit(failures ? 1 : 0);
}

void rt_sys_halt(void)
{
    __asm__ volatile("int $0x80" : : "a"(0ULL) : "memory");
    __builtin_unreachable();
}

void rt_sys_triple_fault(void)
{
    __asm__ volatile("int $0x80" : : "a"(1ULL) : "memory");
    __builtin_unreachable();
}

const char *rt_cmdline(void)
{
    const volatile uint32_t *mbi = (const volatile uint32_t *)(uintptr_t)rt_boot_info;
    if (rt_boot_magic != MB_INFO_MAGIC || !mbi || !(mbi[0] & MB_INFO_CMDLINE) || !mbi[4])
        return "";
    return (const char *)(uintptr_t)mbi[4];
}

bool rt_mmap_entry(unsigned idx, uint64_t *base, uint64_t *len, uint32_t *type)
{
    const volatile uint32_t *mbi = (const volatile uint32_t *)(uintptr_t)rt_boot_info;
    if (rt_boot_magic != MB_INFO_MAGIC || !mbi || !(mbi[0] & MB_INFO_MMAP))
        return false;
    uint64_t p = mbi[12], end = (uint64_t)mbi[12] + mbi[11];
    for (unsigned i = 0; p + 24 <= end; i++) {
        const uint8_t *e = (const uint8_t *)(uintptr_t)p;
        uint32_t size;
        memcpy(&size, e, 4);
        if (i == idx) {
            memcpy(base, e + 4, 8);
            memcpy(len, e + 12, 8);
            memcpy(type, e + 20, 4);
            return true;
        }
        if (size < 20)
            return false;
        p += (uint64_t)size + 4;
    }
    return false;
}

bool rt_cmdline_get(const char *key, char *buf, size_t size)
{
    const char *p = rt_cmdline();
    size_t klen = strlen(key);
    while (*p) {
        while (*p == ' ')
            p++;
        const char *w = p;
        while (*p && *p != ' ')
            p++;
        if ((size_t)(p - w) > klen && !strncmp(w, key, klen) && w[klen] == '=') {
            size_t n = 0;
            for (const char *v = w + klen + 1; v < p && n + 1 < size; v++)
                buf[n++] = *v;
            buf[n] = '\0';
            return true;
        }
    }
    return false;
}

bool rt_parse_u64(const char *s, uint64_t *out)
{
    unsigned base = 10;
    uint64_t v = 0;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
    }
    if (!*s)
        return false;
    for (; *s; s++) {
        unsigned d;
        if (*s >= '0' && *s <= '9')
            d = (unsigned)(*s - '0');
        else if (base == 16 && *s >= 'a' && *s <= 'f')
            d = (unsigned)(*s - 'a' + 10);
        else if (base == 16 && *s >= 'A' && *s <= 'F')
            d = (unsigned)(*s - 'A' + 10);
        else
            return false;
        v = v * base + d;
    }
    *out = v;
    return true;
}

uint64_t rt_cmdline_u64(const char *key, uint64_t def)
{
    char buf[32];
    uint64_t v;
    if (!rt_cmdline_get(key, buf, sizeof(buf)) || !rt_parse_u64(buf, &v))
        return def;
    return v;
}

uint64_t rt_now_us(void)
{
    static uint32_t last;
    static uint64_t ticks;
    if (!rt_pmtmr_port)
        return 0;
    uint32_t mask = rt_pmtmr_bits >= 32 ? 0xffffffffu : (1u << rt_pmtmr_bits) - 1;
    uint32_t now = inl(rt_pmtmr_port) & mask;
    ticks += (now - last) & mask;
    last = now;
    return ticks * 1000000ULL / PMTMR_HZ;
}

void rt_udelay(uint64_t us)
{
    if (!rt_pmtmr_port) {
        /* No clock: port 0x80 writes take about a microsecond on PC hardware. */
        for (uint64_t i = 0; i < us; i++)
            outb(0x80, 0);
        return;
    }
    uint64_t end = rt_now_us() + us;
    while (rt_now_us() < end)
        cpu_relax();
}

static void uart_init(void)
{
    outb(COM1 + 1, 0x00); /* IER: no interrupts */
    outb(COM1 + 3, 0x80); /* LCR: DLAB */
    outb(COM1 + 0, 0x01); /* 115200 baud */
    outb(COM1 + 1, 0x00);
    outb(COM1 + 3, 0x03); /* 8N1 */
    outb(COM1 + 2, 0x07); /* FIFO on, cleared */
    outb(COM1 + 4, 0x03); /* DTR, RTS */
}

unsigned rt_iopl = 3;
bool rt_iopl3_honoured;

void rt_main(void);
void rt_main(void)
{
    /* The UART set-up is the first port I/O, done with IOPL 3: it trapped to #GP only if the
     * host does not honour IOPL 3 (kvm-pvm). `iopl=0` then drops to IOPL 0, so every later
     * IN/OUT and CLI/STI goes through entry.S's #GP path on any host. */
    uart_init();
    rt_iopl3_honoured = rt_gp_io_count == 0;
    if (rt_cmdline_u64("iopl", 3) == 0) {
        __asm__ volatile("int $0x80" : : "a"(3ULL) : "memory");
        rt_iopl = 0;
    }
    rt_printf("\nSTART %s cmdline='%s'\n", payload_name, rt_cmdline());
    if (rt_boot_magic != MB_INFO_MAGIC)
        rt_fail("boot", "multiboot magic is 0x%lx, want 0x%x", (unsigned long)rt_boot_magic,
                MB_INFO_MAGIC);
    payload_main();
    rt_finish();
}

void rt_exception(const uint64_t *frame);
void rt_exception(const uint64_t *frame)
{
    uint64_t cr2;
    const char *why = "";
    __asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
    if (frame[0] == 13 && frame[1] == 0 && (frame[3] & 3) == 3) {
        /* isr13 carries out IN/OUT and CLI/STI only; say so for string port I/O. */
        const uint8_t *ip = (const uint8_t *)(uintptr_t)frame[2];
        unsigned i = 0;
        while (i < 3 && (ip[i] == 0x66 || ip[i] == 0xf3 || ip[i] == 0xf2))
            i++;
        if (ip[i] >= 0x6c && ip[i] <= 0x6f)
            why = " (INS/OUTS without IOPL 3: not emulated by the runtime)";
    }
    rt_printf("FAIL %s: exception %lu error 0x%lx at RIP 0x%lx CS 0x%lx RSP 0x%lx CR2 0x%lx%s\n",
              payload_name, (unsigned long)frame[0], (unsigned long)frame[1],
              (unsigned long)frame[2], (unsigned long)frame[3], (unsigned long)frame[5],
              (unsigned long)cr2, why);
    outb(PORT_DEBUG_EXIT, 1);
}

void *memset(void *d, int c, size_t n)
{
    unsigned char *p = d;
    while (n--)
        *p++ = (unsigned char)c;
    return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
    unsigned char *p = d;
    const unsigned char *q = s;
    while (n--)
        *p++ = *q++;
    return d;
}

void *memmove(void *d, const void *s, size_t n)
{
    unsigned char *p = d;
    const unsigned char *q = s;
    if (p < q)
        return memcpy(d, s, n);
    while (n--)
        p[n] = q[n];
    return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const unsigned char *p = a, *q = b;
    for (; n; n--, p++, q++) {
        if (*p != *q)
            return *p - *q;
    }
    return 0;
}

size_t strlen(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

int strcmp(const char *a, const char *b)
{
    while (*a && *a == *b) {
        a++;
        b++;
    }
    return (unsigned char)*a - (unsigned char)*b;
}

int strncmp(const char *a, const char *b, size_t n)
{
    for (; n; n--, a++, b++) {
        if (*a != *b || !*a)
            return (unsigned char)*a - (unsigned char)*b;
    }
    return 0;
}
