/* SPDX-License-Identifier: MIT */
/*
 * Resource descriptors of the AML builder (ACPI 6.5 §6.4 "Resource Data Types for ACPI"),
 * appended inside a resource template opened with aml_restemplate_begin(). Small descriptors
 * (§6.4.2) are a tag byte with the length in its low bits; large ones (§6.4.3) a tag byte and a
 * 16-bit length.
 */
#include <errno.h>

#include "core/x86/aml.h"
#include "core/x86/aml_internal.h"

/* Resource descriptor tags (§6.4.2 small, §6.4.3 large). */
enum {
    RES_IRQ_NOFLAGS = 0x22,
    RES_DMA = 0x2a,
    RES_IO = 0x47,
    RES_MEM32_FIXED = 0x86,
    RES_DWORD_ADDR = 0x87,
    RES_WORD_ADDR = 0x88,
    RES_EXT_IRQ = 0x89,
    RES_QWORD_ADDR = 0x8a,
};

/* Address space descriptor fields (§6.4.3.5). */
enum {
    ADDR_TYPE_MEM = 0,
    ADDR_TYPE_IO = 1,
    ADDR_TYPE_BUS = 2,
    ADDR_GFLAGS_PRODUCER_FIXED = 0x0c, /* _MAF | _MIF, positive decode, producer */
    ADDR_IO_ENTIRE_RANGE = 0x03,
    ADDR_MEM_RW = 0x01,
    ADDR_MEM_PREFETCHABLE = 0x06,
};

void aml_res_io(struct aml *a, uint16_t min, uint16_t max, uint8_t align, uint8_t len)
{
    aml_byte(a, RES_IO);
    aml_byte(a, 0x01); /* 16-bit decode */
    aml_put_le(a, min, 2);
    aml_put_le(a, max, 2);
    aml_byte(a, align);
    aml_byte(a, len);
}

void aml_res_irq(struct aml *a, unsigned irq)
{
    if (irq > 15) {
        aml_fail(a, -EINVAL);
        return;
    }
    aml_byte(a, RES_IRQ_NOFLAGS);
    aml_put_le(a, 1u << irq, 2);
}

void aml_res_mem32_fixed(struct aml *a, bool is_rw, uint32_t base, uint32_t len)
{
    aml_byte(a, RES_MEM32_FIXED);
    aml_put_le(a, 9, 2);
    aml_byte(a, is_rw ? 1 : 0);
    aml_put_le(a, base, 4);
    aml_put_le(a, len, 4);
}

/*
 * Word/DWord/QWord address space descriptor (§6.4.3.5.1-3) with fields of (w) bytes:
 * granularity 0, [min, max], translation 0, length max - min + 1.
 */
static void addr_desc(struct aml *a, unsigned w, uint8_t type, uint8_t tflags, uint64_t min,
                      uint64_t max)
{
    static const uint8_t tags[9] = {
        [2] = RES_WORD_ADDR, [4] = RES_DWORD_ADDR, [8] = RES_QWORD_ADDR};

    if (min > max || (max - min == UINT64_MAX)) {
        aml_fail(a, -EINVAL);
        return;
    }
    aml_byte(a, tags[w]);
    aml_put_le(a, 3 + 5 * w, 2);
    aml_byte(a, type);
    aml_byte(a, ADDR_GFLAGS_PRODUCER_FIXED);
    aml_byte(a, tflags);
    aml_put_le(a, 0, w);
    aml_put_le(a, min, w);
    aml_put_le(a, max, w);
    aml_put_le(a, 0, w);
    aml_put_le(a, max - min + 1, w);
}

void aml_res_word_bus(struct aml *a, uint16_t min, uint16_t max)
{
    addr_desc(a, 2, ADDR_TYPE_BUS, 0, min, max);
}

void aml_res_word_io(struct aml *a, uint16_t min, uint16_t max)
{
    addr_desc(a, 2, ADDR_TYPE_IO, ADDR_IO_ENTIRE_RANGE, min, max);
}

void aml_res_dword_io(struct aml *a, uint32_t min, uint32_t max)
{
    addr_desc(a, 4, ADDR_TYPE_IO, ADDR_IO_ENTIRE_RANGE, min, max);
}

void aml_res_dword_mem(struct aml *a, bool is_prefetchable, uint32_t min, uint32_t max)
{
    addr_desc(a, 4, ADDR_TYPE_MEM, ADDR_MEM_RW | (is_prefetchable ? ADDR_MEM_PREFETCHABLE : 0), min,
              max);
}

void aml_res_qword_mem(struct aml *a, bool is_prefetchable, uint64_t min, uint64_t max)
{
    addr_desc(a, 8, ADDR_TYPE_MEM, ADDR_MEM_RW | (is_prefetchable ? ADDR_MEM_PREFETCHABLE : 0), min,
              max);
}

void aml_res_dma(struct aml *a, unsigned channel, uint8_t flags)
{
    if (channel > 7) {
        aml_fail(a, -EINVAL);
        return;
    }
    aml_byte(a, RES_DMA);
    aml_byte(a, (uint8_t)(1u << channel));
    aml_byte(a, flags);
}

void aml_res_interrupts(struct aml *a, bool is_level, bool is_active_low, bool is_shared,
                        const uint32_t *gsis, unsigned n)
{
    uint8_t flags = 0x01; /* consumer */

    if (n == 0 || n > 255 / 4) {
        aml_fail(a, -EINVAL);
        return;
    }
    if (!is_level)
        flags |= 0x02;
    if (is_active_low)
        flags |= 0x04;
    if (is_shared)
        flags |= 0x08;
    aml_byte(a, RES_EXT_IRQ);
    aml_put_le(a, 2 + 4 * n, 2);
    aml_byte(a, flags);
    aml_byte(a, (uint8_t)n);
    for (unsigned i = 0; i < n; i++)
        aml_put_le(a, gsis[i], 4);
}

void aml_res_interrupt(struct aml *a, bool is_level, bool is_active_low, uint32_t gsi)
{
    aml_res_interrupts(a, is_level, is_active_low, false, &gsi, 1);
}
