/* SPDX-License-Identifier: MIT */
/*
 * ACPI fixed hardware (ACPI 6.5 §4.8.1 "Fixed Hardware Registers": PM1 event/control blocks,
 * PM timer; §5.6 GPE0 block). Registers may be accessed with any width inside their block; the
 * status halves are write-1-to-clear. The PM timer counts at 3.579545 MHz from CLOCK_MONOTONIC
 * and is 24 bits wide (the FADT must leave TMR_VAL_EXT clear); TMR_STS is set whenever bit 23
 * flips, evaluated on access. The SCI is a level line: any enabled status bit holds it high.
 *
 *   PM1_EVT +0 PM1a_STS (16, W1C)  +2 PM1a_EN (16)     PM1_CNT +0 PM1a_CNT (16)
 *   PM_TMR  +0 counter (32, RO)                       GPE0 +0 STS (32, W1C)  +4 EN (32)
 */
#include "dev/legacy/acpi_pm.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "core/x86/layout.h"

#define LOG_TAG "acpi-pm"
#include "base/log.h"

/* Status bits that exist (TMR, BM, GBL, PWRBTN, SLPBTN, RTC, WAK) and enables (no WAK). */
#define PM1_STS_MASK 0x8731u
#define PM1_EN_MASK 0x0721u
#define PM1_SCI_SOURCES 0x0721u
#define PM_TMR_MASK 0xffffffu

enum pm_block { BLK_EVT, BLK_CNT, BLK_TMR, BLK_GPE, BLK_COUNT };

struct acpi_pm;
struct pm_range {
    struct acpi_pm *pm;
    enum pm_block blk;
};

struct acpi_pm {
    pthread_mutex_t lock;
    struct platform plat;
    uint16_t pm1_sts, pm1_en, pm1_cnt;
    uint32_t gpe_sts, gpe_en;
    uint64_t tmr_epoch_ns;
    uint64_t tmr_last_msb; /* (ticks >> 23) at the last evaluation */
    bool sci_level;
    struct pm_range ranges[BLK_COUNT];
    struct bus *pio; /* set by attach */
    uint16_t base;   /* where the blocks are registered; 0: nowhere */
};

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Ticks since creation; unsigned __int128 keeps ns * 3579545 from overflowing. */
static uint64_t tmr_ticks(const struct acpi_pm *pm)
{
    unsigned __int128 ns = mono_ns() - pm->tmr_epoch_ns;
    return (uint64_t)(ns * ACPI_PM_TMR_HZ / 1000000000u);
}

/* Sets TMR_STS when bit 23 flipped and recomputes the SCI. Called with pm->lock held. */
static void update(struct acpi_pm *pm)
{
    uint64_t msb = tmr_ticks(pm) >> 23;
    if (msb != pm->tmr_last_msb) {
        pm->tmr_last_msb = msb;
        pm->pm1_sts |= ACPI_PM1_STS_TMR;
    }
    bool level = (pm->pm1_sts & pm->pm1_en & PM1_SCI_SOURCES) || (pm->gpe_sts & pm->gpe_en);
    if (level != pm->sci_level) {
        pm->sci_level = level;
        pm->plat.ops->set_irq(pm->plat.opaque, GSI_ACPI_SCI, level);
    }
}

/* The block's registers as one little-endian 64-bit image. Called with pm->lock held. */
static uint64_t block_image(struct acpi_pm *pm, enum pm_block blk)
{
    switch (blk) {
    case BLK_EVT:
        return pm->pm1_sts | (uint32_t)pm->pm1_en << 16;
    case BLK_CNT:
        return pm->pm1_cnt | ACPI_PM1_CNT_SCI_EN;
    case BLK_TMR:
        return tmr_ticks(pm) & PM_TMR_MASK;
    default:
        return pm->gpe_sts | (uint64_t)pm->gpe_en << 32;
    }
}

static uint64_t pm_read(void *opaque, uint64_t off, unsigned size)
{
    struct pm_range *r = opaque;
    struct acpi_pm *pm = r->pm;
    uint64_t v;
    if (size > 4 || off >= 8)
        return UINT64_MAX;
    pthread_mutex_lock(&pm->lock);
    update(pm);
    v = block_image(pm, r->blk) >> (off * 8);
    pthread_mutex_unlock(&pm->lock);
    return v;
}

/* PM1a_CNT write: SLP_EN with SLP_TYP S5 powers off. Called with pm->lock held. */
static void write_cnt(struct acpi_pm *pm, uint16_t val)
{
    unsigned slp_typ = (val & ACPI_PM1_CNT_SLP_TYP_MASK) >> ACPI_PM1_CNT_SLP_TYP_SHIFT;
    /* SLP_EN is write-only and reads as 0; SCI_EN is hard-wired to 1 (no legacy mode). */
    pm->pm1_cnt = (uint16_t)((val & ~ACPI_PM1_CNT_SLP_EN) | ACPI_PM1_CNT_SCI_EN);
    if (!(val & ACPI_PM1_CNT_SLP_EN))
        return;
    if (slp_typ == ACPI_SLP_TYP_S5) {
        log_info("guest entered S5, powering off");
        pm->plat.ops->request_poweroff(pm->plat.opaque);
        return;
    }
    /* No other sleep state is implemented: wake up at once, as if a wake event came. */
    log_ratelimited(LOG_INFO, "sleep type %u not supported, waking at once", slp_typ);
    pm->pm1_sts |= ACPI_PM1_STS_WAK;
}

static void pm_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct pm_range *r = opaque;
    struct acpi_pm *pm = r->pm;
    if (size > 4 || off >= 8)
        return;
    uint64_t mask = size == 4 ? 0xffffffffULL : (1ULL << (size * 8)) - 1;
    uint64_t wval = (val & mask) << (off * 8), wmask = mask << (off * 8);
    pthread_mutex_lock(&pm->lock);
    update(pm);
    switch (r->blk) {
    case BLK_EVT:
        pm->pm1_sts &= (uint16_t) ~(wval & PM1_STS_MASK);
        if (wmask & 0xffff0000u)
            pm->pm1_en = (uint16_t)((pm->pm1_en & ~(wmask >> 16)) | ((wval >> 16) & PM1_EN_MASK));
        break;
    case BLK_CNT:
        if (wmask & 0xffff)
            write_cnt(pm, (uint16_t)((pm->pm1_cnt & ~wmask) | (wval & 0xffff)));
        break;
    case BLK_TMR:
        break;
    default:
        pm->gpe_sts &= (uint32_t)~wval;
        pm->gpe_en = (uint32_t)((pm->gpe_en & ~(wmask >> 32)) | (wval >> 32));
        break;
    }
    update(pm);
    pthread_mutex_unlock(&pm->lock);
}

static const struct io_ops acpi_pm_io_ops = {.read = pm_read, .write = pm_write};

int acpi_pm_create(const struct platform *plat, struct acpi_pm **out)
{
    struct acpi_pm *pm = calloc(1, sizeof(*pm));
    if (!pm)
        return -ENOMEM;
    pthread_mutex_init(&pm->lock, NULL);
    pm->plat = *plat;
    pm->pm1_cnt = ACPI_PM1_CNT_SCI_EN;
    pm->tmr_epoch_ns = mono_ns();
    for (unsigned i = 0; i < BLK_COUNT; i++)
        pm->ranges[i] = (struct pm_range){pm, (enum pm_block)i};
    *out = pm;
    return 0;
}

void acpi_pm_destroy(struct acpi_pm *pm)
{
    if (!pm)
        return;
    pthread_mutex_destroy(&pm->lock);
    free(pm);
}

static const struct {
    uint16_t off, len; /* from the PM base */
    const char *name;
} blocks[BLK_COUNT] = {
    [BLK_EVT] = {PORT_ACPI_PM1_EVT - PORT_ACPI_PM_BASE, 4, "acpi-pm1-evt"},
    [BLK_CNT] = {PORT_ACPI_PM1_CNT - PORT_ACPI_PM_BASE, 2, "acpi-pm1-cnt"},
    [BLK_TMR] = {PORT_ACPI_PM_TMR - PORT_ACPI_PM_BASE, 4, "acpi-pm-tmr"},
    [BLK_GPE] = {PORT_ACPI_GPE0 - PORT_ACPI_PM_BASE, ACPI_GPE0_BLK_LEN, "acpi-gpe0"},
};

/* Registers every block at (base). Returns 0 or -errno (none left registered). */
static int register_blocks(struct acpi_pm *pm, uint16_t base)
{
    int ret = 0;
    unsigned i;
    for (i = 0; i < BLK_COUNT; i++) {
        ret = bus_register(pm->pio, (uint16_t)(base + blocks[i].off), blocks[i].len,
                           &acpi_pm_io_ops, &pm->ranges[i], blocks[i].name);
        if (ret < 0)
            break;
    }
    if (ret < 0)
        while (i-- > 0)
            bus_unregister(pm->pio, (uint16_t)(base + blocks[i].off), &pm->ranges[i]);
    return ret;
}

int acpi_pm_attach_at(struct acpi_pm *pm, struct bus *pio, uint16_t base)
{
    pm->pio = pio;
    pm->base = 0;
    return acpi_pm_move(pm, base);
}

int acpi_pm_attach(struct acpi_pm *pm, struct bus *pio)
{
    return acpi_pm_attach_at(pm, pio, PORT_ACPI_PM_BASE);
}

int acpi_pm_move(struct acpi_pm *pm, uint16_t base)
{
    int ret = 0;
    if (pm->pio == NULL || base == pm->base)
        return 0;
    if (pm->base != 0)
        for (unsigned i = 0; i < BLK_COUNT; i++)
            bus_unregister(pm->pio, (uint16_t)(pm->base + blocks[i].off), &pm->ranges[i]);
    pm->base = 0;
    if (base != 0)
        ret = register_blocks(pm, base);
    if (ret == 0)
        pm->base = base;
    return ret;
}

void acpi_pm_press_power_button(struct acpi_pm *pm)
{
    pthread_mutex_lock(&pm->lock);
    pm->pm1_sts |= ACPI_PM1_STS_PWRBTN;
    update(pm);
    pthread_mutex_unlock(&pm->lock);
}

int acpi_pm_raise_gpe(struct acpi_pm *pm, unsigned bit)
{
    if (bit >= 32)
        return -EINVAL;
    pthread_mutex_lock(&pm->lock);
    pm->gpe_sts |= 1u << bit;
    update(pm);
    pthread_mutex_unlock(&pm->lock);
    return 0;
}

void acpi_pm_save(struct acpi_pm *pm, struct acpi_pm_state *st)
{
    pthread_mutex_lock(&pm->lock);
    update(pm);
    *st = (struct acpi_pm_state){pm->pm1_sts, pm->pm1_en, pm->pm1_cnt,
                                 pm->gpe_sts, pm->gpe_en, (uint32_t)(tmr_ticks(pm) & PM_TMR_MASK)};
    pthread_mutex_unlock(&pm->lock);
}

int acpi_pm_load(struct acpi_pm *pm, const struct acpi_pm_state *st)
{
    if (st->tmr > PM_TMR_MASK || (st->pm1_cnt & ACPI_PM1_CNT_SLP_EN))
        return -EINVAL;
    pthread_mutex_lock(&pm->lock);
    pm->pm1_sts = st->pm1_sts & PM1_STS_MASK;
    pm->pm1_en = st->pm1_en & PM1_EN_MASK;
    pm->pm1_cnt = st->pm1_cnt | ACPI_PM1_CNT_SCI_EN;
    pm->gpe_sts = st->gpe_sts;
    pm->gpe_en = st->gpe_en;
    /* Move the epoch back so that the counter reads (tmr) now. */
    uint64_t ns = (uint64_t)((unsigned __int128)st->tmr * 1000000000u / ACPI_PM_TMR_HZ);
    pm->tmr_epoch_ns = mono_ns() - ns;
    pm->tmr_last_msb = tmr_ticks(pm) >> 23;
    update(pm);
    pthread_mutex_unlock(&pm->lock);
    return 0;
}
