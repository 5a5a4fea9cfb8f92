/* SPDX-License-Identifier: MIT */
/* Implementation of vmm/options.h: the monitor's command-line contract (docs/vmm.md). */
#include "vmm/options.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/util.h"
#include "core/x86/layout.h"

/* The command line is copied to BOOT_CMDLINE_GPA with its NUL. */
_Static_assert(BOOT_CMDLINE_MAX == VM_MAX_CMDLINE_BYTES + 1, "cmdline limit");

enum opt_id {
    OPT_KERNEL,
    OPT_INITRD,
    OPT_CMDLINE,
    OPT_CPUS,
    OPT_MEMORY,
    OPT_NO_REBOOT,
    OPT_DISK,
    OPT_CDROM,
    OPT_SERIAL,
    OPT_CONTROL,
    OPT_NAME,
    OPT_LOG_LEVEL,
    OPT_CPU_MODEL,
    OPT_RNG,
    OPT_VCONSOLE,
    OPT_SERIAL_LOG,
    OPT_REBOOT_LIMIT,
    OPT_IRQCHIP,
    OPT_ACPI,
    OPT_IOAPIC,
    OPT_DEBUG_EXIT,
    OPT_SECCOMP,
    OPT_SANDBOX,
    OPT_SANDBOX_USER,
    OPT_RESTORE,
    OPT_RESTORE_COPY,
    OPT_NIC,
    OPT_FD,
    OPT_INPUT,
    OPT_DISPLAY,
    OPT_MACHINE, /* --machine, --firmware*, --boot*: options_machine.c */
    OPT_HELP,
    OPT_VERSION,
    OPT_FLOPPY,
};

struct opt_def {
    const char *name;
    enum opt_id id;
    bool has_arg;
};

static const struct opt_def opt_defs[] = {
    {"kernel", OPT_KERNEL, true},
    {"initrd", OPT_INITRD, true},
    {"cmdline", OPT_CMDLINE, true},
    {"cpus", OPT_CPUS, true},
    {"memory", OPT_MEMORY, true},
    {"no-reboot", OPT_NO_REBOOT, false},
    {"disk", OPT_DISK, true},
    {"cdrom", OPT_CDROM, true},
    {"floppy", OPT_FLOPPY, true},
    {"serial", OPT_SERIAL, true},
    {"control", OPT_CONTROL, true},
    {"name", OPT_NAME, true},
    {"log-level", OPT_LOG_LEVEL, true},
    {"cpu-model", OPT_CPU_MODEL, true},
    {"help", OPT_HELP, false},
    {"version", OPT_VERSION, false},
    {"rng", OPT_RNG, false},
    {"vconsole", OPT_VCONSOLE, true},
    {"serial-log", OPT_SERIAL_LOG, true},
    {"reboot-limit", OPT_REBOOT_LIMIT, true},
    {"irqchip", OPT_IRQCHIP, true},
    {"acpi", OPT_ACPI, true},
    {"ioapic", OPT_IOAPIC, true},
    {"debug-exit", OPT_DEBUG_EXIT, false},
    {"seccomp", OPT_SECCOMP, true},
    {"sandbox", OPT_SANDBOX, false},
    {"sandbox-user", OPT_SANDBOX_USER, true},
    {"restore", OPT_RESTORE, true},
    {"restore-copy", OPT_RESTORE_COPY, false},
    {"nic", OPT_NIC, true},
    {"fd", OPT_FD, true},
    {"input", OPT_INPUT, true},
    {"video", OPT_DISPLAY, true},
    {"vram", OPT_DISPLAY, true},
    {"display", OPT_DISPLAY, true},
    {"display-password-file", OPT_DISPLAY, true},
    {"machine", OPT_MACHINE, true},
    {"firmware", OPT_MACHINE, true},
    {"firmware-file", OPT_MACHINE, true},
    {"firmware-vars", OPT_MACHINE, true},
    {"boot", OPT_MACHINE, true},
    {"boot-menu", OPT_MACHINE, true},
    {"uuid", OPT_MACHINE, true},
};

static void usage_footer(FILE *f);

void vmm_options_usage(FILE *f, const char *prog)
{
    fprintf(
        f,
        "usage: %s [--kernel FILE] [options]\n\n"
        "Boots a KVM guest in the foreground with its serial console on the terminal.\n\n"
        "  --kernel FILE        bzImage, ELF with a PVH note, or multiboot kernel (direct boot\n"
        "                       on the microvm machine, or by SeaBIOS with --firmware bios);\n"
        "                       without it SeaBIOS boots the disks\n"
        "  --initrd FILE        initial ramdisk\n"
        "  --cmdline STR        kernel command line\n"
        "  --cpus N             number of vCPUs, 1..64 (default 1)\n"
        "  --memory SIZE        guest RAM, default unit MiB: 512, 512M, 2G (default 256M)\n"
        "  --no-reboot          exit instead of rebooting on a guest reset or triple fault\n"
        "  --reboot-limit N/Ts  stop as crashed (status 8) after N resets within T seconds\n"
        "                       (default 10/10s; off: no limit)\n"
        "  --disk PATH[,format=raw|qcow2][,readonly][,cache=none|writeback]\n"
        "             [,backing=same-dir|none|any][,bus=virtio|ide]\n"
        "                       disk on virtio-blk (default) or IDE (repeatable; 8 disks with\n"
        "                       the cdrom, 4 IDE drives with the CD-ROM drive); without\n"
        "                       format= a writable disk is raw (only read-only disks are\n"
        "                       probed)\n"
        "  --cdrom FILE[,bus=ide|virtio]|empty\n"
        "                       raw image in an ATAPI CD-ROM drive on IDE (secondary master;\n"
        "                       empty: the drive without a disc), or with bus=virtio a\n"
        "                       read-only virtio-blk disk\n"
        "  --floppy FILE[,readonly=on]|empty\n"
        "                       floppy drive A: with a raw 720K, 1.2M, 1.44M or 2.88M image\n"
        "                       (or no disk); the control op media-change swaps it\n"
        "  --serial stdio|none|file:PATH|unix:PATH\n"
        "                       where COM1 goes (default stdio; none with --vconsole stdio)\n"
        "  --serial-log FILE[,max=SIZE]\n"
        "                       also append COM1 output to FILE, moved to FILE.old when it\n"
        "                       would pass SIZE (KiB by default, 64K..1G, default 1M)\n"
        "  --vconsole stdio|none|file:PATH|unix:PATH\n"
        "                       add a virtio-console port (hvc0) connected there\n"
        "  --rng                add a virtio-rng device fed by getrandom(2)\n"
        "  --input keyboard|tablet|virtio\n"
        "                       add a virtio-input keyboard, an absolute pointer (tablet), or\n"
        "                       both (repeatable); the PS/2 keyboard and mouse are always\n"
        "                       there and get the input until the guest drives these\n"
        "  --nic nat[,mac=M][,hostfwd=tcp|udp:[HADDR]:HPORT-[GADDR]:GPORT]...[,restrict=on]\n"
        "           [,tftp=DIR[,bootfile=NAME]]\n"
        "  --nic tap,ifname=NAME|fd=N[,vhost=on|off|auto][,queues=N][,mac=M]\n"
        "  --nic none[,mac=M]   a virtio-net adapter (repeatable, 4 at most): NAT network\n"
        "                       10.0.2.0/24 (DHCP, DNS 10.0.2.3, host loopback at 10.0.2.2),\n"
        "                       a tap interface, or no cable (link down); tftp=, bootfile=\n"
        "                       serve DIR at 10.0.2.2 and offer NAME by DHCP (network boot)\n"
        "  --control PATH       unix socket for the control API (docs/control-api.md)\n"
        "  --name NAME          VM name for logs and the control API (64 characters)\n"
        "  --log-level L        error|warn|info|debug (default warn, or $BAREIRON_LOG)\n"
        "  --cpu-model M        host|baseline (default host)\n"
        "  --irqchip split|kernel\n"
        "                       split (default): LAPICs in KVM, IOAPIC in the monitor, no\n"
        "                       8259 PIC and no PIT (guests with LAPIC timer, TSC, kvmclock);\n"
        "                       kernel: PIC, IOAPIC, LAPICs and PIT in KVM (legacy guests)\n"
        "  --acpi on|off        off: no ACPI tables, MP table only (poweroff then halts)\n"
        "  --ioapic on|off      off: no IOAPIC for the guest, legacy interrupts through the\n"
        "                       8259 PIC (implies --irqchip kernel; with --acpi off, 1 vCPU)\n"
        "  --debug-exit         add QEMU's isa-debug-exit at port 0xf4, so the guest chooses\n"
        "                       the exit status (for test payloads; off by default)\n"
        "  --seccomp on|off     per-thread syscall allowlists (default on; off to debug)\n"
        "  --sandbox            run jailed: own mount/PID/IPC/UTS namespaces, empty root,\n"
        "                       no capabilities, uid 65534 when started as root\n"
        "  --sandbox-user UID:GID  the user the jailed monitor runs as (root only)\n"
        "  --restore FILE       resume the state the control command save wrote to FILE\n"
        "                       (the other options must describe the same machine)\n"
        "  --restore-copy       with --restore: copy guest memory out of FILE in the\n"
        "                       background while the guest runs, then let FILE go\n"
        "  --fd N:PATH          use inherited descriptor N (>= 3) as the open of PATH, exactly\n"
        "                       as --kernel, --initrd, --disk, --cdrom or --restore name it;\n"
        "                       its access mode and O_DIRECT must be the monitor's\n"
        "                       (repeatable; twice for a cache=none disk)\n"
        "  --video std|bochs-display|none[,mode=WxH]\n"
        "                       display adapter (default none); mode: the preferred mode its\n"
        "                       EDID announces (default 1024x768; must fit --vram at\n"
        "                       32 bits a pixel)\n"
        "  --vram SIZE          video memory, a power of two 1M..512M (default 16M)\n"
        "  --display vnc=HOST:PORT|vnc=unix:PATH|none\n"
        "                       VNC server for the screen (default none); HOST numeric\n"
        "  --display-password-file FILE\n"
        "                       VNC password (first line, 8 characters used)\n"
        "  --machine pc|microvm pc: i440FX/PIIX3 chipset for firmware (default without\n"
        "                       --kernel); microvm: the direct-boot machine (with --kernel)\n"
        "  --firmware none|bios|uefi\n"
        "                       bios: SeaBIOS (default on pc); uefi: OVMF\n"
        "  --firmware-file PATH firmware image (default " VMM_SEABIOS_PATH ",\n"
        "                       or " VMM_OVMF_CODE_PATH " with uefi)\n"
        "  --firmware-vars PATH UEFI variable store, written in place (default: a copy of\n"
        "                       " VMM_OVMF_VARS_PATH " kept in memory)\n"
        "  --boot LIST          firmware boot order, distinct floppy, cdrom, disk, net\n"
        "                       (default cdrom,disk); net: iPXE (" VMM_IPXE_VIRTIO_PATH ")\n"
        "  --boot-menu on|off   let the firmware offer its boot menu (ESC, default off)\n"
        "  --uuid UUID          the SMBIOS system UUID (pc machine; default none)\n"
        "  --help, --version\n\n",
        prog);
    usage_footer(f);
}

static void usage_footer(FILE *f)
{
    fputs("Console: Ctrl-A x quits, Ctrl-A Ctrl-A sends Ctrl-A.\n"
          "Exit status: 0 guest powered off (or reset with --no-reboot); (v << 1) | 1 when the\n"
          "guest writes v to port 0xf4 with --debug-exit; 2 usage error; 3 a file does not "
          "exist; 4 a disk is\n"
          "in use; 5 KVM missing or unusable; 6 bad kernel, disk or config input; 8 guest\n"
          "crashed; 10 forbidden system call (seccomp); 1 other failure.\n",
          f);
}

int vmm_parse_disk(const char *spec, struct vmm_disk *d, struct error *err)
{
    const char *comma = strchr(spec, ',');
    size_t plen = comma ? (size_t)(comma - spec) : strlen(spec);
    memset(d, 0, sizeof(*d));
    d->spec = spec;
    if (plen == 0 || plen >= sizeof(d->path))
        return error_set(err, -EINVAL, "--disk '%s': missing or too long path", spec);
    memcpy(d->path, spec, plen);
    while (comma != NULL) {
        const char *opt = comma + 1;
        size_t len;
        comma = strchr(opt, ',');
        len = comma ? (size_t)(comma - opt) : strlen(opt);
        if (len == 8 && strncmp(opt, "readonly", len) == 0)
            d->is_readonly = true;
        else if (len == 10 && strncmp(opt, "format=raw", len) == 0)
            d->format = VMM_DISK_RAW;
        else if (len == 12 && strncmp(opt, "format=qcow2", len) == 0)
            d->format = VMM_DISK_QCOW2;
        else if (len == 10 && strncmp(opt, "cache=none", len) == 0)
            d->is_cache_none = true;
        else if (len == 15 && strncmp(opt, "cache=writeback", len) == 0)
            d->is_cache_none = false;
        else if (len == 12 && strncmp(opt, "backing=none", len) == 0)
            d->backing = VMM_BACKING_NONE;
        else if (len == 16 && strncmp(opt, "backing=same-dir", len) == 0)
            d->backing = VMM_BACKING_SAME_DIR;
        else if (len == 11 && strncmp(opt, "backing=any", len) == 0)
            d->backing = VMM_BACKING_ANY;
        else if (len == 7 && strncmp(opt, "bus=ide", len) == 0)
            d->bus = VMM_DISK_BUS_IDE;
        else if (len == 10 && strncmp(opt, "bus=virtio", len) == 0)
            d->bus = VMM_DISK_BUS_VIRTIO;
        else
            return error_set(err, -EINVAL, "--disk '%s': unknown option '%.*s'", spec, (int)len,
                             opt);
    }
    return 0;
}

/* --input keyboard|tablet|virtio (both). */
static int parse_input(const char *v, struct vmm_options *o, struct error *err)
{
    bool is_both = strcmp(v, "virtio") == 0;
    if (!is_both && strcmp(v, "keyboard") != 0 && strcmp(v, "tablet") != 0)
        return error_set(err, -EINVAL, "bad --input '%s' (expected keyboard, tablet or virtio)", v);
    if (is_both || strcmp(v, "keyboard") == 0)
        o->has_virtio_keyboard = true;
    if (is_both || strcmp(v, "tablet") == 0)
        o->has_virtio_tablet = true;
    return 0;
}

/* "stdio|none|file:PATH|unix:PATH" for --serial and --vconsole (named (opt) in errors). */
static int parse_backend(const char *opt, const char *v, enum vmm_serial *kind, const char **path,
                         struct error *err)
{
    if (strcmp(v, "stdio") == 0)
        *kind = VMM_SERIAL_STDIO;
    else if (strcmp(v, "none") == 0)
        *kind = VMM_SERIAL_NONE;
    else if (strncmp(v, "file:", 5) == 0 && v[5] != '\0')
        *kind = VMM_SERIAL_FILE, *path = v + 5;
    else if (strncmp(v, "unix:", 5) == 0 && v[5] != '\0')
        *kind = VMM_SERIAL_UNIX, *path = v + 5;
    else
        return error_set(err, -EINVAL, "%s '%s': expected stdio, none, file:PATH or unix:PATH", opt,
                         v);
    return 0;
}

/* "on|off" for (opt). */
static int parse_on_off(const char *opt, const char *v, bool *out, struct error *err)
{
    if (strcmp(v, "on") == 0)
        *out = true;
    else if (strcmp(v, "off") == 0)
        *out = false;
    else
        return error_set(err, -EINVAL, "%s '%s': expected on or off", opt, v);
    return 0;
}

static int parse_irqchip(const char *v, struct vmm_options *o, struct error *err)
{
    if (strcmp(v, "split") == 0)
        o->irqchip = VMM_IRQCHIP_SPLIT;
    else if (strcmp(v, "kernel") == 0)
        o->irqchip = VMM_IRQCHIP_KERNEL;
    else
        return error_set(err, -EINVAL, "--irqchip '%s': expected split or kernel", v);
    o->has_irqchip = true;
    return 0;
}

/* "FILE[,max=SIZE]" for --serial-log. */
static int parse_serial_log(const char *v, struct vmm_options *o, struct error *err)
{
    const char *comma = strrchr(v, ',');
    size_t len = strlen(v);
    if (comma != NULL && strncmp(comma, ",max=", 5) == 0) {
        uint64_t bytes;
        if (parse_size(comma + 5, 1ULL << 10, &bytes) < 0 || bytes < VMM_MIN_SERIAL_LOG_BYTES ||
            bytes > VMM_MAX_SERIAL_LOG_BYTES)
            return error_set(err, -EINVAL, "--serial-log '%s': max must be a size from 64K to 1G",
                             v);
        o->serial_log_max_bytes = bytes;
        len = (size_t)(comma - v);
    }
    if (len == 0 || len >= sizeof(o->serial_log))
        return error_set(err, -EINVAL, "--serial-log '%s': missing or too long path", v);
    memcpy(o->serial_log, v, len);
    o->serial_log[len] = '\0';
    return 0;
}

static int parse_memory(const char *v, struct vmm_options *o, struct error *err)
{
    uint64_t bytes;
    if (parse_size(v, 1ULL << 20, &bytes) < 0)
        return error_set(err, -EINVAL, "--memory '%s': not a size (examples: 512M, 2G)", v);
    if (bytes < VMM_MIN_MEMORY_BYTES || bytes > VMM_MAX_MEMORY_BYTES)
        return error_set(err, -EINVAL, "--memory '%s': must be between %dM and 1T", v,
                         VM_MIN_MEMORY_MIB);
    if (bytes % (1ULL << 20))
        return error_set(err, -EINVAL, "--memory '%s': must be a multiple of 1M", v);
    o->memory_bytes = bytes;
    return 0;
}

/* "N/T" or "N/Ts" (N resets within T seconds), or "off". */
static int parse_reboot_limit(const char *v, struct vmm_options *o, struct error *err)
{
    const char *slash = strchr(v, '/');
    char num[24], secs[24];
    uint64_t n, t;
    size_t tl;

    if (strcmp(v, "off") == 0) {
        o->reboot_limit = 0;
        return 0;
    }
    if (slash == NULL || (size_t)(slash - v) >= sizeof(num) || strlen(slash + 1) >= sizeof(secs))
        goto bad;
    memcpy(num, v, (size_t)(slash - v));
    num[slash - v] = '\0';
    strcpy(secs, slash + 1);
    tl = strlen(secs);
    if (tl > 0 && secs[tl - 1] == 's')
        secs[tl - 1] = '\0';
    if (parse_u64(num, &n) < 0 || parse_u64(secs, &t) < 0 || n < 1 || n > VMM_MAX_REBOOT_LIMIT ||
        t < 1 || t > 86400)
        goto bad;
    o->reboot_limit = (unsigned)n;
    o->reboot_window_s = (unsigned)t;
    return 0;
bad:
    return error_set(err, -EINVAL,
                     "--reboot-limit '%s': expected N/Ts (N resets in T seconds, N 1..%d, T "
                     "1..86400) or off",
                     v, VMM_MAX_REBOOT_LIMIT);
}

static int parse_cpus(const char *v, struct vmm_options *o, struct error *err)
{
    uint64_t n;
    if (parse_u64(v, &n) < 0 || n < 1 || n > MAX_VCPUS)
        return error_set(err, -EINVAL, "--cpus '%s': must be a number from 1 to %d", v, MAX_VCPUS);
    o->cpus = (unsigned)n;
    return 0;
}

/* "FILE[,bus=ide|virtio]" or "empty": an ATAPI drive on IDE by default (secondary master), or
 * the image as a read-only virtio-blk disk with bus=virtio. */
static int add_cdrom(const char *v, struct vmm_options *o, struct error *err)
{
    struct vmm_disk *d = &o->disks[o->ndisks];
    const char *comma = strrchr(v, ',');
    size_t plen = strlen(v);
    enum vmm_disk_bus bus = VMM_DISK_BUS_IDE;
    if (o->cdrom != NULL || o->has_cdrom_drive)
        return error_set(err, -EINVAL, "--cdrom given twice");
    if (comma != NULL && strcmp(comma, ",bus=virtio") == 0)
        bus = VMM_DISK_BUS_VIRTIO, plen = (size_t)(comma - v);
    else if (comma != NULL && strcmp(comma, ",bus=ide") == 0)
        plen = (size_t)(comma - v);
    if (plen == 0 || plen >= sizeof(d->path))
        return error_set(err, -EINVAL, "--cdrom: missing or too long path");
    if (plen == 5 && strncmp(v, "empty", 5) == 0) {
        if (bus == VMM_DISK_BUS_VIRTIO)
            return error_set(err, -EINVAL, "--cdrom empty: an empty drive needs bus=ide");
        o->has_cdrom_drive = true;
        return 0;
    }
    if (o->ndisks >= VM_MAX_DISKS)
        return error_set(err, -EINVAL, "too many disks (at most %d, the cdrom included)",
                         VM_MAX_DISKS);
    memset(d, 0, sizeof(*d));
    memcpy(d->path, v, plen);
    d->spec = v;
    d->format = VMM_DISK_RAW;
    d->is_readonly = d->is_cdrom = true;
    d->bus = bus;
    o->has_cdrom_drive = bus == VMM_DISK_BUS_IDE;
    o->cdrom = d->path;
    o->ndisks++;
    return 0;
}

/* --floppy FILE[,readonly=on] or "empty". */
static int parse_floppy(const char *v, struct vmm_options *o, struct error *err)
{
    const char *comma = strchr(v, ',');
    size_t len = comma != NULL ? (size_t)(comma - v) : strlen(v);
    if (o->has_floppy)
        return error_set(err, -EINVAL, "--floppy given twice");
    if (comma != NULL && strcmp(comma, ",readonly=on") != 0 && strcmp(comma, ",readonly=off") != 0)
        return error_set(err, -EINVAL, "--floppy '%s': expected FILE[,readonly=on|off] or empty",
                         v);
    if (len == 0 || len >= sizeof(o->floppy_path))
        return error_set(err, -EINVAL, "--floppy: missing or too long path");
    o->has_floppy = true;
    o->is_floppy_readonly = comma != NULL && strcmp(comma, ",readonly=on") == 0;
    if (comma == NULL && strcmp(v, "empty") == 0)
        return 0;
    memcpy(o->floppy_path, v, len);
    o->floppy_path[len] = '\0';
    o->floppy = o->floppy_path;
    return 0;
}

bool vmm_has_ide(const struct vmm_options *o)
{
    if (o->has_cdrom_drive)
        return true;
    for (unsigned i = 0; i < o->ndisks; i++)
        if (o->disks[i].bus == VMM_DISK_BUS_IDE)
            return true;
    return false;
}

/* At most VMM_MAX_IDE_DRIVES IDE drives, the CD-ROM drive included. */
static int check_ide(const struct vmm_options *o, struct error *err)
{
    unsigned n = o->has_cdrom_drive ? 1 : 0;
    for (unsigned i = 0; i < o->ndisks; i++)
        if (o->disks[i].bus == VMM_DISK_BUS_IDE && !o->disks[i].is_cdrom)
            n++;
    if (n > VMM_MAX_IDE_DRIVES)
        return error_set(err, -EINVAL,
                         "too many IDE drives (at most %d, the CD-ROM drive included)",
                         VMM_MAX_IDE_DRIVES);
    return 0;
}

/* "UID:GID", two decimal ids below 2^32 - 1 (which is (uid_t)-1, "unchanged"). */
static int parse_user(const char *v, struct vmm_options *o, struct error *err)
{
    char buf[32];
    const char *colon = strchr(v, ':');
    uint64_t uid, gid;
    if (colon == NULL || (size_t)(colon - v) >= sizeof(buf))
        return error_set(err, -EINVAL, "--sandbox-user '%s': expected UID:GID", v);
    memcpy(buf, v, (size_t)(colon - v));
    buf[colon - v] = '\0';
    if (parse_u64(buf, &uid) < 0 || parse_u64(colon + 1, &gid) < 0 || uid >= UINT32_MAX ||
        gid >= UINT32_MAX)
        return error_set(err, -EINVAL, "--sandbox-user '%s': expected UID:GID (numbers)", v);
    o->has_sandbox_user = true;
    o->sandbox_uid = (unsigned)uid;
    o->sandbox_gid = (unsigned)gid;
    return 0;
}

static int apply_security(const struct opt_def *def, const char *v, struct vmm_options *o,
                          struct error *err)
{
    switch (def->id) {
    case OPT_SECCOMP:
        if (strcmp(v, "on") != 0 && strcmp(v, "off") != 0)
            return error_set(err, -EINVAL, "--seccomp '%s': expected on or off", v);
        o->is_seccomp = strcmp(v, "on") == 0;
        return 0;
    case OPT_SANDBOX:
        o->is_sandbox = true;
        return 0;
    case OPT_SANDBOX_USER:
        return parse_user(v, o, err);
    default:
        return -EINVAL;
    }
}

/* --restore FILE and --restore-copy. */
static int apply_restore(const struct opt_def *def, const char *v, struct vmm_options *o)
{
    if (def->id == OPT_RESTORE)
        o->restore = v;
    else
        o->restore_copy = true;
    return 0;
}

static int apply(const struct opt_def *def, const char *v, struct vmm_options *o, struct error *err)
{
    switch (def->id) {
    case OPT_KERNEL:
        o->kernel = v;
        return 0;
    case OPT_RESTORE:
    case OPT_RESTORE_COPY:
        return apply_restore(def, v, o);
    case OPT_INITRD:
        o->initrd = v;
        return 0;
    case OPT_CMDLINE:
        if (strlen(v) > VM_MAX_CMDLINE_BYTES)
            return error_set(err, -EINVAL, "--cmdline: longer than %d bytes", VM_MAX_CMDLINE_BYTES);
        o->cmdline = v;
        return 0;
    case OPT_CPUS:
        return parse_cpus(v, o, err);
    case OPT_MEMORY:
        return parse_memory(v, o, err);
    case OPT_NO_REBOOT:
        o->no_reboot = true;
        return 0;
    case OPT_DEBUG_EXIT:
        o->has_debug_exit = true;
        return 0;
    case OPT_REBOOT_LIMIT:
        return parse_reboot_limit(v, o, err);
    case OPT_DISK:
    case OPT_CDROM:
        if (o->ndisks >= VM_MAX_DISKS)
            return error_set(err, -EINVAL, "too many disks (at most %d)", VM_MAX_DISKS);
        if (def->id == OPT_DISK)
            return vmm_parse_disk(v, &o->disks[o->ndisks++], err);
        return add_cdrom(v, o, err);
    case OPT_FLOPPY:
        return parse_floppy(v, o, err);
    case OPT_SERIAL:
        o->has_serial = true;
        return parse_backend("--serial", v, &o->serial, &o->serial_path, err);
    case OPT_VCONSOLE:
        o->has_vconsole = true;
        return parse_backend("--vconsole", v, &o->vconsole, &o->vconsole_path, err);
    case OPT_RNG:
        o->has_rng = true;
        return 0;
    case OPT_NIC:
        if (o->nnics >= VM_MAX_NICS)
            return error_set(err, -EINVAL, "too many --nic (at most %d)", VM_MAX_NICS);
        o->nnics++;
        return vmm_parse_nic(v, o->nnics - 1, &o->nics[o->nnics - 1], err);
    case OPT_SERIAL_LOG:
        return parse_serial_log(v, o, err);
    case OPT_FD:
        return vmm_parse_fd(v, o, err);
    case OPT_INPUT:
        return parse_input(v, o, err);
    case OPT_DISPLAY:
        return vmm_parse_display_opt(def->name, v, o, err);
    case OPT_CONTROL:
        o->control = v;
        return 0;
    case OPT_NAME:
        if (strlen(v) > VM_MAX_NAME)
            return error_set(err, -EINVAL, "--name: longer than %d characters", VM_MAX_NAME);
        o->name = v;
        return 0;
    case OPT_LOG_LEVEL:
        o->has_log_level = true;
        if (log_parse_level(v, &o->log_level) < 0)
            return error_set(err, -EINVAL,
                             "--log-level '%s': expected error, warn, info or "
                             "debug",
                             v);
        return 0;
    case OPT_CPU_MODEL:
        if (cpuid_parse_model(v, &o->cpu_model) < 0)
            return error_set(err, -EINVAL, "--cpu-model '%s': expected host or baseline", v);
        return 0;
    case OPT_IRQCHIP:
        return parse_irqchip(v, o, err);
    case OPT_ACPI:
        return parse_on_off("--acpi", v, &o->has_acpi, err);
    case OPT_IOAPIC:
        return parse_on_off("--ioapic", v, &o->has_ioapic, err);
    case OPT_SECCOMP:
    case OPT_SANDBOX:
    case OPT_SANDBOX_USER:
        return apply_security(def, v, o, err);
    case OPT_MACHINE:
        return vmm_parse_machine_opt(def->name, v, o, err);
    case OPT_HELP:
        o->is_help = true;
        return 0;
    case OPT_VERSION:
        o->is_version = true;
        return 0;
    }
    return -EINVAL;
}

static const struct opt_def *find_opt(const char *name, size_t len)
{
    for (size_t i = 0; i < ARRAY_SIZE(opt_defs); i++)
        if (strlen(opt_defs[i].name) == len && strncmp(opt_defs[i].name, name, len) == 0)
            return &opt_defs[i];
    return NULL;
}

static void set_defaults(struct vmm_options *o)
{
    memset(o, 0, sizeof(*o));
    o->cpus = 1;
    o->reboot_limit = VMM_DEFAULT_REBOOT_LIMIT;
    o->reboot_window_s = VMM_DEFAULT_REBOOT_WINDOW_S;
    o->memory_bytes = VMM_DEFAULT_MEMORY_BYTES;
    o->serial = VMM_SERIAL_STDIO;
    o->cpu_model = CPU_MODEL_HOST;
    o->serial_log_max_bytes = VMM_DEFAULT_SERIAL_LOG_BYTES;
    o->irqchip = VMM_IRQCHIP_SPLIT;
    o->has_acpi = true;
    o->has_ioapic = true;
    o->is_seccomp = true;
    o->vram_bytes = VMM_DEFAULT_VRAM_BYTES;
    o->video_width = 1024;
    o->video_height = 768;
}

/* Cross-option checks once everything is parsed. */
static int check_combination(struct vmm_options *o, struct error *err)
{
    if (o->has_vconsole && o->vconsole == VMM_SERIAL_STDIO) {
        if (o->has_serial && o->serial == VMM_SERIAL_STDIO)
            return error_set(err, -EINVAL,
                             "--serial stdio and --vconsole stdio: only one may use stdio");
        if (!o->has_serial)
            o->serial = VMM_SERIAL_NONE; /* the default stdio moves to the virtio console */
    }
    if (o->has_serial && o->has_vconsole && o->serial == VMM_SERIAL_UNIX &&
        o->vconsole == VMM_SERIAL_UNIX && strcmp(o->serial_path, o->vconsole_path) == 0)
        return error_set(err, -EINVAL, "--serial and --vconsole: same socket path '%s'",
                         o->serial_path);
    if (!o->has_ioapic) {
        if (o->has_irqchip && o->irqchip == VMM_IRQCHIP_SPLIT)
            return error_set(err, -EINVAL,
                             "--ioapic off needs --irqchip kernel: without an IOAPIC the guest "
                             "uses the 8259 PIC, which only the kernel irqchip has");
        o->irqchip = VMM_IRQCHIP_KERNEL;
        /* no ACPI MADT and no MP table (core/x86/mptable.h): nothing lists the other CPUs */
        if (!o->has_acpi && o->cpus > 1)
            return error_set(err, -EINVAL,
                             "--acpi off --ioapic off: the guest can find only one CPU "
                             "(no MADT, no MP table); use --cpus 1 or keep one of them on");
    }
    for (unsigned i = 0; i < o->nnics; i++)
        if (o->nics[i].queues > o->cpus)
            return error_set(err, -EINVAL,
                             "--nic '%s': queues=%u is more than the %u vCPUs (--cpus): one queue "
                             "pair per vCPU at most",
                             o->nics[i].spec, o->nics[i].queues, o->cpus);
    if (check_ide(o, err) < 0)
        return -EINVAL;
    if (vmm_check_fds(o, err) < 0)
        return -EINVAL;
    int ret = vmm_check_display(o, err);
    if (ret < 0)
        return ret;
    if (o->has_sandbox_user && !o->is_sandbox)
        return error_set(err, -EINVAL, "--sandbox-user needs --sandbox");
    if (o->restore_copy && o->restore == NULL)
        return error_set(err, -EINVAL, "--restore-copy needs --restore");
    if (o->is_help || o->is_version)
        return 0;
    return vmm_check_machine(o, err) < 0 ? -EINVAL : 0;
}

int vmm_options_parse(int argc, char **argv, struct vmm_options *o, struct error *err)
{
    set_defaults(o);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *eq, *v = NULL;
        const struct opt_def *def;
        int ret;
        if (strcmp(a, "-h") == 0)
            a = "--help";
        if (strncmp(a, "--", 2) != 0)
            return error_set(err, -EINVAL, "unexpected argument '%s'", a);
        eq = strchr(a + 2, '=');
        def = find_opt(a + 2, eq ? (size_t)(eq - a - 2) : strlen(a + 2));
        if (def == NULL)
            return error_set(err, -EINVAL, "unknown option '%s' (see --help)", a);
        if (def->has_arg && eq)
            v = eq + 1;
        else if (def->has_arg && i + 1 < argc)
            v = argv[++i];
        else if (def->has_arg)
            return error_set(err, -EINVAL, "option '--%s' needs a value", def->name);
        else if (eq)
            return error_set(err, -EINVAL, "option '--%s' takes no value", def->name);
        ret = apply(def, v, o, err);
        if (ret < 0)
            return ret;
    }
    return check_combination(o, err);
}
