/* SPDX-License-Identifier: MIT */
/* Unit tests for mgr/proc.c that need no monitor: the monitor command line built from a
 * definition (the contract in docs/cli.md), finding the binary, and probing crafted run/
 * files (pid file of a live or dead process, stale pid with a reused number, exit records). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/util.h"
#include "mgr/proc.h"

static char *joined(char **argv)
{
    static char buf[4096];
    size_t off = 0;
    for (size_t i = 1; argv[i]; i++)
        off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s", i > 1 ? " " : "", argv[i]);
    return buf;
}

static void test_argv(void **state)
{
    struct vm_config c;
    struct error err = {0};
    char **argv;
    (void)state;
    setenv("BAREIRON_SANDBOX", "0", 1); /* the exact line below; test_argv_sandbox has it */
    unsetenv("BAREIRON_LOG");
    assert_int_equal(config_init(&c, "vm1"), 0);
    assert_int_equal(proc_build_argv(&c, "/x/bareiron-vmm", &argv, &err), 0);
    assert_non_null(strstr(joined(argv), "--machine pc --firmware bios --boot cdrom,disk"));
    assert_null(strstr(joined(argv), "--kernel"));
    assert_null(strstr(joined(argv), "--uuid"));
    proc_argv_free(argv);
    /* the VM's uuid becomes the SMBIOS UUID; a floppy in the order goes to the firmware */
    snprintf(c.uuid, sizeof(c.uuid), "%s", "0123abcd-4567-89ab-cdef-0011223344ff");
    c.boot[0] = BOOT_FLOPPY;
    c.boot[1] = BOOT_CDROM;
    c.boot[2] = BOOT_DISK;
    c.boot_count = 3;
    assert_int_equal(proc_build_argv(&c, "/x/bareiron-vmm", &argv, &err), 0);
    assert_non_null(strstr(joined(argv), "--firmware bios --uuid "
                                         "0123abcd-4567-89ab-cdef-0011223344ff --boot "
                                         "floppy,cdrom,disk"));
    proc_argv_free(argv);
    config_fini(&c);
    assert_int_equal(config_init(&c, "vm1"), 0);
    c.firmware = FW_UEFI; /* OVMF with the VM's variable store */
    assert_int_equal(proc_build_argv(&c, "/x/bareiron-vmm", &argv, &err), 0);
    assert_non_null(strstr(joined(argv), "--machine pc --firmware uefi --firmware-vars "
                                         "../uefi-vars.fd --boot cdrom,disk"));
    proc_argv_free(argv);
    c.firmware = FW_NONE;
    assert_int_equal(proc_build_argv(&c, "/x/bareiron-vmm", &argv, &err), -EINVAL);
    assert_non_null(strstr(err.message, "has no kernel"));
    c.firmware = FW_AUTO;
    c.kernel = strdup("/boot/vmlinuz");
    c.cmdline = strdup("console=ttyS0 root=/dev/vda");
    c.cpus = 2;
    c.memory_mib = 1024;
    c.disks[0].path = strdup("/d/a.qcow2");
    c.disks[0].format = DISK_FORMAT_QCOW2;
    c.disks[0].is_readonly = true;
    c.disks[0].cache = DISK_CACHE_NONE;
    c.disk_count = 1;
    c.cdrom = strdup("/c.iso");
    assert_int_equal(proc_build_argv(&c, "/x/bareiron-vmm", &argv, NULL), 0);
    assert_string_equal(argv[0], "/x/bareiron-vmm");
    assert_string_equal(joined(argv),
                        "--name vm1 --control control.sock --log-level info --cpus 2 "
                        "--memory 1024M "
                        "--kernel /boot/vmlinuz --cmdline console=ttyS0 root=/dev/vda "
                        "--disk /d/a.qcow2,format=qcow2,readonly,cache=none --cdrom /c.iso "
                        "--serial unix:console.sock --serial-log console.log");
    proc_argv_free(argv);
    c.serials[0].type = SERIAL_FILE;
    c.serials[0].path = strdup("/var/log/vm1.log");
    c.serial_count = 1;
    assert_int_equal(proc_build_argv(&c, "v", &argv, NULL), 0);
    assert_non_null(strstr(joined(argv), "--serial file:/var/log/vm1.log"));
    assert_null(strstr(joined(argv), "--serial-log")); /* the file is the log */
    proc_argv_free(argv);
    c.disks[0].backing = DISK_BACKING_ANY; /* passed on when not the default */
    assert_int_equal(proc_build_argv(&c, "v", &argv, NULL), 0);
    assert_non_null(
        strstr(joined(argv), "--disk /d/a.qcow2,format=qcow2,readonly,cache=none,backing=any "));
    proc_argv_free(argv);
    setenv("BAREIRON_LOG", "debug", 1); /* the monitor inherits it: no --log-level */
    assert_int_equal(proc_build_argv(&c, "v", &argv, NULL), 0);
    assert_null(strstr(joined(argv), "--log-level"));
    proc_argv_free(argv);
    unsetenv("BAREIRON_LOG");
    c.serials[0].type = SERIAL_PTY;
    free(c.serials[0].path);
    c.serials[0].path = NULL;
    error_clear(&err);
    assert_int_equal(proc_build_argv(&c, "v", &argv, &err), -ENOTSUP);
    assert_non_null(strstr(err.message, "pty"));
    config_fini(&c);
}

/* Jailed by default as root; BAREIRON_SANDBOX=0 turns it off. */
static void test_argv_sandbox(void **state)
{
    struct vm_config c;
    char **argv;
    (void)state;
    assert_int_equal(config_init(&c, "vm1"), 0);
    c.kernel = strdup("/boot/vmlinuz");
    unsetenv("BAREIRON_SANDBOX");
    assert_int_equal(proc_build_argv(&c, "v", &argv, NULL), 0);
    assert_true((strstr(joined(argv), "--sandbox") != NULL) == (geteuid() == 0));
    proc_argv_free(argv);
    setenv("BAREIRON_SANDBOX", "0", 1);
    assert_int_equal(proc_build_argv(&c, "v", &argv, NULL), 0);
    assert_null(strstr(joined(argv), "--sandbox"));
    proc_argv_free(argv);
    config_fini(&c);
}

/* ACPI and the IO-APIC are passed to the monitor; the settings it cannot honour yet, when a
 * vm.json holds them, stop the start instead of being dropped. */
static void test_argv_honours_or_refuses_every_setting(void **state)
{
    struct vm_config c;
    struct error err = {0};
    char **argv;
    (void)state;
    assert_int_equal(config_init(&c, "vm2"), 0);
    c.kernel = strdup("/k");
    assert_int_equal(proc_build_argv(&c, "v", &argv, NULL), 0);
    assert_null(strstr(joined(argv), "--acpi"));
    assert_null(strstr(joined(argv), "--ioapic"));
    assert_null(strstr(joined(argv), "--input"));
    proc_argv_free(argv);
    c.has_acpi = false;
    assert_int_equal(proc_build_argv(&c, "v", &argv, NULL), 0);
    assert_non_null(strstr(joined(argv), "--serial-log console.log --acpi off"));
    assert_null(strstr(joined(argv), "--ioapic"));
    proc_argv_free(argv);
    c.is_mouse_tablet = true;
    assert_int_equal(proc_build_argv(&c, "v", &argv, NULL), 0);
    assert_non_null(strstr(joined(argv), "--input tablet"));
    assert_null(strstr(joined(argv), "--input keyboard"));
    c.is_keyboard_virtio = true;
    proc_argv_free(argv);
    assert_int_equal(proc_build_argv(&c, "v", &argv, NULL), 0);
    assert_non_null(strstr(joined(argv), "--input tablet --input keyboard"));
    proc_argv_free(argv);
    c.is_mouse_tablet = c.is_keyboard_virtio = false;
    c.has_acpi = true;
    c.has_ioapic = false;
    assert_int_equal(proc_build_argv(&c, "v", &argv, NULL), 0);
    assert_non_null(strstr(joined(argv), "--ioapic off"));
    assert_null(strstr(joined(argv), "--acpi"));
    proc_argv_free(argv);
    c.firmware = FW_BIOS; /* the pc machine has an IOAPIC */
    assert_int_equal(proc_build_argv(&c, "v", &argv, &err), -ENOTSUP);
    assert_non_null(strstr(err.message, "IOAPIC"));
    error_clear(&err);
    c.firmware = FW_AUTO;
    c.has_ioapic = true;
    c.nic_count = 1;
    assert_int_equal(proc_build_argv(&c, "v", &argv, &err), -ENOTSUP);
    assert_non_null(strstr(err.message, "--remove-nic all"));
    c.nic_count = 0;
    c.boot[0] = BOOT_FLOPPY;
    error_clear(&err);
    assert_int_equal(proc_build_argv(&c, "v", &argv, &err), -ENOTSUP);
    assert_non_null(strstr(err.message, "boot"));
    c.boot[0] = BOOT_KERNEL;
    c.firmware = FW_NONE;
    c.boot[0] = BOOT_DISK; /* no firmware: the kernel must come first */
    assert_int_equal(proc_build_argv(&c, "v", &argv, &err), -ENOTSUP);
    c.boot[0] = BOOT_KERNEL;
    c.firmware = FW_BIOS; /* the kernel through the firmware */
    assert_int_equal(proc_build_argv(&c, "v", &argv, &err), 0);
    assert_non_null(
        strstr(joined(argv), "--machine pc --firmware bios --boot cdrom,disk --kernel"));
    proc_argv_free(argv);
    c.firmware = FW_AUTO;
    c.video_vram_mib = 64;
    assert_int_equal(proc_build_argv(&c, "v", &argv, NULL), -ENOTSUP);
    config_fini(&c);
}

/* Writes an executable script (path) that prints (help) for --help. */
static void write_vmm(const char *path, const char *help)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "#!/bin/sh\nprintf '%%s\\n' '%s'\n", help);
    fclose(f);
    assert_int_equal(chmod(path, 0700), 0);
}

/* Each adapter becomes one --nic in the contract's syntax, given only to a monitor whose
 * --help names --nic; otherwise the start is refused ("not supported yet"). */
static void test_argv_nics(void **state)
{
    char dir[] = "/tmp/bareiron-proc-XXXXXX", vmm[64], old[64], buf[512];
    struct vm_config c;
    struct error err = {0};
    char **argv;
    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(vmm, sizeof(vmm), "%s/vmm", dir);
    snprintf(old, sizeof(old), "%s/old", dir);
    write_vmm(vmm, "  --nic nat[,mac=..] | tap,ifname=IF | none");
    write_vmm(old, "  --nice-level N  --nicotine");
    assert_true(proc_vmm_has_nic(vmm));
    assert_false(proc_vmm_has_nic(old));
    assert_false(proc_vmm_has_nic("/nonexistent/vmm"));
    assert_int_equal(config_init(&c, "n"), 0);
    c.kernel = strdup("/k");
    assert_int_equal(config_set_option(&c, "nic1", "nat,mac=52:54:00:00:00:01", NULL), 0);
    assert_int_equal(config_set_option(&c, "nat-forward1", "ssh,tcp,,2222,,22", NULL), 0);
    assert_int_equal(config_set_option(&c, "nat-forward1", "d,udp,0.0.0.0,53,10.0.2.9,53", NULL),
                     0);
    assert_int_equal(config_set_option(&c, "nat-restrict1", "on", NULL), 0);
    assert_int_equal(config_set_option(&c, "nic2", "tap:tap0,mac=52:54:00:00:00:02", NULL), 0);
    assert_int_equal(config_set_option(&c, "nic3", "none,mac=52:54:00:00:00:03", NULL), 0);
    assert_int_equal(proc_nic_arg(&c.nics[0], buf, sizeof(buf)), 0);
    assert_string_equal(buf, "nat,mac=52:54:00:00:00:01,hostfwd=tcp:127.0.0.1:2222-:22,"
                             "hostfwd=udp:0.0.0.0:53-10.0.2.9:53,restrict=on");
    assert_int_equal(proc_nic_arg(&c.nics[0], buf, 20), -ENAMETOOLONG);
    /* a tap's queues= and vhost=, passed on only when not the defaults */
    c.cpus = 2;
    assert_int_equal(
        config_set_option(&c, "nic4", "tap:tq,queues=2,vhost=off,mac=52:54:00:00:00:04", NULL), 0);
    assert_int_equal(proc_nic_arg(&c.nics[3], buf, sizeof(buf)), 0);
    assert_string_equal(buf, "tap,ifname=tq,mac=52:54:00:00:00:04,queues=2,vhost=off");
    assert_int_equal(config_set_option(&c, "nic4", "tap:tq,mac=52:54:00:00:00:04", NULL), 0);
    assert_int_equal(proc_nic_arg(&c.nics[3], buf, sizeof(buf)), 0);
    assert_string_equal(buf, "tap,ifname=tq,mac=52:54:00:00:00:04");
    assert_int_equal(config_set_option(&c, "nic4", "nat,vhost=on", NULL), -EINVAL);
    assert_int_equal(config_set_option(&c, "remove-nic", "4", NULL), 0);
    assert_int_equal(proc_build_argv(&c, vmm, &argv, NULL), 0);
    assert_non_null(strstr(joined(argv), "--nic nat,mac=52:54:00:00:00:01,hostfwd="));
    assert_non_null(strstr(joined(argv), "restrict=on --nic tap,ifname=tap0,mac=52:54:00:00:00:02 "
                                         "--nic none,mac=52:54:00:00:00:03 --serial"));
    proc_argv_free(argv);
    assert_int_equal(proc_build_argv(&c, old, &argv, &err), -ENOTSUP);
    assert_non_null(strstr(err.message, "does not support yet"));
    assert_non_null(strstr(err.message, "--remove-nic all"));
    config_fini(&c);
    unlink(vmm);
    unlink(old);
    rmdir(dir);
}

static void test_find_vmm(void **state)
{
    char buf[4096];
    struct error err = {0};
    (void)state;
    setenv("BAREIRON_VMM", "/bin/sh", 1);
    assert_int_equal(proc_find_vmm(buf, sizeof(buf), NULL), 0);
    assert_string_equal(buf, "/bin/sh");
    setenv("BAREIRON_VMM", "/nonexistent/vmm", 1);
    assert_int_equal(proc_find_vmm(buf, sizeof(buf), &err), -ENOENT);
    assert_non_null(strstr(err.message, "BAREIRON_VMM"));
    unsetenv("BAREIRON_VMM");
}

static void write_run(const struct store *st, const char *leaf, const char *text)
{
    char path[PATH_MAX], rel[64];
    snprintf(rel, sizeof(rel), "run/%s", leaf);
    assert_int_equal(store_vm_path(st, "p", rel, path, sizeof(path)), 0);
    assert_int_equal(write_file_atomic(path, text, strlen(text), 0600), 0);
}

static void test_probe(void **state)
{
    char home[] = "/tmp/bareiron-proc-XXXXXX", line[64], cmd[64];
    struct store st;
    struct vm_config c;
    struct proc_status ps;
    unsigned long long start;
    bool is_zombie;
    pid_t child;
    (void)state;
    assert_non_null(mkdtemp(home));
    setenv("BAREIRON_HOME", home, 1);
    assert_int_equal(store_open(&st, NULL), 0);
    assert_int_equal(config_init(&c, "p"), 0);
    assert_int_equal(store_create(&st, &c, NULL), 0);
    config_fini(&c);
    assert_int_equal(proc_probe(&st, "p", &ps), 0);
    assert_int_equal(ps.state, VM_STATE_POWERED_OFF);
    /* A live process that does not answer, recently started: starting. */
    child = fork();
    if (child == 0) {
        pause();
        _exit(0);
    }
    assert_int_equal(proc_stat(child, &start, &is_zombie), 0);
    assert_false(is_zombie);
    snprintf(line, sizeof(line), "%d %llu\n", (int)child, start);
    write_run(&st, "vmm.pid", line);
    assert_int_equal(proc_probe(&st, "p", &ps), 0);
    assert_int_equal(ps.state, VM_STATE_STARTING);
    assert_int_equal(ps.pid, child);
    /* Same pid, other start time (a reused pid): not our monitor. */
    snprintf(line, sizeof(line), "%d %llu\n", (int)child, start + 1);
    write_run(&st, "vmm.pid", line);
    assert_int_equal(proc_probe(&st, "p", &ps), 0);
    assert_int_equal(ps.state, VM_STATE_ABORTED);
    assert_int_equal(ps.pid, 0);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    /* Exit records: clean -> powered-off, failed -> aborted. */
    snprintf(cmd, sizeof(cmd), "%s", "{\"status\": 0}\n");
    write_run(&st, "exit.json", cmd);
    assert_int_equal(proc_probe(&st, "p", &ps), 0);
    assert_int_equal(ps.state, VM_STATE_POWERED_OFF);
    write_run(&st, "exit.json", "{\"signal\": 9}\n");
    assert_int_equal(proc_probe(&st, "p", &ps), 0);
    assert_int_equal(ps.state, VM_STATE_ABORTED);
    assert_int_equal(ps.exit_signal, 9);
    write_run(&st, "vmm.pid", "garbage");
    assert_int_equal(proc_probe(&st, "p", &ps), 0);
    assert_int_equal(ps.state, VM_STATE_ABORTED);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", home);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_argv),
        cmocka_unit_test(test_argv_sandbox),
        cmocka_unit_test(test_argv_honours_or_refuses_every_setting),
        cmocka_unit_test(test_argv_nics),
        cmocka_unit_test(test_find_vmm),
        cmocka_unit_test(test_probe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
