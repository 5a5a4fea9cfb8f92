/* SPDX-License-Identifier: MIT */
/* Unit tests for vmm/options.c: the bareiron-vmm command-line contract (docs/vmm.md). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vmm/options.h"
#include "parse_args.h"

static void test_defaults(void **state)
{
    struct vmm_options o;
    struct error err;
    (void)state;
    assert_int_equal(PARSE(o, err, "--kernel", "k"), 0);
    assert_string_equal(o.kernel, "k");
    assert_int_equal(o.cpus, 1);
    assert_true(o.memory_bytes == 256ULL << 20);
    assert_int_equal(o.serial, VMM_SERIAL_STDIO);
    assert_int_equal(o.cpu_model, CPU_MODEL_HOST);
    assert_false(o.no_reboot);
    assert_int_equal(o.reboot_limit, 10);
    assert_int_equal(o.reboot_window_s, 10);
    assert_int_equal(o.ndisks, 0);
    assert_false(o.has_rng);
    assert_false(o.has_vconsole);
}

static void test_disk_bus(void **state)
{
    struct vmm_options o;
    struct error err;
    (void)state;
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--disk", "a"), 0);
    assert_false(vmm_has_ide(&o));
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--disk", "a,bus=ide", "--disk", "b,bus=virtio",
                           "--cdrom", "c.iso,bus=virtio"),
                     0);
    assert_int_equal(o.disks[0].bus, VMM_DISK_BUS_IDE);
    assert_int_equal(o.disks[1].bus, VMM_DISK_BUS_VIRTIO);
    assert_int_equal(o.disks[2].bus, VMM_DISK_BUS_VIRTIO);
    assert_string_equal(o.disks[2].path, "c.iso");
    assert_string_equal(o.cdrom, "c.iso");
    assert_false(o.has_cdrom_drive);
    assert_true(vmm_has_ide(&o));
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--cdrom", "empty"), 0);
    assert_true(o.has_cdrom_drive && o.cdrom == NULL && o.ndisks == 0);
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--cdrom", "empty,bus=virtio"), -EINVAL);
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--cdrom", "empty", "--cdrom", "x"), -EINVAL);
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--disk", "a,bus=scsi"), -EINVAL);
    /* four IDE drives, the CD-ROM drive included */
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--disk", "a,bus=ide", "--disk", "b,bus=ide",
                           "--disk", "c,bus=ide", "--cdrom", "empty"),
                     0);
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--disk", "a,bus=ide", "--disk", "b,bus=ide",
                           "--disk", "c,bus=ide", "--disk", "d,bus=ide", "--cdrom", "empty"),
                     -EINVAL);
    assert_non_null(strstr(err.message, "IDE"));
}

static void test_all_options(void **state)
{
    struct vmm_options o;
    struct error err;
    (void)state;
    assert_int_equal(PARSE(o, err, "--kernel=vmlinuz", "--initrd", "ird", "--cmdline",
                           "console=ttyS0 quiet", "--cpus", "4", "--memory", "2G", "--no-reboot",
                           "--disk", "a.img", "--disk",
                           "b.qcow2,format=qcow2,readonly,cache=none,backing=any", "--cdrom",
                           "x,y.iso", "--serial", "unix:/tmp/s", "--control", "/tmp/c", "--name",
                           "vm1", "--log-level", "debug", "--cpu-model", "baseline"),
                     0);
    assert_string_equal(o.kernel, "vmlinuz");
    assert_string_equal(o.initrd, "ird");
    assert_string_equal(o.cmdline, "console=ttyS0 quiet");
    assert_int_equal(o.cpus, 4);
    assert_true(o.memory_bytes == 2ULL << 30);
    assert_true(o.no_reboot);
    assert_int_equal(o.ndisks, 3);
    assert_string_equal(o.disks[0].path, "a.img");
    assert_int_equal(o.disks[0].format, VMM_DISK_AUTO);
    assert_string_equal(o.disks[1].path, "b.qcow2");
    assert_int_equal(o.disks[1].format, VMM_DISK_QCOW2);
    assert_true(o.disks[1].is_readonly && o.disks[1].is_cache_none);
    assert_int_equal(o.disks[0].backing, VMM_BACKING_SAME_DIR);
    assert_int_equal(o.disks[1].backing, VMM_BACKING_ANY);
    assert_string_equal(o.disks[2].path, "x,y.iso");
    assert_true(o.disks[2].is_cdrom && o.disks[2].is_readonly);
    assert_int_equal(o.disks[2].bus, VMM_DISK_BUS_IDE); /* a CD-ROM drive on IDE by default */
    assert_true(o.has_cdrom_drive && vmm_has_ide(&o));
    assert_int_equal(o.disks[0].bus, VMM_DISK_BUS_VIRTIO);
    assert_int_equal(o.serial, VMM_SERIAL_UNIX);
    assert_string_equal(o.serial_path, "/tmp/s");
    assert_string_equal(o.control, "/tmp/c");
    assert_string_equal(o.name, "vm1");
    assert_true(o.has_log_level);
    assert_int_equal(o.log_level, LOG_DEBUG);
    assert_int_equal(o.cpu_model, CPU_MODEL_BASELINE);
}

static void test_memory(void **state)
{
    struct vmm_options o;
    struct error err;
    (void)state;
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--memory", "512"), 0);
    assert_true(o.memory_bytes == 512ULL << 20);
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--memory", "1T"), 0);
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--memory", "0"), -EINVAL);
    assert_non_null(strstr(err.message, "--memory"));
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--memory", "99T"), -EINVAL);
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--memory", "junk"), -EINVAL);
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--memory", "1M"), -EINVAL);
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--memory", "1025K"), -EINVAL);
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--memory", "-5"), -EINVAL);
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--memory", "2M"), 0); /* VM_MIN_MEMORY_MIB */
}

/* The limits the manager shares (base/vm_limits.h): name and command-line length. */
static void test_shared_limits(void **state)
{
    static char name[VM_MAX_NAME + 2], cmdline[VM_MAX_CMDLINE_BYTES + 2];
    static char a0[] = "bareiron-vmm", a1[] = "--kernel", a2[] = "k", a3[] = "--cmdline";
    char *argv[] = {a0, a1, a2, a3, NULL, NULL};
    struct vmm_options o;
    struct error err;
    (void)state;
    memset(name, 'n', VM_MAX_NAME);
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--name", name), 0);
    name[VM_MAX_NAME] = 'n';
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--name", name), -EINVAL);
    assert_non_null(strstr(err.message, "--name"));
    memset(cmdline, 'c', VM_MAX_CMDLINE_BYTES);
    argv[4] = cmdline; /* too long for PARSE's storage */
    assert_int_equal(vmm_options_parse(5, argv, &o, &err), 0);
    cmdline[VM_MAX_CMDLINE_BYTES] = 'c';
    error_clear(&err);
    assert_int_equal(vmm_options_parse(5, argv, &o, &err), -EINVAL);
    assert_non_null(strstr(err.message, "--cmdline"));
}

static void test_cpus(void **state)
{
    struct vmm_options o;
    struct error err;
    (void)state;
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--cpus", "64"), 0);
    assert_int_equal(o.cpus, 64);
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--cpus", "0"), -EINVAL);
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--cpus", "65"), -EINVAL);
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--cpus", "1000"), -EINVAL);
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--cpus", "2x"), -EINVAL);
    assert_non_null(strstr(err.message, "--cpus"));
}

static void test_reboot_limit(void **state)
{
    struct vmm_options o;
    struct error err;
    (void)state;
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--reboot-limit", "5/60s"), 0);
    assert_int_equal(o.reboot_limit, 5);
    assert_int_equal(o.reboot_window_s, 60);
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--reboot-limit=3/2"), 0);
    assert_int_equal(o.reboot_window_s, 2);
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--reboot-limit", "off"), 0);
    assert_int_equal(o.reboot_limit, 0);
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--reboot-limit", "0/1s"), -EINVAL);
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--reboot-limit", "1001/1s"), -EINVAL);
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--reboot-limit", "5"), -EINVAL);
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--reboot-limit", "5/0"), -EINVAL);
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--reboot-limit", "5/1m"), -EINVAL);
}

static void test_errors(void **state)
{
    struct vmm_options o;
    struct error err;
    (void)state;
    assert_int_equal(PARSE(o, err, "--machine", "microvm", "--cpus", "2"), -EINVAL);
    assert_non_null(strstr(err.message, "--kernel"));
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--bogus"), -EINVAL);
    assert_non_null(strstr(err.message, "unknown option '--bogus'"));
    assert_int_equal(PARSE(o, err, "--kernel"), -EINVAL);
    assert_int_equal(PARSE(o, err, "--kernel", "k", "stray"), -EINVAL);
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--no-reboot=1"), -EINVAL);
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--serial", "tcp:1"), -EINVAL);
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--serial", "file:"), -EINVAL);
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--log-level", "loud"), -EINVAL);
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--cpu-model", "epyc"), -EINVAL);
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--disk", "a,format=vmdk"), -EINVAL);
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--disk", ",readonly"), -EINVAL);
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--disk", "a,backing=all"), -EINVAL);
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--disk", "a,backing=none"), 0);
    assert_int_equal(o.disks[0].backing, VMM_BACKING_NONE);
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--cdrom", "a", "--cdrom", "b"), -EINVAL);
    /* --floppy FILE[,readonly=on|off] | empty */
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--floppy", "a.img"), 0);
    assert_true(o.has_floppy && !o.is_floppy_readonly);
    assert_string_equal(o.floppy, "a.img");
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--floppy", "a.img,readonly=on"), 0);
    assert_true(o.is_floppy_readonly);
    assert_string_equal(o.floppy, "a.img");
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--floppy", "empty"), 0);
    assert_true(o.has_floppy);
    assert_null(o.floppy);
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--floppy", "a", "--floppy", "b"), -EINVAL);
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--floppy", "a,ro"), -EINVAL);
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--floppy", ",readonly=on"), -EINVAL);
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--floppy", ""), -EINVAL);
    /* --help needs no kernel */
    assert_int_equal(PARSE(o, err, "--help"), 0);
    assert_true(o.is_help);
    assert_int_equal(PARSE(o, err, "-h"), 0);
    assert_int_equal(PARSE(o, err, "--version"), 0);
    assert_true(o.is_version);
}

static void test_rng_vconsole(void **state)
{
    struct vmm_options o;
    struct error err;
    (void)state;
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--rng", "--vconsole", "file:/tmp/hvc"), 0);
    assert_true(o.has_rng);
    assert_true(o.has_vconsole);
    assert_int_equal(o.vconsole, VMM_SERIAL_FILE);
    assert_string_equal(o.vconsole_path, "/tmp/hvc");
    assert_int_equal(o.serial, VMM_SERIAL_STDIO);
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--vconsole=unix:/tmp/v"), 0);
    assert_int_equal(o.vconsole, VMM_SERIAL_UNIX);
    assert_string_equal(o.vconsole_path, "/tmp/v");
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--vconsole", "none"), 0);
    assert_true(o.has_vconsole);
    assert_int_equal(o.vconsole, VMM_SERIAL_NONE);
    /* --vconsole stdio takes stdio from the default serial... */
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--vconsole", "stdio"), 0);
    assert_int_equal(o.vconsole, VMM_SERIAL_STDIO);
    assert_int_equal(o.serial, VMM_SERIAL_NONE);
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--vconsole", "stdio", "--serial", "file:s"),
                     0);
    assert_int_equal(o.serial, VMM_SERIAL_FILE);
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--serial", "stdio", "--vconsole", "file:v"),
                     0);
    /* ...but not from an explicit --serial stdio */
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--serial", "stdio", "--vconsole", "stdio"),
                     -EINVAL);
    assert_non_null(strstr(err.message, "only one may use stdio"));
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--serial", "unix:/s", "--vconsole", "unix:/s"),
                     -EINVAL);
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--vconsole", "tcp:1"), -EINVAL);
    assert_non_null(strstr(err.message, "--vconsole 'tcp:1'"));
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--vconsole", "unix:"), -EINVAL);
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--vconsole"), -EINVAL);
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--rng=1"), -EINVAL);
}

/* The machine profile: --irqchip, --acpi, --ioapic and how they combine. */
static void test_input(void **state)
{
    struct vmm_options o;
    struct error err;
    (void)state;
    assert_int_equal(PARSE(o, err, "--kernel", "k"), 0);
    assert_false(o.has_virtio_keyboard || o.has_virtio_tablet);
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--input", "tablet"), 0);
    assert_false(o.has_virtio_keyboard);
    assert_true(o.has_virtio_tablet);
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--input", "keyboard", "--input=tablet"), 0);
    assert_true(o.has_virtio_keyboard && o.has_virtio_tablet);
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--input", "virtio"), 0);
    assert_true(o.has_virtio_keyboard && o.has_virtio_tablet);
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--input", "mouse"), -EINVAL);
    assert_non_null(strstr(err.message, "--input 'mouse'"));
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--input"), -EINVAL);
}

static void test_chipset(void **state)
{
    struct vmm_options o;
    struct error err;
    (void)state;
    assert_int_equal(PARSE(o, err, "--kernel", "k"), 0);
    assert_int_equal(o.irqchip, VMM_IRQCHIP_SPLIT);
    assert_true(o.has_acpi);
    assert_true(o.has_ioapic);
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--irqchip", "kernel", "--acpi=off"), 0);
    assert_int_equal(o.irqchip, VMM_IRQCHIP_KERNEL);
    assert_false(o.has_acpi);
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--irqchip=split", "--acpi", "on"), 0);
    assert_int_equal(o.irqchip, VMM_IRQCHIP_SPLIT);
    assert_true(o.has_acpi);
    /* --ioapic off: the 8259 is only in the kernel irqchip */
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--ioapic", "off"), 0);
    assert_false(o.has_ioapic);
    assert_int_equal(o.irqchip, VMM_IRQCHIP_KERNEL);
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--ioapic", "off", "--irqchip", "kernel"), 0);
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--irqchip", "split", "--ioapic", "off"),
                     -EINVAL);
    assert_non_null(strstr(err.message, "--ioapic off needs --irqchip kernel"));
    /* neither ACPI nor an MP table: only one CPU can be found */
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--acpi", "off", "--ioapic", "off"), 0);
    assert_int_equal(
        PARSE(o, err, "--kernel", "k", "--acpi", "off", "--ioapic", "off", "--cpus", "2"), -EINVAL);
    assert_non_null(strstr(err.message, "only one CPU"));
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--irqchip", "pic"), -EINVAL);
    assert_non_null(strstr(err.message, "--irqchip 'pic'"));
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--acpi", "yes"), -EINVAL);
    assert_non_null(strstr(err.message, "expected on or off"));
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--ioapic"), -EINVAL);
}

static void test_serial_log(void **state)
{
    struct vmm_options o;
    struct error err;
    (void)state;
    assert_int_equal(PARSE(o, err, "--kernel", "k"), 0);
    assert_string_equal(o.serial_log, "");
    assert_int_equal(o.serial_log_max_bytes, VMM_DEFAULT_SERIAL_LOG_BYTES);
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--serial-log", "run/a,b.log"), 0);
    assert_string_equal(o.serial_log, "run/a,b.log");
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--serial-log", "c.log,max=128"), 0);
    assert_string_equal(o.serial_log, "c.log");
    assert_int_equal(o.serial_log_max_bytes, 128 << 10);
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--serial-log", "c.log,max=2M"), 0);
    assert_int_equal(o.serial_log_max_bytes, 2 << 20);
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--serial-log", "c.log,max=4K"), -EINVAL);
    assert_non_null(strstr(err.message, "64K to 1G"));
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--serial-log", "c.log,max=x"), -EINVAL);
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--serial-log", ",max=1M"), -EINVAL);
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--serial-log", ""), -EINVAL);
}

static void test_too_many_disks(void **state)
{
    struct vmm_options o;
    struct error err;
    (void)state;
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--disk", "1", "--disk", "2", "--disk", "3",
                           "--disk", "4", "--disk", "5", "--disk", "6", "--disk", "7", "--disk",
                           "8", "--disk", "9"),
                     -EINVAL);
}

static void test_security(void **state)
{
    struct vmm_options o;
    struct error err;
    (void)state;
    assert_int_equal(PARSE(o, err, "--kernel", "k"), 0);
    assert_true(o.is_seccomp);
    assert_false(o.is_sandbox);
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--seccomp", "off", "--sandbox",
                           "--sandbox-user", "1000:100"),
                     0);
    assert_false(o.is_seccomp);
    assert_true(o.is_sandbox && o.has_sandbox_user);
    assert_int_equal(o.sandbox_uid, 1000);
    assert_int_equal(o.sandbox_gid, 100);
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--seccomp", "maybe"), -EINVAL);
    assert_non_null(strstr(err.message, "--seccomp 'maybe'"));
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--sandbox", "--sandbox-user", "1000"),
                     -EINVAL);
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--sandbox", "--sandbox-user", "a:b"), -EINVAL);
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--sandbox", "--sandbox-user", "4294967295:0"),
                     -EINVAL);
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--sandbox-user", "1:1"), -EINVAL);
    assert_non_null(strstr(err.message, "needs --sandbox"));
}

static void test_restore(void **state)
{
    struct vmm_options o;
    struct error err;
    (void)state;
    assert_int_equal(PARSE(o, err, "--kernel", "k"), 0);
    assert_null(o.restore);
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--restore", "vm.state"), 0);
    assert_string_equal(o.restore, "vm.state");
    /* a microvm still needs --kernel (for the reboots); without one it is a pc machine's state */
    assert_int_equal(PARSE(o, err, "--machine", "microvm", "--restore", "vm.state"), -EINVAL);
    assert_int_equal(PARSE(o, err, "--restore", "vm.state"), 0);
    assert_int_equal(o.machine, VMM_MACHINE_PC);
    /* the jail maps the state from the descriptor cache, opened before it is entered */
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--restore", "vm.state", "--sandbox"), 0);
    assert_false(o.restore_copy);
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--restore", "vm.state", "--restore-copy"), 0);
    assert_true(o.restore_copy);
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--restore-copy"), -EINVAL);
    assert_string_equal(err.message, "--restore-copy needs --restore");
}

static void test_nic(void **state)
{
    struct vmm_options o;
    struct error err;
    (void)state;
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--nic", "nat", "--nic",
                           "nat,mac=02:00:00:00:00:07,restrict=on,hostfwd=tcp::2222-:22,"
                           "hostfwd=udp:0.0.0.0:5353-10.0.2.16:53",
                           "--nic", "tap,ifname=tap0,vhost=off", "--nic", "none"),
                     0);
    assert_int_equal(o.nnics, 4);
    assert_int_equal(o.nics[0].type, VMM_NIC_NAT);
    assert_int_equal(o.nics[0].mac[5], 0x56);
    assert_false(o.nics[0].is_restricted);
    assert_int_equal(o.nics[1].mac[0], 2);
    assert_int_equal(o.nics[1].mac[5], 7);
    assert_true(o.nics[1].is_restricted);
    assert_int_equal(o.nics[1].nhostfwd, 2);
    assert_string_equal(o.nics[1].hostfwd[0], "tcp:127.0.0.1:2222-:22");
    assert_string_equal(o.nics[1].hostfwd[1], "udp:0.0.0.0:5353-10.0.2.16:53");
    assert_int_equal(o.nics[2].type, VMM_NIC_TAP);
    assert_string_equal(o.nics[2].ifname, "tap0");
    assert_int_equal(o.nics[2].fd, -1);
    assert_int_equal(o.nics[2].vhost, NET_VHOST_OFF);
    assert_int_equal(o.nics[3].type, VMM_NIC_NONE);
    assert_int_equal(o.nics[3].mac[5], 0x59);
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--nic", "nat,tftp=/srv/tftp,bootfile=a/pxe.0"),
                     0);
    assert_string_equal(o.nics[0].tftp, "/srv/tftp");
    assert_string_equal(o.nics[0].bootfile, "a/pxe.0");
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--nic", "tap,fd=5"), 0);
    assert_int_equal(o.nics[0].fd, 5);
    assert_int_equal(o.nics[0].vhost, NET_VHOST_AUTO);
}

static void test_nic_errors(void **state)
{
    static const char *const bad[][2] = {
        {"wifi", "the type must be"},
        {"nat,hostfwd=tcp:127.0.0.1:2222", "expected PROTO"},
        {"nat,hostfwd=sctp::1-:2", "tcp or udp"},
        {"nat,hostfwd=tcp::0-:22", "bad host side"},
        {"nat,hostfwd=tcp::22-:65536", "bad guest side"},
        {"nat,hostfwd=tcp:1.2.3:22-:22", "bad host side"},
        {"nat,hostfwd=tcp::22-:22,hostfwd=tcp:127.0.0.1:22-:23", "forwarded twice"},
        {"nat,restrict=maybe", "restrict="},
        {"nat,ifname=tap0", "misplaced"},
        {"none,hostfwd=tcp::1-:2", "misplaced"},
        {"tap", "exactly one of"},
        {"tap,ifname=a,fd=3", "exactly one of"},
        {"tap,fd=-1", "fd="},
        {"tap,ifname=averyveryverylongname", "ifname="},
        {"tap,ifname=t,vhost=sometimes", "vhost="},
        {"nat,mac=01:00:00:00:00:01", "unicast"},
        {"nat,mac=00:00:00:00:00:00", "all zeros"},
        {"nat,mac=52:54:00:12:34", "six hex bytes"},
        {"nat,mac=52:54:00:12:34:56:78", "six hex bytes"},
        {"nat,restrict", "needs a value"},
        {"tap,ifname=t,queues=0", "queues="},
        {"tap,ifname=t,queues=9", "from 1 to 8"},
        {"tap,ifname=t,queues=2x", "queues="},
        {"nat,queues=2", "only a tap adapter has several queue pairs (NAT has one)"},
        {"none,queues=2", "(none has one)"},
        {"nat,bootfile=pxe.0", "bootfile= needs tftp=DIR"},
        {"nat,tftp=/srv,bootfile=/etc/passwd", "no leading '/'"},
        {"nat,tftp=/srv,bootfile=../x", "no '..'"},
        {"nat,tftp=/srv,bootfile=a/../../x", "no '..'"},
        {"nat,tftp=/srv,bootfile=a/..", "no '..'"},
        {"nat,tftp=", "tftp= needs 1 to"},
        {"tap,ifname=t,tftp=/srv", "misplaced"},
        {"none,bootfile=x", "misplaced"},
    };
    struct vmm_options o;
    struct error err;
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(PARSE(o, err, "--kernel", "k", "--nic", bad[i][0]), -EINVAL);
        if (strstr(err.message, bad[i][1]) == NULL)
            fail_msg("--nic %s: '%s' lacks '%s'", bad[i][0], err.message, bad[i][1]);
    }
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--nic", "none", "--nic", "none", "--nic",
                           "none", "--nic", "none", "--nic", "none"),
                     -EINVAL);
    assert_non_null(strstr(err.message, "too many --nic"));
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--nic", "tap,fd=5,queues=2"), -ENOTSUP);
    assert_non_null(strstr(err.message, "queues= with fd=: not supported yet"));
    assert_int_equal(
        PARSE(o, err, "--kernel", "k", "--cpus", "2", "--nic", "tap,ifname=t,queues=4"), -EINVAL);
    assert_non_null(strstr(err.message, "queues=4 is more than the 2 vCPUs"));
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--cpus", "4", "--nic", "tap,ifname=t,queues=4",
                           "--nic", "nat,queues=1"),
                     0);
    assert_int_equal(o.nics[0].queues, 4);
    assert_int_equal(o.nics[1].queues, 1);
}

/* Machine and firmware (options_machine.c): defaults follow --kernel; refusals name the option. */
static void test_machine(void **state)
{
    struct vmm_options o;
    struct error err;
    static const char *const bad[][2] = {
        {"--machine=isapc", "expected pc or microvm"},
        {"--firmware=coreboot", "expected none, bios or uefi"},
        {"--boot=disk,disk", "distinct"},
        {"--boot=disk,", "empty entry"},
        {"--boot=net", "needs a network adapter (--nic)"},
        {"--irqchip=split", "needs --irqchip kernel"},
        {"--acpi=off", "not supported yet"},
        {"--boot-menu=maybe", "expected on or off"},
        {"--firmware-vars=v.fd", "needs --firmware uefi"},
        {"--uuid=0123", "expected a UUID"},
        {"--uuid=0123abcd-4567-89ab-cdef-0011223344ff0", "expected a UUID"},
        {"--uuid=0123abcd-4567-89ab-cdef-0011223344f", "expected a UUID"},
        {"--uuid=0123abcd+4567-89ab-cdef-0011223344ff", "expected a UUID"},
        {"--uuid=0123abcg-4567-89ab-cdef-0011223344ff", "expected a UUID"},
    };
    static const uint8_t uuid[16] = {0x01, 0x23, 0xab, 0xcd, 0x45, 0x67, 0x89, 0xab,
                                     0xcd, 0xef, 0x00, 0x11, 0x22, 0x33, 0x44, 0xff};
    (void)state;
    assert_int_equal(PARSE(o, err, "--kernel", "k"), 0);
    assert_int_equal(o.machine, VMM_MACHINE_MICROVM);
    assert_int_equal(o.firmware, VMM_FIRMWARE_NONE);
    assert_int_equal(o.irqchip, VMM_IRQCHIP_SPLIT);
    assert_int_equal(PARSE(o, err, "--disk", "d.img"), 0);
    assert_int_equal(o.machine, VMM_MACHINE_PC);
    assert_int_equal(o.firmware, VMM_FIRMWARE_BIOS);
    assert_int_equal(o.irqchip, VMM_IRQCHIP_KERNEL);
    assert_string_equal(o.firmware_file, VMM_SEABIOS_PATH);
    assert_int_equal(PARSE(o, err, "--boot", "cdrom,disk", "--firmware-file", "/x.bin",
                           "--boot-menu", "on", "--machine", "pc"),
                     0);
    assert_int_equal(o.nboot, 2);
    assert_int_equal(o.boot[0], VMM_BOOT_CDROM);
    assert_int_equal(o.boot[1], VMM_BOOT_DISK);
    assert_string_equal(o.firmware_file, "/x.bin");
    assert_true(o.has_boot_menu);
    assert_null(o.uuid);
    assert_int_equal(PARSE(o, err, "--uuid", "0123ABCD-4567-89ab-cdef-0011223344ff"), 0);
    assert_string_equal(o.uuid, "0123ABCD-4567-89ab-cdef-0011223344ff");
    assert_memory_equal(o.uuid_bytes, uuid, 16);
    assert_int_equal(
        PARSE(o, err, "--kernel", "k", "--uuid", "0123abcd-4567-89ab-cdef-0011223344ff"), -EINVAL);
    assert_non_null(strstr(err.message, "not supported yet"));
    /* a kernel under firmware goes through fw_cfg */
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--machine", "pc"), 0);
    assert_int_equal(o.firmware, VMM_FIRMWARE_BIOS);
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--firmware", "bios"), 0);
    assert_int_equal(o.machine, VMM_MACHINE_PC);
    assert_int_equal(PARSE(o, err, "--cmdline", "x"), -EINVAL);
    assert_non_null(strstr(err.message, "need --kernel"));
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--machine", "pc", "--firmware", "none"),
                     -EINVAL);
    assert_non_null(strstr(err.message, "not supported yet"));
    /* UEFI: OVMF's CODE image by default, a kernel through it not yet */
    assert_int_equal(PARSE(o, err, "--firmware", "uefi", "--firmware-vars", "v.fd"), 0);
    assert_int_equal(o.machine, VMM_MACHINE_PC);
    assert_string_equal(o.firmware_file, VMM_OVMF_CODE_PATH);
    assert_string_equal(o.firmware_vars, "v.fd");
    assert_int_equal(PARSE(o, err, "--firmware", "uefi", "--kernel", "k"), -EINVAL);
    assert_non_null(strstr(err.message, "not supported yet"));
    assert_int_equal(PARSE(o, err, "--machine", "microvm"), -EINVAL);
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--boot", "disk"), -EINVAL);
    assert_non_null(strstr(err.message, "need firmware"));
    assert_int_equal(PARSE(o, err, "--boot", "net,disk", "--nic", "nat"), 0);
    assert_int_equal(o.boot[0], VMM_BOOT_NET);
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        if (PARSE(o, err, bad[i][0]) != -EINVAL || strstr(err.message, bad[i][1]) == NULL)
            fail_msg("%s: '%s' lacks '%s'", bad[i][0], err.message, bad[i][1]);
    }
}

/* The EDID's preferred mode and --vram: mode= must fit at 32 bits a pixel; without it the
 * default 1024x768 gives way to a mode that fits. A host name for VNC is a usage error. */
static void test_video_mode_fits(void **state)
{
    struct vmm_options o;
    struct error err;
    (void)state;
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--video", "std"), 0);
    assert_int_equal(o.video_width, 1024);
    assert_int_equal(o.video_height, 768);
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--video", "std", "--vram", "2M"), 0);
    assert_int_equal(o.video_width, 800);
    assert_int_equal(o.video_height, 600);
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--video", "std", "--vram", "1M"), 0);
    assert_int_equal(o.video_width, 320);
    assert_int_equal(o.video_height, 200);
    assert_int_equal(PARSE(o, err, "--kernel", "k", "--video", "std,mode=1024x256", "--vram", "1M"),
                     0);
    assert_int_equal(
        PARSE(o, err, "--kernel", "k", "--video", "std,mode=4096x2160", "--vram", "1M"), -EINVAL);
    assert_non_null(strstr(err.message, "mode=4096x2160"));
    assert_non_null(strstr(err.message, "--vram 1024 KiB"));
    assert_int_equal(
        PARSE(o, err, "--kernel", "k", "--video", "std", "--display", "vnc=localhost:5901"),
        -EINVAL);
    assert_non_null(strstr(err.message, "not a numeric address"));
    assert_int_equal(
        PARSE(o, err, "--kernel", "k", "--video", "std", "--display", "vnc=[::1]:5901"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),        cmocka_unit_test(test_all_options),
        cmocka_unit_test(test_disk_bus),        cmocka_unit_test(test_memory),
        cmocka_unit_test(test_shared_limits),   cmocka_unit_test(test_cpus),
        cmocka_unit_test(test_reboot_limit),    cmocka_unit_test(test_errors),
        cmocka_unit_test(test_too_many_disks),  cmocka_unit_test(test_rng_vconsole),
        cmocka_unit_test(test_serial_log),      cmocka_unit_test(test_input),
        cmocka_unit_test(test_chipset),         cmocka_unit_test(test_security),
        cmocka_unit_test(test_restore),         cmocka_unit_test(test_nic),
        cmocka_unit_test(test_nic_errors),      cmocka_unit_test(test_machine),
        cmocka_unit_test(test_video_mode_fits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
