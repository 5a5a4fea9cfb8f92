/* SPDX-License-Identifier: MIT */
/* Crafted kernel images for the loader tests (see fixtures.h). */
#include "fixtures.h"

#include <elf.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <lz4.h>
#include <lzma.h>
#include <zlib.h>
#include <zstd.h>

static void *xcalloc(size_t n)
{
    void *p = calloc(1, n ? n : 1);
    assert_non_null(p);
    return p;
}

static void put16(uint8_t *p, uint16_t v)
{
    memcpy(p, &v, 2);
}
static void put32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

uint8_t *fx_note(const char *name, uint32_t type, const void *desc, uint32_t desc_len, size_t *len)
{
    uint32_t namesz = (uint32_t)strlen(name) + 1;
    size_t n = 12 + ((namesz + 3) & ~3u) + ((desc_len + 3) & ~3u);
    uint8_t *p = xcalloc(n);

    put32(p, namesz);
    put32(p + 4, desc_len);
    put32(p + 8, type);
    memcpy(p + 12, name, namesz);
    memcpy(p + 12 + ((namesz + 3) & ~3u), desc, desc_len);
    *len = n;
    return p;
}

static void put_phdr(uint8_t *p, bool is_64, const struct fx_seg *s, uint64_t off, uint64_t filesz)
{
    if (is_64) {
        Elf64_Phdr ph = {.p_type = s->type,
                         .p_flags = PF_R | PF_X,
                         .p_offset = off,
                         .p_vaddr = s->vaddr,
                         .p_paddr = s->paddr,
                         .p_filesz = filesz,
                         .p_memsz = s->memsz,
                         .p_align = 0x1000};
        memcpy(p, &ph, sizeof(ph));
    } else {
        Elf32_Phdr ph = {.p_type = s->type,
                         .p_offset = (uint32_t)off,
                         .p_vaddr = (uint32_t)s->vaddr,
                         .p_paddr = (uint32_t)s->paddr,
                         .p_filesz = (uint32_t)filesz,
                         .p_memsz = (uint32_t)s->memsz,
                         .p_flags = PF_R | PF_X,
                         .p_align = 0x1000};
        memcpy(p, &ph, sizeof(ph));
    }
}

uint8_t *fx_elf(bool is_64, uint64_t entry, const struct fx_seg *segs, unsigned nsegs,
                const uint8_t *note, size_t note_len, size_t *len)
{
    size_t ehsize = is_64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr);
    size_t phsize = is_64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr);
    size_t off = ehsize + nsegs * phsize, total = off;

    for (unsigned i = 0; i < nsegs; i++)
        total += segs[i].type == PT_NOTE ? note_len : segs[i].filesz;
    uint8_t *p = xcalloc(total);
    memcpy(p, ELFMAG, SELFMAG);
    p[EI_CLASS] = is_64 ? ELFCLASS64 : ELFCLASS32;
    p[EI_DATA] = ELFDATA2LSB;
    p[EI_VERSION] = EV_CURRENT;
    put16(p + 16, ET_EXEC);
    put16(p + 18, is_64 ? EM_X86_64 : EM_386);
    put32(p + 20, EV_CURRENT);
    if (is_64) {
        memcpy(p + 24, &entry, 8);
        uint64_t phoff = ehsize;
        memcpy(p + 32, &phoff, 8);
        put16(p + 52, (uint16_t)ehsize);
        put16(p + 54, (uint16_t)phsize);
        put16(p + 56, (uint16_t)nsegs);
    } else {
        put32(p + 24, (uint32_t)entry);
        put32(p + 28, (uint32_t)ehsize);
        put16(p + 40, (uint16_t)ehsize);
        put16(p + 42, (uint16_t)phsize);
        put16(p + 44, (uint16_t)nsegs);
    }
    for (unsigned i = 0; i < nsegs; i++) {
        bool is_note = segs[i].type == PT_NOTE;
        uint64_t filesz = is_note ? note_len : segs[i].filesz;
        put_phdr(p + ehsize + i * phsize, is_64, &segs[i], off, filesz);
        if (is_note)
            memcpy(p + off, note, note_len);
        else
            memset(p + off, segs[i].fill, filesz);
        off += filesz;
    }
    *len = total;
    return p;
}

uint8_t *fx_vmlinux(size_t *len)
{
    struct fx_seg seg = {PT_LOAD, 0x1000000, 0xffffffff81000000ull, 0x10000, 0x100000, 0xaa};
    return fx_elf(true, 0x1000000, &seg, 1, NULL, 0, len);
}

static uint8_t *lz4_legacy(const uint8_t *in, size_t in_len, size_t *len)
{
    int cap = LZ4_compressBound((int)in_len);
    uint8_t *p = xcalloc(8 + (size_t)cap);
    put32(p, 0x184c2102);
    int n = LZ4_compress_default((const char *)in, (char *)p + 8, (int)in_len, cap);
    assert_true(n > 0);
    put32(p + 4, (uint32_t)n);
    *len = 8 + (size_t)n;
    return p;
}

static uint8_t *lzma_compress(bool is_xz, const uint8_t *in, size_t in_len, size_t *len)
{
    lzma_stream ls = LZMA_STREAM_INIT;
    lzma_options_lzma opt;
    size_t cap = in_len + in_len / 2 + 4096;
    uint8_t *p = xcalloc(cap);

    assert_false(lzma_lzma_preset(&opt, 6));
    if (is_xz)
        assert_int_equal(lzma_easy_encoder(&ls, 6, LZMA_CHECK_CRC32), LZMA_OK);
    else
        assert_int_equal(lzma_alone_encoder(&ls, &opt), LZMA_OK);
    ls.next_in = in;
    ls.avail_in = in_len;
    ls.next_out = p;
    ls.avail_out = cap;
    assert_int_equal(lzma_code(&ls, LZMA_FINISH), LZMA_STREAM_END);
    *len = cap - ls.avail_out;
    lzma_end(&ls);
    return p;
}

static uint8_t *gzip_compress(const uint8_t *in, size_t in_len, size_t *len)
{
    z_stream zs;
    size_t cap = in_len + 4096;
    uint8_t *p = xcalloc(cap);

    memset(&zs, 0, sizeof(zs));
    assert_int_equal(deflateInit2(&zs, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
    zs.next_in = (Bytef *)(uintptr_t)in;
    zs.avail_in = (uInt)in_len;
    zs.next_out = p;
    zs.avail_out = (uInt)cap;
    assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
    *len = cap - zs.avail_out;
    deflateEnd(&zs);
    return p;
}

uint8_t *fx_compress(enum decomp_format fmt, const uint8_t *in, size_t in_len, size_t *len)
{
    uint8_t *p;

    switch (fmt) {
    case DECOMP_GZIP:
        return gzip_compress(in, in_len, len);
    case DECOMP_XZ:
    case DECOMP_LZMA:
        return lzma_compress(fmt == DECOMP_XZ, in, in_len, len);
    case DECOMP_ZSTD: {
        size_t cap = ZSTD_compressBound(in_len);
        p = xcalloc(cap);
        *len = ZSTD_compress(p, cap, in, in_len, 19);
        assert_false(ZSTD_isError(*len));
        return p;
    }
    case DECOMP_LZ4:
        return lz4_legacy(in, in_len, len);
    case DECOMP_BZIP2:
        p = xcalloc(64);
        memcpy(p, "BZh91AY&SY", 10);
        *len = 64;
        return p;
    default:
        p = xcalloc(in_len);
        memcpy(p, in, in_len);
        *len = in_len;
        return p;
    }
}

uint8_t *fx_bzimage(enum decomp_format fmt, const uint8_t *vmlinux, size_t vmlinux_len, size_t *len)
{
    size_t clen, pm_len, total;
    uint8_t *c = fx_compress(fmt, vmlinux, vmlinux_len, &clen);

    pm_len = FX_BZ_PAYLOAD_OFFSET + clen + 4;
    pm_len = (pm_len + 15) & ~(size_t)15;
    total = FX_BZ_SETUP_BYTES + pm_len;
    uint8_t *p = xcalloc(total);
    uint8_t *pay = p + FX_BZ_SETUP_BYTES + FX_BZ_PAYLOAD_OFFSET;
    p[0x1f1] = 4;                              /* setup_sects */
    put32(p + 0x1f4, (uint32_t)(pm_len / 16)); /* syssize */
    put16(p + 0x1fe, 0xaa55);
    p[0x200] = 0xeb;
    p[0x201] = 0x6a; /* header ends at 0x26c */
    memcpy(p + 0x202, "HdrS", 4);
    put16(p + 0x206, 0x020f);
    p[0x211] = 0x01;              /* LOADED_HIGH */
    put32(p + 0x22c, 0x7fffffff); /* initrd_addr_max */
    put32(p + 0x230, 0x200000);   /* kernel_alignment */
    p[0x234] = 1;                 /* relocatable */
    put16(p + 0x236, 0x7f);       /* xloadflags incl. XLF_KERNEL_64 */
    put32(p + 0x238, 2047);       /* cmdline_size */
    put32(p + 0x248, FX_BZ_PAYLOAD_OFFSET);
    put32(p + 0x24c, (uint32_t)clen + 4);
    uint64_t pref = 0x1000000;
    memcpy(p + 0x258, &pref, 8);
    put32(p + 0x260, 0x200000); /* init_size */
    memcpy(pay, c, clen);
    put32(pay + clen, (uint32_t)vmlinux_len);
    free(c);
    *len = total;
    return p;
}

void fx_machine_init(struct fx_machine *m, uint64_t mem_mib)
{
    memset(m, 0, sizeof(*m));
    assert_int_equal(gmem_create(&m->gm), 0);
    assert_int_equal(gmem_add_pc_ram(m->gm, mem_mib << 20), 0);
    assert_int_equal(e820_build_pc(&m->map, m->gm), 0);
    m->cfg.kernel_path = "test-kernel";
    m->cfg.cmdline = "console=ttyS0";
    m->cfg.e820 = &m->map;
    m->cfg.acpi_rsdp_gpa = 0xe0000;
}

void fx_machine_fini(struct fx_machine *m)
{
    gmem_destroy(m->gm);
    m->gm = NULL;
}

char *fx_tmpfile(const void *buf, size_t len)
{
    char *path = strdup("/tmp/bareiron-boot-test-XXXXXX");
    assert_non_null(path);
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, buf, len), (ssize_t)len);
    close(fd);
    return path;
}

int fx_load(struct fx_machine *m, const uint8_t *k, size_t len, const uint8_t *rd, size_t rd_len,
            struct boot_result *r)
{
    memset(&m->err, 0, sizeof(m->err));
    return boot_load_image(m->gm, &m->cfg, k, len, rd, rd_len, r, &m->err);
}

void fx_expect_refused(const uint8_t *k, size_t len, int want, const char *what)
{
    struct fx_machine m;
    struct boot_result r;

    fx_machine_init(&m, 64);
    int rc = fx_load(&m, k, len, NULL, 0, &r);
    if (rc != want)
        fail_msg("%s: got %d (%s), want %d", what, rc, m.err.message, want);
    assert_true(strlen(m.err.message) > 0);
    assert_null(strchr(m.err.message, '\n')); /* one line */
    fx_machine_fini(&m);
}
