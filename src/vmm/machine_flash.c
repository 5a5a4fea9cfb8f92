/* SPDX-License-Identifier: MIT */
/*
 * The UEFI variable store of --firmware uefi (vmm/machine_internal.h): OVMF's VARS bank as a
 * CFI flash (dev/legacy/pflash.h) right below the CODE image the firmware part maps, so that
 * the two fill the top of 4 GiB as OVMF's flash layout expects (OVMF_CODE_4M.fd with
 * OVMF_VARS_4M.fd: 4 MiB, the VARS bank at 0xffc00000).
 *
 * The bank's bytes live in anonymous memory read from --firmware-vars (or from Debian's
 * template, a private copy then, without one). In read array mode they are a read-only device
 * memory slot: guest reads are direct, writes exit as MMIO into the state machine. In any other
 * mode (status, identifier, CFI query, a program or an erase under way) the slot is removed,
 * so reads exit too. Each program or erase is written to the file at once (pwrite) and the
 * file is flushed (fdatasync) when the bank returns to read array mode, as OVMF does after
 * every write; the store thus survives a reset (the machine is rebuilt from the file) and a
 * power-off. A vCPU thread runs all of it under the bank's lock.
 *
 * Saved with the machine (section "pflash": the bank's mode and its bytes, pflash_save): a
 * restore puts the saved bytes back, writing the blocks that differ to the file, so that the
 * store matches the guest's memory of it also when the file moved on since the save (a snapshot
 * taken earlier).
 */
#define LOG_TAG "flash"
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fdcache.h"
#include "base/log.h"
#include "base/statefile.h"
#include "core/vm.h"
#include "dev/bus.h"
#include "dev/legacy/pflash.h"
#include "vmm/machine_internal.h"

#define FLASH_SLOT (VM_DEVMEM_SLOTS - 1) /* the device memory slot of the bank (core/vm.h) */
#define FLASH_BLOCK 0x1000u              /* OVMF's erase block */
#define FLASH_TOP 0x100000000ULL

struct machine_flash {
    struct machine *m;
    pthread_mutex_t lock;
    struct pflash f;
    uint8_t *mem;
    uint64_t size, gpa;
    int fd; /* --firmware-vars, or -1: the template's private copy */
    const char *path;
    bool is_write_error_logged;
    bool is_registered; /* on the MMIO bus */
};

bool machine_is_uefi(const struct machine *m)
{
    return m->opts->firmware == VMM_FIRMWARE_UEFI;
}

static void on_persist(void *opaque, uint64_t off, size_t len)
{
    struct machine_flash *fl = opaque;
    size_t done = 0;
    while (fl->fd >= 0 && done < len) {
        ssize_t n = pwrite(fl->fd, fl->mem + off + done, len - done, (off_t)(off + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (!fl->is_write_error_logged)
                log_error("%s: write failed: %s (the variable store is not saved)", fl->path,
                          n < 0 ? strerror(errno) : "short write");
            fl->is_write_error_logged = true;
            return;
        }
        done += (size_t)n;
    }
}

static void on_sync(void *opaque)
{
    struct machine_flash *fl = opaque;
    if (fl->fd >= 0 && fdatasync(fl->fd) < 0 && !fl->is_write_error_logged) {
        log_error("%s: fdatasync: %s", fl->path, strerror(errno));
        fl->is_write_error_logged = true;
    }
}

static void on_array_mode(void *opaque, bool is_array)
{
    struct machine_flash *fl = opaque;
    int ret = vm_set_devmem_rom(fl->m->vm, FLASH_SLOT, fl->gpa, fl->mem, is_array ? fl->size : 0);
    if (ret < 0)
        log_error("cannot %s the variable store: %s", is_array ? "map" : "unmap", strerror(-ret));
}

static uint64_t flash_read(void *opaque, uint64_t off, unsigned size)
{
    struct machine_flash *fl = opaque;
    uint64_t v;
    pthread_mutex_lock(&fl->lock);
    v = pflash_read(&fl->f, off, size);
    pthread_mutex_unlock(&fl->lock);
    return v;
}

static void flash_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct machine_flash *fl = opaque;
    pthread_mutex_lock(&fl->lock);
    pflash_write(&fl->f, off, val, size);
    pthread_mutex_unlock(&fl->lock);
}

static const struct io_ops flash_ops = {flash_read, flash_write};

/* The size OVMF's flash layout needs beside a CODE image of (code) bytes: the rest of the
 * smallest power of two that holds it (OVMF_CODE_4M.fd: 0x84000). */
static uint64_t vars_size_for(uint64_t code)
{
    uint64_t total = 1;
    while (total < code)
        total <<= 1;
    return total - code;
}

/* Opens the store (--firmware-vars read-write, else the template read-only), checks its size
 * against the CODE image and reads it into fl->mem. */
static int read_store(struct machine_flash *fl, struct error *err)
{
    struct stat st;
    size_t done = 0;
    bool is_file = fl->m->opts->firmware_vars != NULL;
    int fd = fdcache_open(fl->path, is_file ? O_RDWR : O_RDONLY);
    if (fd < 0)
        return error_set(err, fd, "--firmware-vars %s: %s", fl->path, strerror(-fd));
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size != fl->size) {
        close(fd);
        return error_set(err, -EINVAL,
                         "--firmware-vars %s: expected a regular file of %llu bytes, the variable "
                         "store of firmware %s",
                         fl->path, (unsigned long long)fl->size, fl->m->opts->firmware_file);
    }
    while (done < fl->size) {
        ssize_t n = pread(fd, fl->mem + done, fl->size - done, (off_t)done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            close(fd);
            return error_set(err, -EIO, "--firmware-vars %s: read failed", fl->path);
        }
        done += (size_t)n;
    }
    if (is_file)
        fl->fd = fd;
    else
        close(fd);
    return 0;
}

/* Before the VM: the file is opened while opens are still allowed (and cached for reboots). */
int machine_open_flash(struct machine *m, struct error *err)
{
    struct machine_flash *fl = calloc(1, sizeof(*fl));
    if (fl == NULL)
        return error_set(err, -ENOMEM, "out of memory");
    m->flash = fl;
    pthread_mutex_init(&fl->lock, NULL);
    fl->m = m;
    fl->fd = -1;
    fl->path = m->opts->firmware_vars != NULL ? m->opts->firmware_vars : VMM_OVMF_VARS_PATH;
    fl->size = vars_size_for(m->fw_bytes);
    fl->gpa = FLASH_TOP - m->fw_bytes - fl->size;
    if (fl->size == 0 || fl->size % FLASH_BLOCK != 0)
        return error_set(err, -EINVAL,
                         "firmware %s: leaves no room for a variable store below it (%llu bytes)",
                         m->opts->firmware_file, (unsigned long long)m->fw_bytes);
    fl->mem = mmap(NULL, fl->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (fl->mem == MAP_FAILED) {
        fl->mem = NULL;
        return error_set(err, -ENOMEM, "out of memory");
    }
    return read_store(fl, err);
}

void machine_close_flash(struct machine *m)
{
    struct machine_flash *fl = m->flash;
    if (fl == NULL)
        return;
    if (fl->fd >= 0) {
        if (fl->f.is_dirty)
            on_sync(fl);
        close(fl->fd);
    }
    if (fl->mem != NULL)
        munmap(fl->mem, fl->size);
    pthread_mutex_destroy(&fl->lock);
    free(fl);
    m->flash = NULL;
}

/* With the VM: the bank on the MMIO bus and its read-only slot, in read array mode. */
int machine_add_flash(struct machine *m, struct error *err)
{
    static const struct pflash_hooks hooks = {on_persist, on_sync, on_array_mode};
    struct machine_flash *fl = m->flash;
    int ret = pflash_init(&fl->f, fl->mem, fl->size, FLASH_BLOCK, &hooks, fl);
    if (ret == 0)
        ret = bus_register(m->mmio, fl->gpa, fl->size, &flash_ops, fl, "pflash-vars");
    if (ret == 0)
        fl->is_registered = true;
    if (ret == 0)
        ret = vm_set_devmem_rom(m->vm, FLASH_SLOT, fl->gpa, fl->mem, fl->size);
    if (ret < 0)
        return error_set(err, ret, "variable store: %s", strerror(-ret));
    log_info("variable store %s: %llu KiB at 0x%llx%s", fl->path,
             (unsigned long long)(fl->size >> 10), (unsigned long long)fl->gpa,
             fl->fd < 0 ? " (a private copy)" : "");
    return 0;
}

void machine_remove_flash(struct machine *m)
{
    struct machine_flash *fl = m->flash;
    if (fl == NULL || !fl->is_registered)
        return;
    bus_unregister(m->mmio, fl->gpa, fl);
    fl->is_registered = false;
    if (vm_set_devmem_rom(m->vm, FLASH_SLOT, 0, NULL, 0) < 0)
        log_warn("cannot unmap the variable store");
}

int machine_save_flash(struct machine *m, struct sf_buf *b)
{
    struct machine_flash *fl = m->flash;
    pthread_mutex_lock(&fl->lock);
    pflash_save(&fl->f, b);
    pthread_mutex_unlock(&fl->lock);
    return 0;
}

int machine_load_flash(struct machine *m, struct sf_in *in)
{
    struct machine_flash *fl = m->flash;
    int ret;
    pthread_mutex_lock(&fl->lock);
    ret = pflash_load(&fl->f, in);
    pthread_mutex_unlock(&fl->lock);
    return ret;
}
