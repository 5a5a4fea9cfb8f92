/* SPDX-License-Identifier: MIT */
/*
 * The command line of `bareiron-vmm` (and `bareiron run`), the fixed contract documented in
 * docs/vmm.md: --kernel, --initrd, --cmdline, --cpus, --memory, --no-reboot, --reboot-limit,
 * --disk, --cdrom, --serial, --serial-log, --control, --name, --log-level, --cpu-model, --rng,
 * --vconsole, --input, --irqchip, --acpi, --ioapic. Parsing only checks syntax and ranges (no file
 * is opened), so it is unit-tested; main.c validates files afterwards.
 * --vconsole, --seccomp, --sandbox, --sandbox-user, --nic (options_nic.c), --fd (options_fd.c,
 * which also takes the descriptors). Parsing only checks
 * syntax and ranges (no file is opened), so it is unit-tested; main.c validates files afterwards.
 */
#ifndef BAREIRON_VMM_OPTIONS_H
#define BAREIRON_VMM_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "base/compiler.h"
#include "base/error.h"
#include "base/log.h"
#include "base/vm_limits.h"
#include "core/x86/cpuid.h"
#include "net/hostfwd.h"
#include "net/tap.h"

#define VMM_MIN_MEMORY_BYTES ((uint64_t)VM_MIN_MEMORY_MIB << 20)
#define VMM_MAX_MEMORY_BYTES ((uint64_t)VM_MAX_MEMORY_MIB << 20)
#define VMM_DEFAULT_MEMORY_BYTES (256ULL << 20)
/* --reboot-limit: at most this many resets within the window, then the VM stops as crashed. */
#define VMM_DEFAULT_REBOOT_LIMIT 10
#define VMM_DEFAULT_REBOOT_WINDOW_S 10
#define VMM_MAX_REBOOT_LIMIT 1000
#define VMM_DEFAULT_SERIAL_LOG_BYTES (1ULL << 20)
#define VMM_MIN_SERIAL_LOG_BYTES (64ULL << 10)
#define VMM_MAX_SERIAL_LOG_BYTES (1ULL << 30)

enum vmm_disk_format { VMM_DISK_AUTO, VMM_DISK_RAW, VMM_DISK_QCOW2 };
/* backing= of --disk: which backing files an image may name (block/blk.h enum blk_backing). */
enum vmm_disk_backing { VMM_BACKING_SAME_DIR = 0, VMM_BACKING_NONE, VMM_BACKING_ANY };
enum vmm_serial { VMM_SERIAL_STDIO, VMM_SERIAL_NONE, VMM_SERIAL_FILE, VMM_SERIAL_UNIX };
/* --irqchip: split (LAPICs in KVM, IOAPIC in the monitor, no PIC/PIT) or kernel (the whole
 * chipset in KVM). */
enum vmm_irqchip { VMM_IRQCHIP_SPLIT, VMM_IRQCHIP_KERNEL };
/* bus= of --disk and --cdrom: a virtio-blk function, or a drive on the IDE controller. */
enum vmm_disk_bus { VMM_DISK_BUS_VIRTIO = 0, VMM_DISK_BUS_IDE };
/* Drives of the IDE controller: two channels of two; the CD-ROM is the secondary master. */
#define VMM_MAX_IDE_DRIVES 4
/* --machine: microvm (the direct-boot machine) or pc (i440FX/PIIX3 chipset for firmware). */
enum vmm_machine { VMM_MACHINE_MICROVM, VMM_MACHINE_PC };
/* --firmware: none (direct kernel boot), bios (SeaBIOS), uefi (OVMF). */
enum vmm_firmware { VMM_FIRMWARE_NONE, VMM_FIRMWARE_BIOS, VMM_FIRMWARE_UEFI };
/* One entry of --boot. */
enum vmm_boot_dev { VMM_BOOT_FLOPPY, VMM_BOOT_CDROM, VMM_BOOT_DISK, VMM_BOOT_NET };
#define VMM_MAX_BOOT 4
#define VMM_SEABIOS_PATH "/usr/share/seabios/bios-256k.bin"
#define VMM_OVMF_CODE_PATH "/usr/share/OVMF/OVMF_CODE_4M.fd"
#define VMM_OVMF_VARS_PATH "/usr/share/OVMF/OVMF_VARS_4M.fd"
/* QEMU's option ROM that boots a kernel from fw_cfg (Debian's qemu-system-data) */
#define VMM_LINUXBOOT_ROM "/usr/share/qemu/linuxboot_dma.bin"
/* iPXE for virtio-net, BIOS and UEFI images in one ROM (Debian's ipxe-qemu), for --boot net */
#define VMM_IPXE_VIRTIO_PATH "/usr/lib/ipxe/qemu/efi-virtio.rom"

struct vmm_disk {
    char path[4096];
    const char *spec;            /* the --disk argument as given */
    enum vmm_disk_format format; /* AUTO: raw when writable, probed once when read-only */
    enum vmm_disk_backing backing;
    bool is_readonly;
    bool is_cache_none; /* cache=none: O_DIRECT */
    bool is_cdrom;      /* from --cdrom: read-only raw */
    bool is_ejected;    /* the CD-ROM's medium was ejected at run time: no medium next boot */
    enum vmm_disk_bus bus;
};

/* At most this many --fd: the kernel, the initrd, and two per disk (cache=none), with room. */
#define VMM_MAX_FDS 32

/* One --fd N:PATH: inherited descriptor (fd) stands for the open of (path). */
struct vmm_fd {
    int fd;
    const char *path; /* points into argv */
};

enum vmm_nic_type { VMM_NIC_NAT, VMM_NIC_TAP, VMM_NIC_NONE };

/* --video: the display adapter (docs/vmm.md "Display"). */
enum vmm_video { VMM_VIDEO_NONE, VMM_VIDEO_STD, VMM_VIDEO_BOCHS };
/* --display: where viewers connect. */
enum vmm_display { VMM_DISPLAY_NONE, VMM_DISPLAY_VNC_TCP, VMM_DISPLAY_VNC_UNIX };
#define VMM_MIN_VRAM_BYTES (1ULL << 20)
#define VMM_MAX_VRAM_BYTES (512ULL << 20)
#define VMM_DEFAULT_VRAM_BYTES (16ULL << 20)
#define VMM_MAX_VIDEO_MODE 8192

/* One --nic (docs/vmm.md). */
#define VMM_TFTP_PATH_BYTES 256 /* PATH_MAX would do, but --nic specs are short */
#define VMM_BOOTFILE_BYTES 128  /* the DHCP "file" field (RFC 2131) */

struct vmm_nic {
    const char *spec; /* the --nic argument as given */
    enum vmm_nic_type type;
    uint8_t mac[6];     /* mac=, or 52:54:00:12:34:(56 + index) */
    bool is_restricted; /* nat: restrict=on */
    unsigned nhostfwd;  /* nat: hostfwd= rules, in canonical form (net_hostfwd_format) */
    char hostfwd[NET_MAX_HOSTFWD][NET_HOSTFWD_STR_BYTES];
    char ifname[16]; /* tap: ifname=, "" with fd= */
    int fd;          /* tap: fd=, -1 with ifname= */
    enum net_vhost vhost;
    unsigned queues; /* queues=N: queue pairs (tap: 1..8 and at most --cpus; others: 1) */
    char tftp[VMM_TFTP_PATH_BYTES];    /* nat: tftp=DIR, made absolute when the backend opens */
    char bootfile[VMM_BOOTFILE_BYTES]; /* nat: bootfile=NAME, offered by DHCP; needs tftp= */
};

struct vmm_options {
    const char *kernel;
    const char *initrd;
    const char *cmdline;
    unsigned cpus;
    uint64_t memory_bytes;
    bool no_reboot;
    bool has_debug_exit;   /* --debug-exit: isa-debug-exit at port 0xf4 (tests only) */
    unsigned reboot_limit; /* resets allowed within reboot_window_s; 0: no limit */
    unsigned reboot_window_s;
    struct vmm_disk disks[VM_MAX_DISKS];
    unsigned ndisks;
    /* --floppy FILE[,readonly=on] | empty: the floppy drive A: (dev/legacy/fdc.h) */
    bool has_floppy;         /* the drive exists */
    const char *floppy;      /* its disk, NULL for an empty drive */
    bool is_floppy_readonly; /* readonly=on: write-protected */
    char floppy_path[4096];  /* the storage of (floppy) */
    const char *cdrom;       /* the --cdrom image; NULL without one (or with an empty drive) */
    bool has_cdrom_drive;    /* an ATAPI CD-ROM on IDE (--cdrom FILE or --cdrom empty) */
    enum vmm_serial serial;
    const char *serial_path; /* VMM_SERIAL_FILE / VMM_SERIAL_UNIX */
    bool has_serial;         /* --serial given (not the default) */
    char serial_log[4096];   /* --serial-log FILE, "": none */
    uint64_t serial_log_max_bytes;
    struct vmm_nic nics[VM_MAX_NICS]; /* --nic: a virtio-net device each */
    unsigned nnics;
    bool has_rng;             /* --rng: a virtio-rng device */
    bool has_virtio_keyboard; /* --input keyboard|virtio: a virtio-input keyboard */
    bool has_virtio_tablet;   /* --input tablet|virtio: a virtio-input tablet */
    bool has_vconsole;        /* --vconsole: a virtio-console device on vconsole */
    enum vmm_serial vconsole;
    const char *vconsole_path; /* VMM_SERIAL_FILE / VMM_SERIAL_UNIX */
    const char *control;
    const char *name;
    bool has_log_level;
    enum log_level log_level;
    enum cpu_model cpu_model;
    enum vmm_irqchip irqchip;
    bool has_irqchip;      /* --irqchip given (not the default) */
    bool has_acpi;         /* --acpi on (default): ACPI tables; off: MP table only */
    bool has_ioapic;       /* --ioapic on (default); off: the guest sees no IOAPIC, uses the PIC */
    bool is_seccomp;       /* --seccomp on|off (default on) */
    bool is_sandbox;       /* --sandbox: namespaces, pivot_root, no privileges (vmm/sandbox.h) */
    bool has_sandbox_user; /* --sandbox-user UID:GID given */
    unsigned sandbox_uid, sandbox_gid;
    enum vmm_machine machine;
    enum vmm_firmware firmware;
    bool has_machine, has_firmware;       /* given on the command line (not the defaults) */
    const char *firmware_file;            /* --firmware-file, or the Debian path of --firmware */
    const char *firmware_vars;            /* --firmware-vars (UEFI variable store) */
    enum vmm_boot_dev boot[VMM_MAX_BOOT]; /* --boot, in order */
    unsigned nboot;
    bool has_boot_menu;                 /* --boot-menu on */
    const char *uuid;                   /* --uuid, as given (NULL: none) */
    uint8_t uuid_bytes[16];             /* --uuid in RFC 9562 byte order (zeros: none) */
    const char *restore;                /* --restore FILE: resume the saved state in FILE */
    enum vmm_video video;               /* --video (default none) */
    unsigned video_width, video_height; /* --video ...,mode=WxH: the EDID's preferred mode */
    bool has_video_mode;                /* mode= given */
    uint64_t vram_bytes;                /* --vram (default 16M) */
    bool has_vram;                      /* --vram given */
    enum vmm_display display;           /* --display (default none) */
    char display_host[64];              /* VMM_DISPLAY_VNC_TCP: numeric address */
    unsigned display_port;              /* VMM_DISPLAY_VNC_TCP */
    const char *display_path;           /* VMM_DISPLAY_VNC_UNIX */
    const char *display_password_file;  /* --display-password-file, or NULL */
    struct vmm_fd fds[VMM_MAX_FDS];     /* --fd N:PATH (options_fd.c) */
    unsigned nfds;
    /* --restore-copy: move guest memory out of the --restore FILE while the guest runs */
    bool restore_copy;
    bool is_help;
    bool is_version;
};

/*
 * Parses (argc, argv) (argv[0] is the program name; "--opt value" and "--opt=value" forms) into
 * (o), after filling in the defaults. Returns 0, or -EINVAL with a one-line message in (err)
 * (unknown option, missing value, --cpus outside 1..64, --memory not in
 * [2 MiB, 1 TiB] or not a multiple of 1 MiB, bad --disk/--serial/--vconsole/--log-level/
 * --cpu-model/--irqchip/--acpi/--ioapic, --serial stdio with --vconsole stdio, --ioapic off
 * with --irqchip split, --acpi off --ioapic off with more than one CPU, no --kernel). --vconsole
 * stdio without --serial turns the serial default to none: only one backend may own stdin and the
 * terminal. --ioapic off without
 * --irqchip selects the kernel irqchip (the 8259 PIC lives only there).
 * --help/--version set is_help/is_version and skip the --kernel check. (o) keeps pointers into
 * (argv).
 */
MUST_CHECK int vmm_options_parse(int argc, char **argv, struct vmm_options *o, struct error *err);

/* Parses one --disk spec
 * "PATH[,format=raw|qcow2][,readonly][,cache=none|writeback][,backing=none|same-dir|any]
 * [,bus=virtio|ide]" into (d). Returns 0 or -EINVAL with (err) set. */
MUST_CHECK int vmm_parse_disk(const char *spec, struct vmm_disk *d, struct error *err);

/*
 * Parses one --nic spec (docs/vmm.md: nat[,mac=][,hostfwd=RULE]...[,restrict=on|off],
 * tap,ifname=NAME|fd=N[,vhost=on|off|auto][,mac=], none[,mac=]) into (n), the adapter number
 * (index) giving the default MAC. Returns 0 or -EINVAL with (err) set. (n) keeps (spec).
 */
MUST_CHECK int vmm_parse_nic(const char *spec, unsigned index, struct vmm_nic *n,
                             struct error *err);
/* Makes nat adapter (n)'s tftp= directory absolute (the sandbox mirrors it into the jail, where
 * libslirp opens its files by that path) and checks that it is one. Returns 0 or -errno with
 * (err) set. */
MUST_CHECK int vmm_resolve_tftp(struct vmm_nic *n, struct error *err);

/* Parses one --fd "N:PATH" (N a decimal descriptor from 3 to 65535) into o->fds. Returns 0 or
 * -EINVAL with (err) set. */
MUST_CHECK int vmm_parse_fd(const char *spec, struct vmm_options *o, struct error *err);

/* Cross-checks the --fd of (o) once every option is parsed: no descriptor twice, none that is a
 * --nic tap fd=, and PATH one of the files the options name. Returns 0 or -EINVAL. */
MUST_CHECK int vmm_check_fds(const struct vmm_options *o, struct error *err);

/*
 * Checks each --fd of (o) against the open descriptor (F_GETFL: open, not O_PATH, no
 * O_APPEND, the access mode and O_DIRECT that the monitor's open of that PATH uses: read-only
 * for --kernel, --initrd, --restore, --cdrom and readonly disks, read-write for the other disks,
 * O_DIRECT only for cache=none) and seeds the descriptor cache with it (base/fdcache.h), which
 * sets FD_CLOEXEC. Returns 0 or -EINVAL with a one-line message in (err).
 */
MUST_CHECK int vmm_fds_take(const struct vmm_options *o, struct error *err);

/* Closes the --fd descriptors of (o) (the --sandbox keeper holds no VM file). */
void vmm_fds_close(const struct vmm_options *o);

/* Whether (o) puts an IDE controller in the machine: a --disk on bus=ide or a CD-ROM drive. */
bool vmm_has_ide(const struct vmm_options *o);
/* One of --video, --vram, --display, --display-password-file ((opt) without the dashes) with
 * value (v) (options_display.c). Returns 0 or -EINVAL with (err) set. */
MUST_CHECK int vmm_parse_display_opt(const char *opt, const char *v, struct vmm_options *o,
                                     struct error *err);
/* The display options' cross-checks (--vram and --display need a --video; a mode= must fit
 * --vram at 32 bits a pixel) and, without mode=, the default preferred mode lowered to one that
 * fits a small --vram. Returns 0 or -EINVAL with (err) set. */
MUST_CHECK int vmm_check_display(struct vmm_options *o, struct error *err);
/*
 * options_machine.c: --machine, --firmware, --firmware-file, --firmware-vars, --boot and
 * --boot-menu. vmm_parse_machine_opt applies option (name) with value (v); returns 0, -ENOENT
 * when (name) is none of them, or -EINVAL with (err) set. vmm_check_machine fills in the
 * defaults (no --kernel: pc with SeaBIOS; --kernel: microvm without firmware) and refuses
 * what is not supported yet (-ENOTSUP) or contradictory (-EINVAL).
 */
MUST_CHECK int vmm_parse_machine_opt(const char *name, const char *v, struct vmm_options *o,
                                     struct error *err);
MUST_CHECK int vmm_check_machine(struct vmm_options *o, struct error *err);

/* Prints the --help text to (f). */
void vmm_options_usage(FILE *f, const char *prog);

#endif
