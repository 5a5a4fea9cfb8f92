/* SPDX-License-Identifier: MIT */
/*
 * Probes COM1's 16550A register behaviour (PC16550D data sheet, "Register Description"):
 * the scratch register, LCR read-back and DLAB banking of the divisor latch over RBR/IER,
 * IER's writable bits, loopback mode (MCR bit 4: THR feeds RBR, MCR outputs feed MSR), the
 * LSR data-ready/transmitter-empty bits, the FIFO (FCR) as seen in IIR bits 7:6, and the THRE
 * interrupt identification. Results are collected while the UART is reprogrammed and printed
 * after it is restored, so no line is lost in loopback. With `rx=1` it also prints
 * `READY serial` and expects the harness to type "hello-uart\n" on the console (COM1 input).
 */
#include "acpi.h"

const char payload_name[] = "serial";

#define RBR 0
#define THR 0
#define DLL 0
#define IER 1
#define DLM 1
#define IIR 2
#define FCR 2
#define LCR 3
#define MCR 4
#define LSR 5
#define MSR 6
#define SCR 7
#define LSR_DR 0x01
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define MCR_LOOP 0x10

struct result {
    const char *what;
    char why[120];
};
static struct result results[16];
static unsigned nresults;

/* Records one check outcome (printed later). */
static void note(const char *what, bool ok, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void note(const char *what, bool ok, const char *fmt, ...)
{
    if (nresults >= ARRAY_SIZE(results))
        return;
    struct result *r = &results[nresults++];
    r->what = what;
    r->why[0] = '\0';
    if (!ok) {
        va_list ap;
        va_start(ap, fmt);
        rt_vsnprintf(r->why, sizeof(r->why), fmt, ap);
        va_end(ap);
        if (!r->why[0])
            rt_snprintf(r->why, sizeof(r->why), "failed");
    }
}

static uint8_t rd(unsigned reg)
{
    return inb((uint16_t)(COM1 + reg));
}

static void wr(unsigned reg, uint8_t v)
{
    outb((uint16_t)(COM1 + reg), v);
}

static void drain_rx(void)
{
    for (int i = 0; i < 64 && (rd(LSR) & LSR_DR); i++)
        (void)rd(RBR);
}

static void test_scratch(void)
{
    wr(SCR, 0x55);
    uint8_t a = rd(SCR);
    wr(SCR, 0xaa);
    uint8_t b = rd(SCR);
    note("scratch", a == 0x55 && b == 0xaa, "wrote 55/aa, read %02x/%02x", a, b);
}

static void test_lcr_dlab(void)
{
    wr(LCR, 0x1b); /* 8 bits, 2 stop bits, even parity */
    uint8_t lcr = rd(LCR);
    wr(LCR, 0x80 | 0x03);
    wr(DLL, 0x34);
    wr(DLM, 0x12);
    wr(LCR, 0x03);
    wr(IER, 0x05);
    uint8_t ier = rd(IER);
    wr(LCR, 0x83);
    uint8_t dll = rd(DLL), dlm = rd(DLM);
    wr(DLL, 0x01);
    wr(DLM, 0x00);
    wr(LCR, 0x03);
    uint8_t ier2 = rd(IER);
    wr(IER, 0x00);
    note("lcr", lcr == 0x1b, "LCR read back %02x, want 1b", lcr);
    note("dlab", dll == 0x34 && dlm == 0x12, "divisor read back %02x%02x, want 1234", dlm, dll);
    note("ier", (ier & 0x0f) == 0x05 && (ier2 & 0x0f) == 0x05,
         "IER read back %02x/%02x after DLAB banking, want x5", ier, ier2);
}

static void test_lsr_idle(void)
{
    uint8_t lsr = rd(LSR);
    note("lsr-idle", (lsr & (LSR_THRE | LSR_TEMT)) == (LSR_THRE | LSR_TEMT) && !(lsr & 0x9e),
         "idle LSR %02x, want THRE|TEMT and no errors", lsr);
}

static void test_loopback(void)
{
    wr(MCR, MCR_LOOP);
    drain_rx();
    uint8_t msr0 = rd(MSR);
    wr(MCR, MCR_LOOP | 0x0f); /* DTR RTS OUT1 OUT2 -> DSR CTS RI DCD */
    uint8_t msr1 = rd(MSR);
    wr(MCR, MCR_LOOP);
    note("loop-msr", (msr0 & 0xf0) == 0 && (msr1 & 0xf0) == 0xf0,
         "MSR in loopback %02x (outputs off) / %02x (on), want 0x/fx", msr0, msr1);

    uint8_t before = rd(LSR);
    wr(THR, 0x5a);
    uint8_t after = 0;
    for (int i = 0; i < 100000 && !((after = rd(LSR)) & LSR_DR); i++)
        cpu_relax();
    uint8_t got = rd(RBR);
    uint8_t lsr_end = rd(LSR);
    note("loop-byte", !(before & LSR_DR) && (after & LSR_DR) && got == 0x5a && !(lsr_end & LSR_DR),
         "LSR %02x -> %02x, read %02x (want 5a), LSR after read %02x", before, after, got, lsr_end);

    /* With the FIFO on, several bytes queue up and come back in order. */
    wr(FCR, 0x07);
    static const uint8_t msg[4] = {'b', 'a', 'r', 'e'};
    for (unsigned i = 0; i < sizeof(msg); i++) {
        for (int s = 0; s < 100000 && !(rd(LSR) & LSR_THRE); s++)
            cpu_relax();
        wr(THR, msg[i]);
    }
    uint8_t echo[4] = {0};
    unsigned n = 0;
    for (int s = 0; s < 400000 && n < sizeof(echo); s++) {
        if (rd(LSR) & LSR_DR)
            echo[n++] = rd(RBR);
    }
    note("loop-fifo", n == 4 && !memcmp(echo, msg, 4), "got %u bytes %02x %02x %02x %02x", n,
         echo[0], echo[1], echo[2], echo[3]);
    drain_rx();
    wr(MCR, 0x03);
}

static void test_iir(void)
{
    wr(FCR, 0x00);
    uint8_t nofifo = rd(IIR);
    wr(FCR, 0x07);
    uint8_t fifo = rd(IIR);
    note("iir-fifo", (nofifo & 0xc0) == 0x00 && (fifo & 0xc0) == 0xc0,
         "IIR %02x with FIFO off, %02x with FIFO on; want 0x/Cx", nofifo, fifo);
    note("iir-none", (fifo & 0x0f) == 0x01, "IIR %02x with IER 0, want no interrupt (x1)", fifo);

    /* Enabling ETBEI with an empty THR raises "THR empty" (IIR 2); reading IIR clears it. */
    wr(IER, 0x02);
    uint8_t thre = rd(IIR);
    uint8_t again = rd(IIR);
    wr(IER, 0x00);
    note("iir-thre", (thre & 0x0f) == 0x02 && (again & 0x0f) == 0x01,
         "IIR %02x then %02x with ETBEI, want x2 then x1", thre, again);
}

/* Receives one line typed by the harness on the host side of COM1. */
static void test_rx(void)
{
    static const char want[] = "hello-uart";
    char got[32];
    unsigned n = 0;
    rt_printf("READY serial\n");
    uint64_t t0 = rt_now_us();
    uint64_t spins = 0;
    while (n + 1 < sizeof(got) && rt_now_us() - t0 < 10000000 && spins++ < 2000000000) {
        if (!(rd(LSR) & LSR_DR)) {
            cpu_relax();
            continue;
        }
        char c = (char)rd(RBR);
        if (c == '\n' || c == '\r')
            break;
        got[n++] = c;
    }
    got[n] = '\0';
    if (rt_check(!strcmp(got, want), "rx", "received '%s', want '%s'", got, want))
        rt_pass("rx");
}

void payload_main(void)
{
    static struct acpi_info ai;
    char why[120];
    (void)acpi_init(&ai, why, sizeof(why)); /* the PM timer clock for the rx timeout */
    test_scratch();
    test_lcr_dlab();
    test_lsr_idle();
    test_loopback();
    test_iir();
    /* Restore the runtime's setup: 115200 8N1, FIFO on, DTR|RTS, no interrupts. */
    wr(LCR, 0x83);
    wr(DLL, 0x01);
    wr(DLM, 0x00);
    wr(LCR, 0x03);
    wr(IER, 0x00);
    wr(FCR, 0x07);
    wr(MCR, 0x03);
    for (unsigned i = 0; i < nresults; i++) {
        if (results[i].why[0])
            rt_fail(results[i].what, "%s", results[i].why);
        else
            rt_pass(results[i].what);
    }
    if (rt_cmdline_u64("rx", 0))
        test_rx();
}
