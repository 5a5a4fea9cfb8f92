/* SPDX-License-Identifier: MIT */
/*
 * SMBIOS 3.0 builder (DMTF DSP0134 3.0.0: entry point §5.2.2, structure format §6.1, the
 * structures of §7.1 type 0, §7.2 type 1, §7.4 type 3, §7.5 type 4, §7.17 type 16, §7.18 type
 * 17, §7.20 type 19, §7.33 type 32, §7.46 type 127). Each structure is its formatted area (a
 * packed struct below, sizes checked against the spec) followed by its strings, each NUL
 * terminated, and one more NUL (two when there are none). Strings are numbered from 1 in the
 * order they follow the structure; 0 means "no string".
 */
#include "core/x86/smbios.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/x86/layout.h"

#define SMBIOS_PACKED __attribute__((packed))
#define DEFAULT_VENDOR "bareiron"
#define DEFAULT_PRODUCT "bareiron PC"
#define DEFAULT_DATE "01/01/2026"
#ifdef BAREIRON_VERSION
#define DEFAULT_VERSION BAREIRON_VERSION
#else
#define DEFAULT_VERSION "0"
#endif
#define DIMM_MAX_BYTES (16ULL << 30) /* one type 17 per 16 GiB, as QEMU splits them */
#define HANDLE_NONE 0xfffe           /* "not provided" (error information handles) */
#define HANDLE_NO_CACHE 0xffff       /* type 4: no cache structure */
#define MAX_STRINGS 8

struct smbios30_entry {
    char anchor[5]; /* "_SM3_" */
    uint8_t checksum;
    uint8_t length; /* 24 */
    uint8_t major, minor, docrev;
    uint8_t revision; /* 1 */
    uint8_t reserved;
    uint32_t table_max_size;
    uint64_t table_address;
} SMBIOS_PACKED;
_Static_assert(sizeof(struct smbios30_entry) == 24, "SMBIOS 3.0 entry point");

struct hdr {
    uint8_t type, length;
    uint16_t handle;
} SMBIOS_PACKED;

struct type0 {
    struct hdr h;
    uint8_t vendor, version;
    uint16_t segment;
    uint8_t date, rom_size;
    uint64_t characteristics;
    uint8_t ext[2];
    uint8_t bios_major, bios_minor, ec_major, ec_minor;
} SMBIOS_PACKED;
_Static_assert(sizeof(struct type0) == 0x18, "type 0 (2.4+)");

struct type1 {
    struct hdr h;
    uint8_t manufacturer, product, version, serial;
    uint8_t uuid[16];
    uint8_t wakeup, sku, family;
} SMBIOS_PACKED;
_Static_assert(sizeof(struct type1) == 0x1b, "type 1 (2.4+)");

struct type3 {
    struct hdr h;
    uint8_t manufacturer, type, version, serial, asset;
    uint8_t boot_state, power_state, thermal_state, security;
    uint32_t oem;
    uint8_t height, cords, elements, element_len;
    uint8_t sku;
} SMBIOS_PACKED;
_Static_assert(sizeof(struct type3) == 0x16, "type 3 (2.7+, no contained elements)");

struct type4 {
    struct hdr h;
    uint8_t socket, type, family, manufacturer;
    uint32_t id_eax, id_edx;
    uint8_t version, voltage;
    uint16_t ext_clock, max_speed, cur_speed;
    uint8_t status, upgrade;
    uint16_t l1, l2, l3;
    uint8_t serial, asset, part;
    uint8_t cores, cores_enabled, threads;
    uint16_t characteristics, family2;
    uint16_t cores2, cores_enabled2, threads2;
} SMBIOS_PACKED;
_Static_assert(sizeof(struct type4) == 0x30, "type 4 (3.0)");

struct type16 {
    struct hdr h;
    uint8_t location, use, ecc;
    uint32_t max_capacity_kib;
    uint16_t error_handle, ndevices;
    uint64_t ext_max_capacity;
} SMBIOS_PACKED;
_Static_assert(sizeof(struct type16) == 0x17, "type 16 (2.7+)");

struct type17 {
    struct hdr h;
    uint16_t array_handle, error_handle;
    uint16_t total_width, data_width, size_mib;
    uint8_t form_factor, device_set, locator, bank;
    uint8_t memory_type;
    uint16_t type_detail, speed;
    uint8_t manufacturer, serial, asset, part, attributes;
    uint32_t ext_size;
    uint16_t configured_speed, min_voltage, max_voltage, configured_voltage;
} SMBIOS_PACKED;
_Static_assert(sizeof(struct type17) == 0x28, "type 17 (2.8+)");

struct type19 {
    struct hdr h;
    uint32_t start_kib, end_kib;
    uint16_t array_handle;
    uint8_t partition_width;
    uint64_t ext_start, ext_end;
} SMBIOS_PACKED;
_Static_assert(sizeof(struct type19) == 0x1f, "type 19 (2.7+)");

struct type32 {
    struct hdr h;
    uint8_t reserved[6];
    uint8_t status;
} SMBIOS_PACKED;
_Static_assert(sizeof(struct type32) == 0x0b, "type 32");

/* The structure table being written; errors are sticky. */
struct writer {
    uint8_t *buf;
    size_t len, cap;
    int err;
};

/* The strings of the structure being written. */
struct strings {
    const char *s[MAX_STRINGS];
    unsigned n;
};

static void put(struct writer *w, const void *p, size_t n)
{
    if (w->err || n == 0)
        return;
    if (n > w->cap - w->len) {
        size_t cap = w->cap ? w->cap : 1024;
        while (cap - w->len < n)
            cap *= 2;
        uint8_t *b = realloc(w->buf, cap);
        if (!b) {
            w->err = -ENOMEM;
            return;
        }
        w->buf = b;
        w->cap = cap;
    }
    memcpy(w->buf + w->len, p, n);
    w->len += n;
}

/* Adds (s) to (t) and returns its number, or 0 for NULL/"" (no string). */
static uint8_t str(struct strings *t, const char *s)
{
    if (!s || !*s || t->n == MAX_STRINGS)
        return 0;
    t->s[t->n++] = s;
    return (uint8_t)t->n;
}

/* Appends the formatted area (fmt) of (len) bytes, then the strings of (t). */
static void put_struct(struct writer *w, void *fmt, size_t len, const struct strings *t)
{
    static const uint8_t nul[2];

    ((struct hdr *)fmt)->length = (uint8_t)len;
    put(w, fmt, len);
    for (unsigned i = 0; i < t->n; i++)
        put(w, t->s[i], strlen(t->s[i]) + 1);
    put(w, nul, t->n ? 1 : 2);
}

static struct hdr hdr(uint8_t type, unsigned index)
{
    return (struct hdr){.type = type, .handle = (uint16_t)(type << 8 | index)};
}

static const char *or_default(const char *s, const char *dflt)
{
    return s ? s : dflt;
}

static void put_type0(struct writer *w, const struct smbios_config *cfg)
{
    struct strings t = {0};
    struct type0 s = {.h = hdr(0, 0), .segment = 0xe800, .ec_major = 0xff, .ec_minor = 0xff};

    s.vendor = str(&t, or_default(cfg->bios_vendor, DEFAULT_VENDOR));
    s.version = str(&t, or_default(cfg->bios_version, DEFAULT_VERSION));
    s.date = str(&t, or_default(cfg->bios_date, DEFAULT_DATE));
    s.characteristics = 1u << 3;  /* "BIOS characteristics not supported" */
    s.ext[1] = 1u << 2 | 1u << 4; /* targeted content distribution; virtual machine */
    put_struct(w, &s, sizeof(s), &t);
}

static void put_type1(struct writer *w, const struct smbios_config *cfg)
{
    struct strings t = {0};
    struct type1 s = {.h = hdr(1, 0), .wakeup = 0x06 /* power switch */};
    const uint8_t *u = cfg->uuid;
    static const uint8_t order[16] = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};

    s.manufacturer = str(&t, or_default(cfg->manufacturer, DEFAULT_VENDOR));
    s.product = str(&t, or_default(cfg->product, DEFAULT_PRODUCT));
    s.version = str(&t, or_default(cfg->version, DEFAULT_VERSION));
    s.serial = str(&t, cfg->serial);
    for (unsigned i = 0; i < 16; i++)
        s.uuid[i] = u[order[i]];
    put_struct(w, &s, sizeof(s), &t);
}

static void put_type3(struct writer *w, const struct smbios_config *cfg)
{
    struct strings t = {0};
    struct type3 s = {.h = hdr(3, 0),
                      .type = 0x01, /* other */
                      .boot_state = 0x03,
                      .power_state = 0x03,
                      .thermal_state = 0x03, /* safe */
                      .security = 0x02};     /* unknown */

    s.manufacturer = str(&t, or_default(cfg->manufacturer, DEFAULT_VENDOR));
    s.version = str(&t, or_default(cfg->version, DEFAULT_VERSION));
    s.serial = str(&t, cfg->serial);
    put_struct(w, &s, sizeof(s), &t);
}

static void put_type4(struct writer *w, const struct smbios_config *cfg, unsigned i)
{
    struct strings t = {0};
    char socket[16];
    struct type4 s = {.h = hdr(4, i),
                      .type = 0x03,   /* central processor */
                      .family = 0x01, /* other */
                      .id_eax = cfg->cpuid_1_eax,
                      .id_edx = cfg->cpuid_1_edx,
                      .max_speed = 2000, /* MHz, QEMU's figure (0 = unknown upsets some OSes) */
                      .cur_speed = 2000,
                      .status = 0x41,  /* socket populated, CPU enabled */
                      .upgrade = 0x01, /* other */
                      .l1 = HANDLE_NO_CACHE,
                      .l2 = HANDLE_NO_CACHE,
                      .l3 = HANDLE_NO_CACHE,
                      .cores = 1,
                      .cores_enabled = 1,
                      .threads = 1,
                      .characteristics = 0x02, /* unknown */
                      .family2 = 0x01,
                      .cores2 = 1,
                      .cores_enabled2 = 1,
                      .threads2 = 1};

    snprintf(socket, sizeof(socket), "CPU %u", i);
    s.socket = str(&t, socket);
    s.manufacturer = str(&t, or_default(cfg->manufacturer, DEFAULT_VENDOR));
    put_struct(w, &s, sizeof(s), &t);
}

static unsigned ndimms(uint64_t ram_bytes)
{
    return (unsigned)((ram_bytes + DIMM_MAX_BYTES - 1) / DIMM_MAX_BYTES);
}

static void put_memory_array(struct writer *w, const struct smbios_config *cfg)
{
    struct strings t = {0};
    uint64_t kib = cfg->ram_bytes / 1024;
    struct type16 s = {.h = hdr(16, 0),
                       .location = 0x01, /* other */
                       .use = 0x03,      /* system memory */
                       .ecc = 0x06,      /* multi-bit ECC, as QEMU says */
                       .error_handle = HANDLE_NONE,
                       .ndevices = (uint16_t)ndimms(cfg->ram_bytes)};

    /* Capacities of 2 TiB and more go to the extended field (bytes). */
    if (kib < 0x80000000ULL) {
        s.max_capacity_kib = (uint32_t)kib;
    } else {
        s.max_capacity_kib = 0x80000000u;
        s.ext_max_capacity = cfg->ram_bytes;
    }
    put_struct(w, &s, sizeof(s), &t);
}

static void put_dimm(struct writer *w, unsigned i, uint64_t bytes)
{
    struct strings t = {0};
    char locator[16];
    struct type17 s = {.h = hdr(17, i),
                       .array_handle = 16 << 8,
                       .error_handle = HANDLE_NONE,
                       .total_width = 64,
                       .data_width = 64,
                       .size_mib = (uint16_t)((bytes + (1 << 20) - 1) >> 20), /* <= 16 GiB */
                       .form_factor = 0x09,                                   /* DIMM */
                       .memory_type = 0x07,                                   /* RAM */
                       .type_detail = 0x02,                                   /* other */
                       .manufacturer = 0};

    snprintf(locator, sizeof(locator), "DIMM %u", i);
    s.locator = str(&t, locator);
    put_struct(w, &s, sizeof(s), &t);
}

/* Type 19 for [start, start + bytes); addresses of 4 TiB and more use the extended fields. */
static void put_mapped(struct writer *w, unsigned i, uint64_t start, uint64_t bytes, unsigned n)
{
    struct strings t = {0};
    uint64_t end = start + bytes - 1;
    struct type19 s = {.h = hdr(19, i), .array_handle = 16 << 8, .partition_width = (uint8_t)n};

    if (end / 1024 < 0xffffffffULL) {
        s.start_kib = (uint32_t)(start / 1024);
        s.end_kib = (uint32_t)(end / 1024);
    } else {
        s.start_kib = s.end_kib = 0xffffffffu;
        s.ext_start = start;
        s.ext_end = end;
    }
    put_struct(w, &s, sizeof(s), &t);
}

static void put_memory(struct writer *w, const struct smbios_config *cfg)
{
    uint64_t low = cfg->ram_bytes < LOW_RAM_MAX ? cfg->ram_bytes : LOW_RAM_MAX;
    uint64_t left = cfg->ram_bytes;
    unsigned n = ndimms(cfg->ram_bytes);

    put_memory_array(w, cfg);
    for (unsigned i = 0; i < n; i++) {
        uint64_t bytes = left < DIMM_MAX_BYTES ? left : DIMM_MAX_BYTES;
        put_dimm(w, i, bytes);
        left -= bytes;
    }
    put_mapped(w, 0, 0, low, (uint8_t)n);
    if (cfg->ram_bytes > low)
        put_mapped(w, 1, HIGH_RAM_BASE, cfg->ram_bytes - low, (uint8_t)n);
}

static void put_end(struct writer *w)
{
    struct strings t = {0};
    struct type32 boot = {.h = hdr(32, 0), .status = 0}; /* no errors detected */
    struct hdr end = hdr(127, 0);

    put_struct(w, &boot, sizeof(boot), &t);
    put_struct(w, &end, sizeof(end), &t);
}

static bool string_ok(const char *s)
{
    if (!s)
        return true;
    if (strlen(s) > SMBIOS_STRING_MAX)
        return false;
    for (; *s; s++) {
        if (*s < 0x20 || *s > 0x7e)
            return false;
    }
    return true;
}

static int check_config(const struct smbios_config *cfg)
{
    const char *strs[] = {cfg->bios_vendor, cfg->bios_version, cfg->bios_date, cfg->manufacturer,
                          cfg->product,     cfg->version,      cfg->serial};

    if (cfg->ncpus == 0 || cfg->ncpus > MAX_VCPUS || cfg->ram_bytes < (1 << 20))
        return -EINVAL;
    if (ndimms(cfg->ram_bytes) > 255) /* type 19's partition width is one byte */
        return -EINVAL;
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
        if (!string_ok(strs[i]))
            return -EINVAL;
    }
    return 0;
}

void smbios_config_default(struct smbios_config *cfg, unsigned ncpus, uint64_t ram_bytes,
                           const uint8_t uuid[16])
{
    *cfg = (struct smbios_config){.ncpus = ncpus, .ram_bytes = ram_bytes};
    memcpy(cfg->uuid, uuid, sizeof(cfg->uuid));
}

static uint8_t checksum(const void *p, size_t len)
{
    const uint8_t *b = p;
    uint8_t sum = 0;

    for (size_t i = 0; i < len; i++)
        sum = (uint8_t)(sum + b[i]);
    return (uint8_t)(0x100 - sum);
}

int smbios_build(const struct smbios_config *cfg, struct smbios_blob *out)
{
    struct writer w = {0};
    struct smbios30_entry ep = {.length = sizeof(ep), .major = 3, .minor = 0, .revision = 1};
    int ret;

    memset(out, 0, sizeof(*out));
    ret = check_config(cfg);
    if (ret < 0)
        return ret;
    put_type0(&w, cfg);
    put_type1(&w, cfg);
    put_type3(&w, cfg);
    for (unsigned i = 0; i < cfg->ncpus; i++)
        put_type4(&w, cfg, i);
    put_memory(&w, cfg);
    put_end(&w);
    out->anchor = malloc(sizeof(ep));
    if (w.err || !out->anchor) {
        free(w.buf);
        smbios_blob_free(out);
        return w.err ? w.err : -ENOMEM;
    }
    memcpy(ep.anchor, "_SM3_", 5);
    ep.table_max_size = (uint32_t)w.len; /* the whole table, as QEMU sets it */
    ep.checksum = checksum(&ep, sizeof(ep));
    memcpy(out->anchor, &ep, sizeof(ep));
    out->anchor_len = sizeof(ep);
    out->tables = w.buf;
    out->tables_len = w.len;
    return 0;
}

void smbios_blob_free(struct smbios_blob *b)
{
    if (!b)
        return;
    free(b->anchor);
    free(b->tables);
    memset(b, 0, sizeof(*b));
}
