/* SPDX-License-Identifier: MIT */
/*
 * MSI-X (PCI Local Bus Spec 3.0 §6.8.2): capability, vector table and pending-bit array inside
 * the device's BARs. Table accesses must be DWORD or QWORD sized and aligned (§6.8.2.6); anything
 * else is claimed and ignored. A message goes out only while MSI-X is enabled, the function is
 * not masked and the vector is not masked; otherwise the pending bit records it, and the message
 * is sent when the mask is lifted (§6.8.2.9 "Vector Control", §6.8.2.10 "Pending Bits").
 *
 *   cap +0  ID 0x11 | next | message control (15 enable, 14 function mask, 10:0 size-1)
 *       +4  table offset | BIR          +8  PBA offset | BIR
 *   entry   +0 addr lo  +4 addr hi  +8 data  +12 vector control (bit 0 mask)
 */
#include "dev/pci/pci_msix.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "base/ckd.h"
#include "base/statefile.h"

#define LOG_TAG "msix"
#include "base/log.h"

#define MSI_ADDR_MASK 0xfff00000u
#define MSI_ADDR_BASE 0xfee00000u

/* BAR (bar) is declared and [off, off+len) fits in it. */
static bool fits_bar(const struct pci_dev *dev, unsigned bar, uint64_t off, uint64_t len)
{
    return bar < PCI_NUM_BARS && dev->bars[bar].type != PCI_BAR_NONE &&
           dev->bars[bar].type != PCI_BAR_IO && !range_outside(off, len, dev->bars[bar].size);
}

int pci_msix_init(struct pci_msix *msix, struct pci_dev *dev, const struct platform *plat,
                  uint16_t nvec, unsigned table_bar, uint32_t table_off, unsigned pba_bar,
                  uint32_t pba_off)
{
    uint32_t table_len = (uint32_t)nvec * PCI_MSIX_ENTRY_SIZE, pba_len = pci_msix_pba_size(nvec);
    uint8_t cap[PCI_MSIX_CAP_LEN] = {PCI_CAP_ID_MSIX, 0};
    uint16_t off;
    int ret;

    memset(msix, 0, sizeof(*msix));
    if (nvec == 0 || nvec > PCI_MSIX_MAX_VECTORS || (table_off & 7) || (pba_off & 7) ||
        !fits_bar(dev, table_bar, table_off, table_len) ||
        !fits_bar(dev, pba_bar, pba_off, pba_len))
        return -EINVAL;
    if (table_bar == pba_bar && table_off < pba_off + pba_len && pba_off < table_off + table_len)
        return -EINVAL;
    uint16_t ctrl = (uint16_t)(nvec - 1);
    uint32_t table_reg = table_off | table_bar, pba_reg = pba_off | pba_bar;
    memcpy(&cap[2], &ctrl, 2);
    memcpy(&cap[4], &table_reg, 4);
    memcpy(&cap[8], &pba_reg, 4);
    msix->table = calloc(nvec, sizeof(*msix->table));
    msix->pba = calloc(pba_len / 8, sizeof(uint64_t));
    if (!msix->table || !msix->pba) {
        ret = -ENOMEM;
        goto err_free;
    }
    ret = pci_dev_add_cap(dev, cap, sizeof(cap), &off);
    if (ret < 0)
        goto err_free;
    pci_dev_set_wmask(dev, (uint16_t)(off + 3),
                      (PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL) >> 8, 1);
    pthread_mutex_init(&msix->lock, NULL);
    msix->dev = dev;
    msix->plat = *plat;
    msix->nvec = nvec;
    msix->cap_off = off;
    msix->table_bar = (uint8_t)table_bar;
    msix->table_off = table_off;
    msix->pba_bar = (uint8_t)pba_bar;
    msix->pba_off = pba_off;
    for (unsigned i = 0; i < nvec; i++)
        msix->table[i].ctrl = PCI_MSIX_ENTRY_CTRL_MASKBIT;
    dev->msix = msix;
    return 0;
err_free:
    free(msix->table);
    free(msix->pba);
    msix->table = NULL;
    msix->pba = NULL;
    return ret;
}

void pci_msix_fini(struct pci_msix *msix)
{
    if (!msix->table)
        return;
    if (msix->dev && msix->dev->msix == msix)
        msix->dev->msix = NULL;
    pthread_mutex_destroy(&msix->lock);
    free(msix->table);
    free(msix->pba);
    msix->table = NULL;
    msix->pba = NULL;
}

static bool is_pending(const struct pci_msix *msix, unsigned v)
{
    return (msix->pba[v / 64] >> (v % 64)) & 1;
}

static void set_pending(struct pci_msix *msix, unsigned v, bool on)
{
    uint64_t bit = 1ULL << (v % 64);
    msix->pba[v / 64] = on ? msix->pba[v / 64] | bit : msix->pba[v / 64] & ~bit;
}

/* Sends vector (v)'s message. Called with msix->lock held. */
static int send(struct pci_msix *msix, unsigned v)
{
    const struct pci_msix_entry *e = &msix->table[v];
    if ((e->addr_lo & MSI_ADDR_MASK) != MSI_ADDR_BASE) {
        log_ratelimited(LOG_DEBUG, "%s: vector %u has a non-MSI address 0x%08x, dropped",
                        msix->dev->name, v, e->addr_lo);
        return -EINVAL;
    }
    int ret = msix->plat.ops->send_msi(msix->plat.opaque, (uint64_t)e->addr_hi << 32 | e->addr_lo,
                                       e->data);
    if (ret < 0)
        log_ratelimited(LOG_WARN, "%s: vector %u: send_msi failed: %d", msix->dev->name, v, ret);
    return ret;
}

static bool can_send(const struct pci_msix *msix, unsigned v)
{
    return msix->is_enabled && !msix->is_masked &&
           !(msix->table[v].ctrl & PCI_MSIX_ENTRY_CTRL_MASKBIT);
}

/* Delivers the pending vectors that may go now. Called with msix->lock held. */
static void flush_pending(struct pci_msix *msix, unsigned first, unsigned count)
{
    for (unsigned v = first; v < first + count; v++) {
        if (is_pending(msix, v) && can_send(msix, v)) {
            set_pending(msix, v, false);
            send(msix, v);
        }
    }
}

int pci_msix_notify(struct pci_msix *msix, unsigned vector)
{
    int ret;
    if (vector >= msix->nvec)
        return -EINVAL;
    pthread_mutex_lock(&msix->lock);
    if (!msix->is_enabled) {
        ret = -ENODEV;
    } else if (!can_send(msix, vector)) {
        set_pending(msix, vector, true);
        ret = -EAGAIN;
    } else {
        ret = send(msix, vector);
    }
    pthread_mutex_unlock(&msix->lock);
    return ret;
}

bool pci_msix_is_enabled(struct pci_msix *msix)
{
    pthread_mutex_lock(&msix->lock);
    bool is_enabled = msix->is_enabled;
    pthread_mutex_unlock(&msix->lock);
    return is_enabled;
}

bool pci_msix_get_msg(struct pci_msix *msix, unsigned vector, uint64_t *addr, uint32_t *data,
                      bool *is_masked)
{
    if (vector >= msix->nvec)
        return false;
    pthread_mutex_lock(&msix->lock);
    const struct pci_msix_entry *e = &msix->table[vector];
    *addr = (uint64_t)e->addr_hi << 32 | e->addr_lo;
    *data = e->data;
    *is_masked = !can_send(msix, vector);
    pthread_mutex_unlock(&msix->lock);
    return true;
}

void pci_msix_cfg_written(struct pci_msix *msix)
{
    uint16_t ctrl = pci_cfg_get16(msix->dev, (uint16_t)(msix->cap_off + 2));
    pthread_mutex_lock(&msix->lock);
    msix->is_enabled = ctrl & PCI_MSIX_FLAGS_ENABLE;
    msix->is_masked = ctrl & PCI_MSIX_FLAGS_MASKALL;
    flush_pending(msix, 0, msix->nvec);
    pthread_mutex_unlock(&msix->lock);
}

void pci_msix_reset(struct pci_msix *msix)
{
    uint16_t ctrl_off = (uint16_t)(msix->cap_off + 2);
    pthread_mutex_lock(&msix->lock);
    for (unsigned i = 0; i < msix->nvec; i++)
        msix->table[i] = (struct pci_msix_entry){.ctrl = PCI_MSIX_ENTRY_CTRL_MASKBIT};
    memset(msix->pba, 0, pci_msix_pba_size(msix->nvec));
    msix->is_enabled = false;
    msix->is_masked = false;
    pci_cfg_set16(msix->dev, ctrl_off,
                  pci_cfg_get16(msix->dev, ctrl_off) & (uint16_t)PCI_MSIX_FLAGS_QSIZE);
    pthread_mutex_unlock(&msix->lock);
}

/* Classifies [off, off+size) of BAR (bar): 1 table, 2 PBA, 0 neither. */
static int region(const struct pci_msix *msix, unsigned bar, uint64_t off, unsigned size,
                  uint64_t *rel)
{
    uint64_t table_len = (uint64_t)msix->nvec * PCI_MSIX_ENTRY_SIZE;
    uint64_t pba_len = pci_msix_pba_size(msix->nvec);
    uint64_t end;
    if (ckd_add(&end, off, size))
        return 0;
    if (bar == msix->table_bar && off < msix->table_off + table_len && msix->table_off < end) {
        *rel = off - msix->table_off;
        return 1;
    }
    if (bar == msix->pba_bar && off < msix->pba_off + pba_len && msix->pba_off < end) {
        *rel = off - msix->pba_off;
        return 2;
    }
    return 0;
}

/* A valid table/PBA access: 4 or 8 bytes, naturally aligned, starting inside the region (the
 * region lengths are multiples of 8, so it then also ends inside). */
static bool valid_access(uint64_t off, unsigned size, uint64_t region_start, uint64_t rel)
{
    return (size == 4 || size == 8) && (off & (size - 1)) == 0 && off >= region_start &&
           (rel & (size - 1)) == 0;
}

static uint32_t table_dword(const struct pci_msix *msix, uint64_t rel)
{
    const struct pci_msix_entry *e = &msix->table[rel / PCI_MSIX_ENTRY_SIZE];
    const uint32_t words[4] = {e->addr_lo, e->addr_hi, e->data, e->ctrl};
    return words[(rel % PCI_MSIX_ENTRY_SIZE) / 4];
}

bool pci_msix_bar_read(struct pci_msix *msix, unsigned bar, uint64_t off, unsigned size,
                       uint64_t *val)
{
    uint64_t rel = 0;
    int r = region(msix, bar, off, size, &rel);
    if (r == 0)
        return false;
    *val = UINT64_MAX;
    if (!valid_access(off, size, r == 1 ? msix->table_off : msix->pba_off, rel)) {
        log_ratelimited(LOG_DEBUG, "%s: bad %u-byte MSI-X read at 0x%" PRIx64, msix->dev->name,
                        size, off);
        return true;
    }
    pthread_mutex_lock(&msix->lock);
    if (r == 1) {
        *val = table_dword(msix, rel);
        if (size == 8)
            *val |= (uint64_t)table_dword(msix, rel + 4) << 32;
    } else {
        uint64_t word = msix->pba[rel / 8];
        *val = size == 8 ? word : (uint32_t)(word >> (8 * (rel % 8)));
    }
    pthread_mutex_unlock(&msix->lock);
    return true;
}

/* Called with msix->lock held. */
static void table_write_dword(struct pci_msix *msix, uint64_t rel, uint32_t val)
{
    unsigned v = (unsigned)(rel / PCI_MSIX_ENTRY_SIZE);
    struct pci_msix_entry *e = &msix->table[v];
    switch ((rel % PCI_MSIX_ENTRY_SIZE) / 4) {
    case 0:
        e->addr_lo = val & ~3u; /* DWORD aligned: bits 1:0 are read-only zero */
        break;
    case 1:
        e->addr_hi = val;
        break;
    case 2:
        e->data = val;
        break;
    default:
        e->ctrl = (e->ctrl & ~PCI_MSIX_ENTRY_CTRL_MASKBIT) | (val & PCI_MSIX_ENTRY_CTRL_MASKBIT);
        flush_pending(msix, v, 1);
    }
}

bool pci_msix_bar_write(struct pci_msix *msix, unsigned bar, uint64_t off, uint64_t val,
                        unsigned size)
{
    uint64_t rel = 0;
    int r = region(msix, bar, off, size, &rel);
    if (r == 0)
        return false;
    if (r == 2)
        return true; /* the PBA is read-only */
    if (!valid_access(off, size, msix->table_off, rel)) {
        log_ratelimited(LOG_DEBUG, "%s: bad %u-byte MSI-X write at 0x%" PRIx64, msix->dev->name,
                        size, off);
        return true;
    }
    pthread_mutex_lock(&msix->lock);
    table_write_dword(msix, rel, (uint32_t)val);
    if (size == 8)
        table_write_dword(msix, rel + 4, (uint32_t)(val >> 32));
    pthread_mutex_unlock(&msix->lock);
    return true;
}

/* ---- saved state ---- */

void pci_msix_save(struct pci_msix *msix, struct sf_buf *b)
{
    pthread_mutex_lock(&msix->lock);
    sf_put_u16(b, msix->nvec);
    for (unsigned i = 0; i < msix->nvec; i++) {
        sf_put_u32(b, msix->table[i].addr_lo);
        sf_put_u32(b, msix->table[i].addr_hi);
        sf_put_u32(b, msix->table[i].data);
        sf_put_u32(b, msix->table[i].ctrl);
    }
    for (unsigned i = 0; i < pci_msix_pba_size(msix->nvec) / 8; i++)
        sf_put_u64(b, msix->pba[i]);
    pthread_mutex_unlock(&msix->lock);
}

int pci_msix_load(struct pci_msix *msix, struct sf_in *in)
{
    unsigned nwords = pci_msix_pba_size(msix->nvec) / 8;
    uint16_t ctrl = pci_cfg_get16(msix->dev, (uint16_t)(msix->cap_off + 2));
    struct pci_msix_entry *table = calloc(msix->nvec, sizeof(*table));
    uint64_t *pba = calloc(nwords, sizeof(*pba));
    int ret = -EINVAL;

    if (table == NULL || pba == NULL) {
        ret = -ENOMEM;
        goto out;
    }
    if (sf_get_u16(in) != msix->nvec)
        goto out;
    for (unsigned i = 0; i < msix->nvec; i++) {
        table[i].addr_lo = sf_get_u32(in);
        table[i].addr_hi = sf_get_u32(in);
        table[i].data = sf_get_u32(in);
        /* only the mask bit is writable (bits 31:1 are reserved and read 0) */
        table[i].ctrl = sf_get_u32(in);
        if (table[i].ctrl & ~(uint32_t)PCI_MSIX_ENTRY_CTRL_MASKBIT)
            goto out;
    }
    for (unsigned i = 0; i < nwords; i++)
        pba[i] = sf_get_u64(in);
    /* no pending bit past the last vector */
    if (in->bad || (msix->nvec % 64 != 0 && (pba[nwords - 1] >> (msix->nvec % 64)) != 0))
        goto out;
    pthread_mutex_lock(&msix->lock);
    memcpy(msix->table, table, msix->nvec * sizeof(*table));
    memcpy(msix->pba, pba, nwords * sizeof(*pba));
    /* the message control bits came back with the config space (pci_host_load) */
    msix->is_enabled = ctrl & PCI_MSIX_FLAGS_ENABLE;
    msix->is_masked = ctrl & PCI_MSIX_FLAGS_MASKALL;
    pthread_mutex_unlock(&msix->lock);
    ret = 0;
out:
    free(table);
    free(pba);
    return ret;
}
