/* SPDX-License-Identifier: MIT */
/*
 * A small AML byte-code builder (ACPI 6.5 chapter 20, "ACPI Machine Language Specification"),
 * enough to write a DSDT: integers, strings, name strings, Name, Scope, Device, Method,
 * Package, Buffer, Return, OperationRegion and Field, If/Else and the operators a small method
 * body needs (Store, And, Or, LLess, LEqual, CreateDWordField, Locals, method calls), and
 * resource templates (§6.4 "Resource Data Types for ACPI") with IO, IRQ, DMA, Memory32Fixed,
 * Word/DWord/QWord address space and extended interrupt descriptors. The resource descriptors
 * are in core/x86/aml_res.c.
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

/* LocalN (0..7), a method's local variable as a term or a target. */
void aml_local(struct aml *a, unsigned n);

/*
 * Operators of method bodies (§20.2.5), in prefix form: aml_op() writes the opcode and the
 * caller appends its operands in order, each a term (an integer, a name, ArgN, LocalN or
 * another operator). Targets (And, Or, Add) are a name, a LocalN, or aml_namestring(a, "")
 * (NullName: no target). A method call is its name followed by its arguments; the method must
 * be defined earlier in the table so that a parser knows how many arguments it takes.
 */
enum aml_op {
    AML_OP_STORE = 0x70,              /* Store (value, target) */
    AML_OP_ADD = 0x72,                /* Add (a, b, target) */
    AML_OP_AND = 0x7b,                /* And (a, b, target) */
    AML_OP_OR = 0x7d,                 /* Or (a, b, target) */
    AML_OP_INDEX = 0x88,              /* Index (buffer or package, index, target) */
    AML_OP_CREATE_DWORD_FIELD = 0x8a, /* CreateDWordField (buffer, byte index, name) */
    AML_OP_LAND = 0x90,               /* LAnd (a, b) */
    AML_OP_LNOT = 0x92,               /* LNot (a) */
    AML_OP_LEQUAL = 0x93,             /* LEqual (a, b) */
    AML_OP_LGREATER = 0x94,           /* LGreater (a, b) */
    AML_OP_LLESS = 0x95,              /* LLess (a, b) */
};
void aml_op(struct aml *a, enum aml_op op);

/* OperationRegion (name, space, offset, len) (§19.6.100). */
enum aml_region_space {
    AML_REGION_MEMORY = 0,
    AML_REGION_IO = 1,
    AML_REGION_PCI_CONFIG = 2,
};
void aml_operation_region(struct aml *a, const char *name, enum aml_region_space space,
                          uint64_t offset, uint64_t len);

/* FieldFlags (§19.6.48): access type in bits 3-0, lock rule bit 4, update rule bits 6-5. */
#define AML_FIELD_BYTE_ACC 0x01u
#define AML_FIELD_WORD_ACC 0x02u
#define AML_FIELD_DWORD_ACC 0x03u
#define AML_FIELD_LOCK 0x10u
#define AML_FIELD_WRITE_AS_ZEROS 0x40u

/* Field (region, flags) { units }: open with aml_field_begin(), add named units of (bits) bits
 * in order with aml_field_unit() (name: one NameSeg), close with aml_end(). */
void aml_field_begin(struct aml *a, const char *region, uint8_t flags);
void aml_field_unit(struct aml *a, const char *name, unsigned bits);

/* Nested objects, each closed by aml_end(). */
/* If (predicate) { terms }: the caller appends the predicate, then the terms. Else { terms }
 * right after the If is closed. */
void aml_if_begin(struct aml *a);
void aml_else_begin(struct aml *a);
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
/* Interrupt (ResourceConsumer, Level / Edge, ActiveHigh / ActiveLow, Shared / Exclusive)
 * {gsis[0], ..., gsis[n - 1]} (1 <= n <= 63). */
void aml_res_interrupts(struct aml *a, bool is_level, bool is_active_low, bool is_shared,
                        const uint32_t *gsis, unsigned n);
/* DMA (...) {channel} (0..7) with the flags byte of §6.4.2.2: bits 1-0 transfer size (0: 8-bit,
 * 1: 8 and 16, 2: 16), bit 2 bus master, bits 6-5 speed (0: compatibility). */
void aml_res_dma(struct aml *a, unsigned channel, uint8_t flags);

#endif
