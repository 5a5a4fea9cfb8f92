/* SPDX-License-Identifier: MIT */
/* Unit tests for mgr/config*.c: vm.json parsing and validation of every field (bad types,
 * ranges, enums, unknown keys at every level, future schema), round trips through
 * config_dump, the command-line settings of config_set_option, and name checks. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "block/image.h"
#include "mgr/config.h"
#include "mgr/config_util.h"

static const char full_json[] =
    "{\"schema\":1,\"name\":\"web-1\",\"description\":\"d\",\"os_type\":\"linux\","
    "\"cpus\":4,\"memory_mib\":2048,\"boot\":[\"disk\",\"kernel\"],\"kernel\":\"/k\","
    "\"initrd\":\"/i\",\"cmdline\":\"console=ttyS0\",\"disks\":[{\"path\":\"/a.img\","
    "\"format\":\"qcow2\",\"readonly\":true,\"cache\":\"none\",\"backing\":\"any\"},"
    "{\"path\":\"/b.img\"}],"
    "\"cdrom\":\"/c.iso\",\"floppy\":null,\"network\":[{\"model\":\"e1000\",\"mode\":\"tap\","
    "\"tap\":\"tap0\",\"mac\":\"52:54:00:12:34:56\"},{\"mode\":\"nat\"}],"
    "\"serial\":[{\"type\":\"console\"},{\"type\":\"file\",\"path\":\"/log\"}],"
    "\"video\":{\"width\":800,\"height\":600,\"vram_mib\":8},"
    "\"input\":{\"mouse\":\"tablet\",\"keyboard\":\"virtio\"},\"acpi\":false,"
    "\"ioapic\":true,\"autostart\":true,\"uuid\":\"0b6c3a4e-2f1d-4c8e-9a7b-5d6e7f809102\"}";

static void test_parse_full(void **state)
{
    struct vm_config c;
    struct error err = {0};
    (void)state;
    assert_int_equal(config_parse(full_json, strlen(full_json), "t.json", &c, &err), 0);
    assert_string_equal(c.name, "web-1");
    assert_int_equal(c.cpus, 4);
    assert_true(c.is_mouse_tablet && c.is_keyboard_virtio);
    assert_int_equal(c.memory_mib, 2048);
    assert_int_equal(c.boot_count, 2);
    assert_int_equal(c.boot[0], BOOT_DISK);
    assert_string_equal(c.kernel, "/k");
    assert_string_equal(c.cmdline, "console=ttyS0");
    assert_int_equal(c.disk_count, 2);
    assert_int_equal(c.disks[0].format, DISK_FORMAT_QCOW2);
    assert_true(c.disks[0].is_readonly);
    assert_int_equal(c.disks[0].cache, DISK_CACHE_NONE);
    assert_int_equal(c.disks[1].format, DISK_FORMAT_RAW);
    assert_int_equal(c.disks[0].backing, DISK_BACKING_ANY);
    assert_int_equal(c.disks[1].backing, DISK_BACKING_SAME_DIR);
    assert_null(c.floppy);
    assert_int_equal(c.nic_count, 2);
    assert_int_equal(c.nics[0].mode, NIC_MODE_TAP);
    assert_string_equal(c.nics[0].ifname, "tap0");
    assert_int_equal(c.serial_count, 2);
    assert_string_equal(c.serials[1].path, "/log");
    assert_int_equal(c.video_width, 800);
    assert_false(c.has_acpi);
    assert_true(c.is_autostart);
    assert_string_equal(c.uuid, "0b6c3a4e-2f1d-4c8e-9a7b-5d6e7f809102");
    config_fini(&c);
}

static void test_round_trip(void **state)
{
    struct vm_config c, d;
    char *text, *text2;
    (void)state;
    assert_int_equal(config_parse(full_json, strlen(full_json), "t", &c, NULL), 0);
    assert_int_equal(config_dump(&c, &text), 0);
    assert_int_equal(config_parse(text, strlen(text), "t2", &d, NULL), 0);
    assert_int_equal(config_dump(&d, &text2), 0);
    assert_string_equal(text, text2);
    assert_non_null(strstr(text, "\"schema\": 2"));
    assert_non_null(strstr(text, "\"backing\": \"any\"")); /* only where not the default */
    free(text);
    free(text2);
    config_fini(&c);
    config_fini(&d);
    /* Defaults round-trip too. */
    assert_int_equal(config_init(&c, "x"), 0);
    assert_int_equal(config_dump(&c, &text), 0);
    assert_int_equal(config_parse(text, strlen(text), "t3", &d, NULL), 0);
    assert_int_equal(d.cpus, 1);
    assert_int_equal(d.memory_mib, 256);
    free(text);
    config_fini(&c);
    config_fini(&d);
}

/* Replaces or adds member (key) of the full document with (value_json) ("DELETE" removes it)
 * and expects a failure with (code) whose message contains (needle). */
static void expect_bad(const char *key, const char *value_json, int code, const char *needle)
{
    json_t *root = json_loads(full_json, 0, NULL);
    struct vm_config c;
    struct error err = {0};
    char *text;
    if (strcmp(value_json, "DELETE") == 0)
        json_object_del(root, key);
    else
        json_object_set_new(root, key, json_loads(value_json, JSON_DECODE_ANY, NULL));
    text = json_dumps(root, 0);
    json_decref(root);
    int ret = config_parse(text, strlen(text), "/lib/vms/web-1/vm.json", &c, &err);
    if (ret != code || strstr(err.message, needle) == NULL ||
        strstr(err.message, "/lib/vms/web-1/vm.json") == NULL)
        fail_msg("%s=%s: got %d '%s', wanted %d '%s'", key, value_json, ret, err.message, code,
                 needle);
    free(text);
}

static void test_every_field_rejects_bad_values(void **state)
{
    (void)state;
    expect_bad("schema", "3", -ENOTSUP, "schema version 3 is newer");
    expect_bad("schema", "\"1\"", -EINVAL, "\"schema\"");
    expect_bad("schema", "0", -EINVAL, "\"schema\"");
    expect_bad("schema", "DELETE", -EINVAL, "\"schema\"");
    expect_bad("name", "DELETE", -EINVAL, "\"name\"");
    expect_bad("name", "\"a/b\"", -EINVAL, "\"name\"");
    expect_bad("name", "\"..\"", -EINVAL, "\"name\"");
    expect_bad("name", "7", -EINVAL, "\"name\"");
    expect_bad("uuid", "\"0b6c3a4e-2f1d-4c8e-9a7b-5d6e7f80910\"", -EINVAL, "\"uuid\"");
    expect_bad("uuid", "\"0b6c3a4e-2f1d-4c8e-9a7b-5d6e7f80910g\"", -EINVAL, "must be a UUID");
    expect_bad("uuid", "null", -EINVAL, "\"uuid\"");
    expect_bad("description", "null", -EINVAL, "\"description\"");
    expect_bad("description", "\"a\\u0001b\"", -EINVAL, "control character");
    expect_bad("os_type", "\"beos\"", -EINVAL, "\"os_type\"");
    expect_bad("cpus", "0", -EINVAL, "\"cpus\": must be an integer from 1 to 64");
    expect_bad("cpus", "65", -EINVAL, "\"cpus\"");
    expect_bad("cpus", "2.5", -EINVAL, "\"cpus\"");
    expect_bad("cpus", "\"2\"", -EINVAL, "\"cpus\"");
    expect_bad("cpus", "true", -EINVAL, "\"cpus\"");
    expect_bad("memory_mib", "1", -EINVAL, "\"memory_mib\": must be an integer from 2 to");
    expect_bad("memory_mib", "99999999999", -EINVAL, "\"memory_mib\"");
    expect_bad("memory_mib", "-1", -EINVAL, "\"memory_mib\"");
    expect_bad("boot", "[]", -EINVAL, "\"boot\"");
    expect_bad("boot", "\"disk\"", -EINVAL, "\"boot\"");
    expect_bad("boot", "[\"disk\",\"disk\"]", -EINVAL, "twice");
    expect_bad("boot", "[\"usb\"]", -EINVAL, "floppy|cdrom|disk|kernel|net");
    expect_bad("boot", "[\"a\",\"b\",\"c\",\"d\",\"e\"]", -EINVAL, "\"boot\"");
    expect_bad("kernel", "\"relative\"", -EINVAL, "absolute");
    expect_bad("kernel", "5", -EINVAL, "\"kernel\"");
    expect_bad("initrd", "[]", -EINVAL, "\"initrd\"");
    expect_bad("cmdline", "{}", -EINVAL, "\"cmdline\"");
    expect_bad("cdrom", "\"x.iso\"", -EINVAL, "\"cdrom\"");
    expect_bad("floppy", "false", -EINVAL, "\"floppy\"");
    expect_bad("disks", "{}", -EINVAL, "\"disks\"");
    expect_bad("disks", "[5]", -EINVAL, "\"disks[0]\"");
    expect_bad("disks", "[{}]", -EINVAL, "\"disks[0].path\": is required");
    expect_bad("disks", "[{\"path\":\"/a,b\"}]", -EINVAL, "','");
    expect_bad("disks", "[{\"path\":\"/a\",\"format\":\"vmdk\"}]", -EINVAL, "disks[0].format");
    expect_bad("disks", "[{\"path\":\"/a\",\"readonly\":\"no\"}]", -EINVAL, "disks[0].readonly");
    expect_bad("disks", "[{\"path\":\"/a\",\"cache\":1}]", -EINVAL, "disks[0].cache");
    expect_bad("disks", "[{\"path\":\"/a\",\"bus\":\"scsi\"}]", -EINVAL, "disks[0].bus");
    expect_bad("disks",
               "[{\"path\":\"/a\",\"bus\":\"ide\"},{\"path\":\"/b\",\"bus\":\"ide\"},"
               "{\"path\":\"/c\",\"bus\":\"ide\"},{\"path\":\"/d\",\"bus\":\"ide\"},"
               "{\"path\":\"/e\",\"bus\":\"ide\"}]",
               -EINVAL, "at most 4 IDE drives");
    expect_bad("cdrom", "\"empty2\"", -EINVAL, "cdrom");
    expect_bad("boot_menu", "\"on\"", -EINVAL, "boot_menu");
    expect_bad("disks", "[{\"path\":\"/a\"},{\"path\":\"/a\"}]", -EINVAL, "attached twice");
    expect_bad("network", "[{\"mode\":\"wifi\"}]", -EINVAL, "network[0].mode");
    expect_bad("network", "[{\"mode\":\"tap\",\"tap\":\"t0\",\"tftp\":\"/srv\"}]", -EINVAL,
               "network[0].tftp");
    expect_bad("network", "[{\"mode\":\"nat\",\"tftp\":\"relative\"}]", -EINVAL, "network[0].tftp");
    expect_bad("network", "[{\"model\":\"ne2k\"}]", -EINVAL, "network[0].model");
    expect_bad("network", "[{\"mode\":\"bridge\"}]", -EINVAL, "network[0].bridge");
    expect_bad("network", "[{\"mode\":\"nat\",\"tap\":\"t\"}]", -EINVAL, "network[0].tap");
    expect_bad("network", "[{\"mode\":\"tap\",\"tap\":\"bad name!\"}]", -EINVAL, "interface");
    expect_bad("network", "[{\"mac\":\"01:00:00:00:00:00\"}]", -EINVAL, "network[0].mac");
    expect_bad("network", "[{\"mac\":\"52:54:00:12:34\"}]", -EINVAL, "network[0].mac");
    expect_bad("serial", "[{}]", -EINVAL, "serial[0].type");
    expect_bad("serial", "[{\"type\":\"tcp\"}]", -EINVAL, "serial[0].type");
    expect_bad("serial", "[{\"type\":\"unix\"}]", -EINVAL, "serial[0].path");
    expect_bad("serial", "[{\"type\":\"pty\",\"path\":\"/x\"}]", -EINVAL, "not allowed");
    expect_bad("serial", "[{\"type\":\"console\"},{\"type\":\"console\"}]", -EINVAL,
               "only one port");
    expect_bad("serial", "[{},{},{},{},{}]", -EINVAL, "at most");
    expect_bad("video", "[]", -EINVAL, "\"video\"");
    expect_bad("video", "{\"width\":100}", -EINVAL, "video.width");
    expect_bad("video", "{\"height\":\"x\"}", -EINVAL, "video.height");
    expect_bad("video", "{\"vram_mib\":0}", -EINVAL, "video.vram_mib");
    expect_bad("video", "{\"depth\":32}", -EINVAL, "unknown key \"depth\"");
    expect_bad("input", "{\"mouse\":\"usb\"}", -EINVAL, "input.mouse");
    expect_bad("input", "{\"keyboard\":1}", -EINVAL, "input.keyboard");
    expect_bad("input", "{\"pen\":\"ps2\"}", -EINVAL, "unknown key \"pen\"");
    expect_bad("acpi", "1", -EINVAL, "\"acpi\"");
    expect_bad("ioapic", "\"on\"", -EINVAL, "\"ioapic\"");
    expect_bad("autostart", "null", -EINVAL, "\"autostart\"");
    expect_bad("colour", "\"red\"", -EINVAL, "unknown key \"colour\"");
    expect_bad("kernel", "null", -EINVAL, "initrd: needs a kernel");
}

static void test_malformed_text(void **state)
{
    static const char *const bad[] = {"",
                                      "{",
                                      "[]",
                                      "null",
                                      "{\"schema\":1,\"schema\":1}",
                                      "\"s\"",
                                      "{\"schema\":1,\"name\":\"x\"} trailing"};
    struct vm_config c;
    struct error err;
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        error_clear(&err);
        assert_int_equal(config_parse(bad[i], strlen(bad[i]), "F.json", &c, &err), -EINVAL);
        assert_non_null(strstr(err.message, "F.json"));
    }
    /* A minimal document gets the defaults. */
    static const char minimal[] = "{\"schema\":1,\"name\":\"m\"}";
    assert_int_equal(config_parse(minimal, strlen(minimal), "F", &c, NULL), 0);
    assert_int_equal(c.cpus, 1);
    assert_true(c.has_acpi);
    config_fini(&c);
}

static void set_ok(struct vm_config *c, const char *key, const char *val)
{
    struct error err = {0};
    if (config_set_option(c, key, val, &err) != 0)
        fail_msg("--%s %s: %s", key, val, err.message);
}

static void set_bad(struct vm_config *c, const char *key, const char *val, int code)
{
    struct error err = {0};
    int ret = config_set_option(c, key, val, &err);
    if (ret != code)
        fail_msg("--%s %s: got %d (%s), wanted %d", key, val, ret, err.message, code);
    if (code != -ENOENT || strcmp(key, "nope") != 0)
        assert_non_null(strstr(err.message, key));
}

static void test_options(void **state)
{
    char file[] = "/tmp/bareiron-cfg-XXXXXX", spec[128];
    struct vm_config c;
    int fd = mkstemp(file);
    (void)state;
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(config_init(&c, "o"), 0);
    set_ok(&c, "cpus", "8");
    set_ok(&c, "memory", "2G");
    assert_int_equal(c.memory_mib, 2048);
    set_ok(&c, "memory", "512");
    assert_int_equal(c.memory_mib, 512);
    set_ok(&c, "boot", "floppy,disk");
    set_ok(&c, "boot", "cdrom,disk");
    assert_int_equal(c.boot_count, 2);
    set_ok(&c, "firmware", "bios");
    assert_int_equal(c.firmware, FW_BIOS);
    set_ok(&c, "firmware", "uefi");
    assert_int_equal(c.firmware, FW_UEFI);
    set_bad(&c, "firmware", "coreboot", -EINVAL);
    set_ok(&c, "firmware", "auto");
    set_ok(&c, "boot", "kernel,cdrom,disk");
    assert_int_equal(c.boot_count, 3);
    set_ok(&c, "kernel", file);
    set_ok(&c, "initrd", file);
    set_ok(&c, "cmdline", "quiet");
    snprintf(spec, sizeof(spec), "%s,format=qcow2,readonly,cache=none", file);
    set_ok(&c, "disk", spec);
    assert_int_equal(c.disks[0].format, DISK_FORMAT_QCOW2);
    assert_int_equal(c.disks[0].backing, DISK_BACKING_SAME_DIR);
    set_bad(&c, "disk", file, -EEXIST);
    set_ok(&c, "remove-disk", file);
    snprintf(spec, sizeof(spec), "%s,format=qcow2,readonly,cache=none,backing=any", file);
    set_ok(&c, "disk", spec);
    assert_int_equal(c.disks[0].backing, DISK_BACKING_ANY);
    snprintf(spec, sizeof(spec), "%s,backing=all", file);
    set_bad(&c, "disk", spec, -EINVAL);
    set_ok(&c, "serial", "unix:/tmp/s.sock");
    set_ok(&c, "serial", "none");
    assert_int_equal(c.serial_count, 0);
    set_ok(&c, "video", "1024x768");
    set_ok(&c, "vram", "16M");
    set_ok(&c, "floppy", "none");
    set_ok(&c, "acpi", "off");
    set_ok(&c, "autostart", "yes");
    set_ok(&c, "os-type", "windows");
    set_ok(&c, "description", "hello");
    assert_int_equal(config_validate(&c, NULL), 0);
    set_ok(&c, "remove-disk", file);
    assert_int_equal(c.disk_count, 0);
    set_ok(&c, "kernel", "none");
    assert_int_equal(config_validate(&c, NULL), -EINVAL); /* initrd without kernel */
    set_ok(&c, "initrd", "none");
    set_ok(&c, "cmdline", "none");
    assert_int_equal(config_validate(&c, NULL), 0);
    set_bad(&c, "cpus", "0", -EINVAL);
    set_bad(&c, "cpus", "1x", -EINVAL);
    set_bad(&c, "memory", "1K", -EINVAL);
    set_bad(&c, "boot", "", -EINVAL);
    set_bad(&c, "boot", "disk,usb", -EINVAL);
    set_bad(&c, "kernel", "/nonexistent/k", -ENOENT);
    set_bad(&c, "kernel", "/tmp", -ENOEXEC); /* a directory is bad input (6), as for `disk` */
    set_bad(&c, "disk", "/nonexistent", -ENOENT);
    set_bad(&c, "remove-disk", "5", -ENOENT);
    set_bad(&c, "nic", "tap", -EINVAL);
    set_bad(&c, "nic", "nat:x", -EINVAL);
    set_bad(&c, "serial", "pty:/x", -EINVAL);
    set_bad(&c, "video", "1x1", -EINVAL);
    set_ok(&c, "remove-nic", "all");
    /* without a kernel SeaBIOS boots it: the pc machine has ACPI */
    assert_int_equal(config_check_supported(&c, NULL), -ENOTSUP);
    set_ok(&c, "acpi", "on");
    assert_int_equal(config_check_supported(&c, NULL), 0);
    set_bad(&c, "acpi", "sometimes", -EINVAL);
    set_bad(&c, "nope", "1", -ENOENT);
    assert_true(config_option_is_live("description"));
    assert_false(config_option_is_live("cpus"));
    assert_true(config_option_is_live("cdrom")); /* a media change in the running VM */
    assert_false(config_option_exists("nope"));
    config_fini(&c);
    unlink(file);
}

/* Settings the monitor cannot honour yet are refused with -ENOTSUP and nothing is stored. */
static void test_unsupported_settings_are_refused(void **state)
{
    char file[] = "/tmp/bareiron-cfg-XXXXXX";
    struct vm_config c;
    struct error err = {0};
    int fd = mkstemp(file);
    (void)state;
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(config_init(&c, "u"), 0);
    set_bad(&c, "nic", "bridge:br0,model=e1000", -ENOTSUP);
    set_bad(&c, "nic1", "nat,model=e1000", -ENOTSUP);
    set_bad(&c, "nic1", "bridge:br0", -ENOTSUP);
    assert_int_equal(c.nic_count, 0);
    /* the order against the firmware (create and set check it after their settings) */
    c.boot[0] = BOOT_DISK;
    c.firmware = FW_NONE;
    assert_int_equal(config_check_boot(&c, NULL), -ENOTSUP);
    c.firmware = FW_AUTO; /* no kernel: SeaBIOS, any order */
    assert_int_equal(config_check_boot(&c, NULL), 0);
    c.boot[0] = BOOT_KERNEL;
    /* a floppy is honoured, when the file has a floppy's size */
    set_bad(&c, "floppy", file, -ENOEXEC);
    assert_null(c.floppy);
    assert_int_equal(truncate(file, 1474560), 0);
    set_ok(&c, "floppy", file);
    assert_string_equal(c.floppy, file);
    set_ok(&c, "floppy", "eject"); /* the drive stays, empty */
    assert_string_equal(c.floppy, CONFIG_EMPTY_DRIVE);
    set_ok(&c, "floppy", "none");
    assert_null(c.floppy);
    set_ok(&c, "floppy", "empty");
    assert_string_equal(c.floppy, CONFIG_EMPTY_DRIVE);
    set_ok(&c, "video", "800x600"); /* honoured with a display adapter (checked at start) */
    set_ok(&c, "vram", "64M");
    set_bad(&c, "vram", "24M", -EINVAL);
    set_bad(&c, "video", "vga", -EINVAL);
    set_ok(&c, "video", "bochs-display");
    assert_int_equal(c.video_adapter, VIDEO_BOCHS);
    set_ok(&c, "video", "auto");
    set_ok(&c, "video", "1024x768");
    set_ok(&c, "vram", "16M");
    set_bad(&c, "serial", "pty", -ENOTSUP);
    set_ok(&c, "serial", "file:/tmp/com1.log");
    set_bad(&c, "serial", "console", -ENOTSUP); /* COM2 */
    assert_int_equal(c.serial_count, 1);
    assert_int_equal(config_set_option(&c, "nic", "bridge:br0", &err), -ENOTSUP);
    assert_non_null(strstr(err.message, "not supported yet"));
    /* ACPI and the IO-APIC are honoured (the monitor gets --acpi off / --ioapic off). */
    set_ok(&c, "acpi", "off");
    set_ok(&c, "ioapic", "off");
    /* so are the mouse and keyboard (--input tablet / keyboard) */
    set_ok(&c, "mouse", "tablet");
    set_ok(&c, "keyboard", "virtio");
    assert_true(c.is_mouse_tablet && c.is_keyboard_virtio);
    set_bad(&c, "mouse", "usb", -EINVAL);
    set_bad(&c, "keyboard", "tablet", -EINVAL);
    set_ok(&c, "keyboard", "ps2");
    assert_false(c.is_keyboard_virtio);
    /* ACPI and the IO-APIC off: only for a direct kernel boot */
    assert_int_equal(config_check_supported(&c, NULL), c.kernel ? 0 : -ENOTSUP);
    set_ok(&c, "acpi", "on");
    set_ok(&c, "ioapic", "on");
    assert_int_equal(config_check_supported(&c, NULL), 0);
    config_fini(&c);
    unlink(file);
}

/* A vm.json holding such a setting still loads (so `set` can remove it) but is refused at
 * start by config_check_supported, naming the field and the fix. */
static void test_check_supported(void **state)
{
    static const struct {
        const char *key, *json, *needle;
    } cases[] = {
        {"network", "[{\"mode\":\"nat\"},{\"mode\":\"bridge\",\"bridge\":\"br0\"}]",
         "--remove-nic 2"},
        {"network", "[{\"mode\":\"nat\",\"model\":\"e1000\"}]", "--remove-nic 1"},
        {"boot", "[\"floppy\",\"kernel\"]", "--boot kernel,cdrom,disk"},
        {"boot", "[\"disk\",\"kernel\"]", "--boot kernel,cdrom,disk"},
        {"firmware", "\"uefi\"", "--kernel none"},
        /* a kernel boot has no adapter unless asked: a size or video memory is refused */
        {"video", "{\"width\":800,\"height\":600}", "--video none"},
        {"video", "{\"vram_mib\":64}", "--video none"},
        {"boot_menu", "true", "--boot-menu off"},
        {"video", "{\"adapter\":\"std\",\"vram_mib\":24}", "--vram 16M"},
        {"serial", "[{\"type\":\"console\"},{\"type\":\"pty\"}]", "second serial port"},
        {"serial", "[{\"type\":\"pty\"}]", "pty"},
    };
    static const char base[] = "{\"schema\":1,\"name\":\"old\",\"kernel\":\"/k\"}";
    struct vm_config c;
    struct error err;
    (void)state;
    assert_int_equal(config_parse(base, strlen(base), "t", &c, NULL), 0);
    assert_int_equal(config_check_supported(&c, NULL), 0);
    config_fini(&c);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *root = json_loads(base, 0, NULL);
        char *text;
        json_object_set_new(root, cases[i].key, json_loads(cases[i].json, JSON_DECODE_ANY, NULL));
        text = json_dumps(root, 0);
        json_decref(root);
        assert_int_equal(config_parse(text, strlen(text), "t", &c, NULL), 0);
        error_clear(&err);
        assert_int_equal(config_check_supported(&c, &err), -ENOTSUP);
        if (strstr(err.message, cases[i].needle) == NULL ||
            strstr(err.message, "not support") == NULL)
            fail_msg("%s=%s: '%s'", cases[i].key, cases[i].json, err.message);
        config_fini(&c);
        free(text);
    }
}

/* Network adapters: numbered without gaps, a MAC generated once and kept, forwards parsed,
 * named uniquely, host ports not taken twice; the monitor's --nic value. */
static void test_network_options(void **state)
{
    struct vm_config c;
    struct error err = {0};
    char mac[18], rule[128];
    (void)state;
    assert_int_equal(config_init(&c, "n"), 0);
    set_bad(&c, "nic2", "nat", -EINVAL); /* no adapter 1 yet */
    set_ok(&c, "nic1", "nat");
    assert_int_equal(c.nic_count, 1);
    assert_int_equal(strlen(c.nics[0].mac), 17);
    assert_memory_equal(c.nics[0].mac, "52:54:00:", 9);
    assert_int_equal(config_check_mac(c.nics[0].mac), 0);
    memcpy(mac, c.nics[0].mac, sizeof(mac));
    set_ok(&c, "nat-forward1", "ssh,tcp,,2222,,22");
    assert_int_equal(c.nics[0].forward_count, 1);
    assert_string_equal(c.nics[0].forwards[0].host_ip, "127.0.0.1");
    config_forward_rule(&c.nics[0].forwards[0], rule, sizeof(rule));
    assert_string_equal(rule, "tcp:127.0.0.1:2222-:22");
    set_ok(&c, "nat-forward1", "dns,udp,0.0.0.0,5353,10.0.2.15,53");
    config_forward_rule(&c.nics[0].forwards[1], rule, sizeof(rule));
    assert_string_equal(rule, "udp:0.0.0.0:5353-10.0.2.15:53");
    set_bad(&c, "nat-forward1", "ssh,tcp,,2223,,22", -EEXIST);        /* duplicate name */
    set_bad(&c, "nat-forward1", "a,tcp,,2222", -EINVAL);              /* five fields */
    set_bad(&c, "nat-forward1", "a,sctp,,2223,,22", -EINVAL);         /* protocol */
    set_bad(&c, "nat-forward1", "a,tcp,localhost,2223,,22", -EINVAL); /* host address */
    set_bad(&c, "nat-forward1", "a,tcp,,65536,,22", -EINVAL);
    set_bad(&c, "nat-forward1", "a,tcp,,2223,192.168.1.2,22", -EINVAL); /* not the NAT net */
    set_bad(&c, "nat-forward1", "a b,tcp,,2223,,22", -EINVAL);
    set_bad(&c, "nat-forward1", "delete nosuch", -ENOENT);
    set_bad(&c, "nat-forward2", "a,tcp,,2223,,22", -EINVAL); /* no adapter 2 */
    set_ok(&c, "nic1", "nat");                               /* a change keeps the MAC */
    assert_string_equal(c.nics[0].mac, mac);
    assert_int_equal(c.nics[0].forward_count, 2);
    set_ok(&c, "nic2", "tap:tap0");
    set_bad(&c, "nat-forward2", "a,tcp,,2223,,22", -EINVAL); /* not NAT */
    set_bad(&c, "nat-restrict2", "on", -EINVAL);
    set_ok(&c, "nic", "none,mac=52:54:00:aa:bb:cc");
    assert_int_equal(c.nics[2].mode, NIC_MODE_NONE);
    set_ok(&c, "nic4", "nat");
    set_bad(&c, "nic", "nat", -EINVAL); /* a fifth */
    assert_int_equal(config_validate(&c, NULL), 0);
    set_ok(&c, "nat-forward4", "ssh,tcp,,2222,,22"); /* the port of adapter 1's ssh */
    assert_int_equal(config_validate(&c, &err), -EINVAL);
    assert_non_null(strstr(err.message, "forwarded twice"));
    set_ok(&c, "nat-forward4", "delete ssh");
    set_ok(&c, "nat-restrict4", "on");
    assert_true(c.nics[3].is_restricted);
    set_ok(&c, "nic1", "tap:tap1"); /* forwards left on a tap adapter */
    error_clear(&err);
    assert_int_equal(config_validate(&c, &err), -EINVAL);
    assert_non_null(strstr(err.message, "adapter 1"));
    set_ok(&c, "nic1", "nat");
    set_ok(&c, "nat-forward1", "delete ssh");
    assert_int_equal(c.nics[0].forward_count, 1);
    set_ok(&c, "remove-nic", "2"); /* adapters 3 and 4 move down */
    assert_int_equal(c.nic_count, 3);
    assert_string_equal(c.nics[1].mac, "52:54:00:aa:bb:cc");
    set_bad(&c, "remove-nic", "4", -ENOENT);
    set_bad(&c, "nic5", "nat", -ENOENT); /* no such setting */
    assert_true(config_option_is_live("nat-forward1"));
    assert_false(config_option_is_live("nic1"));
    set_ok(&c, "remove-nic", "all");
    assert_int_equal(c.nic_count, 0);
    config_fini(&c);
}

/* vm.json: forwards and restrict read back as written; bad ones named; a MAC filled in once. */
static void test_network_json(void **state)
{
    static const char doc[] =
        "{\"schema\":2,\"name\":\"n\",\"network\":[{\"mode\":\"nat\",\"restrict\":true,"
        "\"forwards\":[{\"name\":\"ssh\",\"proto\":\"tcp\",\"host_port\":2222,"
        "\"guest_port\":22}]},{\"mode\":\"none\",\"mac\":\"52:54:00:00:00:01\"}]}";
    static const char *const bad[] = {
        "{\"schema\":2,\"name\":\"n\",\"network\":[{\"forwards\":[{\"name\":\"a\","
        "\"proto\":\"tcp\",\"host_port\":0,\"guest_port\":22}]}]}",
        "{\"schema\":2,\"name\":\"n\",\"network\":[{\"forwards\":[{\"name\":\"a\","
        "\"proto\":\"tcp\",\"guest_port\":22}]}]}",
        "{\"schema\":2,\"name\":\"n\",\"network\":[{\"mode\":\"tap\",\"tap\":\"t\","
        "\"restrict\":true}]}",
        "{\"schema\":2,\"name\":\"n\",\"network\":[{\"forwards\":[{\"name\":\"a\","
        "\"proto\":\"tcp\",\"host_port\":1,\"guest_port\":2,\"x\":1}]}]}",
        "{\"schema\":2,\"name\":\"n\",\"network\":[{\"forwards\":[{\"name\":\"a\","
        "\"proto\":\"tcp\",\"host_port\":1,\"guest_port\":2},{\"name\":\"a\","
        "\"proto\":\"tcp\",\"host_port\":3,\"guest_port\":2}]}]}",
        "{\"schema\":2,\"name\":\"n\",\"network\":[{},{},{},{},{}]}",
    };
    struct vm_config c, d;
    struct error err = {0};
    char *text, *text2;
    (void)state;
    assert_int_equal(config_parse(doc, strlen(doc), "t", &c, &err), 0);
    assert_true(c.nics[0].is_restricted);
    assert_int_equal(c.nics[0].forwards[0].host_port, 2222);
    assert_string_equal(c.nics[0].forwards[0].host_ip, "127.0.0.1");
    assert_string_equal(c.nics[0].mac, "");
    assert_int_equal(config_fill_macs(&c), 1);
    assert_int_equal(config_fill_macs(&c), 0);
    assert_int_equal(config_dump(&c, &text), 0);
    assert_int_equal(config_parse(text, strlen(text), "t2", &d, NULL), 0);
    assert_int_equal(config_dump(&d, &text2), 0);
    assert_string_equal(text, text2);
    assert_string_equal(d.nics[0].mac, c.nics[0].mac);
    free(text);
    free(text2);
    config_fini(&c);
    config_fini(&d);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        error_clear(&err);
        if (config_parse(bad[i], strlen(bad[i]), "t", &c, &err) != -EINVAL ||
            strstr(err.message, "network") == NULL)
            fail_msg("case %zu: '%s'", i, err.message);
    }
}

/* A --disk without format= records the format the image's header has; format= wins. */
static void test_disk_format_is_probed(void **state)
{
    char dir[] = "/tmp/bareiron-fmt-XXXXXX", q[64], r[64], bad[64], spec[80];
    struct vm_config c;
    struct error err = {0};
    FILE *f;
    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(q, sizeof(q), "%s/d.qcow2", dir);
    snprintf(r, sizeof(r), "%s/d.img", dir);
    snprintf(bad, sizeof(bad), "%s/bad.qcow2", dir);
    assert_int_equal(qcow2_create(q, 1 << 20, 0, NULL, NULL, false, NULL), 0);
    assert_int_equal(disk_create_raw(r, 1 << 20, false, NULL), 0);
    f = fopen(bad, "w");
    assert_non_null(f);
    fputs("QFI\xfb and then garbage", f);
    fclose(f);
    assert_int_equal(config_init(&c, "f"), 0);
    set_ok(&c, "disk", q);
    assert_int_equal(c.disks[0].format, DISK_FORMAT_QCOW2);
    set_ok(&c, "disk", r);
    assert_int_equal(c.disks[1].format, DISK_FORMAT_RAW);
    set_ok(&c, "remove-disk", "all");
    snprintf(spec, sizeof(spec), "%s,format=raw", q); /* the user's word wins */
    set_ok(&c, "disk", spec);
    assert_int_equal(c.disks[0].format, DISK_FORMAT_RAW);
    assert_int_equal(config_set_option(&c, "disk", bad, &err), -ENOEXEC);
    assert_non_null(strstr(err.message, "bad.qcow2"));
    assert_int_equal(c.disk_count, 1);
    set_bad(&c, "cdrom", q, -ENOTSUP); /* the monitor attaches the CD-ROM raw */
    assert_null(c.cdrom);
    set_ok(&c, "cdrom", r);
    error_clear(&err);
    snprintf(spec, sizeof(spec), "%s/missing.qcow2", dir);
    assert_int_equal(config_set_option(&c, "disk", spec, &err), -ENOENT);
    assert_non_null(strstr(err.message, "missing.qcow2"));
    config_fini(&c);
    unlink(q);
    unlink(r);
    unlink(bad);
    rmdir(dir);
}

/* The limits shared with the monitor (base/vm_limits.h). */
static void test_shared_limits(void **state)
{
    char files[VM_MAX_DISKS + 1][32];
    struct vm_config c;
    struct error err = {0};
    char *cmdline = malloc(VM_MAX_CMDLINE_BYTES + 2);
    (void)state;
    assert_int_equal(config_init(&c, "l"), 0);
    for (int i = 0; i <= VM_MAX_DISKS; i++) {
        int fd;
        snprintf(files[i], sizeof(files[i]), "/tmp/bareiron-lim-XXXXXX");
        fd = mkstemp(files[i]);
        assert_true(fd >= 0);
        close(fd);
    }
    for (int i = 0; i < VM_MAX_DISKS - 1; i++)
        set_ok(&c, "disk", files[i]);
    set_ok(&c, "cdrom", files[VM_MAX_DISKS - 1]);
    set_bad(&c, "disk", files[VM_MAX_DISKS], -EINVAL); /* the CD-ROM is the 8th */
    set_ok(&c, "cdrom", "eject");                      /* the drive stays, empty: no disk */
    assert_string_equal(c.cdrom, CONFIG_EMPTY_DRIVE);
    set_ok(&c, "disk", files[VM_MAX_DISKS - 1]);
    assert_int_equal(c.disk_count, VM_MAX_DISKS);
    set_bad(&c, "disk", files[VM_MAX_DISKS], -EINVAL);
    set_bad(&c, "cdrom", files[VM_MAX_DISKS], -EINVAL);
    assert_int_equal(config_set_option(&c, "disk", files[VM_MAX_DISKS], &err), -EINVAL);
    assert_non_null(strstr(err.message, "at most 8 disks"));
    free(c.cdrom);              /* the empty drive */
    c.cdrom = strdup("/c.iso"); /* as a vm.json could hold it */
    assert_int_equal(config_validate(&c, NULL), -EINVAL);
    set_ok(&c, "memory", "2M");
    set_bad(&c, "memory", "1M", -EINVAL);
    set_ok(&c, "cpus", "64");
    set_bad(&c, "cpus", "65", -EINVAL);
    memset(cmdline, 'x', VM_MAX_CMDLINE_BYTES);
    cmdline[VM_MAX_CMDLINE_BYTES] = '\0';
    set_ok(&c, "cmdline", cmdline);
    cmdline[VM_MAX_CMDLINE_BYTES] = 'x';
    cmdline[VM_MAX_CMDLINE_BYTES + 1] = '\0';
    set_bad(&c, "cmdline", cmdline, -EINVAL);
    free(cmdline);
    config_fini(&c);
    for (int i = 0; i <= VM_MAX_DISKS; i++)
        unlink(files[i]);
}

/* --disk bus=ide and the CD-ROM drive (with or without a disc) share the IDE controller's four
 * drives; --boot-menu needs firmware; a display size needs an adapter. */
static void test_ide_drives_and_devices(void **state)
{
    char files[5][32], spec[64];
    struct vm_config c;
    struct error err;
    (void)state;
    assert_int_equal(config_init(&c, "i"), 0);
    for (int i = 0; i < 5; i++) {
        snprintf(files[i], sizeof(files[i]), "/tmp/bareiron-ide-XXXXXX");
        int fd = mkstemp(files[i]);
        assert_true(fd >= 0);
        close(fd);
    }
    set_ok(&c, "cdrom", "empty");
    for (int i = 0; i < 3; i++) {
        snprintf(spec, sizeof(spec), "%s,bus=ide", files[i]);
        set_ok(&c, "disk", spec);
        assert_int_equal(c.disks[i].bus, DISK_BUS_IDE);
    }
    assert_int_equal(config_ide_drives(&c), 4);
    snprintf(spec, sizeof(spec), "%s,bus=ide", files[3]);
    error_clear(&err);
    assert_int_equal(config_set_option(&c, "disk", spec, &err), -EINVAL);
    assert_non_null(strstr(err.message, "at most 4 IDE drives"));
    snprintf(spec, sizeof(spec), "%s,bus=virtio", files[3]);
    set_ok(&c, "disk", spec); /* virtio-blk is not limited by IDE */
    snprintf(spec, sizeof(spec), "%s,bus=scsi", files[4]);
    set_bad(&c, "disk", spec, -EINVAL);
    set_ok(&c, "cdrom", "none");
    snprintf(spec, sizeof(spec), "%s,bus=ide", files[4]);
    set_ok(&c, "disk", spec);
    set_bad(&c, "cdrom", "empty", -EINVAL); /* no IDE drive left for it */
    assert_int_equal(config_validate(&c, NULL), 0);
    /* boot menu and display size against the rest */
    set_ok(&c, "boot-menu", "on");
    assert_true(c.has_boot_menu);
    assert_int_equal(config_check_devices(&c, NULL), 0);
    set_ok(&c, "firmware", "none");
    assert_int_equal(config_check_devices(&c, NULL), -ENOTSUP);
    set_ok(&c, "boot-menu", "off");
    set_ok(&c, "firmware", "auto");
    set_ok(&c, "video", "none");
    assert_int_equal(config_check_devices(&c, NULL), 0);
    set_ok(&c, "vram", "4M");
    assert_int_equal(config_check_devices(&c, NULL), -ENOTSUP);
    set_ok(&c, "video", "std");
    assert_int_equal(config_check_devices(&c, NULL), 0);
    config_fini(&c);
    for (int i = 0; i < 5; i++)
        unlink(files[i]);
}

static void test_names_and_values(void **state)
{
    (void)state;
    assert_int_equal(config_check_name("a"), 0);
    assert_int_equal(config_check_name("Web-1.prod_2"), 0);
    assert_int_equal(
        config_check_name("a123456789012345678901234567890123456789012345678901234567890123"), 0);
    assert_int_equal(
        config_check_name("a1234567890123456789012345678901234567890123456789012345678901234"),
        -EINVAL);
    assert_int_equal(config_check_name(""), -EINVAL);
    assert_int_equal(config_check_name("."), -EINVAL);
    assert_int_equal(config_check_name(".."), -EINVAL);
    assert_int_equal(config_check_name("a/b"), -EINVAL);
    assert_int_equal(config_check_name("a..b"), -EINVAL);
    assert_int_equal(config_check_name("-a"), -EINVAL);
    assert_int_equal(config_check_name("a b"), -EINVAL);
    assert_int_equal(config_check_mac("52:54:00:12:34:56"), 0);
    assert_int_equal(config_check_mac("53:54:00:12:34:56"), -EINVAL);
    assert_int_equal(config_check_mac("52-54-00-12-34-56"), -EINVAL);
    assert_int_equal(config_check_ifname("br0"), 0);
    assert_int_equal(config_check_ifname("0123456789abcdef"), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_full),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_every_field_rejects_bad_values),
        cmocka_unit_test(test_malformed_text),
        cmocka_unit_test(test_options),
        cmocka_unit_test(test_unsupported_settings_are_refused),
        cmocka_unit_test(test_check_supported),
        cmocka_unit_test(test_shared_limits),
        cmocka_unit_test(test_ide_drives_and_devices),
        cmocka_unit_test(test_disk_format_is_probed),
        cmocka_unit_test(test_names_and_values),
        cmocka_unit_test(test_network_options),
        cmocka_unit_test(test_network_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
