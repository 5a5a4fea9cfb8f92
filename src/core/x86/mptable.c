/* SPDX-License-Identifier: MIT */
/*
 * Intel MultiProcessor Specification 1.4 tables (§4.1 floating pointer, §4.2 configuration
 * table header, §4.3 base entries: processor, bus, I/O APIC, I/O interrupt and local interrupt
 * assignment). The floating pointer sits at MPTABLE_GPA (16-byte aligned, in 0xf0000-0xfffff)
 * and the configuration table right after it. Interrupt routing matches the ACPI tables: ISA
 * IRQ n on IOAPIC pin n except IRQ0 on pin 2 with the override, PCI INTx per PCI_INTX_GSI.
 * Without an 8259 there is no ExtINT entry. Without an IOAPIC there is no table at all: 64-bit
 * Linux that finds an MP table assumes symmetric I/O mode and masks the BSP's LINT0, so the
 * 8259's interrupts would never arrive (the IMCR bit of the floating pointer only counts on
 * 32-bit kernels).
 */
#include "core/x86/mptable.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/x86/layout.h"

#define MP_PACKED __attribute__((packed))
#define MP_SPEC_REV 4 /* 1.4 */
#define MP_APIC_VERSION 0x14
#define MP_IOAPIC_VERSION 0x11
#define MP_BUS_PCI 0
#define MP_BUS_ISA 1

enum { MP_PROCESSOR = 0, MP_BUS = 1, MP_IOAPIC = 2, MP_IOINT = 3, MP_LOCALINT = 4 };
enum { MP_INT = 0, MP_NMI = 1, MP_EXTINT = 3 };
/* I/O interrupt flags: polarity bits 1:0, trigger bits 3:2 (0 = conforms to the bus). */
#define MP_IRQ_CONFORMS 0x0
#define MP_IRQ_LEVEL_LOW 0xf

struct mp_floating {
    char signature[4]; /* "_MP_" */
    uint32_t config_gpa;
    uint8_t length; /* in 16-byte units: 1 */
    uint8_t spec_rev;
    uint8_t checksum;
    uint8_t feature[5]; /* all 0: a configuration table is present, virtual wire mode */
} MP_PACKED;
_Static_assert(sizeof(struct mp_floating) == 16, "MP floating pointer");

struct mp_config {
    char signature[4]; /* "PCMP" */
    uint16_t length;   /* base table, header included */
    uint8_t spec_rev;
    uint8_t checksum;
    char oem_id[8];
    char product_id[12];
    uint32_t oem_table_gpa;
    uint16_t oem_table_size;
    uint16_t entry_count;
    uint32_t lapic_gpa;
    uint16_t ext_length;
    uint8_t ext_checksum;
    uint8_t reserved;
} MP_PACKED;
_Static_assert(sizeof(struct mp_config) == 44, "MP configuration table header");

struct mp_processor {
    uint8_t type, apic_id, apic_version, flags; /* flags: bit 0 enabled, bit 1 BSP */
    uint32_t signature, features;
    uint32_t reserved[2];
} MP_PACKED;
_Static_assert(sizeof(struct mp_processor) == 20, "MP processor entry");

struct mp_bus {
    uint8_t type, bus_id;
    char bus_type[6];
} MP_PACKED;
_Static_assert(sizeof(struct mp_bus) == 8, "MP bus entry");

struct mp_ioapic {
    uint8_t type, id, version, flags; /* flags: bit 0 usable */
    uint32_t gpa;
} MP_PACKED;
_Static_assert(sizeof(struct mp_ioapic) == 8, "MP IOAPIC entry");

struct mp_irq {
    uint8_t type, irq_type;
    uint16_t flags;
    uint8_t src_bus, src_irq, dst_apic, dst_pin;
} MP_PACKED;
_Static_assert(sizeof(struct mp_irq) == 8, "MP interrupt entry");

struct writer {
    uint8_t *buf;
    size_t len, cap;
    unsigned count;
};

static void put(struct writer *w, const void *e, size_t len)
{
    if (w->len + len > w->cap) {
        w->len = w->cap + 1; /* overflow marker, checked at the end */
        return;
    }
    memcpy(w->buf + w->len, e, len);
    w->len += len;
    w->count++;
}

static void put_irq(struct writer *w, uint8_t type, uint8_t irq_type, uint16_t flags,
                    uint8_t src_bus, uint8_t src_irq, uint8_t dst_apic, uint8_t dst_pin)
{
    struct mp_irq e = {.type = type,
                       .irq_type = irq_type,
                       .flags = flags,
                       .src_bus = src_bus,
                       .src_irq = src_irq,
                       .dst_apic = dst_apic,
                       .dst_pin = dst_pin};
    put(w, &e, sizeof(e));
}

static uint8_t checksum(const uint8_t *p, size_t len)
{
    uint8_t sum = 0;

    for (size_t i = 0; i < len; i++)
        sum = (uint8_t)(sum + p[i]);
    return (uint8_t)(0x100 - sum);
}

static void put_cpus_buses(struct writer *w, const struct acpi_config *cfg, uint8_t ioapic_id)
{
    for (unsigned i = 0; i < cfg->ncpus; i++) {
        struct mp_processor p = {.type = MP_PROCESSOR,
                                 .apic_id = (uint8_t)i,
                                 .apic_version = MP_APIC_VERSION,
                                 .flags = (uint8_t)(i == 0 ? 3 : 1),
                                 .signature = 0x600, /* family 6 */
                                 .features = 0x201}; /* FPU, APIC */
        put(w, &p, sizeof(p));
    }
    struct mp_bus pci = {.type = MP_BUS, .bus_id = MP_BUS_PCI};
    struct mp_bus isa = {.type = MP_BUS, .bus_id = MP_BUS_ISA};
    memcpy(pci.bus_type, "PCI   ", 6);
    memcpy(isa.bus_type, "ISA   ", 6);
    if (cfg->has_pci)
        put(w, &pci, sizeof(pci));
    put(w, &isa, sizeof(isa));
    struct mp_ioapic io = {.type = MP_IOAPIC,
                           .id = ioapic_id,
                           .version = MP_IOAPIC_VERSION,
                           .flags = 1,
                           .gpa = (uint32_t)IOAPIC_GPA};
    put(w, &io, sizeof(io));
}

static void put_irqs(struct writer *w, const struct acpi_config *cfg, uint8_t ioapic_id)
{
    for (unsigned irq = 0; irq < 16; irq++) {
        unsigned pin = irq;
        if (cfg->has_irq0_override && irq == 2)
            continue; /* pin 2 carries IRQ0 */
        if (cfg->has_irq0_override && irq == 0)
            pin = 2;
        put_irq(w, MP_IOINT, MP_INT, MP_IRQ_CONFORMS, MP_BUS_ISA, (uint8_t)irq, ioapic_id,
                (uint8_t)pin);
    }
    for (unsigned slot = 0; cfg->has_pci && slot < 32; slot++) {
        for (unsigned pin = 0; pin < 4; pin++)
            put_irq(w, MP_IOINT, MP_INT, MP_IRQ_LEVEL_LOW, MP_BUS_PCI, (uint8_t)((slot << 2) | pin),
                    ioapic_id, (uint8_t)PCI_INTX_GSI(slot, pin + 1));
    }
    /* LINT0 of the BSP is the PIC's ExtINT (virtual wire); LINT1 of every CPU is NMI. */
    if (cfg->has_pic)
        put_irq(w, MP_LOCALINT, MP_EXTINT, MP_IRQ_CONFORMS, MP_BUS_ISA, 0, 0, 0);
    put_irq(w, MP_LOCALINT, MP_NMI, MP_IRQ_CONFORMS, MP_BUS_ISA, 0, 0xff, 1);
}

int mptable_build(struct gmem *gm, const struct acpi_config *cfg, uint64_t *gpa)
{
    struct writer w = {.cap = MPTABLE_SIZE - sizeof(struct mp_floating)};
    struct mp_floating fp = {.length = 1, .spec_rev = MP_SPEC_REV};
    struct mp_config hdr = {.spec_rev = MP_SPEC_REV, .lapic_gpa = (uint32_t)LAPIC_GPA};
    uint8_t ioapic_id = (uint8_t)cfg->ncpus;
    int ret = -ENOSPC;

    if (cfg->ncpus == 0 || cfg->ncpus > MAX_VCPUS)
        return -EINVAL;
    if (!cfg->has_ioapic)
        return -ENODEV;
    if (!gmem_ptr(gm, MPTABLE_GPA, MPTABLE_SIZE))
        return -EFAULT;
    w.buf = calloc(1, MPTABLE_SIZE);
    if (!w.buf)
        return -ENOMEM;
    w.len = sizeof(hdr);
    put_cpus_buses(&w, cfg, ioapic_id);
    put_irqs(&w, cfg, ioapic_id);
    if (w.len > w.cap || w.len > UINT16_MAX)
        goto out_free;
    memcpy(hdr.signature, "PCMP", 4);
    memcpy(hdr.oem_id, "BAREIRON", 8);
    memcpy(hdr.product_id, "PC          ", 12);
    hdr.length = (uint16_t)w.len;
    hdr.entry_count = (uint16_t)w.count;
    memcpy(w.buf, &hdr, sizeof(hdr));
    w.buf[offsetof(struct mp_config, checksum)] = checksum(w.buf, w.len);

    memcpy(fp.signature, "_MP_", 4);
    fp.config_gpa = (uint32_t)(MPTABLE_GPA + sizeof(fp));
    fp.checksum = checksum((const uint8_t *)&fp, sizeof(fp));
    ret = gmem_write(gm, MPTABLE_GPA, &fp, sizeof(fp));
    if (ret == 0)
        ret = gmem_write(gm, MPTABLE_GPA + sizeof(fp), w.buf, MPTABLE_SIZE - sizeof(fp));
    if (ret == 0 && gpa)
        *gpa = MPTABLE_GPA;
out_free:
    free(w.buf);
    return ret;
}
