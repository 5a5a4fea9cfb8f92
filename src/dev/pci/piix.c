/* SPDX-License-Identifier: MIT */
/* Implementation of dev/pci/piix.h (Intel 82371SB/AB datasheets: PIRQRC, PMBA, PMREGMISC). */
#include "dev/pci/piix.h"

#include <string.h>

#define I440FX_PAM0 0x59
#define I440FX_NUM_PAM 7
#define PIRQ_DISABLED 0x80
/* IRQs a PIRQ may not be routed to (0, 1, 2, 8, 13: timer, keyboard, cascade, RTC, FPU) */
#define PIRQ_BAD_IRQS ((1u << 0) | (1u << 1) | (1u << 2) | (1u << 8) | (1u << 13))

const struct pci_dev_id i440fx_id = {
    .vendor = 0x8086,
    .device = 0x1237,
    .subsys_vendor = 0x1af4,
    .subsys = 0x1100,
    .class_code = 0x060000,
    .revision = 0x02,
};

void i440fx_init_pam(struct pci_dev *bridge)
{
    for (unsigned i = 0; i < I440FX_NUM_PAM; i++)
        pci_dev_set_wmask(bridge, (uint16_t)(I440FX_PAM0 + i), 0x33, 1);
}

/* The ISA IRQ PIRQ (i) is routed to, or -1. Lock held (config bytes written under the host
 * lock: a byte read is atomic enough, the route is re-evaluated after every write). */
static int route_of(const struct piix3 *p, unsigned i)
{
    uint8_t r = __atomic_load_n(&p->pci.cfg[PIIX_PIRQRC + i], __ATOMIC_RELAXED);
    unsigned irq = r & 0x0f;
    if ((r & PIRQ_DISABLED) || (PIRQ_BAD_IRQS & (1u << irq)))
        return -1;
    return (int)irq;
}

/* Drives every ISA IRQ from the PIRQ levels and routes. Lock held. */
static void update(struct piix3 *p)
{
    uint16_t want = 0;
    for (unsigned i = 0; i < PIIX_NUM_PIRQS; i++) {
        int irq = route_of(p, i);
        if (irq >= 0 && p->pirq_level[i])
            want |= (uint16_t)(1u << irq);
    }
    for (unsigned irq = 0; irq < 16; irq++) {
        uint16_t bit = (uint16_t)(1u << irq);
        if ((want ^ p->irq_levels) & bit)
            p->plat.ops->set_irq(p->plat.opaque, irq, (want & bit) != 0);
    }
    p->irq_levels = want;
}

void piix3_set_pirq(struct piix3 *p, uint32_t pirq, bool level)
{
    if (pirq >= PIIX_NUM_PIRQS)
        return;
    pthread_mutex_lock(&p->lock);
    p->pirq_level[pirq] = level;
    update(p);
    pthread_mutex_unlock(&p->lock);
}

uint32_t piix3_pirq_of(unsigned slot, unsigned pin)
{
    return (slot + pin - 2) & 3;
}

static void piix3_cfg_write(struct pci_dev *dev, uint32_t off, uint32_t val, unsigned size)
{
    struct piix3 *p = container_of(dev, struct piix3, pci);
    (void)val;
    if (off < PIIX_PIRQRC + PIIX_NUM_PIRQS && off + size > PIIX_PIRQRC) {
        pthread_mutex_lock(&p->lock);
        update(p);
        pthread_mutex_unlock(&p->lock);
    }
}

static void piix3_reset(struct pci_dev *dev)
{
    struct piix3 *p = container_of(dev, struct piix3, pci);
    pthread_mutex_lock(&p->lock);
    for (unsigned i = 0; i < PIIX_NUM_PIRQS; i++)
        pci_cfg_set8(dev, (uint16_t)(PIIX_PIRQRC + i), PIRQ_DISABLED);
    update(p);
    pthread_mutex_unlock(&p->lock);
}

/* The routes of a loaded config space (the PIRQ levels come back as the devices load). */
static void piix3_post_load(struct pci_dev *dev)
{
    struct piix3 *p = container_of(dev, struct piix3, pci);
    pthread_mutex_lock(&p->lock);
    update(p);
    pthread_mutex_unlock(&p->lock);
}

static const struct pci_dev_ops piix3_ops = {
    .cfg_write = piix3_cfg_write, .reset = piix3_reset, .post_load = piix3_post_load};

void piix3_init(struct piix3 *p, const struct platform *plat)
{
    static const struct pci_dev_id id = {
        .vendor = 0x8086, .device = 0x7000, .class_code = 0x060100};
    memset(p, 0, sizeof(*p));
    p->plat = *plat;
    pthread_mutex_init(&p->lock, NULL);
    pci_dev_init(&p->pci, &id, &piix3_ops, p, "piix3-isa");
    pci_cfg_set8(&p->pci, PCI_HEADER_TYPE, 0x80); /* multi-function */
    for (unsigned i = 0; i < PIIX_NUM_PIRQS; i++) {
        pci_cfg_set8(&p->pci, (uint16_t)(PIIX_PIRQRC + i), PIRQ_DISABLED);
        pci_dev_set_wmask(&p->pci, (uint16_t)(PIIX_PIRQRC + i), 0x8f, 1);
    }
}

void piix3_fini(struct piix3 *p)
{
    pthread_mutex_destroy(&p->lock);
}

/* PMBA & PMIOSE: the I/O base the PM registers decode at, 0 when off. */
static uint16_t pm_base(const struct pci_dev *dev)
{
    if (!(pci_cfg_get8(dev, PIIX4_PMREGMISC) & 1))
        return 0;
    return (uint16_t)(pci_cfg_get32(dev, PIIX4_PMBA) & 0xffc0);
}

static void pm_update(struct piix4_pm *pm)
{
    uint16_t base = pm_base(&pm->pci);
    if (base == pm->base)
        return;
    pm->base = base;
    pm->move(pm->opaque, base);
}

static void pm_cfg_write(struct pci_dev *dev, uint32_t off, uint32_t val, unsigned size)
{
    (void)val;
    if ((off < PIIX4_PMBA + 4 && off + size > PIIX4_PMBA) || off == PIIX4_PMREGMISC)
        pm_update(container_of(dev, struct piix4_pm, pci));
}

static void pm_reset(struct pci_dev *dev)
{
    pci_cfg_set32(dev, PIIX4_PMBA, 1);
    pci_cfg_set8(dev, PIIX4_PMREGMISC, 0);
    pm_update(container_of(dev, struct piix4_pm, pci));
}

/* A loaded PMBA/PMIOSE places the PM registers where the saved machine had them. */
static void pm_post_load(struct pci_dev *dev)
{
    pm_update(container_of(dev, struct piix4_pm, pci));
}

static const struct pci_dev_ops pm_ops = {
    .cfg_write = pm_cfg_write, .reset = pm_reset, .post_load = pm_post_load};

void piix4_pm_init(struct piix4_pm *pm, void (*move)(void *opaque, uint16_t base), void *opaque)
{
    static const struct pci_dev_id id = {
        .vendor = 0x8086, .device = 0x7113, .class_code = 0x068000, .revision = 0x03};
    memset(pm, 0, sizeof(*pm));
    pm->move = move;
    pm->opaque = opaque;
    pci_dev_init(&pm->pci, &id, &pm_ops, pm, "piix4-pm");
    pci_cfg_set32(&pm->pci, PIIX4_PMBA, 1); /* I/O space indicator */
    pci_dev_set_wmask(&pm->pci, PIIX4_PMBA, 0xffc0, 2);
    pci_dev_set_wmask(&pm->pci, PIIX4_PMREGMISC, 0x01, 1);
    pci_dev_set_wmask(&pm->pci, PCI_INTERRUPT_LINE, 0xff, 1);
    pci_cfg_set8(&pm->pci, PIIX4_DEVACTB + 3, 0x02); /* APMC_EN: SMM "already set up" */
}
