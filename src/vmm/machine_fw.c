/* SPDX-License-Identifier: MIT */
/*
 * The firmware parts of --machine pc (vmm/machine_internal.h):
 * - "the firmware": the image of --firmware-file (SeaBIOS's bios-256k.bin) read once into a
 *   read-only region ending at 4 GiB (KVM_MEM_READONLY: guest writes exit and are dropped), and
 *   its last 128 KiB copied into RAM at 0xe0000-0xfffff, the shadow the BIOS runs from in real
 *   mode. The shadow stays writable whatever the PAM registers say. The vCPU starts at KVM's
 *   reset state, CS:IP f000:fff0 (physical 0xfffffff0, in the image).
 * - "fw_cfg": the items SeaBIOS reads (CPU counts, RAM size, IRQ0 override, boot menu) and the
 *   files etc/e820, bootorder, etc/boot-fail-wait, etc/sercon-port; the boot order also goes to
 *   the CMOS (0x3d, 0x38) with the CPU count (0x5f) and the equipment byte (0x14).
 * - "the BIOS debug port": SeaBIOS's 0x402 output into the log (dev/legacy/debugcon.c).
 */
#define LOG_TAG "machine"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fdcache.h"
#include "base/log.h"
#include "core/gmem.h"
#include "core/x86/acpi.h"
#include "core/x86/e820.h"
#include "core/x86/layout.h"
#include "core/x86/smbios.h"
#include "dev/legacy/cmos_rtc.h"
#include "dev/legacy/debugcon.h"
#include "dev/legacy/fw_cfg.h"
#include "dev/virtio/virtio_pci.h"
#include "vmm/machine_internal.h"

#define FW_MIN_BYTES (64u << 10)
#define FW_MAX_BYTES (16u << 20)
#define FW_SHADOW_BYTES (128u << 10)
#define FW_SHADOW_END 0x100000ULL
#define FW_TOP 0x100000000ULL
#define BOOTORDER_MAX 1024

bool machine_has_firmware(const struct machine *m)
{
    return m->opts->firmware != VMM_FIRMWARE_NONE;
}

static int read_image(int fd, uint8_t *dst, size_t len)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = pread(fd, dst + done, len - done, (off_t)done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -errno : -EIO;
        done += (size_t)n;
    }
    return 0;
}

int machine_add_firmware(struct machine *m, struct error *err)
{
    const char *path = m->opts->firmware_file;
    struct gmem_region *rom;
    struct stat st;
    size_t size, shadow;
    int ret, fd = fdcache_open(path, O_RDONLY);
    if (fd < 0)
        return error_set(err, fd, "firmware %s: %s", path, strerror(-fd));
    if (fstat(fd, &st) < 0) {
        ret = error_set(err, -errno, "firmware %s: %s", path, strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode) || st.st_size < FW_MIN_BYTES || st.st_size > FW_MAX_BYTES ||
        st.st_size % 4096) {
        ret = error_set(err, -EINVAL,
                        "firmware %s: expected a ROM image of 64 KiB to 16 MiB, a multiple of "
                        "4 KiB (%lld bytes)",
                        path, (long long)st.st_size);
        goto out;
    }
    size = (size_t)st.st_size;
    ret = gmem_add_region(m->gm, FW_TOP - size, size, "firmware", true, &rom);
    if (ret == 0)
        ret = read_image(fd, rom->hva, size);
    if (ret < 0) {
        error_set(err, ret, "firmware %s: %s", path, strerror(-ret));
        goto out;
    }
    m->fw_bytes = size;
    /* OVMF starts in its own image and needs no shadow */
    shadow = machine_is_uefi(m) ? 0 : size < FW_SHADOW_BYTES ? size : FW_SHADOW_BYTES;
    ret = shadow ? gmem_write(m->gm, FW_SHADOW_END - shadow, rom->hva + size - shadow, shadow) : 0;
    if (ret < 0)
        error_set(err, ret, "firmware: no RAM below 1 MiB for its shadow");
    else
        log_info("firmware %s: %zu KiB at 0x%llx", path, size >> 10,
                 (unsigned long long)(FW_TOP - size));
out:
    close(fd);
    return ret < 0 ? ret : machine_fw_load_kernel(m, err);
}

void machine_remove_firmware(struct machine *m)
{
    machine_fw_free_kernel(m);
}

/* CMOS boot device codes (SeaBIOS, QEMU): 1 floppy, 2 disk, 3 cdrom, 4 network. */
static uint8_t cmos_boot_code(enum vmm_boot_dev d)
{
    static const uint8_t codes[] = {
        [VMM_BOOT_FLOPPY] = 1, [VMM_BOOT_DISK] = 2, [VMM_BOOT_CDROM] = 3, [VMM_BOOT_NET] = 4};
    return codes[d];
}

/* The boot order: --boot, or the cdrom then the disks. Returns how many entries. */
static unsigned boot_order(const struct machine *m, enum vmm_boot_dev out[VMM_MAX_BOOT])
{
    if (m->opts->nboot == 0) {
        out[0] = VMM_BOOT_CDROM;
        out[1] = VMM_BOOT_DISK;
        return 2;
    }
    memcpy(out, m->opts->boot, m->opts->nboot * sizeof(out[0]));
    return m->opts->nboot;
}

static int set_cmos(struct machine *m, const enum vmm_boot_dev *order, unsigned n)
{
    uint8_t codes[3] = {0};
    int ret;
    for (unsigned i = 0; i < n && i < 3; i++)
        codes[i] = cmos_boot_code(order[i]);
    ret = cmos_rtc_set_byte(m->rtc, 0x3d, (uint8_t)(codes[1] << 4 | codes[0]));
    if (ret == 0)
        ret = cmos_rtc_set_byte(m->rtc, 0x38, (uint8_t)(codes[2] << 4));
    if (ret == 0)
        ret = cmos_rtc_set_byte(m->rtc, 0x5f, (uint8_t)(m->opts->cpus - 1));
    /* FPU and PS/2 mouse; the floppy bit is the floppy controller part's (machine_fdc.c) */
    if (ret == 0)
        ret = cmos_rtc_set_byte(m->rtc, 0x14, cmos_rtc_get_byte(m->rtc, 0x14) | 0x06);
    return ret;
}

static void append_path(char *buf, size_t *len, const char *path)
{
    int n = snprintf(buf + *len, BOOTORDER_MAX - *len, "%s\n", path);
    if (n > 0 && (size_t)n < BOOTORDER_MAX - *len)
        *len += (size_t)n;
}

/* SeaBIOS's boot.c path of virtio-blk disk (di) (an m->disks index): /pci@i0cf8/scsi@SLOT[,FN]
 * /disk@0,0. False when no virtio-blk function has it. */
static bool vblk_path(const struct machine *m, unsigned di, char *path, size_t size)
{
    for (unsigned i = 0; i < m->nvdevs; i++) {
        const struct machine_vdev *d = &m->vdevs[i];
        unsigned slot, fn;
        if (strcmp(d->kind->name, "virtio-blk") != 0 || d->vpci == NULL ||
            machine_vblk_disk(m, d->index) != di)
            continue;
        slot = d->vpci->pci.devfn >> 3;
        fn = d->vpci->pci.devfn & 7;
        if (fn != 0)
            snprintf(path, size, "/pci@i0cf8/scsi@%x,%x/disk@0,0", slot, fn);
        else
            snprintf(path, size, "/pci@i0cf8/scsi@%x/disk@0,0", slot);
        return true;
    }
    return false;
}

/*
 * Appends the paths of the drives of kind (dev), in command-line order: a virtio-blk disk as
 * vblk_path says; an IDE drive on the pc machine's PIIX3 IDE (01.1) as
 * /pci@i0cf8/ide@1,1/drive@CHANNEL/disk@UNIT, the ATA disks in the slots machine_ide.c gives
 * them (primary master, primary slave, secondary master unless the CD-ROM drive has it,
 * secondary slave) and the CD-ROM drive at the secondary master.
 */
static void append_disks(const struct machine *m, enum vmm_boot_dev dev, char *buf, size_t *len)
{
    const struct vmm_options *o = m->opts;
    unsigned nide = 0;
    char path[96];
    if (dev == VMM_BOOT_CDROM && o->has_cdrom_drive)
        append_path(buf, len, "/pci@i0cf8/ide@1,1/drive@1/disk@0");
    for (unsigned i = 0; i < o->ndisks; i++) {
        const struct vmm_disk *d = &o->disks[i];
        if (d->bus == VMM_DISK_BUS_IDE && !d->is_cdrom) {
            unsigned slot = nide + (o->has_cdrom_drive && nide >= 2 ? 1 : 0);
            nide++;
            if (dev != VMM_BOOT_DISK)
                continue;
            snprintf(path, sizeof(path), "/pci@i0cf8/ide@1,1/drive@%u/disk@%u", slot / 2, slot % 2);
            append_path(buf, len, path);
        } else if (d->is_cdrom == (dev == VMM_BOOT_CDROM) && d->bus == VMM_DISK_BUS_VIRTIO &&
                   vblk_path(m, i, path, sizeof(path))) {
            append_path(buf, len, path);
        }
    }
}

/* SeaBIOS's path of each network adapter, in --nic order, as QEMU gives it for a PCI NIC:
 * /pci@i0cf8/ethernet@SLOT[,FN]/ethernet-phy@0 (SeaBIOS matches its ROM by /pci@i0cf8/x@SLOT). */
static void append_nics(const struct machine *m, char *buf, size_t *len)
{
    char path[64];
    for (unsigned i = 0; i < m->nvdevs; i++) {
        const struct machine_vdev *d = &m->vdevs[i];
        unsigned slot, fn;
        if (d->kind->create != machine_net_create || d->vpci == NULL)
            continue;
        slot = d->vpci->pci.devfn >> 3;
        fn = d->vpci->pci.devfn & 7;
        if (fn != 0)
            snprintf(path, sizeof(path), "/pci@i0cf8/ethernet@%x,%x/ethernet-phy@0", slot, fn);
        else
            snprintf(path, sizeof(path), "/pci@i0cf8/ethernet@%x/ethernet-phy@0", slot);
        append_path(buf, len, path);
    }
}

static int add_boot(struct machine *m)
{
    enum vmm_boot_dev order[VMM_MAX_BOOT];
    unsigned n = boot_order(m, order);
    char buf[BOOTORDER_MAX];
    size_t len = 0;
    uint32_t fail_wait = UINT32_MAX; /* QEMU's default: "No bootable device" waits for ever */
    uint16_t menu = m->opts->has_boot_menu, sercon = PORT_COM1;
    int ret = set_cmos(m, order, n);
    if (m->fw_kernel != NULL) { /* --kernel: the option ROM that boots it comes first */
        static const char rom[] = "/rom@genroms/linuxboot_dma.bin\n";
        memcpy(buf, rom, sizeof(rom) - 1);
        len = sizeof(rom) - 1;
    }
    for (unsigned i = 0; i < n; i++) {
        if (order[i] == VMM_BOOT_DISK || order[i] == VMM_BOOT_CDROM)
            append_disks(m, order[i], buf, &len);
        else if (order[i] == VMM_BOOT_FLOPPY && m->opts->has_floppy) /* drive A: of the FDC */
            append_path(buf, &len, "/pci@i0cf8/isa@1/fdc@03f0/floppy@0");
        else if (order[i] == VMM_BOOT_NET)
            append_nics(m, buf, &len);
    }
    if (len > 0)
        len--; /* entries are separated by newlines: no empty last one, which matches all */
    buf[len] = '\0';
    if (ret == 0 && len > 0) /* an empty entry would match every device */
        ret = fw_cfg_add_file(m->fw_cfg, "bootorder", buf, len + 1);
    if (ret == 0)
        ret = fw_cfg_add_item(m->fw_cfg, FW_CFG_BOOT_MENU, &menu, sizeof(menu));
    if (ret == 0)
        ret = fw_cfg_add_file(m->fw_cfg, "etc/boot-fail-wait", &fail_wait, sizeof(fail_wait));
    if (ret == 0)
        ret = fw_cfg_add_file(m->fw_cfg, "etc/sercon-port", &sercon, sizeof(sercon));
    return ret;
}

/* etc/e820: the RAM and the KVM real-mode helper pages; SeaBIOS adds its own areas. */
static int add_e820(struct machine *m)
{
    struct e820_map map;
    uint64_t low = gmem_low_ram_end(m->gm);
    int ret;
    e820_init(&map);
    ret = e820_add(&map, 0, low, E820_RAM);
    if (ret == 0)
        ret = e820_add(&map, KVM_IDENTITY_MAP_GPA, 0x4000, E820_RESERVED);
    if (ret == 0 && m->opts->memory_bytes > low)
        ret = e820_add(&map, HIGH_RAM_BASE, m->opts->memory_bytes - low, E820_RAM);
    if (ret == 0)
        ret = fw_cfg_add_file(m->fw_cfg, "etc/e820", map.entries, map.n * sizeof(map.entries[0]));
    return ret;
}

/*
 * The ACPI tables of the pc machine (core/x86/acpi.h: etc/acpi/tables, etc/acpi/rsdp and the
 * etc/table-loader script; SeaBIOS then programs the PM base the FADT names) and the SMBIOS
 * tables (etc/smbios/smbios-anchor, etc/smbios/smbios-tables; the system UUID is --uuid's, all
 * zeros, "not set", without it).
 */
static int add_tables(struct machine *m)
{
    struct acpi_config acfg;
    struct acpi_fw_blob ab = {0};
    struct smbios_config scfg;
    struct smbios_blob sb = {0};
    int ret;
    acpi_config_pc(&acfg, m->opts->cpus, m->opts->memory_bytes);
    acfg.has_fdc = machine_has_fdc(m);
    if (machine_is_uefi(m)) { /* OVMF programs PMBA with 0xb000 on the i440FX */
        acfg.pm_base = ACPI_PC_PM_BASE_OVMF;
        acfg.gpe0_port = ACPI_PC_PM_BASE_OVMF + ACPI_PC_GPE0_OFFSET;
    }
    ret = acpi_build_fw(&acfg, &ab);
    if (ret == 0)
        ret = fw_cfg_add_file(m->fw_cfg, ACPI_FW_FILE_TABLES, ab.tables, ab.tables_len);
    if (ret == 0)
        ret = fw_cfg_add_file(m->fw_cfg, ACPI_FW_FILE_RSDP, ab.rsdp, ab.rsdp_len);
    if (ret == 0)
        ret = fw_cfg_add_file(m->fw_cfg, ACPI_FW_FILE_LOADER, ab.loader, ab.loader_len);
    acpi_fw_blob_free(&ab);
    smbios_config_default(&scfg, m->opts->cpus, m->opts->memory_bytes, m->opts->uuid_bytes);
    if (ret == 0)
        ret = smbios_build(&scfg, &sb);
    if (ret == 0)
        ret = fw_cfg_add_file(m->fw_cfg, SMBIOS_FW_FILE_ANCHOR, sb.anchor, sb.anchor_len);
    if (ret == 0)
        ret = fw_cfg_add_file(m->fw_cfg, SMBIOS_FW_FILE_TABLES, sb.tables, sb.tables_len);
    smbios_blob_free(&sb);
    return ret;
}

int machine_add_fw_cfg(struct machine *m, struct error *err)
{
    uint16_t cpus = (uint16_t)m->opts->cpus;
    uint64_t ram = m->opts->memory_bytes;
    uint32_t irq0_override = 1;
    int ret = fw_cfg_create(m->gm, &m->fw_cfg);
    if (ret == 0)
        ret = fw_cfg_add_item(m->fw_cfg, FW_CFG_NB_CPUS, &cpus, sizeof(cpus));
    if (ret == 0)
        ret = fw_cfg_add_item(m->fw_cfg, FW_CFG_MAX_CPUS, &cpus, sizeof(cpus));
    if (ret == 0)
        ret = fw_cfg_add_item(m->fw_cfg, FW_CFG_RAM_SIZE, &ram, sizeof(ram));
    if (ret == 0)
        ret = fw_cfg_add_item(m->fw_cfg, FW_CFG_ARCH_LOCAL | 2, &irq0_override,
                              sizeof(irq0_override));
    if (ret == 0)
        ret = add_e820(m);
    if (ret == 0)
        ret = add_tables(m);
    if (ret == 0)
        ret = add_boot(m);
    if (ret == 0)
        ret = machine_fw_add_kernel(m);
    if (ret == 0)
        ret = fw_cfg_attach(m->fw_cfg, m->pio);
    if (ret < 0)
        return error_set(err, ret, "cannot create fw_cfg: %s", strerror(-ret));
    return 0;
}

void machine_remove_fw_cfg(struct machine *m)
{
    fw_cfg_destroy(m->fw_cfg);
    m->fw_cfg = NULL;
}

int machine_save_fw_cfg(struct machine *m, struct sf_buf *b)
{
    fw_cfg_save(m->fw_cfg, b);
    return 0;
}

int machine_load_fw_cfg(struct machine *m, struct sf_in *in)
{
    return fw_cfg_load(m->fw_cfg, in);
}

int machine_add_debugcon(struct machine *m, struct error *err UNUSED)
{
    int ret = debugcon_create(&m->debugcon);
    return ret < 0 ? ret : debugcon_attach(m->debugcon, m->pio, PORT_BIOS_DEBUG);
}

void machine_remove_debugcon(struct machine *m)
{
    debugcon_destroy(m->debugcon);
    m->debugcon = NULL;
}
