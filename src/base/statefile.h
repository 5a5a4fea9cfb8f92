/* SPDX-License-Identifier: MIT */
/*
 * The saved-state file of a VM (docs/vmm.md "Saved state"): a header with the format version
 * and the machine configuration's fingerprint, then sections, each {name, version, flags,
 * length, crc32 (zlib) of its data, crc32 of the section header}, ended by a section "end".
 *
 *   header (64 bytes + the device list)     magic "BIRNSTAT", format version, header length,
 *                                           memory bytes, vCPUs, irqchip, device list, crc32
 *   section header (48 bytes), data ...     at 8-byte boundaries; the data of a section with
 *   ...                                     SF_FLAG_PAGE_ALIGNED starts at a 4 KiB boundary
 *   section "end" (length 0)                (guest RAM, mapped straight from the file)
 *
 * All integers are little-endian. A section with SF_FLAG_RAW (guest memory) carries no data
 * checksum: checking it would read every page, and a restore maps them lazily instead; its
 * bounds are checked like any other. The file is hostile: sf_parse checks every length and
 * offset with overflow-safe arithmetic and every checksum before anything is used.
 *
 * Sections carry device state built with struct sf_buf (append) and read back with struct
 * sf_in (bounded reads with a sticky error).
 */
#ifndef BAREIRON_BASE_STATEFILE_H
#define BAREIRON_BASE_STATEFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/compiler.h"
#include "base/error.h"

#define SF_MAGIC "BIRNSTAT"
#define SF_FORMAT_VERSION 1
#define SF_HEADER_BYTES 64
#define SF_SECTION_BYTES 48
#define SF_NAME_BYTES 24 /* NUL-padded, at least one NUL */
#define SF_DEVICES_MAX 1024
#define SF_MAX_SECTIONS 256
#define SF_PAGE_BYTES 4096
#define SF_FLAG_PAGE_ALIGNED 1U /* data at a 4 KiB boundary of the file */
#define SF_FLAG_RAW 2U          /* no data checksum (guest memory) */
#define SF_FLAGS_KNOWN (SF_FLAG_PAGE_ALIGNED | SF_FLAG_RAW)

/* What the state was saved from; a restore needs the same. */
struct sf_fingerprint {
    uint64_t memory_bytes;
    uint32_t cpus;
    uint32_t irqchip;
    char devices[SF_DEVICES_MAX + 1]; /* e.g. "com1,i8042,...,pci" */
};

struct sf_section {
    char name[SF_NAME_BYTES];
    uint32_t version;
    uint32_t flags;
    uint64_t offset; /* of the data in the file */
    uint64_t length;
};

struct sf_file {
    struct sf_fingerprint fp;
    unsigned nsections; /* without "end" */
    struct sf_section sections[SF_MAX_SECTIONS];
};

/*
 * Parses and checks the whole file (data, len): header, every section header and every
 * non-raw section's checksum, up to "end". Returns 0 with (out) filled, or -EINVAL (wrong
 * magic or version, bad checksum, truncation, a bad length or name) with a one-line message
 * naming the header or the section.
 */
MUST_CHECK int sf_parse(const uint8_t *data, size_t len, struct sf_file *out, struct error *err);
/* The section called (name), or NULL. */
const struct sf_section *sf_find(const struct sf_file *f, const char *name);
/* Refuses (got) when it differs from (want), naming what differs. Returns 0 or -EINVAL. */
MUST_CHECK int sf_fingerprint_check(const struct sf_fingerprint *want,
                                    const struct sf_fingerprint *got, struct error *err);

/* A growable byte buffer (a section being built). (failed) is sticky on out-of-memory. */
struct sf_buf {
    uint8_t *data;
    size_t len, cap;
    bool failed;
};
void sf_buf_free(struct sf_buf *b);
void sf_put_bytes(struct sf_buf *b, const void *p, size_t n);
void sf_put_u8(struct sf_buf *b, uint8_t v);
void sf_put_u16(struct sf_buf *b, uint16_t v);
void sf_put_u32(struct sf_buf *b, uint32_t v);
void sf_put_u64(struct sf_buf *b, uint64_t v);

/* A bounded reader over a section's data; (bad) is sticky: a read past the end yields zeros. */
struct sf_in {
    const uint8_t *p;
    size_t len, pos;
    bool bad;
};
void sf_in_init(struct sf_in *in, const void *p, size_t len);
void sf_get_bytes(struct sf_in *in, void *dst, size_t n);
uint8_t sf_get_u8(struct sf_in *in);
uint16_t sf_get_u16(struct sf_in *in);
uint32_t sf_get_u32(struct sf_in *in);
uint64_t sf_get_u64(struct sf_in *in);
/* 0 when every byte was read and none past the end, else -EINVAL. */
MUST_CHECK int sf_in_end(const struct sf_in *in);

/* Writes a state file to (fd) from offset 0, sections appended in order. */
struct sf_writer {
    int fd;
    uint64_t off; /* where the next section header goes */
};
/* Writes the header. Returns 0 or -errno (-EINVAL: device list too long). */
MUST_CHECK int sf_write_header(struct sf_writer *w, int fd, const struct sf_fingerprint *fp);
/* Appends a checksummed section. Returns 0 or -errno. */
MUST_CHECK int sf_write_section(struct sf_writer *w, const char *name, uint32_t version,
                                const void *data, size_t len);
/*
 * A checksummed section written in pieces (compressed guest memory): the caller writes its data
 * from sf_stream_offset() on with pwrite, keeping its length and sf_crc_update() checksum, then
 * sf_write_streamed() puts the header before it. Nothing else may be appended in between.
 */
uint64_t sf_stream_offset(const struct sf_writer *w);
MUST_CHECK int sf_write_streamed(struct sf_writer *w, const char *name, uint32_t version,
                                 uint64_t len, uint32_t data_crc);
/* The section checksum (zlib crc32) of (data, n) continued from (prev) (0 to start). */
uint32_t sf_crc_update(uint32_t prev, const void *data, size_t n);

/*
 * Appends a raw page-aligned section of (len) bytes whose data the caller writes at
 * (*data_off) with pwrite (untouched ranges stay holes). Returns 0 or -errno.
 */
MUST_CHECK int sf_write_raw(struct sf_writer *w, const char *name, uint32_t version, uint64_t len,
                            uint64_t *data_off);
/* Appends "end" and sets the file size. Returns 0 or -errno. */
MUST_CHECK int sf_write_end(struct sf_writer *w);

#endif
