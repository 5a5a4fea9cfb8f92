/* SPDX-License-Identifier: MIT */
/*
 * The machine and firmware options of vmm/options.h: --machine, --firmware, --firmware-file,
 * --firmware-vars, --boot, --boot-menu and --uuid, and the rules that tie them to --kernel and
 * --irqchip (docs/vmm.md "Machines and firmware").
 */
#include <errno.h>
#include <string.h>

#include "base/util.h"
#include "vmm/options.h"

static const char *const boot_names[] = {
    [VMM_BOOT_FLOPPY] = "floppy",
    [VMM_BOOT_CDROM] = "cdrom",
    [VMM_BOOT_DISK] = "disk",
    [VMM_BOOT_NET] = "net",
};

static int parse_boot(const char *v, struct vmm_options *o, struct error *err)
{
    const char *p = v;
    unsigned seen = 0;
    o->nboot = 0;
    while (*p != '\0') {
        size_t len = strcspn(p, ",");
        unsigned d;
        for (d = 0; d < ARRAY_SIZE(boot_names); d++)
            if (strlen(boot_names[d]) == len && strncmp(boot_names[d], p, len) == 0)
                break;
        if (d == ARRAY_SIZE(boot_names) || (seen & (1u << d)))
            return error_set(err, -EINVAL,
                             "--boot '%s': expected a comma list of distinct floppy, cdrom, "
                             "disk, net",
                             v);
        seen |= 1u << d;
        o->boot[o->nboot++] = (enum vmm_boot_dev)d;
        p += len;
        if (*p == ',' && *++p == '\0')
            return error_set(err, -EINVAL, "--boot '%s': empty entry", v);
    }
    if (o->nboot == 0)
        return error_set(err, -EINVAL, "--boot: needs at least one device");
    return 0;
}

static int hex_digit(char c, unsigned *out)
{
    if (c >= '0' && c <= '9')
        *out = (unsigned)(c - '0');
    else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
        *out = (unsigned)((c | 0x20) - 'a' + 10);
    else
        return -1;
    return 0;
}

/* --uuid: 8-4-4-4-12 hex digits (either case), into (o)'s bytes in the order written. */
static int parse_uuid(const char *v, struct vmm_options *o, struct error *err)
{
    unsigned n = 0;
    for (size_t i = 0; v[i] != '\0'; i++) {
        unsigned hi, lo;
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (v[i] != '-')
                break;
            continue;
        }
        if (n == 16 || hex_digit(v[i], &hi) < 0 || hex_digit(v[++i], &lo) < 0)
            break;
        o->uuid_bytes[n++] = (uint8_t)(hi << 4 | lo);
        if (i == 35 && v[i + 1] == '\0') {
            o->uuid = v;
            return 0;
        }
    }
    return error_set(err, -EINVAL, "--uuid '%s': expected a UUID, 8-4-4-4-12 hexadecimal digits",
                     v);
}

int vmm_parse_machine_opt(const char *name, const char *v, struct vmm_options *o, struct error *err)
{
    if (strcmp(name, "machine") == 0) {
        o->has_machine = true;
        if (strcmp(v, "pc") == 0)
            o->machine = VMM_MACHINE_PC;
        else if (strcmp(v, "microvm") == 0)
            o->machine = VMM_MACHINE_MICROVM;
        else
            return error_set(err, -EINVAL, "--machine '%s': expected pc or microvm", v);
        return 0;
    }
    if (strcmp(name, "firmware") == 0) {
        o->has_firmware = true;
        if (strcmp(v, "none") == 0)
            o->firmware = VMM_FIRMWARE_NONE;
        else if (strcmp(v, "bios") == 0)
            o->firmware = VMM_FIRMWARE_BIOS;
        else if (strcmp(v, "uefi") == 0)
            o->firmware = VMM_FIRMWARE_UEFI;
        else
            return error_set(err, -EINVAL, "--firmware '%s': expected none, bios or uefi", v);
        return 0;
    }
    if (strcmp(name, "firmware-file") == 0 || strcmp(name, "firmware-vars") == 0) {
        if (*v == '\0')
            return error_set(err, -EINVAL, "--%s: empty path", name);
        *(strcmp(name, "firmware-file") == 0 ? &o->firmware_file : &o->firmware_vars) = v;
        return 0;
    }
    if (strcmp(name, "boot") == 0)
        return parse_boot(v, o, err);
    if (strcmp(name, "boot-menu") == 0) {
        if (strcmp(v, "on") != 0 && strcmp(v, "off") != 0)
            return error_set(err, -EINVAL, "--boot-menu '%s': expected on or off", v);
        o->has_boot_menu = strcmp(v, "on") == 0;
        return 0;
    }
    if (strcmp(name, "uuid") == 0)
        return parse_uuid(v, o, err);
    return -ENOENT;
}

/* The checks of a firmware boot on the pc machine. */
static int check_pc(struct vmm_options *o, struct error *err)
{
    if (o->firmware == VMM_FIRMWARE_NONE)
        return error_set(err, -EINVAL,
                         "--machine pc --firmware none: not supported yet (a direct kernel boot "
                         "uses --machine microvm)");
    if (o->firmware == VMM_FIRMWARE_UEFI && o->kernel != NULL)
        return error_set(err, -EINVAL,
                         "--kernel with --firmware uefi: not supported yet (use bios, or boot "
                         "the kernel from a disk)");
    if (o->kernel == NULL && (o->initrd != NULL || o->cmdline != NULL))
        return error_set(err, -EINVAL, "--initrd and --cmdline need --kernel");
    if (o->has_irqchip && o->irqchip == VMM_IRQCHIP_SPLIT)
        return error_set(err, -EINVAL,
                         "--machine pc needs --irqchip kernel: its 8259 PIC and 8254 PIT exist "
                         "only in the kernel irqchip");
    o->irqchip = VMM_IRQCHIP_KERNEL;
    if (!o->has_acpi || !o->has_ioapic)
        return error_set(err, -EINVAL,
                         "--acpi off / --ioapic off on --machine pc: not supported yet (the "
                         "firmware builds the tables)");
    for (unsigned i = 0; i < o->nboot; i++) {
        if (o->boot[i] == VMM_BOOT_NET && o->nnics == 0)
            return error_set(err, -EINVAL, "--boot net needs a network adapter (--nic)");
    }
    if (o->firmware_file == NULL)
        o->firmware_file = o->firmware == VMM_FIRMWARE_UEFI ? VMM_OVMF_CODE_PATH : VMM_SEABIOS_PATH;
    return 0;
}

int vmm_check_machine(struct vmm_options *o, struct error *err)
{
    if (!o->has_firmware)
        o->firmware = (o->has_machine ? o->machine == VMM_MACHINE_MICROVM : o->kernel != NULL)
                          ? VMM_FIRMWARE_NONE
                          : VMM_FIRMWARE_BIOS;
    if (!o->has_machine)
        o->machine = o->firmware == VMM_FIRMWARE_NONE ? VMM_MACHINE_MICROVM : VMM_MACHINE_PC;
    if (o->firmware_vars != NULL && o->firmware != VMM_FIRMWARE_UEFI)
        return error_set(err, -EINVAL, "--firmware-vars needs --firmware uefi");
    if (o->machine == VMM_MACHINE_PC)
        return check_pc(o, err);
    if (o->firmware != VMM_FIRMWARE_NONE)
        return error_set(err, -EINVAL,
                         "--firmware %s on --machine microvm: not supported yet (use --machine "
                         "pc)",
                         o->firmware == VMM_FIRMWARE_BIOS ? "bios" : "uefi");
    if (o->firmware_file != NULL || o->nboot > 0 || o->has_boot_menu)
        return error_set(err, -EINVAL,
                         "--firmware-file, --boot and --boot-menu need firmware (--machine pc)");
    if (o->uuid != NULL)
        return error_set(err, -EINVAL,
                         "--uuid on --machine microvm: not supported yet (its UUID goes to the "
                         "SMBIOS tables, which only the pc machine has)");
    if (o->kernel == NULL)
        return error_set(err, -EINVAL, "--kernel FILE is required (see --help)");
    return 0;
}
