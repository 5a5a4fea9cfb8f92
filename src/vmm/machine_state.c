/* SPDX-License-Identifier: MIT */
/*
 * Saved states of the machine (docs/vmm.md "Saved state"): machine_save writes the state file
 * of base/statefile.h (a section per part of machine_parts[] with state, one per vCPU, one per
 * RAM region written sparsely), and the PART_RESTORE parts read it back: machine_open_state
 * (no KVM) checks the file and the fingerprint and maps guest memory from it privately, so
 * pages are faulted in lazily; machine_load_state (last) applies the VM, device and vCPU state.
 */
#define LOG_TAG "machine"
#include "vmm/machine_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fdcache.h"
#include "base/log.h"
#include "base/statefile.h"
#include "base/util.h"
#include "core/gmem.h"
#include "core/vcpu.h"
#include "core/vm.h"
#include "core/vm_state.h"
#include "vmm/syscall_filter.h"

struct machine_restore {
    int fd;
    uint8_t *map;
    size_t len;
    uint64_t start_ns;
    struct sf_file file;
    bool used[SF_MAX_SECTIONS]; /* sections loaded: any other one is refused */
    uint32_t mapped;            /* bit i: region i is mapped from the file */
    struct state_copy *copy;    /* --restore-copy, once the state is loaded */
};

static void mark_used(struct machine_restore *rs, const struct sf_section *s)
{
    rs->used[s - rs->file.sections] = true;
}

static bool part_is_present(const struct machine *m, const struct machine_part *p)
{
    return p->section != NULL && (p->is_present == NULL || p->is_present(m));
}

static void append(char *buf, const char *s)
{
    size_t l = strlen(buf);
    snprintf(buf + l, SF_DEVICES_MAX + 1 - l, "%s%s", l ? "," : "", s);
}

/* What a restore must match: memory, vCPUs, irqchip and the devices the options ask for. */
void machine_fingerprint(const struct machine *m, struct sf_fingerprint *fp)
{
    memset(fp, 0, sizeof(*fp));
    fp->memory_bytes = m->opts->memory_bytes;
    fp->cpus = m->opts->cpus;
    fp->irqchip = (uint32_t)m->opts->irqchip;
    for (unsigned i = 0; i < machine_nparts; i++)
        if (part_is_present(m, &machine_parts[i]))
            append(fp->devices, machine_parts[i].section);
    for (unsigned k = 0; k < machine_nvdev_kinds; k++) {
        const struct machine_vdev_kind *kind = &machine_vdev_kinds[k];
        for (unsigned i = 0; i < kind->count(m); i++) {
            char name[SF_NAME_BYTES];
            snprintf(name, sizeof(name), "%s.%u", kind->name, i);
            append(fp->devices, name);
        }
    }
}

int machine_check_savable(struct machine *m, struct error *err)
{
    for (unsigned i = 0; i < machine_nparts; i++) {
        const struct machine_part *p = &machine_parts[i];
        if (part_is_present(m, p) && p->save == NULL)
            return error_set(err, -ENOTSUP,
                             "cannot save: %s has no saved state (not supported "
                             "yet)",
                             p->name);
    }
    for (unsigned i = 0; i < m->nvdevs; i++)
        if (m->vdevs[i].kind->save == NULL)
            return error_set(err, -ENOTSUP,
                             "cannot save: %s %u has no saved state (not "
                             "supported yet)",
                             m->vdevs[i].kind->name, m->vdevs[i].index);
    return 0;
}

static int write_section(struct sf_writer *w, const char *name, uint32_t version, struct sf_buf *b)
{
    int ret = b->failed ? -ENOMEM : sf_write_section(w, name, version, b->data, b->len);
    sf_buf_free(b);
    return ret;
}

static int save_devices(struct machine *m, struct sf_writer *w, struct error *err)
{
    for (unsigned i = 0; i < machine_nparts; i++) {
        const struct machine_part *p = &machine_parts[i];
        struct sf_buf b = {0};
        int ret;
        if (!part_is_present(m, p))
            continue;
        ret = p->save(m, &b);
        if (ret == 0)
            ret = write_section(w, p->section, p->version, &b);
        sf_buf_free(&b);
        if (ret < 0)
            return error_set(err, ret, "cannot save %s: %s", p->name, strerror(-ret));
    }
    for (unsigned i = 0; i < m->nvdevs; i++) {
        struct machine_vdev *d = &m->vdevs[i];
        struct sf_buf b = {0};
        char name[SF_NAME_BYTES];
        int ret = d->kind->save(m, d, &b);
        snprintf(name, sizeof(name), "%s.%u", d->kind->name, d->index);
        if (ret == 0)
            ret = write_section(w, name, d->kind->version, &b);
        sf_buf_free(&b);
        if (ret < 0)
            return error_set(err, ret, "cannot save %s: %s", name, strerror(-ret));
    }
    return 0;
}

static int save_vcpus(struct machine *m, struct sf_writer *w, struct error *err)
{
    for (unsigned i = 0; i < m->vm->ncpus; i++) {
        struct sf_buf b = {0};
        char name[SF_NAME_BYTES];
        int ret = vcpu_save_state(m->vm->vcpus[i], &b, err);
        snprintf(name, sizeof(name), "vcpu.%u", i);
        if (ret == 0)
            ret = write_section(w, name, VCPU_STATE_VERSION, &b);
        sf_buf_free(&b);
        if (ret < 0)
            return error_set(err, ret, "cannot save %s: %s", name, strerror(-ret));
    }
    return 0;
}

/* The CPUID the guest was shown (vm->cpuid before the per-vCPU fix-ups). */
static int save_cpuid(struct machine *m, struct sf_writer *w, struct error *err)
{
    struct sf_buf b = {0};
    int ret;
    vm_save_cpuid(m->vm, &b);
    ret = write_section(w, "cpuid", VM_CPUID_STATE_VERSION, &b);
    return ret < 0 ? error_set(err, ret, "cannot save cpuid: %s", strerror(-ret)) : 0;
}

static int save_memory(struct machine *m, struct sf_writer *w, bool is_zstd, uint64_t *written,
                       struct error *err)
{
    *written = 0;
    for (unsigned i = 0; i < m->gm->nregions; i++) {
        const struct gmem_region *r = &m->gm->regions[i];
        uint64_t at, n = 0;
        int ret;
        if (is_zstd) {
            if ((ret = machine_save_region_zstd(r, w, &n, err)) < 0)
                return ret;
            *written += n;
            continue;
        }
        ret = sf_write_raw(w, r->name, 1, r->size_bytes, &at);
        if (ret == 0)
            ret = gmem_region_save(r, w->fd, at, &n);
        if (ret < 0)
            return error_set(err, ret, "cannot save %s: %s", r->name, strerror(-ret));
        *written += n;
    }
    return 0;
}

int machine_write_devices(struct machine *m, struct sf_writer *w, struct error *err)
{
    int ret = machine_quiesce(m, err); /* before any device state is taken */
    if (ret == 0)
        ret = save_devices(m, w, err);
    if (ret == 0)
        ret = save_vcpus(m, w, err);
    if (ret == 0)
        ret = save_cpuid(m, w, err);
    return ret;
}

static int write_file(struct machine *m, int fd, unsigned flags, struct error *err)
{
    bool is_zstd = flags & MACHINE_SAVE_ZSTD;
    struct sf_fingerprint *fp = malloc(sizeof(*fp));
    struct sf_writer w;
    uint64_t written = 0;
    int ret;
    if (flags & MACHINE_SAVE_LIVE) {
        free(fp);
        return machine_write_live(m, fd, err);
    }
    if (fp == NULL)
        return error_set(err, -ENOMEM, "out of memory");
    machine_fingerprint(m, fp);
    ret = sf_write_header(&w, fd, fp);
    free(fp);
    if (ret < 0)
        return error_set(err, ret, "cannot write the state file: %s", strerror(-ret));
    ret = machine_write_devices(m, &w, err);
    if (ret == 0)
        ret = save_memory(m, &w, is_zstd, &written, err);
    if (ret == 0 && (ret = sf_write_end(&w)) < 0)
        error_set(err, ret, "cannot write the state file: %s", strerror(-ret));
    if (ret == 0 && fsync(fd) < 0)
        ret = error_set(err, -errno, "cannot write the state file: %s", strerror(errno));
    if (ret == 0)
        log_info("saved %llu KiB of guest memory", (unsigned long long)(written >> 10));
    return ret;
}

/* Checks that (fd) can take a state file: a regular file open for writing, not O_APPEND
 * (the file is written at absolute offsets, with holes). */
static int check_save_fd(int fd, struct error *err)
{
    struct stat st;
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fstat(fd, &st) < 0)
        return error_set(err, -errno, "save: the passed descriptor: %s", strerror(errno));
    if (!S_ISREG(st.st_mode))
        return error_set(err, -EINVAL, "save: the passed descriptor is not a regular file");
    if ((fl & O_ACCMODE) == O_RDONLY || (fl & O_APPEND))
        return error_set(err, -EINVAL, "save: the passed descriptor is %s",
                         (fl & O_APPEND) ? "opened with O_APPEND" : "read-only");
    return 0;
}

int machine_save_fd(struct machine *m, int fd, unsigned flags, struct error *err)
{
    int ret = machine_check_savable(m, err);
    if (ret == 0)
        ret = check_save_fd(fd, err);
    if (ret < 0)
        return ret;
    if (m->is_saving)
        return error_set(err, -EBUSY, "save: another save is in progress");
    if (ftruncate(fd, 0) < 0)
        return error_set(err, -errno, "save: cannot truncate the passed file: %s", strerror(errno));
    m->is_saving = true;
    ret = write_file(m, fd, flags, err);
    m->is_saving = false;
    return ret;
}

int machine_save(struct machine *m, const char *path, unsigned flags, struct error *err)
{
    char tmp[PATH_MAX];
    int fd, ret = machine_check_savable(m, err);
    if (ret < 0)
        return ret;
    /* waiting for requests in flight runs the loop, which may serve another save */
    if (m->is_saving)
        return error_set(err, -EBUSY, "save: another save is in progress");
    if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof(tmp))
        return error_set(err, -ENAMETOOLONG, "save: path too long");
    unlink(tmp); /* a leftover of a save that failed half-way */
    fd = open(tmp, VMM_SAVE_CREATE_FLAGS, 0600);
    if (fd < 0)
        return error_set(err, -errno, "save: cannot create %s: %s", tmp, strerror(errno));
    m->is_saving = true;
    ret = write_file(m, fd, flags, err);
    m->is_saving = false;
    close(fd);
    if (ret == 0 && rename(tmp, path) < 0)
        ret =
            error_set(err, -errno, "save: cannot rename %s to %s: %s", tmp, path, strerror(errno));
    if (ret == 0 && (ret = fsync_dir_of(path)) < 0)
        error_set(err, ret, "save: cannot sync the directory of %s: %s", path, strerror(-ret));
    if (ret < 0)
        unlink(tmp);
    return ret;
}

int machine_cache_kernel(struct machine *m, struct error *err)
{
    const char *files[] = {m->opts->kernel, m->opts->initrd};
    for (unsigned i = 0; i < ARRAY_SIZE(files); i++) {
        int fd = files[i] != NULL ? fdcache_open(files[i], O_RDONLY) : 0;
        if (fd < 0)
            return error_set(err, fd, "%s: %s", files[i], strerror(-fd));
        if (files[i] != NULL)
            close(fd);
    }
    return 0;
}

static int map_memory(struct machine *m, struct error *err)
{
    struct machine_restore *rs = m->restore;
    for (unsigned i = 0; i < m->gm->nregions; i++) {
        struct gmem_region *r = &m->gm->regions[i];
        const struct sf_section *s = sf_find(&rs->file, r->name);
        char zname[SF_NAME_BYTES];
        int ret;
        snprintf(zname, sizeof(zname), "%s.zstd", r->name);
        if (s == NULL && (s = sf_find(&rs->file, zname)) != NULL) {
            /* compressed: read into the region's own memory instead of mapped */
            mark_used(rs, s);
            if (s->version != MACHINE_ZSTD_VERSION)
                return error_set(err, -EINVAL,
                                 "state file: section %s: version %u, this monitor reads "
                                 "version %u",
                                 zname, s->version, MACHINE_ZSTD_VERSION);
            ret = machine_load_region_zstd(r, rs->map + s->offset, (size_t)s->length, err);
            if (ret < 0)
                return ret;
            continue;
        }
        if (s == NULL || !(s->flags & SF_FLAG_RAW) || s->length != r->size_bytes)
            return error_set(err, -EINVAL, "state file: section %s: %s", r->name,
                             s == NULL ? "missing" : "not this machine's memory");
        mark_used(rs, s);
        ret = gmem_region_map_file(r, rs->fd, s->offset);
        if (ret < 0)
            return error_set(err, ret, "cannot map %s from the state file: %s", r->name,
                             strerror(-ret));
        rs->mapped |= 1u << i;
    }
    return 0;
}

int machine_open_state(struct machine *m, struct error *err)
{
    const char *path = m->opts->restore;
    struct sf_fingerprint *want = malloc(sizeof(*want));
    struct machine_restore *rs = calloc(1, sizeof(*rs));
    struct stat st;
    void *map;
    int ret;
    if (want == NULL || rs == NULL) {
        free(want);
        free(rs);
        return error_set(err, -ENOMEM, "out of memory");
    }
    m->restore = rs;
    rs->start_ns = time_now_ns();
    rs->fd = fdcache_open(path, O_RDONLY);
    if (rs->fd < 0) {
        free(want);
        return error_set(err, rs->fd, "--restore %s: %s", path, strerror(-rs->fd));
    }
    if (fstat(rs->fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size == 0) {
        free(want);
        return error_set(err, -EINVAL, "--restore %s: not a state file", path);
    }
    map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, rs->fd, 0);
    if (map == MAP_FAILED) {
        free(want);
        return error_set(err, -errno, "--restore %s: %s", path, strerror(errno));
    }
    rs->map = map;
    rs->len = (size_t)st.st_size;
    machine_fingerprint(m, want);
    ret = sf_parse(rs->map, rs->len, &rs->file, err);
    if (ret == 0)
        ret = sf_fingerprint_check(want, &rs->file.fp, err);
    free(want);
    return ret < 0 ? ret : map_memory(m, err);
}

void machine_close_state(struct machine *m)
{
    struct machine_restore *rs = m->restore;
    if (rs == NULL)
        return;
    state_copy_stop(rs->copy);
    if (rs->map != NULL)
        munmap(rs->map, rs->len);
    if (rs->fd >= 0)
        close(rs->fd);
    free(rs);
    m->restore = NULL;
}

/* Finds section (name) at (version) and sets (in) over its data. */
static int find_section(struct machine_restore *rs, const char *name, uint32_t version,
                        struct sf_in *in, struct error *err)
{
    const struct sf_section *s = sf_find(&rs->file, name);
    if (s == NULL)
        return error_set(err, -EINVAL, "state file: section %s: missing", name);
    if (s->version != version || (s->flags & SF_FLAG_RAW))
        return error_set(err, -EINVAL,
                         "state file: section %s: version %u, this monitor reads version %u", name,
                         s->version, version);
    sf_in_init(in, rs->map + s->offset, (size_t)s->length);
    mark_used(rs, s);
    return 0;
}

static int load_parts(struct machine *m, struct error *err)
{
    for (unsigned i = 0; i < machine_nparts; i++) {
        const struct machine_part *p = &machine_parts[i];
        struct sf_in in;
        int ret;
        if (!part_is_present(m, p))
            continue;
        ret = find_section(m->restore, p->section, p->version, &in, err);
        if (ret == 0 && (p->load == NULL || (ret = p->load(m, &in)) < 0 || sf_in_end(&in) < 0))
            return error_set(err, ret < 0 ? ret : -EINVAL,
                             "state file: section %s: cannot be loaded into %s", p->section,
                             p->name);
        if (ret < 0)
            return ret;
    }
    return 0;
}

static int load_vcpus(struct machine *m, struct error *err)
{
    for (unsigned i = 0; i < m->vm->ncpus; i++) {
        char name[SF_NAME_BYTES];
        struct sf_in in;
        int ret;
        snprintf(name, sizeof(name), "vcpu.%u", i);
        ret = find_section(m->restore, name, VCPU_STATE_VERSION, &in, err);
        if (ret == 0)
            ret = vcpu_load_state(m->vm->vcpus[i], in.p, in.len, err);
        if (ret < 0)
            return ret;
    }
    return 0;
}

static int load_vdevs(struct machine *m, struct error *err)
{
    for (unsigned i = 0; i < m->nvdevs; i++) {
        struct machine_vdev *d = &m->vdevs[i];
        char name[SF_NAME_BYTES];
        struct sf_in in;
        int ret;
        snprintf(name, sizeof(name), "%s.%u", d->kind->name, d->index);
        if (d->kind->load == NULL)
            return error_set(err, -ENOTSUP,
                             "--restore: %s has no saved state (not supported "
                             "yet)",
                             name);
        ret = find_section(m->restore, name, d->kind->version, &in, err);
        if (ret == 0 && ((ret = d->kind->load(m, d, &in)) < 0 || sf_in_end(&in) < 0))
            return error_set(err, ret < 0 ? ret : -EINVAL,
                             "state file: section %s: cannot be loaded", name);
        if (ret < 0)
            return ret;
    }
    return 0;
}

/*
 * Refuses a state whose guest was shown a CPU feature this host does not offer (the table
 * vm_create built from KVM_GET_SUPPORTED_CPUID with the same --cpu-model), else gives the
 * vCPUs the saved table. First: the vCPU state loaded after it (XSAVE, MSRs) is checked by KVM
 * against the vCPU's CPUID. A file without the section (saved before it existed) is not
 * checked and the vCPUs keep this host's table.
 */
static int restore_cpuid(struct machine *m, struct error *err)
{
    struct error cerr = {0};
    struct sf_in in;
    int ret;
    if (sf_find(&m->restore->file, "cpuid") == NULL) {
        log_info("state file has no cpuid section: CPU features not checked");
        return 0;
    }
    ret = find_section(m->restore, "cpuid", VM_CPUID_STATE_VERSION, &in, err);
    if (ret < 0)
        return ret;
    ret = vm_restore_cpuid(m->vm, &in, &cerr);
    if (ret < 0)
        return error_set(err, ret, "state file: section cpuid: %s", cerr.message);
    return 0;
}

int machine_load_state(struct machine *m, struct error *err)
{
    struct machine_restore *rs = m->restore;
    int ret = restore_cpuid(m, err);
    if (ret == 0)
        ret = load_parts(m, err);
    if (ret == 0)
        ret = load_vdevs(m, err);
    if (ret == 0)
        ret = load_vcpus(m, err);
    if (ret < 0)
        return ret;
    for (unsigned i = 0; i < rs->file.nsections; i++)
        if (!rs->used[i])
            return error_set(err, -EINVAL, "state file: section %s: unknown to this machine",
                             rs->file.sections[i].name);
    log_info("state loaded in %llu us",
             (unsigned long long)((time_now_ns() - rs->start_ns) / 1000));
    if (!m->opts->restore_copy)
        return 0;
    /* The thread owns the file from now on: nothing else reads it after the load. */
    ret = state_copy_start(m, rs->mapped, rs->fd, rs->map, rs->len, &rs->copy, err);
    if (ret == 0) {
        rs->fd = -1;
        rs->map = NULL;
        fdcache_forget(m->opts->restore); /* resumed once: never opened again */
    }
    return ret;
}

bool machine_restore_copy(struct machine *m, uint64_t *copied, uint64_t *total, bool *done)
{
    if (m == NULL || m->restore == NULL || m->restore->copy == NULL)
        return false;
    *done = state_copy_progress(m->restore->copy, copied, total);
    return true;
}
