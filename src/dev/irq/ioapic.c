/* SPDX-License-Identifier: MIT */
/*
 * Implementation of dev/irq/ioapic.h: the 82093AA I/O APIC register file (datasheet §3.0),
 * pin state, delivery as MSIs (Intel SDM vol. 3 §11.11.1 address, §11.11.2 data) and the
 * Remote IRR / EOI handshake of level-triggered entries.
 */
#include "dev/irq/ioapic.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "base/evloop.h"

#define LOG_TAG "ioapic"
#include "base/log.h"

/* Bits of a redirection entry the guest may write (delivery status and Remote IRR are RO,
 * bits 17..55 are reserved). */
#define RTE_WRITABLE                                                                               \
    (0xff00000000000000ULL | IOAPIC_RTE_MASKED | IOAPIC_RTE_LEVEL | IOAPIC_RTE_POLARITY |          \
     IOAPIC_RTE_DESTMODE | 0x7ffULL)
#define ID_MASK 0x0f000000u
#define MSI_ADDR_BASE 0xfee00000ULL
#define MSI_DATA_LEVEL_ASSERT (1u << 14)
#define MSI_DATA_TRIGGER_LEVEL (1u << 15)

enum delivery_mode {
    DM_FIXED = 0,
    DM_LOWEST = 1,
    DM_SMI = 2,
    DM_NMI = 4,
    DM_INIT = 5,
    DM_EXTINT = 7,
};

struct ioapic {
    pthread_mutex_t lock;
    struct platform plat;
    uint8_t create_id;
    uint32_t id;   /* the ID register (bits 27:24) */
    uint8_t sel;   /* IOREGSEL */
    uint32_t line; /* input level of each pin */
    uint32_t edge; /* rising edges not yet delivered (edge-triggered pins) */
    uint64_t rte[IOAPIC_PINS];
    /* The routes last handed to set_msi_routes, to skip unchanged updates. */
    struct platform_msi_route routes[IOAPIC_PINS];
    unsigned nroutes;
    bool has_routes; /* routes[] reflects the kernel's table */
    /* Storm guard: re-deliveries at EOI in a row per pin, pins waiting for the timer. */
    uint32_t eoi_count[IOAPIC_PINS];
    uint32_t deferred;
    struct evloop *loop;
    int timer_fd; /* -1 without ioapic_start_timer */
};

static unsigned rte_mode(uint64_t rte)
{
    return (unsigned)(rte >> IOAPIC_RTE_DELMODE_SHIFT) & 7u;
}

/* NMI, INIT and SMI are edge-only delivery modes whatever the trigger bit says. */
static bool rte_is_level(uint64_t rte)
{
    unsigned mode = rte_mode(rte);
    return (rte & IOAPIC_RTE_LEVEL) && (mode == DM_FIXED || mode == DM_LOWEST);
}

static void rte_to_msi(uint64_t rte, uint64_t *addr, uint32_t *data)
{
    uint64_t dest = (rte >> IOAPIC_RTE_DEST_SHIFT) & 0xff;
    *addr = MSI_ADDR_BASE | dest << 12 | ((rte & IOAPIC_RTE_DESTMODE) ? 1u << 2 : 0);
    *data = (uint32_t)(rte & IOAPIC_RTE_VECTOR) | rte_mode(rte) << 8;
    if (rte_is_level(rte))
        *data |= MSI_DATA_TRIGGER_LEVEL | MSI_DATA_LEVEL_ASSERT;
}

/* Mirrors the level-triggered entries into the kernel's routing table when they changed.
 * Called with io->lock held. */
static void update_routes(struct ioapic *io)
{
    struct platform_msi_route r[IOAPIC_PINS];
    unsigned n = 0;
    int ret;
    if (io->plat.ops->set_msi_routes == NULL)
        return;
    for (unsigned pin = 0; pin < IOAPIC_PINS; pin++) {
        if (!rte_is_level(io->rte[pin]))
            continue;
        r[n].gsi = pin;
        rte_to_msi(io->rte[pin], &r[n].addr, &r[n].data);
        n++;
    }
    if (io->has_routes && n == io->nroutes && memcmp(r, io->routes, n * sizeof(r[0])) == 0)
        return;
    ret = io->plat.ops->set_msi_routes(io->plat.opaque, r, n);
    if (ret < 0) {
        log_ratelimited(LOG_WARN, "cannot set %u msi routes: %s", n, strerror(-ret));
        io->has_routes = false;
        return;
    }
    memcpy(io->routes, r, n * sizeof(r[0]));
    io->nroutes = n;
    io->has_routes = true;
}

/* Delivers (pin) if its entry and input call for it. Called with io->lock held. */
static void service(struct ioapic *io, unsigned pin)
{
    uint64_t rte = io->rte[pin];
    uint32_t bit = 1u << pin;
    uint64_t addr;
    uint32_t data;
    int ret;
    if (rte & IOAPIC_RTE_MASKED)
        return;
    if (rte_is_level(rte)) {
        if (!(io->line & bit) || (rte & IOAPIC_RTE_REMOTE_IRR))
            return;
    } else if (!(io->edge & bit)) {
        return;
    }
    io->edge &= ~bit;
    if (rte_mode(rte) == DM_EXTINT || rte_mode(rte) == 3 || rte_mode(rte) == 6) {
        log_ratelimited(LOG_WARN,
                        "pin %u: delivery mode %u (reserved, or ExtINT with no 8259) dropped", pin,
                        rte_mode(rte));
        return;
    }
    rte_to_msi(rte, &addr, &data);
    ret = io->plat.ops->send_msi(io->plat.opaque, addr, data);
    if (ret < 0) {
        log_ratelimited(LOG_WARN, "pin %u: send_msi failed: %s", pin, strerror(-ret));
        return;
    }
    if (rte_is_level(rte))
        io->rte[pin] |= IOAPIC_RTE_REMOTE_IRR;
}

int ioapic_create(const struct platform *plat, uint8_t id, struct ioapic **out)
{
    struct ioapic *io = calloc(1, sizeof(*io));
    if (io == NULL)
        return -ENOMEM;
    pthread_mutex_init(&io->lock, NULL);
    io->timer_fd = -1;
    io->plat = *plat;
    io->create_id = id;
    /* The kernel's table starts empty (KVM_CAP_SPLIT_IRQCHIP installs no route): a fresh
     * IOAPIC, all edge and masked, needs no KVM_SET_GSI_ROUTING. */
    io->has_routes = true;
    ioapic_reset(io);
    *out = io;
    return 0;
}

void ioapic_destroy(struct ioapic *io)
{
    if (io == NULL)
        return;
    ioapic_stop_timer(io);
    pthread_mutex_destroy(&io->lock);
    free(io);
}

void ioapic_reset(struct ioapic *io)
{
    pthread_mutex_lock(&io->lock);
    io->id = ((uint32_t)io->create_id << 24) & ID_MASK;
    io->sel = 0;
    io->edge = 0;
    io->deferred = 0;
    memset(io->eoi_count, 0, sizeof(io->eoi_count));
    for (unsigned pin = 0; pin < IOAPIC_PINS; pin++)
        io->rte[pin] = IOAPIC_RTE_MASKED;
    update_routes(io);
    pthread_mutex_unlock(&io->lock);
}

void ioapic_save(struct ioapic *io, struct sf_buf *b)
{
    pthread_mutex_lock(&io->lock);
    sf_put_u32(b, io->id);
    sf_put_u8(b, io->sel);
    sf_put_u32(b, io->line);
    sf_put_u32(b, io->edge);
    for (unsigned pin = 0; pin < IOAPIC_PINS; pin++)
        sf_put_u64(b, io->rte[pin]);
    pthread_mutex_unlock(&io->lock);
}

int ioapic_load(struct ioapic *io, struct sf_in *in)
{
    uint32_t id = sf_get_u32(in), line, edge;
    uint8_t sel = sf_get_u8(in);
    uint64_t rte[IOAPIC_PINS];
    line = sf_get_u32(in);
    edge = sf_get_u32(in);
    for (unsigned pin = 0; pin < IOAPIC_PINS; pin++) {
        rte[pin] = sf_get_u64(in);
        /* only what a guest can write, plus Remote IRR on a level-triggered entry */
        rte[pin] &= RTE_WRITABLE | (rte_is_level(rte[pin]) ? IOAPIC_RTE_REMOTE_IRR : 0);
    }
    if (sf_in_end(in) < 0 || (id & ~ID_MASK) != 0)
        return -EINVAL;
    pthread_mutex_lock(&io->lock);
    io->id = id;
    io->sel = sel;
    io->line = line & ((1ULL << IOAPIC_PINS) - 1);
    io->edge = edge & ((1ULL << IOAPIC_PINS) - 1);
    memcpy(io->rte, rte, sizeof(rte));
    io->has_routes = false; /* the kernel's table is the fresh VM's: set it again */
    update_routes(io);
    pthread_mutex_unlock(&io->lock);
    return 0;
}

/* Called with io->lock held. */
static uint32_t read_reg(struct ioapic *io, uint8_t index)
{
    switch (index) {
    case IOAPIC_INDEX_ID:
        return io->id;
    case IOAPIC_INDEX_VERSION:
        return (uint32_t)(IOAPIC_PINS - 1) << 16 | IOAPIC_VERSION;
    case IOAPIC_INDEX_ARB:
        return io->id;
    default:
        break;
    }
    if (index >= IOAPIC_INDEX_REDTBL && index < IOAPIC_INDEX_REDTBL + 2 * IOAPIC_PINS) {
        unsigned pin = (unsigned)(index - IOAPIC_INDEX_REDTBL) / 2;
        return (uint32_t)(io->rte[pin] >> ((index & 1) ? 32 : 0));
    }
    log_ratelimited(LOG_DEBUG, "read of register 0x%02x", index);
    return 0;
}

/* Called with io->lock held. */
static void write_rte(struct ioapic *io, unsigned pin, bool is_high, uint32_t val)
{
    uint64_t old = io->rte[pin];
    uint64_t v =
        is_high ? (old & 0xffffffffULL) | (uint64_t)val << 32 : (old & 0xffffffff00000000ULL) | val;
    v = (v & RTE_WRITABLE) | (old & IOAPIC_RTE_REMOTE_IRR);
    /* An entry that is no longer level-triggered has no EOI to wait for. */
    if (!rte_is_level(v))
        v &= ~IOAPIC_RTE_REMOTE_IRR;
    io->rte[pin] = v;
    if (rte_is_level(v) != rte_is_level(old) ||
        (rte_is_level(v) && (v & ~IOAPIC_RTE_MASKED) != (old & ~IOAPIC_RTE_MASKED)))
        update_routes(io);
    service(io, pin);
}

/* Called with io->lock held. */
static void write_reg(struct ioapic *io, uint8_t index, uint32_t val)
{
    if (index == IOAPIC_INDEX_ID) {
        io->id = val & ID_MASK;
        return;
    }
    if (index >= IOAPIC_INDEX_REDTBL && index < IOAPIC_INDEX_REDTBL + 2 * IOAPIC_PINS) {
        write_rte(io, (unsigned)(index - IOAPIC_INDEX_REDTBL) / 2, index & 1, val);
        return;
    }
    log_ratelimited(LOG_DEBUG, "write of 0x%x to read-only or absent register 0x%02x", val, index);
}

static uint64_t mmio_read(void *opaque, uint64_t off, unsigned size)
{
    struct ioapic *io = opaque;
    uint64_t val = 0;
    pthread_mutex_lock(&io->lock);
    if (off == IOAPIC_REG_SEL)
        val = io->sel;
    else if (off == IOAPIC_REG_WIN && size == 4)
        val = read_reg(io, io->sel);
    else
        log_ratelimited(LOG_DEBUG, "read of %u bytes at +0x%llx", size, (unsigned long long)off);
    pthread_mutex_unlock(&io->lock);
    return val;
}

static void mmio_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct ioapic *io = opaque;
    pthread_mutex_lock(&io->lock);
    if (off == IOAPIC_REG_SEL)
        io->sel = (uint8_t)val;
    else if (off == IOAPIC_REG_WIN && size == 4)
        write_reg(io, io->sel, (uint32_t)val);
    else
        log_ratelimited(LOG_DEBUG, "write of %u bytes at +0x%llx ignored", size,
                        (unsigned long long)off);
    pthread_mutex_unlock(&io->lock);
}

static const struct io_ops ioapic_ops = {.read = mmio_read, .write = mmio_write};

int ioapic_attach(struct ioapic *io, struct bus *mmio, uint64_t gpa)
{
    return bus_register(mmio, gpa, IOAPIC_MMIO_SIZE, &ioapic_ops, io, "ioapic");
}

void ioapic_set_irq(struct ioapic *io, uint32_t pin, bool level)
{
    uint32_t bit;
    if (pin >= IOAPIC_PINS) {
        log_ratelimited(LOG_WARN, "line %u does not exist", pin);
        return;
    }
    bit = 1u << pin;
    pthread_mutex_lock(&io->lock);
    if (level && !(io->line & bit) && !rte_is_level(io->rte[pin]))
        io->edge |= bit;
    io->line = level ? io->line | bit : io->line & ~bit;
    if (level)
        service(io, pin);
    pthread_mutex_unlock(&io->lock);
}

/* Delivers the pins the storm guard held back. On the loop thread. */
static void timer_cb(void *opaque, uint32_t events)
{
    struct ioapic *io = opaque;
    uint64_t expirations;
    (void)events;
    if (read(io->timer_fd, &expirations, sizeof(expirations)) < 0)
        return;
    pthread_mutex_lock(&io->lock);
    uint32_t pins = io->deferred;
    io->deferred = 0;
    for (unsigned pin = 0; pin < IOAPIC_PINS; pin++)
        if (pins & (1u << pin))
            service(io, pin);
    pthread_mutex_unlock(&io->lock);
}

int ioapic_start_timer(struct ioapic *io, struct evloop *loop)
{
    int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    int ret;
    if (fd < 0)
        return -errno;
    ret = evloop_add(loop, fd, EPOLLIN, timer_cb, io);
    if (ret < 0) {
        close(fd);
        return ret;
    }
    pthread_mutex_lock(&io->lock);
    io->loop = loop;
    io->timer_fd = fd;
    pthread_mutex_unlock(&io->lock);
    return 0;
}

void ioapic_stop_timer(struct ioapic *io)
{
    if (io->timer_fd < 0)
        return;
    evloop_del(io->loop, io->timer_fd);
    close(io->timer_fd);
    io->timer_fd = -1;
    io->loop = NULL;
}

/* After IOAPIC_STORM_EOIS re-deliveries in a row, holds (pin) back for the storm delay; true
 * when it did. Called with io->lock held. */
static bool storm_guard(struct ioapic *io, unsigned pin)
{
    struct itimerspec its = {.it_value = {.tv_nsec = IOAPIC_STORM_DELAY_MS * 1000000L}};
    if (++io->eoi_count[pin] < IOAPIC_STORM_EOIS || io->timer_fd < 0)
        return false;
    io->eoi_count[pin] = 0;
    if (io->deferred == 0 && timerfd_settime(io->timer_fd, 0, &its, NULL) < 0)
        return false;
    io->deferred |= 1u << pin;
    log_ratelimited(LOG_INFO, "pin %u: interrupt storm, next delivery in %d ms", pin,
                    IOAPIC_STORM_DELAY_MS);
    return true;
}

void ioapic_eoi(struct ioapic *io, uint8_t vector)
{
    pthread_mutex_lock(&io->lock);
    for (unsigned pin = 0; pin < IOAPIC_PINS; pin++) {
        uint64_t rte = io->rte[pin];
        if (!(rte & IOAPIC_RTE_REMOTE_IRR) || (rte & IOAPIC_RTE_VECTOR) != vector)
            continue;
        io->rte[pin] = rte & ~IOAPIC_RTE_REMOTE_IRR;
        if (!(io->line & (1u << pin)) || (rte & IOAPIC_RTE_MASKED)) {
            io->eoi_count[pin] = 0;
            continue;
        }
        if (!storm_guard(io, pin))
            service(io, pin);
    }
    pthread_mutex_unlock(&io->lock);
}

uint64_t ioapic_get_entry(struct ioapic *io, unsigned pin)
{
    uint64_t rte;
    if (pin >= IOAPIC_PINS)
        return 0;
    pthread_mutex_lock(&io->lock);
    rte = io->rte[pin];
    pthread_mutex_unlock(&io->lock);
    return rte;
}
