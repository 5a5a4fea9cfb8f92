/* SPDX-License-Identifier: MIT */
/*
 * MC146818A RTC + CMOS RAM (Motorola MC146818A datasheet: "Address map", "Registers A-D",
 * "Interrupts"). The guest clock is the host clock (CLOCK_REALTIME, UTC) plus an offset the
 * guest changes by writing the time registers. Nothing ticks on its own: the update-ended,
 * alarm and periodic flags of register C are brought up to date from the clock on every access
 * and on every expiry of the optional timerfd. Memory-size bytes follow QEMU's pc_cmos_init as
 * read by SeaBIOS (src/fw/paravirt.c qemu_preinit).
 *
 *   idx  0 sec  1 sec alarm  2 min  3 min alarm  4 hour  5 hour alarm  6 weekday (1 = Sunday)
 *        7 day  8 month  9 year  0x0a A  0x0b B  0x0c C  0x0d D  0x32 century
 */
#include "dev/legacy/cmos_rtc.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "core/x86/layout.h"

#define LOG_TAG "rtc"
#include "base/log.h"

#define REG_SEC 0x00
#define REG_SEC_ALARM 0x01
#define REG_MIN 0x02
#define REG_MIN_ALARM 0x03
#define REG_HOUR 0x04
#define REG_HOUR_ALARM 0x05
#define REG_WDAY 0x06
#define REG_MDAY 0x07
#define REG_MONTH 0x08
#define REG_YEAR 0x09
#define REG_A 0x0a
#define REG_B 0x0b
#define REG_C 0x0c
#define REG_D 0x0d
#define REG_CENTURY 0x32
#define A_UIP 0x80
#define A_RS 0x0f
#define B_SET 0x80
#define B_PIE 0x40
#define B_AIE 0x20
#define B_UIE 0x10
#define B_DM_BINARY 0x04
#define B_24H 0x02
#define C_IRQF 0x80
#define C_PF 0x40
#define C_AF 0x20
#define C_UF 0x10
#define D_VRT 0x80
#define NS_PER_S 1000000000ULL
#define UIP_NS 244000ULL /* UIP rises 244 us before the update (datasheet, figure 3) */

struct cmos_rtc {
    pthread_mutex_t lock;
    struct platform plat;
    uint8_t cmos[CMOS_SIZE];
    uint8_t index;
    bool irq_level;
    int64_t offset_ns;    /* guest time = clock + offset */
    uint64_t last_sec;    /* guest second of the last flag evaluation */
    uint64_t last_period; /* periodic tick index of the last evaluation */
    cmos_rtc_clock_fn clock;
    void *clock_opaque;
    struct evloop *loop;
    int timer_fd;
};

static uint64_t realtime_ns(void *opaque)
{
    struct timespec ts;
    (void)opaque;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

/* Called with rtc->lock held. */
static uint64_t guest_ns(const struct cmos_rtc *rtc)
{
    return rtc->clock(rtc->clock_opaque) + (uint64_t)rtc->offset_ns;
}

/* Periodic interrupt period for rate select (rs), 0 for none (datasheet, table 5). */
static uint64_t period_ns(unsigned rs)
{
    if (rs == 0)
        return 0;
    if (rs < 3)
        rs += 7;
    return (NS_PER_S << (rs - 1)) / 32768;
}

static uint8_t encode(const struct cmos_rtc *rtc, unsigned v)
{
    if (rtc->cmos[REG_B] & B_DM_BINARY)
        return (uint8_t)v;
    return (uint8_t)(((v / 10) << 4) | (v % 10));
}

static unsigned decode(const struct cmos_rtc *rtc, uint8_t v)
{
    if (rtc->cmos[REG_B] & B_DM_BINARY)
        return v;
    return (v >> 4) * 10u + (v & 0x0f);
}

static uint8_t encode_hour(const struct cmos_rtc *rtc, unsigned hour)
{
    if (rtc->cmos[REG_B] & B_24H)
        return encode(rtc, hour);
    unsigned h12 = hour % 12 ? hour % 12 : 12;
    return (uint8_t)(encode(rtc, h12) | (hour >= 12 ? 0x80 : 0));
}

static unsigned decode_hour(const struct cmos_rtc *rtc, uint8_t v)
{
    if (rtc->cmos[REG_B] & B_24H)
        return decode(rtc, v);
    unsigned h = decode(rtc, v & 0x7f) % 12;
    return (v & 0x80) ? h + 12 : h;
}

/* Writes the guest's current time into the time registers. Called with rtc->lock held. */
static void latch_time(struct cmos_rtc *rtc)
{
    time_t secs = (time_t)(guest_ns(rtc) / NS_PER_S);
    struct tm tm;
    gmtime_r(&secs, &tm);
    rtc->cmos[REG_SEC] = encode(rtc, (unsigned)tm.tm_sec);
    rtc->cmos[REG_MIN] = encode(rtc, (unsigned)tm.tm_min);
    rtc->cmos[REG_HOUR] = encode_hour(rtc, (unsigned)tm.tm_hour);
    rtc->cmos[REG_WDAY] = encode(rtc, (unsigned)tm.tm_wday + 1);
    rtc->cmos[REG_MDAY] = encode(rtc, (unsigned)tm.tm_mday);
    rtc->cmos[REG_MONTH] = encode(rtc, (unsigned)tm.tm_mon + 1);
    rtc->cmos[REG_YEAR] = encode(rtc, (unsigned)(tm.tm_year + 1900) % 100);
    rtc->cmos[REG_CENTURY] = encode(rtc, (unsigned)(tm.tm_year + 1900) / 100);
}

/* Takes the time the guest wrote into the registers as the new guest time. Garbage values are
 * normalized by timegm. Called with rtc->lock held. */
static void adopt_time(struct cmos_rtc *rtc)
{
    struct tm tm = {0};
    unsigned century = decode(rtc, rtc->cmos[REG_CENTURY]);
    if (century < 19 || century > 99)
        century = 20;
    tm.tm_sec = (int)decode(rtc, rtc->cmos[REG_SEC]);
    tm.tm_min = (int)decode(rtc, rtc->cmos[REG_MIN]);
    tm.tm_hour = (int)decode_hour(rtc, rtc->cmos[REG_HOUR]);
    tm.tm_mday = (int)decode(rtc, rtc->cmos[REG_MDAY]);
    tm.tm_mon = (int)decode(rtc, rtc->cmos[REG_MONTH]) - 1;
    tm.tm_year = (int)(century * 100 + decode(rtc, rtc->cmos[REG_YEAR]) % 100) - 1900;
    time_t t = timegm(&tm);
    if (t == (time_t)-1 || t < 0) {
        log_ratelimited(LOG_DEBUG, "guest wrote an invalid date, ignored");
        return;
    }
    uint64_t now = rtc->clock(rtc->clock_opaque);
    rtc->offset_ns = (int64_t)((uint64_t)t * NS_PER_S - now);
    rtc->last_sec = (uint64_t)t;
}

/* True when alarm register (alarm) matches (cur) (0xc0..0xff is "don't care"). */
static bool alarm_match(uint8_t alarm, uint8_t cur)
{
    return (alarm & 0xc0) == 0xc0 || alarm == cur;
}

/* Brings register C up to date with the clock and recomputes IRQ8. Called with rtc->lock held. */
static void update_flags(struct cmos_rtc *rtc)
{
    uint8_t *c = &rtc->cmos[REG_C];
    uint64_t now = guest_ns(rtc);
    uint64_t p = period_ns(rtc->cmos[REG_A] & A_RS);

    if (p) {
        uint64_t idx = now / p;
        if (idx != rtc->last_period)
            *c |= C_PF;
        rtc->last_period = idx;
    }
    if (!(rtc->cmos[REG_B] & B_SET) && now / NS_PER_S != rtc->last_sec) {
        rtc->last_sec = now / NS_PER_S;
        *c |= C_UF;
        latch_time(rtc);
        if (alarm_match(rtc->cmos[REG_SEC_ALARM], rtc->cmos[REG_SEC]) &&
            alarm_match(rtc->cmos[REG_MIN_ALARM], rtc->cmos[REG_MIN]) &&
            alarm_match(rtc->cmos[REG_HOUR_ALARM], rtc->cmos[REG_HOUR]))
            *c |= C_AF;
    }
    uint8_t b = rtc->cmos[REG_B];
    bool irqf = ((*c & C_PF) && (b & B_PIE)) || ((*c & C_AF) && (b & B_AIE)) ||
                ((*c & C_UF) && (b & B_UIE));
    *c = (uint8_t)((*c & ~C_IRQF) | (irqf ? C_IRQF : 0));
    if (irqf != rtc->irq_level) {
        rtc->irq_level = irqf;
        rtc->plat.ops->set_irq(rtc->plat.opaque, GSI_RTC, irqf);
    }
}

/* (Re)arms the timerfd for what the guest enabled. Called with rtc->lock held. */
static void arm_timer(struct cmos_rtc *rtc)
{
    struct itimerspec its = {0};
    uint8_t b = rtc->cmos[REG_B];
    uint64_t p = period_ns(rtc->cmos[REG_A] & A_RS);

    if (rtc->timer_fd < 0)
        return;
    if (!(b & B_PIE) || p == 0)
        p = (b & (B_UIE | B_AIE)) ? NS_PER_S : 0;
    if (rtc->irq_level)
        p = 0; /* nothing new to signal until the guest reads register C */
    if (p) {
        uint64_t first = p - guest_ns(rtc) % p; /* next boundary in guest time */
        its.it_value.tv_sec = (time_t)(first / NS_PER_S);
        its.it_value.tv_nsec = (long)(first % NS_PER_S);
        its.it_interval.tv_sec = (time_t)(p / NS_PER_S);
        its.it_interval.tv_nsec = (long)(p % NS_PER_S);
    }
    if (timerfd_settime(rtc->timer_fd, 0, &its, NULL) < 0)
        log_warn("timerfd_settime: %s", strerror(errno));
}

/* The registers of the running time (seconds to year, and the century): read and written
 * through the latch unless the guest holds the clock with SET. */
static bool is_time_reg(uint8_t idx)
{
    switch (idx) {
    case REG_SEC:
    case REG_MIN:
    case REG_HOUR:
    case REG_WDAY:
    case REG_MDAY:
    case REG_MONTH:
    case REG_YEAR:
    case REG_CENTURY:
        return true;
    default:
        return false;
    }
}

static uint8_t reg_read(struct cmos_rtc *rtc, uint8_t idx)
{
    uint8_t v;
    update_flags(rtc);
    switch (idx) {
    case REG_A: {
        uint64_t frac = guest_ns(rtc) % NS_PER_S;
        bool uip = !(rtc->cmos[REG_B] & B_SET) && frac >= NS_PER_S - UIP_NS;
        return (uint8_t)((rtc->cmos[REG_A] & ~A_UIP) | (uip ? A_UIP : 0));
    }
    case REG_C:
        v = rtc->cmos[REG_C];
        rtc->cmos[REG_C] = 0;
        update_flags(rtc);
        arm_timer(rtc);
        return v;
    default:
        if (is_time_reg(idx) && !(rtc->cmos[REG_B] & B_SET))
            latch_time(rtc);
        return rtc->cmos[idx];
    }
}

static void write_b(struct cmos_rtc *rtc, uint8_t val)
{
    uint8_t old = rtc->cmos[REG_B];
    if ((val & B_SET) && !(old & B_SET))
        latch_time(rtc); /* freeze what the guest is about to edit */
    if (val & B_SET)
        val &= (uint8_t)~B_UIE; /* datasheet: SET clears UIE */
    if ((old ^ val) & (B_DM_BINARY | B_24H)) {
        /* The format changed: re-encode the (frozen) time and alarm registers. */
        unsigned t[3] = {decode(rtc, rtc->cmos[REG_SEC_ALARM]),
                         decode(rtc, rtc->cmos[REG_MIN_ALARM]),
                         decode_hour(rtc, rtc->cmos[REG_HOUR_ALARM])};
        bool dc[3] = {rtc->cmos[REG_SEC_ALARM] >= 0xc0, rtc->cmos[REG_MIN_ALARM] >= 0xc0,
                      rtc->cmos[REG_HOUR_ALARM] >= 0xc0};
        rtc->cmos[REG_B] = val;
        rtc->cmos[REG_SEC_ALARM] = dc[0] ? 0xff : encode(rtc, t[0] % 60);
        rtc->cmos[REG_MIN_ALARM] = dc[1] ? 0xff : encode(rtc, t[1] % 60);
        rtc->cmos[REG_HOUR_ALARM] = dc[2] ? 0xff : encode_hour(rtc, t[2] % 24);
    }
    rtc->cmos[REG_B] = val;
    if ((old & B_SET) && !(val & B_SET))
        adopt_time(rtc);
    arm_timer(rtc);
}

static void reg_write(struct cmos_rtc *rtc, uint8_t idx, uint8_t val)
{
    update_flags(rtc);
    switch (idx) {
    case REG_A:
        rtc->cmos[REG_A] = val & (uint8_t)~A_UIP;
        rtc->last_period = period_ns(val & A_RS) ? guest_ns(rtc) / period_ns(val & A_RS) : 0;
        arm_timer(rtc);
        break;
    case REG_B:
        write_b(rtc, val);
        break;
    case REG_C:
    case REG_D:
        break; /* read-only */
    default:
        if (is_time_reg(idx) && !(rtc->cmos[REG_B] & B_SET))
            latch_time(rtc); /* the other fields hold the time now: only this one changes */
        rtc->cmos[idx] = val;
        if (is_time_reg(idx) && !(rtc->cmos[REG_B] & B_SET))
            adopt_time(rtc);
    }
    update_flags(rtc);
}

static uint64_t rtc_io_read(void *opaque, uint64_t off, unsigned size)
{
    struct cmos_rtc *rtc = opaque;
    uint8_t v = 0xff;
    if (size != 1 || off != 1)
        return UINT64_MAX; /* the index port is write-only */
    pthread_mutex_lock(&rtc->lock);
    v = reg_read(rtc, rtc->index);
    pthread_mutex_unlock(&rtc->lock);
    return v;
}

static void rtc_io_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct cmos_rtc *rtc = opaque;
    if (size != 1 || off > 1)
        return;
    pthread_mutex_lock(&rtc->lock);
    if (off == 0)
        rtc->index = val & 0x7f; /* bit 7 masks NMIs: nothing to mask under KVM */
    else
        reg_write(rtc, rtc->index, (uint8_t)val);
    pthread_mutex_unlock(&rtc->lock);
}

const struct io_ops cmos_rtc_io_ops = {.read = rtc_io_read, .write = rtc_io_write};

int cmos_rtc_create(const struct platform *plat, struct cmos_rtc **out)
{
    struct cmos_rtc *rtc = calloc(1, sizeof(*rtc));
    if (!rtc)
        return -ENOMEM;
    pthread_mutex_init(&rtc->lock, NULL);
    rtc->plat = *plat;
    rtc->timer_fd = -1;
    rtc->clock = realtime_ns;
    rtc->cmos[REG_A] = 0x26; /* 32.768 kHz time base, 1024 Hz periodic rate */
    rtc->cmos[REG_B] = B_24H;
    rtc->cmos[REG_D] = D_VRT;
    rtc->last_sec = guest_ns(rtc) / NS_PER_S;
    rtc->last_period = guest_ns(rtc) / period_ns(6);
    latch_time(rtc);
    *out = rtc;
    return 0;
}

void cmos_rtc_destroy(struct cmos_rtc *rtc)
{
    if (!rtc)
        return;
    cmos_rtc_stop_timer(rtc);
    pthread_mutex_destroy(&rtc->lock);
    free(rtc);
}

int cmos_rtc_attach(struct cmos_rtc *rtc, struct bus *pio)
{
    return bus_register(pio, PORT_CMOS, CMOS_RTC_NR_PORTS, &cmos_rtc_io_ops, rtc, "cmos-rtc");
}

void cmos_rtc_set_clock(struct cmos_rtc *rtc, cmos_rtc_clock_fn fn, void *opaque)
{
    pthread_mutex_lock(&rtc->lock);
    rtc->clock = fn;
    rtc->clock_opaque = opaque;
    rtc->offset_ns = 0;
    rtc->last_sec = guest_ns(rtc) / NS_PER_S;
    uint64_t p = period_ns(rtc->cmos[REG_A] & A_RS);
    rtc->last_period = p ? guest_ns(rtc) / p : 0;
    latch_time(rtc);
    pthread_mutex_unlock(&rtc->lock);
}

static void set16(struct cmos_rtc *rtc, unsigned idx, uint64_t v)
{
    rtc->cmos[idx] = (uint8_t)v;
    rtc->cmos[idx + 1] = (uint8_t)(v >> 8);
}

void cmos_rtc_set_memory(struct cmos_rtc *rtc, uint64_t low_bytes, uint64_t high_bytes)
{
    const uint64_t kib = 1024, mib = 1024 * 1024;
    uint64_t v;

    pthread_mutex_lock(&rtc->lock);
    set16(rtc, 0x15, MIN(low_bytes / kib, 640));
    v = low_bytes > mib ? MIN((low_bytes - mib) / kib, 0xffff) : 0;
    set16(rtc, 0x17, v);
    set16(rtc, 0x30, v);
    v = low_bytes > 16 * mib ? MIN((low_bytes - 16 * mib) / (64 * kib), 0xffff) : 0;
    set16(rtc, 0x34, v);
    v = MIN(high_bytes / (64 * kib), 0xffffff);
    rtc->cmos[0x5b] = (uint8_t)v;
    rtc->cmos[0x5c] = (uint8_t)(v >> 8);
    rtc->cmos[0x5d] = (uint8_t)(v >> 16);
    pthread_mutex_unlock(&rtc->lock);
}

int cmos_rtc_set_byte(struct cmos_rtc *rtc, unsigned idx, uint8_t val)
{
    if (idx < 0x0e || idx >= CMOS_SIZE || idx == REG_CENTURY)
        return -EINVAL;
    pthread_mutex_lock(&rtc->lock);
    rtc->cmos[idx] = val;
    pthread_mutex_unlock(&rtc->lock);
    return 0;
}

uint8_t cmos_rtc_get_byte(struct cmos_rtc *rtc, unsigned idx)
{
    uint8_t v;
    if (idx >= CMOS_SIZE)
        return 0;
    pthread_mutex_lock(&rtc->lock);
    v = rtc->cmos[idx];
    pthread_mutex_unlock(&rtc->lock);
    return v;
}

static void timer_cb(void *opaque, uint32_t events)
{
    struct cmos_rtc *rtc = opaque;
    uint64_t expirations;
    (void)events;
    if (read(rtc->timer_fd, &expirations, sizeof(expirations)) < 0)
        return;
    pthread_mutex_lock(&rtc->lock);
    update_flags(rtc);
    if (rtc->irq_level)
        arm_timer(rtc);
    pthread_mutex_unlock(&rtc->lock);
}

int cmos_rtc_start_timer(struct cmos_rtc *rtc, struct evloop *loop)
{
    int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (fd < 0)
        return -errno;
    int ret = evloop_add(loop, fd, EPOLLIN, timer_cb, rtc);
    if (ret < 0) {
        close(fd);
        return ret;
    }
    pthread_mutex_lock(&rtc->lock);
    rtc->loop = loop;
    rtc->timer_fd = fd;
    arm_timer(rtc);
    pthread_mutex_unlock(&rtc->lock);
    return 0;
}

void cmos_rtc_stop_timer(struct cmos_rtc *rtc)
{
    if (rtc->timer_fd < 0)
        return;
    evloop_del(rtc->loop, rtc->timer_fd);
    close(rtc->timer_fd);
    rtc->timer_fd = -1;
    rtc->loop = NULL;
}

void cmos_rtc_save(struct cmos_rtc *rtc, struct cmos_rtc_state *st)
{
    pthread_mutex_lock(&rtc->lock);
    memcpy(st->cmos, rtc->cmos, sizeof(st->cmos));
    st->index = rtc->index;
    st->offset_ns = rtc->offset_ns;
    pthread_mutex_unlock(&rtc->lock);
}

int cmos_rtc_load(struct cmos_rtc *rtc, const struct cmos_rtc_state *st)
{
    if (st->index >= CMOS_SIZE)
        return -EINVAL;
    pthread_mutex_lock(&rtc->lock);
    memcpy(rtc->cmos, st->cmos, sizeof(rtc->cmos));
    rtc->cmos[REG_A] &= (uint8_t)~A_UIP;
    rtc->cmos[REG_D] = D_VRT;
    rtc->index = st->index;
    rtc->offset_ns = st->offset_ns;
    rtc->last_sec = guest_ns(rtc) / NS_PER_S;
    uint64_t p = period_ns(rtc->cmos[REG_A] & A_RS);
    rtc->last_period = p ? guest_ns(rtc) / p : 0;
    update_flags(rtc);
    arm_timer(rtc);
    pthread_mutex_unlock(&rtc->lock);
    return 0;
}
