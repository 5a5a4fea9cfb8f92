/* SPDX-License-Identifier: MIT */
/*
 * A small AML byte-code builder (ACPI 6.5 chapter 20, "ACPI Machine Language Specification"),
 * enough to write a static DSDT: integers, strings, name strings, Name, Scope, Device, Method,
 * Package, Buffer, Return, and resource templates (§6.4 "Resource Data Types for ACPI") with
 * IO, IRQ, Memory32Fixed, Word/DWord/QWord address space and extended interrupt descriptors.
 *
 * Usage: aml_init(), then append terms in order. Nested objects (Scope, Device, Method,
 * Package, Buffer, ResourceTemplate) are opened with *_begin() and closed with aml_end(), which
 * writes their PkgLength in its shortest encoding (§20.2.4). Errors (out of memory, bad name,
 * unbalanced nesting) are sticky: the first one is kept in a->err and later calls do nothing;
 * aml_finish() returns it. The builder is single-threaded and owns its buffer.
 */
#ifndef BAREIRON_CORE_X86_AML_H
#define BAREIRON_CORE_X86_AML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/compiler.h"

#define AML_MAX_DEPTH 16

enum aml_scope_kind { AML_PKG, AML_BUFFER, AML_RESTEMPLATE };

struct aml {
    uint8_t *data;
    size_t len, cap;
    int err; /* first error (negative errno), sticky */
    unsigned depth;
    struct {
        size_t start; /* offset where the object's body begins (after its opcode) */
        enum aml_scope_kind kind;
    } open[AML_MAX_DEPTH];
};

/* Starts an empty builder (caller-owned struct). */
void aml_init(struct aml *a);
/* Frees the buffer. */
void aml_fini(struct aml *a);
/* Returns a->err, or -EINVAL when objects are still open. The bytes are a->data[0..a->len). */
MUST_CHECK int aml_finish(const struct aml *a);

/* Raw bytes. */
void aml_byte(struct aml *a, uint8_t b);
void aml_bytes(struct aml *a, const void *p, size_t n);

/*
 * NameString (§20.2.2): an optional leading '\' or '^'s, then dot-separated segments of up to
 * four characters [A-Z0-9_] (the first not a digit), padded with '_' ("PCI0", "\_SB.PCI0",
 * "_S5"). An invalid name sets -EINVAL.
 */
void aml_namestring(struct aml *a, const char *name);
/* Integer in its shortest form: ZeroOp, OneOp, OnesOp, Byte/Word/DWord/QWordConst. */
void aml_integer(struct aml *a, uint64_t v);
/* String (ASCII, no NUL inside). */
void aml_string(struct aml *a, const char *s);
/* EISAID("PNP0A08") as a DWordConst (compressed EISA id, §6.1.5). Bad ids set -EINVAL. */
void aml_eisaid(struct aml *a, const char *id);
/* Returns the compressed EISA id of (id) ("AAA####", 7 chars), or 0 when malformed. */
uint32_t aml_eisaid_value(const char *id);

/* Name (name, <next object>): the caller appends the value right after. */
void aml_name(struct aml *a, const char *name);
/* Name (name, integer), Name (name, string), Name (name, EISAID(id)). */
void aml_name_integer(struct aml *a, const char *name, uint64_t v);
void aml_name_string(struct aml *a, const char *name, const char *s);
void aml_name_eisaid(struct aml *a, const char *name, const char *id);
/* Return (<next object>). */
void aml_return(struct aml *a);
/* ArgN (0..6), a method's argument as a term. */
void aml_arg(struct aml *a, unsigned n);

/* Nested objects, each closed by aml_end(). */
void aml_scope_begin(struct aml *a, const char *name);
void aml_device_begin(struct aml *a, const char *name);
/* Method (name, nargs 0..7, NotSerialized / Serialized). */
void aml_method_begin(struct aml *a, const char *name, unsigned nargs, bool is_serialized);
/* Package (n): the caller appends (n) elements (n <= 255). */
void aml_package_begin(struct aml *a, unsigned n);
/* Buffer () {bytes}: the size is filled in by aml_end(). */
void aml_buffer_begin(struct aml *a);
/* ResourceTemplate () {descriptors}: a Buffer ended with an EndTag carrying its checksum. */
void aml_restemplate_begin(struct aml *a);
/* Closes the innermost open object. */
void aml_end(struct aml *a);

/* Resource descriptors (§6.4), inside a resource template. */
/* IO (Decode16, min, max, align, len). */
void aml_res_io(struct aml *a, uint16_t min, uint16_t max, uint8_t align, uint8_t len);
/* IRQNoFlags () {irq}: ISA edge, active high (irq 0..15). */
void aml_res_irq(struct aml *a, unsigned irq);
/* Memory32Fixed (ReadWrite / ReadOnly, base, len). */
void aml_res_mem32_fixed(struct aml *a, bool is_rw, uint32_t base, uint32_t len);
/* WordBusNumber (ResourceProducer, MinFixed, MaxFixed, PosDecode, 0, min, max, 0, n). */
void aml_res_word_bus(struct aml *a, uint16_t min, uint16_t max);
/* WordIO (ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange, 0, min, max, 0, n). */
void aml_res_word_io(struct aml *a, uint16_t min, uint16_t max);
/* DWordIO: as aml_res_word_io with 32-bit fields. */
void aml_res_dword_io(struct aml *a, uint32_t min, uint32_t max);
/* DWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, NonCacheable or Prefetchable,
 * ReadWrite, 0, min, max, 0, n). */
void aml_res_dword_mem(struct aml *a, bool is_prefetchable, uint32_t min, uint32_t max);
/* QWordMemory: as aml_res_dword_mem with 64-bit fields. */
void aml_res_qword_mem(struct aml *a, bool is_prefetchable, uint64_t min, uint64_t max);
/* Interrupt (ResourceConsumer, Level / Edge, ActiveHigh / ActiveLow, Exclusive) {gsi}. */
void aml_res_interrupt(struct aml *a, bool is_level, bool is_active_low, uint32_t gsi);

#endif
