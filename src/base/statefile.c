/* SPDX-License-Identifier: MIT */
/* Implementation of base/statefile.h: the saved-state container, its parser and its writer. */
#include "base/statefile.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "base/ckd.h"
#include "base/util.h"

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
    return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static void wr32(uint8_t *p, uint32_t v)
{
    for (unsigned i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void wr64(uint8_t *p, uint64_t v)
{
    wr32(p, (uint32_t)v);
    wr32(p + 4, (uint32_t)(v >> 32));
}

uint32_t sf_crc_update(uint32_t prev, const void *data, size_t n)
{
    const uint8_t *p = data;
    uLong c = prev;
    /* zlib takes uInt lengths: feed large buffers in pieces */
    while (n > 0) {
        uInt chunk = n > (1U << 30) ? (1U << 30) : (uInt)n;
        c = crc32(c, p, chunk);
        p += chunk;
        n -= chunk;
    }
    return (uint32_t)c;
}

static uint32_t crc(const uint8_t *p, size_t n)
{
    return sf_crc_update(0, p, n);
}

/* (v) rounded up to a multiple of (a) (a power of two); false on overflow. */
static bool align_up(uint64_t v, uint64_t a, uint64_t *out)
{
    uint64_t t;
    if (ckd_add(&t, v, a - 1))
        return false;
    *out = t & ~(a - 1);
    return true;
}

/* Header: magic[8] version@8 hdrlen@12 memory@16 cpus@24 irqchip@28 devlen@32 crc@36. */
static int parse_header(const uint8_t *d, size_t len, struct sf_file *out, uint64_t *next,
                        struct error *err)
{
    uint8_t h[SF_HEADER_BYTES];
    uint32_t version, hdrlen, devlen;
    if (len < SF_HEADER_BYTES)
        return error_set(err, -EINVAL, "state file: header: truncated (%zu bytes)", len);
    if (memcmp(d, SF_MAGIC, 8) != 0)
        return error_set(err, -EINVAL, "state file: header: not a bareiron state file");
    version = rd32(d + 8);
    if (version != SF_FORMAT_VERSION)
        return error_set(err, -EINVAL,
                         "state file: header: format version %u, this monitor reads version %u",
                         version, SF_FORMAT_VERSION);
    hdrlen = rd32(d + 12);
    devlen = rd32(d + 32);
    if (devlen > SF_DEVICES_MAX || hdrlen != SF_HEADER_BYTES + devlen)
        return error_set(err, -EINVAL, "state file: header: bad length %u", hdrlen);
    if (hdrlen > len)
        return error_set(err, -EINVAL, "state file: header: truncated");
    memcpy(h, d, SF_HEADER_BYTES);
    wr32(h + 36, 0);
    if (crc32(crc(h, SF_HEADER_BYTES), d + SF_HEADER_BYTES, devlen) != rd32(d + 36))
        return error_set(err, -EINVAL, "state file: header: bad checksum");
    out->fp.memory_bytes = rd64(d + 16);
    out->fp.cpus = rd32(d + 24);
    out->fp.irqchip = rd32(d + 28);
    memcpy(out->fp.devices, d + SF_HEADER_BYTES, devlen);
    out->fp.devices[devlen] = '\0';
    if (strlen(out->fp.devices) != devlen)
        return error_set(err, -EINVAL, "state file: header: bad device list");
    *next = ((uint64_t)hdrlen + 7) & ~(uint64_t)7;
    return 0;
}

static bool name_ok(const char *n)
{
    size_t l = strnlen(n, SF_NAME_BYTES);
    if (l == 0 || l == SF_NAME_BYTES)
        return false;
    for (size_t i = 0; i < l; i++)
        if (!((n[i] >= 'a' && n[i] <= 'z') || (n[i] >= '0' && n[i] <= '9') ||
              strchr("-_.:", n[i]) != NULL))
            return false;
    for (size_t i = l; i < SF_NAME_BYTES; i++)
        if (n[i] != '\0')
            return false;
    return true;
}

/* Section header: name[24] version@24 flags@28 length@32 crc@40 hdrcrc@44. */
static int parse_section(const uint8_t *d, size_t len, uint64_t at, struct sf_section *s,
                         uint64_t *next, struct error *err)
{
    const uint8_t *h;
    uint64_t end;
    uint32_t flags;
    if (range_outside(at, SF_SECTION_BYTES, len))
        return error_set(err, -EINVAL, "state file: truncated at offset %u (a section header)",
                         (unsigned)(at > UINT32_MAX ? UINT32_MAX : at));
    h = d + at;
    memcpy(s->name, h, SF_NAME_BYTES);
    if (!name_ok(s->name))
        return error_set(err, -EINVAL, "state file: bad section name at offset %llu",
                         (unsigned long long)at);
    if (crc(h, 44) != rd32(h + 44))
        return error_set(err, -EINVAL, "state file: section %s: bad header checksum", s->name);
    s->version = rd32(h + 24);
    flags = s->flags = rd32(h + 28);
    s->length = rd64(h + 32);
    if (flags & ~SF_FLAGS_KNOWN)
        return error_set(err, -EINVAL, "state file: section %s: unknown flags 0x%x", s->name,
                         flags);
    s->offset = at + SF_SECTION_BYTES;
    if ((flags & SF_FLAG_PAGE_ALIGNED) && !align_up(s->offset, SF_PAGE_BYTES, &s->offset))
        return error_set(err, -EINVAL, "state file: section %s: bad offset", s->name);
    if (range_outside(s->offset, s->length, len))
        return error_set(err, -EINVAL, "state file: section %s: truncated", s->name);
    if (!(flags & SF_FLAG_RAW) && crc(d + s->offset, (size_t)s->length) != rd32(h + 40))
        return error_set(err, -EINVAL, "state file: section %s: bad checksum", s->name);
    end = s->offset + s->length;
    if (!align_up(end, 8, next))
        return error_set(err, -EINVAL, "state file: section %s: bad length", s->name);
    return 0;
}

int sf_parse(const uint8_t *data, size_t len, struct sf_file *out, struct error *err)
{
    uint64_t at = 0;
    int ret;
    memset(out, 0, sizeof(*out));
    ret = parse_header(data, len, out, &at, err);
    if (ret < 0)
        return ret;
    for (;;) {
        struct sf_section s;
        ret = parse_section(data, len, at, &s, &at, err);
        if (ret < 0)
            return ret;
        if (strcmp(s.name, "end") == 0)
            return s.length == 0 ? 0
                                 : error_set(err, -EINVAL, "state file: section end: bad length");
        if (sf_find(out, s.name) != NULL)
            return error_set(err, -EINVAL, "state file: section %s: appears twice", s.name);
        if (out->nsections == SF_MAX_SECTIONS)
            return error_set(err, -EINVAL, "state file: more than %d sections", SF_MAX_SECTIONS);
        out->sections[out->nsections++] = s;
    }
}

const struct sf_section *sf_find(const struct sf_file *f, const char *name)
{
    for (unsigned i = 0; i < f->nsections; i++)
        if (strcmp(f->sections[i].name, name) == 0)
            return &f->sections[i];
    return NULL;
}

int sf_fingerprint_check(const struct sf_fingerprint *want, const struct sf_fingerprint *got,
                         struct error *err)
{
    if (want->memory_bytes != got->memory_bytes)
        return error_set(err, -EINVAL,
                         "state file: header: saved with %llu MiB of memory, this machine has "
                         "%llu MiB",
                         (unsigned long long)(got->memory_bytes >> 20),
                         (unsigned long long)(want->memory_bytes >> 20));
    if (want->cpus != got->cpus)
        return error_set(err, -EINVAL,
                         "state file: header: saved with %u vCPUs, this machine has %u", got->cpus,
                         want->cpus);
    if (want->irqchip != got->irqchip)
        return error_set(err, -EINVAL, "state file: header: saved with another --irqchip");
    if (strcmp(want->devices, got->devices) != 0)
        return error_set(err, -EINVAL,
                         "state file: header: saved with devices \"%s\", this machine has \"%s\"",
                         got->devices, want->devices);
    return 0;
}

void sf_buf_free(struct sf_buf *b)
{
    free(b->data);
    *b = (struct sf_buf){0};
}

void sf_put_bytes(struct sf_buf *b, const void *p, size_t n)
{
    size_t need;
    if (b->failed || ckd_add(&need, b->len, n)) {
        b->failed = true;
        return;
    }
    if (need > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < need)
            cap *= 2;
        uint8_t *d = realloc(b->data, cap);
        if (d == NULL) {
            b->failed = true;
            return;
        }
        b->data = d;
        b->cap = cap;
    }
    if (n > 0)
        memcpy(b->data + b->len, p, n);
    b->len = need;
}

void sf_put_u8(struct sf_buf *b, uint8_t v)
{
    sf_put_bytes(b, &v, 1);
}

void sf_put_u16(struct sf_buf *b, uint16_t v)
{
    uint8_t p[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    sf_put_bytes(b, p, 2);
}

void sf_put_u32(struct sf_buf *b, uint32_t v)
{
    uint8_t p[4];
    wr32(p, v);
    sf_put_bytes(b, p, 4);
}

void sf_put_u64(struct sf_buf *b, uint64_t v)
{
    uint8_t p[8];
    wr64(p, v);
    sf_put_bytes(b, p, 8);
}

void sf_in_init(struct sf_in *in, const void *p, size_t len)
{
    *in = (struct sf_in){.p = p, .len = len};
}

void sf_get_bytes(struct sf_in *in, void *dst, size_t n)
{
    if (in->bad || range_outside(in->pos, n, in->len)) {
        in->bad = true;
        memset(dst, 0, n);
        return;
    }
    memcpy(dst, in->p + in->pos, n);
    in->pos += n;
}

uint8_t sf_get_u8(struct sf_in *in)
{
    uint8_t v;
    sf_get_bytes(in, &v, 1);
    return v;
}

uint16_t sf_get_u16(struct sf_in *in)
{
    uint8_t p[2];
    sf_get_bytes(in, p, 2);
    return (uint16_t)(p[0] | p[1] << 8);
}

uint32_t sf_get_u32(struct sf_in *in)
{
    uint8_t p[4];
    sf_get_bytes(in, p, 4);
    return rd32(p);
}

uint64_t sf_get_u64(struct sf_in *in)
{
    uint8_t p[8];
    sf_get_bytes(in, p, 8);
    return rd64(p);
}

int sf_in_end(const struct sf_in *in)
{
    return in->bad || in->pos != in->len ? -EINVAL : 0;
}

int sf_write_header(struct sf_writer *w, int fd, const struct sf_fingerprint *fp)
{
    size_t devlen = strlen(fp->devices);
    uint8_t h[SF_HEADER_BYTES] = {0};
    int ret;
    if (devlen > SF_DEVICES_MAX)
        return -EINVAL;
    memcpy(h, SF_MAGIC, 8);
    wr32(h + 8, SF_FORMAT_VERSION);
    wr32(h + 12, (uint32_t)(SF_HEADER_BYTES + devlen));
    wr64(h + 16, fp->memory_bytes);
    wr32(h + 24, fp->cpus);
    wr32(h + 28, fp->irqchip);
    wr32(h + 32, (uint32_t)devlen);
    wr32(h + 36,
         (uint32_t)crc32(crc(h, SF_HEADER_BYTES), (const Bytef *)fp->devices, (uInt)devlen));
    w->fd = fd;
    ret = pwrite_full(fd, h, sizeof(h), 0);
    if (ret == 0)
        ret = pwrite_full(fd, fp->devices, devlen, SF_HEADER_BYTES);
    w->off = (SF_HEADER_BYTES + devlen + 7) & ~(uint64_t)7;
    return ret;
}

static int put_section(struct sf_writer *w, const char *name, uint32_t version, uint32_t flags,
                       uint64_t len, uint32_t data_crc, uint64_t *data_off)
{
    uint8_t h[SF_SECTION_BYTES] = {0};
    size_t nl = strlen(name);
    uint64_t off = w->off + SF_SECTION_BYTES;
    int ret;
    if (nl == 0 || nl >= SF_NAME_BYTES || !name_ok(strncpy((char *)h, name, SF_NAME_BYTES)))
        return -EINVAL;
    wr32(h + 24, version);
    wr32(h + 28, flags);
    wr64(h + 32, len);
    wr32(h + 40, data_crc);
    wr32(h + 44, crc(h, 44));
    if ((flags & SF_FLAG_PAGE_ALIGNED) && !align_up(off, SF_PAGE_BYTES, &off))
        return -EINVAL;
    ret = pwrite_full(w->fd, h, sizeof(h), w->off);
    if (ret < 0)
        return ret;
    *data_off = off;
    if (ckd_add(&off, off, len) || !align_up(off, 8, &w->off))
        return -EINVAL;
    return 0;
}

int sf_write_section(struct sf_writer *w, const char *name, uint32_t version, const void *data,
                     size_t len)
{
    uint64_t at;
    int ret = put_section(w, name, version, 0, len, crc(data, len), &at);
    return ret < 0 ? ret : pwrite_full(w->fd, data, len, at);
}

uint64_t sf_stream_offset(const struct sf_writer *w)
{
    return w->off + SF_SECTION_BYTES;
}

int sf_write_streamed(struct sf_writer *w, const char *name, uint32_t version, uint64_t len,
                      uint32_t data_crc)
{
    uint64_t at;
    return put_section(w, name, version, 0, len, data_crc, &at);
}

int sf_write_raw(struct sf_writer *w, const char *name, uint32_t version, uint64_t len,
                 uint64_t *data_off)
{
    return put_section(w, name, version, SF_FLAG_PAGE_ALIGNED | SF_FLAG_RAW, len, 0, data_off);
}

int sf_write_end(struct sf_writer *w)
{
    uint64_t at;
    int ret = put_section(w, "end", 0, 0, 0, crc(NULL, 0), &at);
    if (ret == 0 && ftruncate(w->fd, (off_t)w->off) < 0)
        ret = -errno;
    return ret;
}
