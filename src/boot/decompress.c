/* SPDX-License-Identifier: MIT */
/*
 * Decompressors for bzImage payloads (see decompress.h), each a thin bounded loop over its
 * library's streaming API: zlib (RFC 1952 gzip), liblzma (xz and the legacy .lzma "alone"
 * format), libzstd (RFC 8878 frames, window limited to twice the output and at most 2^27) and
 * liblz4 (the legacy frame format of `lz4 -l`: magic 0x184c2102, then blocks of a 32-bit compressed
 * size and up to 8 MiB of output each, as lib/decompress_unlz4.c reads it).
 */
#define LOG_TAG "boot"
#include "boot/decompress.h"

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <lz4.h>
#include <lzma.h>
#include <zlib.h>
#include <zstd.h>

#include "base/log.h"

#define LZ4_LEGACY_MAGIC 0x184c2102u
#define LZ4_LEGACY_BLOCK_MAX (8u << 20)
#define LZMA_MEMLIMIT (256ull << 20)
#define ZSTD_WLOG_MAX 27 /* ZSTD_WINDOWLOG_LIMIT_DEFAULT, what `zstd -22 --ultra` uses */

enum decomp_format decomp_detect(const uint8_t *in, size_t len)
{
    static const uint8_t xz[6] = {0xfd, '7', 'z', 'X', 'Z', 0x00};
    static const uint8_t zst[4] = {0x28, 0xb5, 0x2f, 0xfd};
    static const uint8_t lz4[4] = {0x02, 0x21, 0x4c, 0x18};
    static const uint8_t lzo[4] = {0x89, 'L', 'Z', 'O'};
    static const uint8_t elf[4] = {0x7f, 'E', 'L', 'F'};

    if (len >= 6 && memcmp(in, xz, 6) == 0)
        return DECOMP_XZ;
    if (len >= 4 && memcmp(in, zst, 4) == 0)
        return DECOMP_ZSTD;
    if (len >= 4 && memcmp(in, lz4, 4) == 0)
        return DECOMP_LZ4;
    if (len >= 4 && memcmp(in, lzo, 4) == 0)
        return DECOMP_LZO;
    if (len >= 4 && memcmp(in, elf, 4) == 0)
        return DECOMP_NONE;
    if (len >= 3 && in[0] == 0x1f && in[1] == 0x8b && in[2] == 0x08)
        return DECOMP_GZIP;
    if (len >= 3 && in[0] == 'B' && in[1] == 'Z' && in[2] == 'h')
        return DECOMP_BZIP2;
    /* .lzma: properties byte 0x5d (lc=3 lp=0 pb=2, what `lzma -9` writes), then the dictionary
     * size; the kernel's payloads all start 5d 00 00 */
    if (len >= 13 && in[0] == 0x5d && in[1] == 0x00 && in[2] == 0x00)
        return DECOMP_LZMA;
    return DECOMP_UNKNOWN;
}

const char *decomp_format_name(enum decomp_format fmt)
{
    static const char *const names[] = {
        [DECOMP_NONE] = "uncompressed", [DECOMP_GZIP] = "gzip", [DECOMP_XZ] = "xz",
        [DECOMP_LZMA] = "lzma",         [DECOMP_ZSTD] = "zstd", [DECOMP_LZ4] = "lz4",
        [DECOMP_BZIP2] = "bzip2",       [DECOMP_LZO] = "lzo",   [DECOMP_UNKNOWN] = "unknown",
    };
    return (unsigned)fmt < ARRAY_SIZE(names) ? names[fmt] : "unknown";
}

bool decomp_is_supported(enum decomp_format fmt)
{
    return fmt == DECOMP_NONE || fmt == DECOMP_GZIP || fmt == DECOMP_XZ || fmt == DECOMP_LZMA ||
           fmt == DECOMP_ZSTD || fmt == DECOMP_LZ4;
}

static int run_gzip(const uint8_t *in, size_t len, uint8_t *out, size_t max_out, size_t *done)
{
    z_stream zs;
    int rc;

    memset(&zs, 0, sizeof(zs));
    if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
        return -ENOMEM;
    /* zlib counts in uInt: feed and drain in chunks so that >4 GiB sizes cannot truncate */
    size_t in_off = 0, out_off = 0;
    do {
        if (zs.avail_in == 0) {
            zs.next_in = (Bytef *)(uintptr_t)(in + in_off);
            zs.avail_in = (uInt)MIN(len - in_off, (size_t)1 << 30);
            in_off += zs.avail_in;
        }
        /* with the output full, inflate() still runs once more: it may only have the gzip
         * trailer left to check (Z_STREAM_END), otherwise it says Z_BUF_ERROR */
        if (zs.avail_out == 0 && out_off < max_out) {
            zs.next_out = out + out_off;
            zs.avail_out = (uInt)MIN(max_out - out_off, (size_t)1 << 30);
            out_off += zs.avail_out;
        }
        rc = inflate(&zs, Z_NO_FLUSH);
    } while (rc == Z_OK);
    *done = out_off - zs.avail_out;
    inflateEnd(&zs);
    return rc == Z_STREAM_END ? 0 : -ENOEXEC;
}

static int run_lzma(const uint8_t *in, size_t len, uint8_t *out, size_t max_out, size_t *done,
                    bool is_xz)
{
    lzma_stream ls = LZMA_STREAM_INIT;
    lzma_ret rc;

    rc =
        is_xz ? lzma_stream_decoder(&ls, LZMA_MEMLIMIT, 0) : lzma_alone_decoder(&ls, LZMA_MEMLIMIT);
    if (rc != LZMA_OK)
        return -ENOMEM;
    ls.next_in = in;
    ls.avail_in = len;
    ls.next_out = out;
    ls.avail_out = max_out;
    /* lzma_code() says LZMA_BUF_ERROR after a call without progress (output full) */
    do {
        rc = lzma_code(&ls, LZMA_FINISH);
    } while (rc == LZMA_OK);
    *done = max_out - ls.avail_out;
    lzma_end(&ls);
    return rc == LZMA_STREAM_END ? 0 : -ENOEXEC;
}

static int run_zstd(const uint8_t *in, size_t len, uint8_t *out, size_t max_out, size_t *done)
{
    ZSTD_DCtx *dctx = ZSTD_createDCtx();
    ZSTD_inBuffer ib = {in, len, 0};
    ZSTD_outBuffer ob = {out, max_out, 0};
    size_t rc;

    if (!dctx)
        return -ENOMEM;
    /* a frame never needs a window larger than its output: refuse ones that claim more, so a
     * crafted frame cannot make the decoder allocate up to the 2^27 default for nothing */
    int wlog = 10;
    while (wlog < ZSTD_WLOG_MAX && ((size_t)1 << (wlog - 1)) < max_out)
        wlog++;
    ZSTD_DCtx_setParameter(dctx, ZSTD_d_windowLogMax, wlog);
    /* rc 0 means a frame is complete; stop as well when a call made no progress (output full
     * or input exhausted mid-frame) */
    for (;;) {
        size_t in_pos = ib.pos, out_pos = ob.pos;
        rc = ZSTD_decompressStream(dctx, &ob, &ib);
        if (ZSTD_isError(rc) || rc == 0 || (ib.pos == in_pos && ob.pos == out_pos))
            break;
    }
    *done = ob.pos;
    ZSTD_freeDCtx(dctx);
    /* one frame only: trailing bytes are garbage */
    return !ZSTD_isError(rc) && rc == 0 && ib.pos == ib.size ? 0 : -ENOEXEC;
}

static int run_lz4(const uint8_t *in, size_t len, uint8_t *out, size_t max_out, size_t *done)
{
    size_t in_off = 4, out_off = 0; /* past the magic */
    uint32_t chunk;

    while (len - in_off >= 4) {
        memcpy(&chunk, in + in_off, 4);
        chunk = le32toh(chunk);
        in_off += 4;
        if (chunk == LZ4_LEGACY_MAGIC)
            continue; /* concatenated archives repeat the magic */
        if (chunk == 0 || chunk > len - in_off ||
            chunk > (uint32_t)LZ4_compressBound(LZ4_LEGACY_BLOCK_MAX))
            return -ENOEXEC;
        int cap = (int)MIN(max_out - out_off, (size_t)LZ4_LEGACY_BLOCK_MAX);
        int n =
            LZ4_decompress_safe((const char *)in + in_off, (char *)out + out_off, (int)chunk, cap);
        if (n < 0)
            return -ENOEXEC;
        in_off += chunk;
        out_off += (size_t)n;
    }
    *done = out_off;
    return in_off == len && out_off > 0 ? 0 : -ENOEXEC;
}

int decomp_run(const uint8_t *in, size_t len, size_t max_out, uint8_t **out, size_t *out_len,
               const char *name, struct error *err)
{
    enum decomp_format fmt = decomp_detect(in, len);
    size_t done = 0;
    uint8_t *buf;
    int rc;

    if (!decomp_is_supported(fmt))
        return error_set(err, -ENOEXEC, "%s: %s-compressed kernel payload is not supported%s", name,
                         decomp_format_name(fmt),
                         fmt == DECOMP_UNKNOWN ? "" : " (use gzip, xz, lzma, zstd or lz4)");
    if (max_out == 0)
        return error_set(err, -ENOEXEC, "%s: empty kernel payload", name);
    buf = malloc(max_out);
    if (!buf)
        return error_set(err, -ENOMEM, "%s: cannot allocate %zu bytes to decompress the kernel",
                         name, max_out);
    switch (fmt) {
    case DECOMP_NONE:
        rc = len <= max_out ? 0 : -ENOEXEC;
        if (rc == 0) {
            memcpy(buf, in, len);
            done = len;
        }
        break;
    case DECOMP_GZIP:
        rc = run_gzip(in, len, buf, max_out, &done);
        break;
    case DECOMP_XZ:
    case DECOMP_LZMA:
        rc = run_lzma(in, len, buf, max_out, &done, fmt == DECOMP_XZ);
        break;
    case DECOMP_ZSTD:
        rc = run_zstd(in, len, buf, max_out, &done);
        break;
    default: /* DECOMP_LZ4, the only one left after decomp_is_supported() */
        rc = run_lz4(in, len, buf, max_out, &done);
        break;
    }
    if (rc < 0) {
        free(buf);
        if (rc == -ENOMEM)
            return error_set(err, rc, "%s: out of memory decompressing the kernel", name);
        return error_set(err, -ENOEXEC,
                         "%s: corrupt or oversized %s kernel payload (limit %zu bytes, got %zu)",
                         name, decomp_format_name(fmt), max_out, done);
    }
    log_debug("%s: %s payload, %zu -> %zu bytes", name, decomp_format_name(fmt), len, done);
    *out = buf;
    *out_len = done;
    return 0;
}
