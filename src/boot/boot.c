/* SPDX-License-Identifier: MIT */
/*
 * Kernel loading front end (boot.h): reads the files, recognises the format in QEMU's order
 * (a bzImage by its "HdrS" setup header, then a multiboot v1 header in the first 8 KiB, then an
 * ELF with the PVH note) and hands over to the loader. Also the helpers every loader shares
 * (boot_internal.h): memory map checks against the e820 map (core/x86/e820.h), the command line
 * at BOOT_CMDLINE_GPA and initrd placement.
 */
#define LOG_TAG "boot"
#include "boot/boot.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/ckd.h"
#include "base/log.h"
#include "base/util.h"
#include "boot/boot_internal.h"
#include "core/gmem.h"
#include "core/x86/e820.h"
#include "core/x86/layout.h"

/* Largest kernel or initrd file we read: 1 GiB */
#define BOOT_FILE_MAX_BYTES (1ull << 30)

int boot_check_ram(const struct boot_ctx *c, uint64_t gpa, uint64_t len, const char *what)
{
    const struct e820_map *m = c->cfg->e820;
    uint64_t end;

    if (ckd_add(&end, gpa, len))
        return error_set(c->err, -ENOEXEC, "%s: %s wraps around the address space", c->name, what);
    for (unsigned i = 0; m && i < m->n && i < E820_MAX; i++) {
        const struct e820_entry *e = &m->entries[i];
        if (e->type != E820_RAM || gpa < e->addr || range_outside(gpa - e->addr, len, e->size))
            continue;
        if (len > 0 && !gmem_ptr(c->gm, gpa, len))
            break;
        return 0;
    }
    if (end > boot_ram_top(c, UINT64_MAX))
        return error_set(c->err, -ENOSPC,
                         "%s: %s [%#llx, %#llx) lies beyond the end of guest RAM (more memory?)",
                         c->name, what, (unsigned long long)gpa, (unsigned long long)end);
    return error_set(c->err, -ENOEXEC, "%s: %s [%#llx, %#llx) is not in usable RAM", c->name, what,
                     (unsigned long long)gpa, (unsigned long long)end);
}

uint64_t boot_ram_top(const struct boot_ctx *c, uint64_t limit)
{
    const struct e820_map *m = c->cfg->e820;
    uint64_t top = 0;

    for (unsigned i = 0; m && i < m->n && i < E820_MAX; i++) {
        const struct e820_entry *e = &m->entries[i];
        uint64_t end;
        if (e->type != E820_RAM || e->addr >= limit || ckd_add(&end, e->addr, e->size))
            continue;
        top = MAX(top, MIN(end, limit));
    }
    return top;
}

int boot_copy(const struct boot_ctx *c, uint64_t gpa, const void *src, uint64_t filesz,
              uint64_t memsz, const char *what)
{
    int rc = boot_check_ram(c, gpa, memsz, what);
    if (rc < 0)
        return rc;
    if (filesz > memsz) /* the loaders check this; never write past what was checked */
        return error_set(c->err, -ENOEXEC, "%s: %s has more file bytes than memory", c->name, what);
    uint8_t *hva = gmem_ptr(c->gm, gpa, memsz);
    if (!hva) /* checked above; memsz 0 only */
        return 0;
    memcpy(hva, src, filesz);
    memset(hva + filesz, 0, memsz - filesz);
    return 0;
}

int boot_zero(const struct boot_ctx *c, uint64_t gpa, size_t len)
{
    void *hva = gmem_ptr(c->gm, gpa, len);
    if (!hva)
        return error_set(c->err, -ENOSPC, "%s: no guest memory at %#llx for boot structures",
                         c->name, (unsigned long long)gpa);
    memset(hva, 0, len);
    return 0;
}

int boot_write_cmdline(const struct boot_ctx *c, uint64_t max_bytes, uint32_t *len)
{
    const char *cmdline = c->cfg->cmdline ? c->cfg->cmdline : "";
    size_t n = strlen(cmdline);
    uint64_t limit = MIN(max_bytes, BOOT_CMDLINE_MAX);

    if (n >= limit)
        return error_set(c->err, -EINVAL,
                         "%s: command line of %zu bytes is too long (the kernel takes %llu)",
                         c->name, n, (unsigned long long)(limit - 1));
    char *hva = gmem_ptr(c->gm, BOOT_CMDLINE_GPA, n + 1);
    if (!hva)
        return error_set(c->err, -ENOSPC, "%s: no guest memory for the command line", c->name);
    memcpy(hva, cmdline, n + 1);
    *len = (uint32_t)n;
    return 0;
}

int boot_place_initrd(const struct boot_ctx *c, uint64_t lowest, uint64_t limit, uint64_t *gpa)
{
    const struct e820_map *m = c->cfg->e820;
    uint64_t best = 0;

    *gpa = 0;
    if (!c->initrd)
        return 0;
    for (unsigned i = 0; m && i < m->n && i < E820_MAX; i++) {
        const struct e820_entry *e = &m->entries[i];
        uint64_t end, start, cand;
        if (e->type != E820_RAM || ckd_add(&end, e->addr, e->size))
            continue;
        end = MIN(end, limit);
        start = MAX(e->addr, lowest);
        if (end <= start || end - start < c->initrd_len)
            continue;
        cand = ALIGN_DOWN(end - c->initrd_len, 4096ull);
        if (cand >= start && cand > best && gmem_ptr(c->gm, cand, c->initrd_len))
            best = cand;
    }
    if (best == 0)
        return error_set(
            c->err, -ENOSPC, "%s: initrd of %zu bytes does not fit in RAM between %#llx and %#llx",
            c->initrd_name, c->initrd_len, (unsigned long long)lowest, (unsigned long long)limit);
    memcpy(gmem_ptr(c->gm, best, c->initrd_len), c->initrd, c->initrd_len);
    *gpa = best;
    return 0;
}

int boot_place_cmdline_initrd(const struct boot_ctx *c, uint64_t cmdline_max_bytes,
                              uint64_t initrd_lowest, uint64_t initrd_limit,
                              struct boot_result *out)
{
    uint32_t cmdline_len;
    int rc = boot_write_cmdline(c, cmdline_max_bytes, &cmdline_len);
    if (rc < 0)
        return rc;
    rc = boot_place_initrd(c, initrd_lowest, initrd_limit, &out->initrd_gpa);
    if (rc < 0)
        return rc;
    out->initrd_size = c->initrd_len;
    return 0;
}

static bool is_bzimage(const uint8_t *k, size_t len)
{
    return len >= 0x206 && memcmp(k + 0x202, "HdrS", 4) == 0;
}

int boot_load_image(struct gmem *gm, const struct boot_config *cfg, const uint8_t *kernel,
                    size_t kernel_len, const uint8_t *initrd, size_t initrd_len,
                    struct boot_result *out, struct error *err)
{
    struct boot_ctx c = {
        .gm = gm,
        .cfg = cfg,
        .name = cfg->kernel_path ? cfg->kernel_path : "kernel",
        .initrd_name = cfg->initrd_path ? cfg->initrd_path : "initrd",
        .initrd = initrd,
        .initrd_len = initrd ? initrd_len : 0,
        .err = err,
    };
    int rc;

    memset(out, 0, sizeof(*out));
    if (!cfg->e820 || cfg->e820->n == 0 || cfg->e820->n > E820_MAX)
        return error_set(err, -EINVAL, "%s: no memory map to boot with", c.name);
    if (is_bzimage(kernel, kernel_len))
        rc = bzimage_load(&c, kernel, kernel_len, out);
    else if (multiboot_detect(kernel, kernel_len))
        rc = multiboot_load(&c, kernel, kernel_len, out);
    else if (kernel_len >= 4 && memcmp(kernel, "\177ELF", 4) == 0)
        rc = pvh_load(&c, kernel, kernel_len, out);
    else
        rc = error_set(err, -ENOEXEC,
                       "%s: not a kernel (no bzImage, multiboot or ELF header found)", c.name);
    if (rc < 0)
        return rc;
    out->cmdline_gpa = BOOT_CMDLINE_GPA;
    log_info("%s: %s kernel at [%#llx, %#llx), entry %#llx (%s)", c.name,
             boot_format_name(out->format), (unsigned long long)out->kernel_start_gpa,
             (unsigned long long)out->kernel_end_gpa, (unsigned long long)out->entry_gpa,
             boot_entry_mode_name(out->mode));
    if (initrd)
        log_info("%s: initrd at %#llx, %llu bytes", c.initrd_name,
                 (unsigned long long)out->initrd_gpa, (unsigned long long)out->initrd_size);
    return 0;
}

static int read_input(const char *path, const char *what, char **buf, size_t *len,
                      struct error *err)
{
    int rc = read_file_all(path, BOOT_FILE_MAX_BYTES, buf, len);
    if (rc == -EFBIG)
        return error_set(err, -ENOEXEC, "%s: %s larger than 1 GiB", path, what);
    if (rc < 0)
        return error_set(err, rc, "%s: cannot read %s: %s", path, what, strerror(-rc));
    return 0;
}

int boot_load(struct gmem *gm, const struct boot_config *cfg, struct boot_result *out,
              struct error *err)
{
    char *kernel = NULL, *initrd = NULL;
    size_t kernel_len = 0, initrd_len = 0;
    int rc;

    rc = read_input(cfg->kernel_path, "kernel", &kernel, &kernel_len, err);
    if (rc < 0)
        return rc;
    if (cfg->initrd_path) {
        rc = read_input(cfg->initrd_path, "initrd", &initrd, &initrd_len, err);
        if (rc < 0)
            goto out_free_kernel;
    }
    rc = boot_load_image(gm, cfg, (const uint8_t *)kernel, kernel_len, (const uint8_t *)initrd,
                         initrd_len, out, err);
    free(initrd);
out_free_kernel:
    free(kernel);
    return rc;
}

int boot_probe(const char *path, enum boot_format *fmt, struct error *err)
{
    char *buf = NULL;
    size_t len = 0;
    const uint8_t *k;
    enum boot_format f = BOOT_FORMAT_BZIMAGE;
    int rc;

    rc = read_input(path, "kernel", &buf, &len, err);
    if (rc < 0)
        return rc;
    k = (const uint8_t *)buf;
    if (is_bzimage(k, len)) {
        f = BOOT_FORMAT_BZIMAGE;
        rc = bzimage_probe(k, len, path, err);
    } else if (multiboot_detect(k, len)) {
        f = BOOT_FORMAT_MULTIBOOT;
        rc = multiboot_probe(k, len, path, err);
    } else if (len >= 4 && memcmp(k, "\177ELF", 4) == 0) {
        f = BOOT_FORMAT_ELF_PVH;
        rc = pvh_probe(k, len, path, err);
    } else {
        rc = error_set(err, -ENOEXEC,
                       "%s: not a kernel (no bzImage, multiboot or ELF header found)", path);
    }
    free(buf);
    if (rc == 0 && fmt)
        *fmt = f;
    return rc;
}

const char *boot_format_name(enum boot_format fmt)
{
    switch (fmt) {
    case BOOT_FORMAT_BZIMAGE:
        return "bzImage";
    case BOOT_FORMAT_MULTIBOOT:
        return "multiboot";
    case BOOT_FORMAT_ELF_PVH:
        return "elf-pvh";
    }
    return "unknown";
}

const char *boot_entry_mode_name(enum boot_entry_mode mode)
{
    switch (mode) {
    case BOOT_ENTRY_LINUX64:
        return "linux64";
    case BOOT_ENTRY_PVH32:
        return "pvh32";
    case BOOT_ENTRY_MULTIBOOT32:
        return "multiboot32";
    }
    return "unknown";
}
