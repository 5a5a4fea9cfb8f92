/* SPDX-License-Identifier: MIT */
/*
 * `bareiron run`: boots an ad-hoc VM in the foreground by exec'ing the monitor, bareiron-vmm,
 * with the same arguments (docs/vmm.md). The monitor is found through $BAREIRON_VMM, next to
 * this binary (installed layout) or at ../vmm/bareiron-vmm (meson build tree).
 */
#include "cli/cli.h"

#include <errno.h>
#include <stdbool.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mgr/vmdisk.h"

static const char run_help[] =
    "usage: bareiron run [--kernel FILE] [options]\n"
    "\n"
    "Boots a virtual machine in the foreground, with its serial console (COM1) on this\n"
    "terminal, and exits when the guest powers off. Nothing is stored: for named VMs see\n"
    "'bareiron create' and 'bareiron start'.\n"
    "\n"
    "Options:\n"
    "  --kernel FILE        kernel to boot directly: a bzImage (64-bit Linux), an ELF with a\n"
    "                       PVH entry note, or a multiboot v1 image; without it SeaBIOS\n"
    "                       boots the disks on the pc machine (--machine, --firmware,\n"
    "                       --boot cdrom,disk, --boot-menu on: see bareiron-vmm --help)\n"
    "  --initrd FILE        initial ramdisk handed to the kernel\n"
    "  --cmdline STR        kernel command line (e.g. \"console=ttyS0\")\n"
    "  --cpus N             number of vCPUs, 1 to 64 (default 1)\n"
    "  --memory SIZE        guest RAM; a bare number is MiB; suffixes K, M, G, T (default 256M)\n"
    "  --no-reboot          exit instead of rebooting when the guest resets or triple-faults\n"
    "  --disk PATH[,format=raw|qcow2][,readonly][,cache=none|writeback][,bus=virtio|ide]\n"
    "                       a virtio-blk (default) or IDE disk; repeat for more disks, at\n"
    "                       most 8 with the cdrom (without format=, run reads the image's\n"
    "                       header and passes the format it has; cache=none: O_DIRECT;\n"
    "                       backing=same-dir|none|any: which backing files a qcow2 may name)\n"
    "  --cdrom FILE[,bus=ide|virtio]|empty\n"
    "                       a read-only raw image in an IDE CD-ROM drive (empty: no disc;\n"
    "                       bus=virtio: a read-only virtio-blk disk); a qcow2 image is\n"
    "                       refused (use --disk FILE,readonly)\n"
    "  --floppy FILE|empty  floppy drive A: with a raw 720K, 1.2M, 1.44M or 2.88M image\n"
    "  --boot LIST          firmware boot order, distinct floppy, cdrom, disk, net\n"
    "                       (default cdrom,disk; net boots the --nic adapters by iPXE)\n"
    "  --boot-menu on|off   let SeaBIOS offer its boot menu (press ESC; default off)\n"
    "  --firmware bios|uefi|none, --machine pc|microvm\n"
    "                       SeaBIOS (default without --kernel), OVMF, or the kernel alone\n"
    "  --video std|bochs-display|none[,mode=WxH]\n"
    "                       display adapter (default none; std for SeaBIOS's screen) and\n"
    "                       the mode its EDID prefers (default 1024x768)\n"
    "  --vram SIZE          video memory, a power of two 1M..512M (default 16M)\n"
    "  --display vnc=HOST:PORT|vnc=unix:PATH|none\n"
    "                       VNC server for the screen (default none)\n"
    "  --serial stdio|none|file:PATH|unix:PATH\n"
    "                       where the console goes (default stdio; unix: listens on PATH;\n"
    "                       none when --vconsole stdio is given)\n"
    "  --vconsole stdio|none|file:PATH|unix:PATH\n"
    "                       add a virtio-console port (the guest's hvc0) connected there;\n"
    "                       --serial stdio and --vconsole stdio cannot be combined\n"
    "  --rng                add a virtio-rng device (the guest's /dev/hwrng), fed by getrandom\n"
    "  --control PATH       serve the control API on unix socket PATH (docs/control-api.md)\n"
    "  --name NAME          name used in logs and control API replies\n"
    "  --log-level LEVEL    error, warn, info or debug (default warn, or $BAREIRON_LOG)\n"
    "  --cpu-model MODEL    host (everything KVM offers) or baseline (x86-64-v2-like subset)\n"
    "  --seccomp on|off     per-thread system call allowlists (default on; off to debug)\n"
    "  --sandbox            run jailed: own namespaces, empty root, no capabilities, uid\n"
    "                       65534 (needs root; docs/security.md)\n"
    "  --sandbox-user UID:GID  the ids the jailed monitor runs as\n"
    "\n"
    "Every other bareiron-vmm option is passed on as well (--nic, --irqchip, --debug-exit,\n"
    "--reboot-limit, --serial-log, --restore, --fd...): see 'bareiron-vmm --help'. Errors\n"
    "are the monitor's, and start with 'bareiron-vmm:'.\n"
    "\n"
    "Console keys (stdio): Ctrl-A x quits, Ctrl-A Ctrl-A sends Ctrl-A, Ctrl-A h lists keys.\n"
    "\n"
    "Exit status:\n"
    "  0    the guest powered off (ACPI S5), or reset with --no-reboot, or Ctrl-A x\n"
    "  2    usage error (unknown option, bad value)\n"
    "  3    the kernel, initrd or a disk does not exist\n"
    "  4    a disk is in use by another process\n"
    "  5    /dev/kvm is missing or unusable\n"
    "  6    bad input: the kernel, initrd or a disk cannot be read or is not valid\n"
    "  8    the guest crashed (triple fault with --no-reboot, KVM internal error); the\n"
    "       registers and instruction bytes are printed on stderr\n"
    "  10   a forbidden system call (seccomp); the line before names it\n"
    "  2n+1 the guest wrote n to the isa-debug-exit port 0xf4 (QEMU's convention)\n"
    "  128+s terminated by signal s\n"
    "  1    any other failure (including: bareiron-vmm not found)\n"
    "\n"
    "Environment: BAREIRON_VMM overrides the path of the monitor binary; BAREIRON_LOG sets\n"
    "the default log level.\n"
    "\n"
    "Examples:\n"
    "  bareiron run --kernel vmlinuz --initrd initrd.img --cmdline console=ttyS0 \\\n"
    "               --memory 1G --cpus 2 --disk disk.qcow2\n"
    "  bareiron run --cdrom install.iso --disk disk.img,bus=ide --boot cdrom,disk \\\n"
    "               --video std --display vnc=unix:/tmp/vm.vnc\n";

/* Writes the directory of the running executable into (dir). Returns 0 or -errno. */
static int self_dir(char *dir, size_t len)
{
    ssize_t n = readlink("/proc/self/exe", dir, len - 1);
    char *slash;
    if (n < 0)
        return -errno;
    dir[n] = '\0';
    slash = strrchr(dir, '/');
    if (slash == NULL)
        return -ENOENT;
    *slash = '\0';
    return 0;
}

/* Finds bareiron-vmm; returns 0 with the path in (out) or -ENOENT. */
static int find_vmm(char *out, size_t len)
{
    const char *env = getenv("BAREIRON_VMM");
    static const char *const rel[] = {"bareiron-vmm", "../vmm/bareiron-vmm"};
    char dir[PATH_MAX];
    if (env != NULL && env[0] != '\0') {
        snprintf(out, len, "%s", env);
        return access(out, X_OK) == 0 ? 0 : -ENOENT;
    }
    if (self_dir(dir, sizeof(dir)) < 0)
        return -ENOENT;
    for (size_t i = 0; i < ARRAY_SIZE(rel); i++) {
        if ((size_t)snprintf(out, len, "%s/%s", dir, rel[i]) >= len)
            continue;
        if (access(out, X_OK) == 0)
            return 0;
    }
    return -ENOENT;
}

/* Whether the --disk spec (after its path) names a format= attribute. */
static bool has_format(const char *spec)
{
    for (const char *c = strchr(spec, ','); c != NULL; c = strchr(c + 1, ','))
        if (strncmp(c + 1, "format=", 7) == 0)
            return true;
    return false;
}

/*
 * (spec) with ",format=F" added when it names none: the monitor takes a writable disk without
 * format= as raw (it never probes what a guest can write), so `run --disk disk.qcow2` would hand
 * the guest the qcow2 container. Here, before the guest exists, the header says what the user's
 * image is, as `create` records it. Returns (spec) itself when nothing is added.
 */
static char *with_format(char *spec)
{
    const char *comma = strchr(spec, ',');
    size_t plen = comma ? (size_t)(comma - spec) : strlen(spec);
    char path[PATH_MAX], *out;
    const char *fmt;

    if (has_format(spec) || plen == 0 || plen >= sizeof(path))
        return spec;
    memcpy(path, spec, plen);
    path[plen] = '\0';
    fmt = vmdisk_probe_format(path);
    if (fmt == NULL || asprintf(&out, "%s,format=%s", spec, fmt) < 0)
        return spec; /* the monitor reports what is wrong with the file */
    return out;
}

/*
 * Refuses a qcow2 image as --cdrom FILE[,bus=...] (status 6, as `set --cdrom` does): the monitor
 * attaches the CD-ROM raw, so the guest would read the qcow2 container. A file that cannot be
 * probed is left to the monitor, which reports it.
 */
static int check_cdrom(const char *spec, struct error *err)
{
    const char *comma = strrchr(spec, ',');
    size_t plen = comma && strncmp(comma, ",bus=", 5) == 0 ? (size_t)(comma - spec) : strlen(spec);
    char path[PATH_MAX];
    const char *fmt;
    if (plen == 0 || plen >= sizeof(path))
        return 0;
    memcpy(path, spec, plen);
    path[plen] = '\0';
    fmt = strcmp(path, "empty") == 0 ? NULL : vmdisk_probe_format(path);
    if (fmt != NULL && strcmp(fmt, "raw") != 0)
        return error_set(err, -ENOTSUP,
                         "run: --cdrom %s: a qcow2 image cannot be the CD-ROM yet (it is attached "
                         "raw); use --disk %s,readonly",
                         path, path);
    return 0;
}

/* Gives every --disk SPEC / --disk=SPEC of (argv) its image's format (with_format) and checks
 * every --cdrom (check_cdrom). */
static int add_disk_formats(int argc, char **argv, struct error *err)
{
    for (int i = 1; i < argc; i++) {
        int ret = 0;
        if (strcmp(argv[i], "--") == 0)
            return 0;
        if (strcmp(argv[i], "--cdrom") == 0 && i + 1 < argc) {
            if ((ret = check_cdrom(argv[++i], err)) < 0)
                return ret;
        } else if (strncmp(argv[i], "--cdrom=", 8) == 0) {
            if ((ret = check_cdrom(argv[i] + 8, err)) < 0)
                return ret;
        } else if (strcmp(argv[i], "--disk") == 0 && i + 1 < argc) {
            argv[i + 1] = with_format(argv[i + 1]);
            i++;
        } else if (strncmp(argv[i], "--disk=", 7) == 0) {
            char *spec = with_format(argv[i] + 7);
            if (spec != argv[i] + 7 && asprintf(&argv[i], "--disk=%s", spec) < 0)
                return 0;
        }
    }
    return 0;
}

int cmd_run(int argc, char **argv, struct error *err)
{
    char vmm[PATH_MAX];
    static char vmm_name[] = "bareiron-vmm";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(run_help, stdout);
            return 0;
        }
    }
    if (find_vmm(vmm, sizeof(vmm)) < 0)
        return error_set(err, -EIO,
                         "run: cannot find bareiron-vmm (next to bareiron, in ../vmm/, or "
                         "$BAREIRON_VMM)");
    argv[0] = vmm_name;
    if (add_disk_formats(argc, argv, err) < 0)
        return -ENOTSUP;
    fflush(NULL);
    execv(vmm, argv);
    /* Status 1 whatever the errno: the monitor's statuses are for what it found wrong. */
    return error_set(err, -EIO, "run: cannot execute %s: %s", vmm, strerror(errno));
}
