/* SPDX-License-Identifier: MIT */
/*
 * boot-check: loads a kernel (and initrd) into a fresh guest memory of a bareiron PC, exactly as
 * the monitor would before starting the vCPUs, and prints what the loader decided as
 * "key=value" lines. No KVM needed. Used by tests/integration/test_boot_loaders.py on Debian's
 * packaged kernel.
 * Usage: boot-check [--memory MiB] [--cmdline STR] [--rsdp GPA] [--dump DIR] [--probe] KERNEL
 * [INITRD]
 * --dump writes every range the loader filled to DIR/<gpa in hex>.bin (the boot structures,
 * command line, kernel and initrd), so that another machine (QEMU, in the integration tests) can
 * be given exactly this memory. --rsdp sets boot_config.acpi_rsdp_gpa (default 0xe0000).
 * Exit status: 0 loaded, 6 refused (message on stderr), 2 usage, 1 other failure.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "boot/boot.h"
#include "core/gmem.h"
#include "core/x86/e820.h"
#include "core/x86/layout.h"

static int usage(void)
{
    fprintf(stderr, "usage: boot-check [--memory MiB] [--cmdline STR] [--rsdp GPA] [--dump DIR] "
                    "[--probe] KERNEL [INITRD]\n");
    return 2;
}

static int probe(const char *path)
{
    struct error err = {0};
    enum boot_format fmt;

    if (boot_probe(path, &fmt, &err) < 0) {
        fprintf(stderr, "boot-check: %s\n", err.message);
        return 6;
    }
    printf("format=%s\n", boot_format_name(fmt));
    return 0;
}

/* Writes guest [gpa, gpa+len) to dir/<gpa>.bin. */
static int dump_range(const struct gmem *gm, const char *dir, uint64_t gpa, uint64_t len)
{
    char path[4096];
    const void *hva = gmem_ptr(gm, gpa, len);

    if (len == 0)
        return 0;
    snprintf(path, sizeof(path), "%s/%09" PRIx64 ".bin", dir, gpa);
    if (!hva || write_file_atomic(path, hva, len, 0644) < 0) {
        fprintf(stderr, "boot-check: cannot dump %s\n", path);
        return -1;
    }
    return 0;
}

static int dump(const struct gmem *gm, const char *dir, const struct boot_result *r,
                const char *cmdline)
{
    int rc = 0;

    rc |= dump_range(gm, dir, BOOT_PARAMS_GPA, 0x1000);
    rc |= dump_range(gm, dir, BOOT_CMDLINE_GPA, strlen(cmdline) + 1);
    if (r->mode != BOOT_ENTRY_LINUX64)
        rc |= dump_range(gm, dir, BOOT_INFO_GPA, 0x10000);
    rc |= dump_range(gm, dir, r->kernel_start_gpa, r->kernel_end_gpa - r->kernel_start_gpa);
    rc |= dump_range(gm, dir, r->initrd_gpa, r->initrd_size);
    return rc;
}

static void print_result(const struct boot_result *r)
{
    printf("format=%s\nmode=%s\n", boot_format_name(r->format), boot_entry_mode_name(r->mode));
    printf("entry=0x%" PRIx64 "\ninfo=0x%" PRIx64 "\nmagic=0x%" PRIx32 "\n", r->entry_gpa,
           r->info_gpa, r->boot_magic);
    printf("kernel_start=0x%" PRIx64 "\nkernel_end=0x%" PRIx64 "\n", r->kernel_start_gpa,
           r->kernel_end_gpa);
    printf("initrd=0x%" PRIx64 "\ninitrd_size=%" PRIu64 "\n", r->initrd_gpa, r->initrd_size);
}

int main(int argc, char **argv)
{
    uint64_t mem_mib = 256;
    const char *cmdline = "console=ttyS0";
    struct boot_config cfg = {0};
    struct boot_result res;
    struct error err = {0};
    struct e820_map map;
    struct gmem *gm = NULL;
    bool is_probe = false;
    const char *dump_dir = NULL;
    uint64_t rsdp = 0xe0000;
    int i = 1, rc;

    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--probe") == 0)
            is_probe = true;
        else if (strcmp(argv[i], "--memory") == 0 && i + 1 < argc) {
            if (parse_u64(argv[++i], &mem_mib) < 0)
                return usage();
        } else if (strcmp(argv[i], "--cmdline") == 0 && i + 1 < argc)
            cmdline = argv[++i];
        else if (strcmp(argv[i], "--dump") == 0 && i + 1 < argc)
            dump_dir = argv[++i];
        else if (strcmp(argv[i], "--rsdp") == 0 && i + 1 < argc)
            rsdp = strtoull(argv[++i], NULL, 0);
        else
            return usage();
    }
    if (i >= argc || argc - i > 2 || mem_mib == 0 || mem_mib > (1u << 20))
        return usage();
    if (is_probe)
        return probe(argv[i]);
    cfg.kernel_path = argv[i];
    cfg.initrd_path = i + 1 < argc ? argv[i + 1] : NULL;
    cfg.cmdline = cmdline;
    if (gmem_create(&gm) < 0 || gmem_add_pc_ram(gm, mem_mib << 20) < 0 ||
        e820_build_pc(&map, gm) < 0) {
        fprintf(stderr, "boot-check: cannot set up %" PRIu64 " MiB of guest memory\n", mem_mib);
        gmem_destroy(gm);
        return 1;
    }
    cfg.e820 = &map;
    cfg.acpi_rsdp_gpa = rsdp;
    rc = boot_load(gm, &cfg, &res, &err);
    if (rc < 0) {
        fprintf(stderr, "boot-check: %s\n", err.message);
        gmem_destroy(gm);
        return rc == -ENOEXEC || rc == -EINVAL || rc == -ENOSPC ? 6 : 1;
    }
    print_result(&res);
    rc = dump_dir ? dump(gm, dump_dir, &res, cmdline) : 0;
    gmem_destroy(gm);
    return rc ? 1 : 0;
}
