/* SPDX-License-Identifier: MIT */
/*
 * 16550A UART (National Semiconductor PC16550D datasheet, "Register Description" and table 4
 * "Interrupt Control Functions"). Transmission is instantaneous: a THR write goes straight to
 * the sink, and THRE/TEMT are set again at once, re-arming the THRE interrupt as the datasheet
 * does when the holding register empties. The receive FIFO holds 16 bytes with FIFOs on and 1
 * byte (the holding register) with them off. The character-timeout interrupt is reported at once
 * when data sits below the trigger level, since there is no bit timing to wait for.
 *
 *   off  DLAB=0 read / write   DLAB=1
 *   0    RBR / THR             DLL
 *   1    IER                   DLM
 *   2    IIR / FCR
 *   3    LCR      4 MCR      5 LSR      6 MSR      7 SCR
 */
#include "dev/legacy/uart8250.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define LOG_TAG "uart"
#include "base/log.h"

#define IER_RDI 0x01
#define IER_THRI 0x02
#define IER_RLSI 0x04
#define IER_MSI 0x08
#define IIR_NO_INT 0x01
#define IIR_MSI 0x00
#define IIR_THRI 0x02
#define IIR_RDI 0x04
#define IIR_RLSI 0x06
#define IIR_TIMEOUT 0x0c
#define IIR_FIFO_ON 0xc0
#define FCR_ENABLE 0x01
#define FCR_CLEAR_RX 0x02
#define FCR_TRIGGER 0xc0
#define LCR_DLAB 0x80
#define MCR_DTR 0x01
#define MCR_RTS 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define MCR_MASK 0x1f
#define LSR_DR 0x01
#define LSR_OE 0x02
#define LSR_BI_FE_PE_OE 0x1e
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define MSR_DELTAS 0x0f
#define MSR_TERI 0x04
#define MSR_CTS 0x10
#define MSR_DSR 0x20
#define MSR_RI 0x40
#define MSR_DCD 0x80

struct uart8250 {
    pthread_mutex_t lock;
    struct platform plat;
    uint32_t gsi;
    bool irq_level;
    bool needs_room;
    uart8250_tx_fn tx;
    void *tx_opaque;
    uart8250_room_fn room;
    void *room_opaque;
    struct uart8250_state st;
};

static const uint8_t trigger_levels[4] = {1, 4, 8, 14};

static unsigned rx_capacity(const struct uart8250 *u)
{
    return (u->st.fcr & FCR_ENABLE) ? UART8250_FIFO_SIZE : 1;
}

/* The pending interrupt of highest priority, as IIR bits 0..3. Called with u->lock held. */
static uint8_t pending_iir(const struct uart8250 *u)
{
    const struct uart8250_state *s = &u->st;
    if ((s->ier & IER_RLSI) && (s->lsr & LSR_BI_FE_PE_OE))
        return IIR_RLSI;
    if ((s->ier & IER_RDI) && (s->lsr & LSR_DR)) {
        if ((s->fcr & FCR_ENABLE) && s->rx_count < trigger_levels[s->fcr >> 6])
            return IIR_TIMEOUT;
        return IIR_RDI;
    }
    if ((s->ier & IER_THRI) && s->iir_thre_pending)
        return IIR_THRI;
    if ((s->ier & IER_MSI) && (s->msr & MSR_DELTAS))
        return IIR_MSI;
    return IIR_NO_INT;
}

/* Recomputes the interrupt line after any state change. Called with u->lock held. */
static void update_irq(struct uart8250 *u)
{
    bool level = pending_iir(u) != IIR_NO_INT;
    if (level != u->irq_level) {
        u->irq_level = level;
        u->plat.ops->set_irq(u->plat.opaque, u->gsi, level);
    }
}

/* Called with u->lock held. */
static void rx_push(struct uart8250 *u, uint8_t byte)
{
    struct uart8250_state *s = &u->st;
    if (s->rx_count >= rx_capacity(u)) {
        s->lsr |= LSR_OE;
        return;
    }
    s->rx_fifo[(s->rx_head + s->rx_count) % UART8250_FIFO_SIZE] = byte;
    s->rx_count++;
    s->lsr |= LSR_DR;
}

/* Called with u->lock held. */
static uint8_t rx_pop(struct uart8250 *u)
{
    struct uart8250_state *s = &u->st;
    uint8_t byte = 0;
    if (s->rx_count > 0) {
        byte = s->rx_fifo[s->rx_head];
        s->rx_head = (s->rx_head + 1) % UART8250_FIFO_SIZE;
        s->rx_count--;
    }
    if (s->rx_count == 0) {
        s->lsr &= (uint8_t)~LSR_DR;
        if (u->needs_room && !(s->mcr & MCR_LOOP)) {
            u->needs_room = false;
            if (u->room)
                u->room(u->room_opaque);
        }
    }
    return byte;
}

/* Modem status inputs: looped back from MCR, or a permanently connected line. */
static uint8_t msr_inputs(const struct uart8250 *u)
{
    uint8_t mcr = u->st.mcr;
    if (!(mcr & MCR_LOOP))
        return MSR_DCD | MSR_DSR | MSR_CTS;
    return (uint8_t)(((mcr & MCR_RTS) ? MSR_CTS : 0) | ((mcr & MCR_DTR) ? MSR_DSR : 0) |
                     ((mcr & MCR_OUT1) ? MSR_RI : 0) | ((mcr & MCR_OUT2) ? MSR_DCD : 0));
}

/* Called with u->lock held. */
static void update_msr(struct uart8250 *u)
{
    uint8_t old = u->st.msr & 0xf0, now = msr_inputs(u);
    uint8_t changed = old ^ now;
    uint8_t delta = (uint8_t)(changed >> 4) & (uint8_t)~MSR_TERI;
    /* TERI is set on the trailing edge of RI only. */
    if ((old & MSR_RI) && !(now & MSR_RI))
        delta |= MSR_TERI;
    u->st.msr = (uint8_t)(now | (u->st.msr & MSR_DELTAS) | delta);
}

static void transmit(struct uart8250 *u, uint8_t byte)
{
    struct uart8250_state *s = &u->st;
    s->thr = byte;
    /* THR empties at once: THRE, TEMT and the THRE interrupt come back. */
    s->iir_thre_pending = 0;
    if (s->mcr & MCR_LOOP)
        rx_push(u, byte);
    else if (u->tx)
        u->tx(u->tx_opaque, &byte, 1);
    s->lsr |= LSR_THRE | LSR_TEMT;
    s->iir_thre_pending = 1;
}

static void write_fcr(struct uart8250 *u, uint8_t val)
{
    struct uart8250_state *s = &u->st;
    /* Toggling the FIFO enable clears both FIFOs (datasheet, FCR bit 0). */
    if ((val ^ s->fcr) & FCR_ENABLE)
        val |= FCR_CLEAR_RX;
    s->fcr = val & (FCR_ENABLE | FCR_TRIGGER);
    if (val & FCR_CLEAR_RX) {
        s->rx_head = 0;
        s->rx_count = 0;
        s->lsr &= (uint8_t)~LSR_DR;
        if (u->needs_room && !(s->mcr & MCR_LOOP)) {
            u->needs_room = false;
            if (u->room)
                u->room(u->room_opaque);
        }
    }
}

static void reg_write(struct uart8250 *u, unsigned off, uint8_t val)
{
    struct uart8250_state *s = &u->st;
    bool dlab = s->lcr & LCR_DLAB;

    switch (off) {
    case 0:
        if (dlab)
            s->dll = val;
        else
            transmit(u, val);
        break;
    case 1:
        if (dlab) {
            s->dlm = val;
            break;
        }
        /* Enabling ETBEI while THR is empty raises the THRE interrupt (16550A behaviour the
         * Linux 8250 driver's THRE test relies on). */
        if (!(s->ier & IER_THRI) && (val & IER_THRI) && (s->lsr & LSR_THRE))
            s->iir_thre_pending = 1;
        s->ier = val & 0x0f;
        break;
    case 2:
        write_fcr(u, val);
        break;
    case 3:
        s->lcr = val;
        break;
    case 4: {
        bool was_loop = s->mcr & MCR_LOOP;
        s->mcr = val & MCR_MASK;
        update_msr(u);
        if (was_loop && !(s->mcr & MCR_LOOP) && u->needs_room && s->rx_count == 0) {
            u->needs_room = false;
            if (u->room)
                u->room(u->room_opaque);
        }
        break;
    }
    case 5:
        break; /* LSR is read-only (factory test mode not emulated) */
    case 6:
        break;
    case 7:
        s->scr = val;
        break;
    }
}

static uint8_t reg_read(struct uart8250 *u, unsigned off)
{
    struct uart8250_state *s = &u->st;
    bool dlab = s->lcr & LCR_DLAB;
    uint8_t v = 0;

    switch (off) {
    case 0:
        return dlab ? s->dll : rx_pop(u);
    case 1:
        return dlab ? s->dlm : s->ier;
    case 2:
        v = pending_iir(u);
        /* Reading IIR while it reports THRE clears that interrupt. */
        if (v == IIR_THRI)
            s->iir_thre_pending = 0;
        return (uint8_t)(v | ((s->fcr & FCR_ENABLE) ? IIR_FIFO_ON : 0));
    case 3:
        return s->lcr;
    case 4:
        return s->mcr;
    case 5:
        v = s->lsr;
        s->lsr &= (uint8_t)~LSR_BI_FE_PE_OE; /* error bits clear on read */
        return v;
    case 6:
        v = s->msr;
        s->msr &= (uint8_t)~MSR_DELTAS;
        return v;
    default:
        return s->scr;
    }
}

static uint64_t uart_io_read(void *opaque, uint64_t off, unsigned size)
{
    struct uart8250 *u = opaque;
    uint64_t v;
    if (size != 1 || off >= UART8250_NR_PORTS) {
        log_ratelimited(LOG_DEBUG, "%u-byte read at offset %llu ignored", size,
                        (unsigned long long)off);
        return UINT64_MAX;
    }
    pthread_mutex_lock(&u->lock);
    v = reg_read(u, (unsigned)off);
    update_irq(u);
    pthread_mutex_unlock(&u->lock);
    return v;
}

static void uart_io_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct uart8250 *u = opaque;
    if (size != 1 || off >= UART8250_NR_PORTS) {
        log_ratelimited(LOG_DEBUG, "%u-byte write at offset %llu ignored", size,
                        (unsigned long long)off);
        return;
    }
    pthread_mutex_lock(&u->lock);
    reg_write(u, (unsigned)off, (uint8_t)val);
    update_irq(u);
    pthread_mutex_unlock(&u->lock);
}

const struct io_ops uart8250_io_ops = {
    .read = uart_io_read,
    .write = uart_io_write,
};

static void reset_state(struct uart8250 *u)
{
    memset(&u->st, 0, sizeof(u->st));
    u->st.lsr = LSR_THRE | LSR_TEMT;
    u->st.msr = msr_inputs(u);
    u->st.dll = 0x0c; /* 9600 baud */
}

int uart8250_create(const struct platform *plat, uint32_t gsi, struct uart8250 **out)
{
    struct uart8250 *u = calloc(1, sizeof(*u));
    if (!u)
        return -ENOMEM;
    pthread_mutex_init(&u->lock, NULL);
    u->plat = *plat;
    u->gsi = gsi;
    reset_state(u);
    *out = u;
    return 0;
}

void uart8250_destroy(struct uart8250 *u)
{
    if (!u)
        return;
    pthread_mutex_destroy(&u->lock);
    free(u);
}

int uart8250_attach(struct uart8250 *u, struct bus *pio, uint16_t base, const char *name)
{
    return bus_register(pio, base, UART8250_NR_PORTS, &uart8250_io_ops, u, name);
}

void uart8250_set_tx(struct uart8250 *u, uart8250_tx_fn fn, void *opaque)
{
    pthread_mutex_lock(&u->lock);
    u->tx = fn;
    u->tx_opaque = opaque;
    pthread_mutex_unlock(&u->lock);
}

void uart8250_set_room(struct uart8250 *u, uart8250_room_fn fn, void *opaque)
{
    pthread_mutex_lock(&u->lock);
    u->room = fn;
    u->room_opaque = opaque;
    pthread_mutex_unlock(&u->lock);
}

size_t uart8250_receive(struct uart8250 *u, const uint8_t *buf, size_t len)
{
    size_t n = 0;
    pthread_mutex_lock(&u->lock);
    if (!(u->st.mcr & MCR_LOOP)) {
        while (n < len && u->st.rx_count < rx_capacity(u))
            rx_push(u, buf[n++]);
    }
    if (n < len)
        u->needs_room = true;
    update_irq(u);
    pthread_mutex_unlock(&u->lock);
    return n;
}

size_t uart8250_rx_room(struct uart8250 *u)
{
    size_t room = 0;
    pthread_mutex_lock(&u->lock);
    if (!(u->st.mcr & MCR_LOOP))
        room = rx_capacity(u) - u->st.rx_count;
    pthread_mutex_unlock(&u->lock);
    return room;
}

void uart8250_save(struct uart8250 *u, struct uart8250_state *st)
{
    pthread_mutex_lock(&u->lock);
    *st = u->st;
    pthread_mutex_unlock(&u->lock);
}

int uart8250_load(struct uart8250 *u, const struct uart8250_state *st)
{
    unsigned cap = (st->fcr & FCR_ENABLE) ? UART8250_FIFO_SIZE : 1;
    if (st->rx_head >= UART8250_FIFO_SIZE || st->rx_count > cap || st->iir_thre_pending > 1)
        return -EINVAL;
    pthread_mutex_lock(&u->lock);
    u->st = *st;
    u->st.ier &= 0x0f;
    u->st.mcr &= MCR_MASK;
    u->st.fcr &= FCR_ENABLE | FCR_TRIGGER;
    u->st.lsr = (uint8_t)((u->st.lsr & ~LSR_DR) | (u->st.rx_count ? LSR_DR : 0));
    update_irq(u);
    pthread_mutex_unlock(&u->lock);
    return 0;
}
