/* SPDX-License-Identifier: MIT */
/*
 * Host-side decompression of a bzImage payload (Documentation/arch/x86/boot.rst, "payload_offset"):
 * the compressed vmlinux the kernel's own decompressor would unpack. The format is recognised by
 * its magic: gzip (zlib), xz and legacy lzma (liblzma), zstd (libzstd), lz4 legacy frames
 * (liblz4) or an uncompressed ELF. bzip2 and lzo are refused with a clear message.
 */
#ifndef BAREIRON_BOOT_DECOMPRESS_H
#define BAREIRON_BOOT_DECOMPRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/compiler.h"
#include "base/error.h"

enum decomp_format {
    DECOMP_NONE, /* already an ELF */
    DECOMP_GZIP,
    DECOMP_XZ,
    DECOMP_LZMA,
    DECOMP_ZSTD,
    DECOMP_LZ4,
    DECOMP_BZIP2, /* recognised, not supported */
    DECOMP_LZO,   /* recognised, not supported */
    DECOMP_UNKNOWN,
};

/* Recognises the format of (in, len) by its magic. */
enum decomp_format decomp_detect(const uint8_t *in, size_t len);

/* Name of (fmt): "gzip", "xz"... */
const char *decomp_format_name(enum decomp_format fmt);

/* True when decomp_run() can unpack (fmt). */
bool decomp_is_supported(enum decomp_format fmt);

/*
 * Decompresses the single stream in (in, len) (the kernel's 4-byte size trailer already
 * removed) into a malloc'd buffer (*out) of (*out_len) bytes, producing at most (max_out)
 * bytes: more is an error, so a crafted payload cannot make it allocate or write without
 * bound. The caller frees (*out). Returns 0, -ENOEXEC (unknown/unsupported format, corrupt or
 * oversized stream; message in (err), prefixed with (name)) or -ENOMEM.
 */
MUST_CHECK int decomp_run(const uint8_t *in, size_t len, size_t max_out, uint8_t **out,
                          size_t *out_len, const char *name, struct error *err);

#endif
