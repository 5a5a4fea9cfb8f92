/* SPDX-License-Identifier: MIT */
/*
 * AML byte-code builder (ACPI 6.5 §20.2 "AML Grammar Definition" for the terms and §6.4
 * "Resource Data Types for ACPI" for the resource descriptors). Opened objects remember where
 * their body starts; aml_end() then inserts the PkgLength (and a Buffer's size) in front of the
 * body, so every length is encoded in its shortest form.
 */
#include "core/x86/aml.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/x86/aml_internal.h"

/* The EndTag of a resource template (§6.4.2.9), written by aml_end(). */
#define RES_END_TAG 0x79

enum {
    ZERO_OP = 0x00,
    ONE_OP = 0x01,
    NAME_OP = 0x08,
    BYTE_PREFIX = 0x0a,
    WORD_PREFIX = 0x0b,
    DWORD_PREFIX = 0x0c,
    STRING_PREFIX = 0x0d,
    QWORD_PREFIX = 0x0e,
    SCOPE_OP = 0x10,
    BUFFER_OP = 0x11,
    PACKAGE_OP = 0x12,
    METHOD_OP = 0x14,
    DUAL_NAME_PREFIX = 0x2e,
    MULTI_NAME_PREFIX = 0x2f,
    EXT_OP_PREFIX = 0x5b,
    DEVICE_OP = 0x82, /* after EXT_OP_PREFIX */
    ROOT_CHAR = 0x5c,
    LOCAL0_OP = 0x60,
    ARG0_OP = 0x68,
    IF_OP = 0xa0,
    ELSE_OP = 0xa1,
    OP_REGION_OP = 0x80, /* after EXT_OP_PREFIX */
    FIELD_OP = 0x81,     /* after EXT_OP_PREFIX */
    PARENT_PREFIX_CHAR = 0x5e,
    RETURN_OP = 0xa4,
    ONES_OP = 0xff,
};

void aml_init(struct aml *a)
{
    memset(a, 0, sizeof(*a));
}

void aml_fini(struct aml *a)
{
    free(a->data);
    aml_init(a);
}

int aml_finish(const struct aml *a)
{
    if (a->err)
        return a->err;
    return a->depth ? -EINVAL : 0;
}

void aml_fail(struct aml *a, int err)
{
    if (!a->err)
        a->err = err;
}

static bool reserve(struct aml *a, size_t n)
{
    size_t need, cap;
    uint8_t *p;

    if (a->err)
        return false;
    if (n > SIZE_MAX - a->len) {
        aml_fail(a, -ENOMEM);
        return false;
    }
    need = a->len + n;
    if (need <= a->cap)
        return true;
    cap = a->cap ? a->cap : 256;
    while (cap < need)
        cap *= 2;
    p = realloc(a->data, cap);
    if (!p) {
        aml_fail(a, -ENOMEM);
        return false;
    }
    a->data = p;
    a->cap = cap;
    return true;
}

void aml_bytes(struct aml *a, const void *p, size_t n)
{
    if (n == 0 || !reserve(a, n))
        return;
    memcpy(a->data + a->len, p, n);
    a->len += n;
}

void aml_byte(struct aml *a, uint8_t b)
{
    aml_bytes(a, &b, 1);
}

/* Appends the low (n) bytes of (v), little-endian. */
void aml_put_le(struct aml *a, uint64_t v, unsigned n)
{
    uint8_t b[8];

    for (unsigned i = 0; i < n; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    aml_bytes(a, b, n);
}

/* Inserts (n) bytes at offset (pos), shifting what follows. */
static void insert(struct aml *a, size_t pos, const uint8_t *p, size_t n)
{
    if (!reserve(a, n))
        return;
    memmove(a->data + pos + n, a->data + pos, a->len - pos);
    memcpy(a->data + pos, p, n);
    a->len += n;
}

static bool is_lead_char(char c)
{
    return (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_name_char(char c)
{
    return is_lead_char(c) || (c >= '0' && c <= '9');
}

/* Parses one segment at (*s) into (seg), advancing past it and a following '.'. */
static bool parse_seg(const char **s, uint8_t seg[4])
{
    const char *p = *s;
    unsigned n = 0;

    if (!is_lead_char(*p))
        return false;
    while (n < 4 && is_name_char(p[n]))
        n++;
    if (p[n] != '\0' && p[n] != '.')
        return false;
    memset(seg, '_', 4);
    memcpy(seg, p, n);
    p += n;
    if (*p == '.') {
        p++;
        if (*p == '\0')
            return false;
    }
    *s = p;
    return true;
}

/* Encodes the bit width of a NamedField (§20.2.5.2) into (out); returns its size, 0 if too wide.
 * One byte holds up to 63; otherwise the lead byte's bits 7-6 give the number of following
 * bytes and its bits 3-0 the low nibble. */
static unsigned field_length(unsigned bits, uint8_t out[4])
{
    unsigned extra;

    if (bits <= 0x3f) {
        out[0] = (uint8_t)bits;
        return 1;
    }
    for (extra = 1; extra <= 2; extra++) {
        if (bits < (1u << (4 + 8 * extra)))
            break;
    }
    if (extra > 2)
        return 0;
    out[0] = (uint8_t)((extra << 6) | (bits & 0x0f));
    for (unsigned i = 0; i < extra; i++)
        out[1 + i] = (uint8_t)(bits >> (4 + 8 * i));
    return 1 + extra;
}

void aml_namestring(struct aml *a, const char *name)
{
    uint8_t segs[255][4];
    unsigned nseg = 0;
    const char *p = name;

    if (*p == '\\') {
        aml_byte(a, ROOT_CHAR);
        p++;
    } else {
        for (; *p == '^'; p++)
            aml_byte(a, PARENT_PREFIX_CHAR);
    }
    while (*p != '\0') {
        if (nseg == 255 || !parse_seg(&p, segs[nseg])) {
            aml_fail(a, -EINVAL);
            return;
        }
        nseg++;
    }
    if (nseg == 0) {
        aml_byte(a, ZERO_OP); /* NullName */
        return;
    }
    if (nseg == 2) {
        aml_byte(a, DUAL_NAME_PREFIX);
    } else if (nseg > 2) {
        aml_byte(a, MULTI_NAME_PREFIX);
        aml_byte(a, (uint8_t)nseg);
    }
    aml_bytes(a, segs, (size_t)nseg * 4);
}

void aml_integer(struct aml *a, uint64_t v)
{
    if (v == 0) {
        aml_byte(a, ZERO_OP);
    } else if (v == 1) {
        aml_byte(a, ONE_OP);
    } else if (v == UINT64_MAX) {
        aml_byte(a, ONES_OP);
    } else if (v <= UINT8_MAX) {
        aml_byte(a, BYTE_PREFIX);
        aml_put_le(a, v, 1);
    } else if (v <= UINT16_MAX) {
        aml_byte(a, WORD_PREFIX);
        aml_put_le(a, v, 2);
    } else if (v <= UINT32_MAX) {
        aml_byte(a, DWORD_PREFIX);
        aml_put_le(a, v, 4);
    } else {
        aml_byte(a, QWORD_PREFIX);
        aml_put_le(a, v, 8);
    }
}

void aml_string(struct aml *a, const char *s)
{
    for (const char *p = s; *p; p++) {
        if ((unsigned char)*p > 0x7f) {
            aml_fail(a, -EINVAL);
            return;
        }
    }
    aml_byte(a, STRING_PREFIX);
    aml_bytes(a, s, strlen(s) + 1);
}

uint32_t aml_eisaid_value(const char *id)
{
    uint32_t v = 0;

    if (strlen(id) != 7)
        return 0;
    for (unsigned i = 0; i < 3; i++) {
        if (id[i] < 'A' || id[i] > 'Z')
            return 0;
        v = (v << 5) | (uint32_t)(id[i] - 'A' + 1);
    }
    for (unsigned i = 3; i < 7; i++) {
        char c = id[i];
        unsigned d;
        if (c >= '0' && c <= '9')
            d = (unsigned)(c - '0');
        else if (c >= 'A' && c <= 'F')
            d = (unsigned)(c - 'A' + 10);
        else
            return 0;
        v = (v << 4) | d;
    }
    /* Stored as a big-endian 32-bit value: swap into the little-endian DWordConst. */
    return __builtin_bswap32(v);
}

void aml_eisaid(struct aml *a, const char *id)
{
    uint32_t v = aml_eisaid_value(id);

    if (v == 0) {
        aml_fail(a, -EINVAL);
        return;
    }
    aml_byte(a, DWORD_PREFIX);
    aml_put_le(a, v, 4);
}

void aml_name(struct aml *a, const char *name)
{
    aml_byte(a, NAME_OP);
    aml_namestring(a, name);
}

void aml_name_integer(struct aml *a, const char *name, uint64_t v)
{
    aml_name(a, name);
    aml_integer(a, v);
}

void aml_name_string(struct aml *a, const char *name, const char *s)
{
    aml_name(a, name);
    aml_string(a, s);
}

void aml_name_eisaid(struct aml *a, const char *name, const char *id)
{
    aml_name(a, name);
    aml_eisaid(a, id);
}

void aml_return(struct aml *a)
{
    aml_byte(a, RETURN_OP);
}

void aml_arg(struct aml *a, unsigned n)
{
    if (n > 6) {
        aml_fail(a, -EINVAL);
        return;
    }
    aml_byte(a, (uint8_t)(ARG0_OP + n));
}

void aml_local(struct aml *a, unsigned n)
{
    if (n > 7) {
        aml_fail(a, -EINVAL);
        return;
    }
    aml_byte(a, (uint8_t)(LOCAL0_OP + n));
}

void aml_op(struct aml *a, enum aml_op op)
{
    aml_byte(a, (uint8_t)op);
}

void aml_operation_region(struct aml *a, const char *name, enum aml_region_space space,
                          uint64_t offset, uint64_t len)
{
    aml_byte(a, EXT_OP_PREFIX);
    aml_byte(a, OP_REGION_OP);
    aml_namestring(a, name);
    aml_byte(a, (uint8_t)space);
    aml_integer(a, offset);
    aml_integer(a, len);
}

static void push(struct aml *a, enum aml_scope_kind kind)
{
    if (a->err)
        return;
    if (a->depth >= AML_MAX_DEPTH) {
        aml_fail(a, -E2BIG);
        return;
    }
    a->open[a->depth].start = a->len;
    a->open[a->depth].kind = kind;
    a->depth++;
}

void aml_scope_begin(struct aml *a, const char *name)
{
    aml_byte(a, SCOPE_OP);
    push(a, AML_PKG);
    aml_namestring(a, name);
}

void aml_device_begin(struct aml *a, const char *name)
{
    aml_byte(a, EXT_OP_PREFIX);
    aml_byte(a, DEVICE_OP);
    push(a, AML_PKG);
    aml_namestring(a, name);
}

void aml_method_begin(struct aml *a, const char *name, unsigned nargs, bool is_serialized)
{
    if (nargs > 7) {
        aml_fail(a, -EINVAL);
        return;
    }
    aml_byte(a, METHOD_OP);
    push(a, AML_PKG);
    aml_namestring(a, name);
    aml_byte(a, (uint8_t)(nargs | (is_serialized ? 0x08 : 0)));
}

void aml_if_begin(struct aml *a)
{
    aml_byte(a, IF_OP);
    push(a, AML_PKG);
}

void aml_else_begin(struct aml *a)
{
    aml_byte(a, ELSE_OP);
    push(a, AML_PKG);
}

void aml_field_begin(struct aml *a, const char *region, uint8_t flags)
{
    aml_byte(a, EXT_OP_PREFIX);
    aml_byte(a, FIELD_OP);
    push(a, AML_PKG);
    aml_namestring(a, region);
    aml_byte(a, flags);
}

void aml_field_unit(struct aml *a, const char *name, unsigned bits)
{
    uint8_t seg[4], len[4];
    const char *p = name;
    unsigned n;

    /* NamedField: a bare NameSeg, then the width in bits in PkgLength encoding (without the
     * encoding's own bytes, unlike a package's length). */
    if (!parse_seg(&p, seg) || *p != '\0' || bits == 0) {
        aml_fail(a, -EINVAL);
        return;
    }
    n = field_length(bits, len);
    if (n == 0) {
        aml_fail(a, -EINVAL);
        return;
    }
    aml_bytes(a, seg, 4);
    aml_bytes(a, len, n);
}

void aml_package_begin(struct aml *a, unsigned n)
{
    if (n > 255) {
        aml_fail(a, -EINVAL);
        return;
    }
    aml_byte(a, PACKAGE_OP);
    push(a, AML_PKG);
    aml_byte(a, (uint8_t)n);
}

void aml_buffer_begin(struct aml *a)
{
    aml_byte(a, BUFFER_OP);
    push(a, AML_BUFFER);
}

void aml_restemplate_begin(struct aml *a)
{
    aml_byte(a, BUFFER_OP);
    push(a, AML_RESTEMPLATE);
}

/*
 * Encodes PkgLength (§20.2.4) for a body of (body_len) bytes into (out); returns its size.
 * The length counts the PkgLength bytes themselves. One byte holds up to 63; otherwise the
 * lead byte's bits 7-6 give the number of following bytes and its bits 3-0 the low nibble.
 */
static unsigned pkg_length(size_t body_len, uint8_t out[4])
{
    size_t total;
    unsigned extra;

    if (body_len + 1 <= 0x3f) {
        out[0] = (uint8_t)(body_len + 1);
        return 1;
    }
    for (extra = 1; extra <= 3; extra++) {
        total = body_len + 1 + extra;
        if (total < ((size_t)1 << (4 + 8 * extra)))
            break;
    }
    if (extra > 3)
        return 0;
    out[0] = (uint8_t)((extra << 6) | (total & 0x0f));
    for (unsigned i = 0; i < extra; i++)
        out[1 + i] = (uint8_t)(total >> (4 + 8 * i));
    return 1 + extra;
}

/* Appends the EndTag of a resource template that starts at (start), with its checksum. */
static void end_tag(struct aml *a, size_t start)
{
    uint8_t sum = RES_END_TAG;

    for (size_t i = start; i < a->len; i++)
        sum = (uint8_t)(sum + a->data[i]);
    aml_byte(a, RES_END_TAG);
    aml_byte(a, (uint8_t)(0x100 - sum));
}

void aml_end(struct aml *a)
{
    uint8_t hdr[4];
    size_t start;
    unsigned n;

    if (a->err)
        return;
    if (a->depth == 0) {
        aml_fail(a, -EINVAL);
        return;
    }
    a->depth--;
    start = a->open[a->depth].start;
    if (a->open[a->depth].kind == AML_RESTEMPLATE)
        end_tag(a, start);
    if (a->open[a->depth].kind != AML_PKG) {
        /* BufferSize: an integer term before the byte list, inside the PkgLength. */
        struct aml size;
        aml_init(&size);
        aml_integer(&size, a->len - start);
        if (size.err)
            aml_fail(a, size.err);
        else
            insert(a, start, size.data, size.len);
        aml_fini(&size);
    }
    n = pkg_length(a->len - start, hdr);
    if (n == 0) {
        aml_fail(a, -E2BIG);
        return;
    }
    insert(a, start, hdr, n);
}
