/* SPDX-License-Identifier: MIT */
/*
 * --fd N:PATH of vmm/options.h: descriptors the manager opened for the monitor (the kernel,
 * the initrd, the disks), so that the monitor never resolves those paths. The descriptor
 * stands for the open of PATH exactly as the other options spell it; its access mode and
 * O_DIRECT must be the ones the monitor's own open would use, or the start is refused.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fdcache.h"
#include "base/util.h"
#include "vmm/options.h"

int vmm_parse_fd(const char *spec, struct vmm_options *o, struct error *err)
{
    const char *colon = strchr(spec, ':');
    char num[8];
    char *end;
    long n;

    if (o->nfds >= VMM_MAX_FDS)
        return error_set(err, -EINVAL, "too many --fd (at most %d)", VMM_MAX_FDS);
    if (colon == NULL || colon == spec || (size_t)(colon - spec) >= sizeof(num) || colon[1] == '\0')
        return error_set(err, -EINVAL, "--fd '%s': expected N:PATH", spec);
    memcpy(num, spec, (size_t)(colon - spec));
    num[colon - spec] = '\0';
    errno = 0;
    n = strtol(num, &end, 10);
    if (*end != '\0' || num[0] < '0' || num[0] > '9' || errno != 0 || n > 65535)
        return error_set(err, -EINVAL, "--fd '%s': N must be a descriptor number", spec);
    if (n < 3)
        return error_set(err, -EINVAL, "--fd '%s': descriptors 0, 1 and 2 are the monitor's own",
                         spec);
    if (strlen(colon + 1) >= sizeof(o->disks[0].path))
        return error_set(err, -EINVAL, "--fd '%s': path too long", spec);
    o->fds[o->nfds].fd = (int)n;
    o->fds[o->nfds].path = colon + 1;
    o->nfds++;
    return 0;
}

/* How the monitor opens (path): the mask of O_ACCMODE | O_DIRECT values it accepts, as a set
 * of bits (1 << O_RDONLY, 1 << O_RDWR, with 4 added for O_DIRECT variants); 0 if it opens no
 * such path. */
static unsigned wanted_modes(const struct vmm_options *o, const char *path)
{
    const char *ro[] = {o->kernel, o->initrd, o->restore};
    unsigned modes = 0;

    for (size_t i = 0; i < ARRAY_SIZE(ro); i++)
        if (ro[i] != NULL && strcmp(ro[i], path) == 0)
            modes |= 1u << O_RDONLY;
    for (unsigned i = 0; i < o->ndisks; i++) {
        const struct vmm_disk *d = &o->disks[i];
        unsigned m = 1u << (d->is_readonly ? O_RDONLY : O_RDWR);
        if (strcmp(d->path, path) != 0)
            continue;
        modes |= m;
        if (d->is_cache_none)
            modes |= m << 4;
    }
    if (o->floppy != NULL && strcmp(o->floppy, path) == 0)
        modes |= 1u << (o->is_floppy_readonly ? O_RDONLY : O_RDWR);
    return modes;
}

int vmm_check_fds(const struct vmm_options *o, struct error *err)
{
    for (unsigned i = 0; i < o->nfds; i++) {
        const struct vmm_fd *f = &o->fds[i];
        for (unsigned j = 0; j < i; j++)
            if (o->fds[j].fd == f->fd)
                return error_set(err, -EINVAL, "--fd %d: descriptor given twice", f->fd);
        for (unsigned j = 0; j < o->nnics; j++)
            if (o->nics[j].type == VMM_NIC_TAP && o->nics[j].fd == f->fd)
                return error_set(err, -EINVAL, "--fd %d: already the tap descriptor of --nic",
                                 f->fd);
        if (wanted_modes(o, f->path) == 0)
            return error_set(err, -EINVAL,
                             "--fd %d:%s: not a path of --kernel, --initrd, --disk, --cdrom, "
                             "--floppy or --restore",
                             f->fd, f->path);
    }
    return 0;
}

static const char *mode_name(int fl)
{
    switch (fl & (O_ACCMODE | O_DIRECT)) {
    case O_RDONLY:
        return "read-only";
    case O_RDWR:
        return "read-write";
    case O_RDONLY | O_DIRECT:
        return "read-only O_DIRECT";
    case O_RDWR | O_DIRECT:
        return "read-write O_DIRECT";
    default:
        return "write-only";
    }
}

/* Checks one descriptor's status flags against what the monitor opens its path with. */
static int check_one(const struct vmm_options *o, const struct vmm_fd *f, struct error *err)
{
    int fl = fcntl(f->fd, F_GETFL);
    unsigned modes = wanted_modes(o, f->path), bit;

    if (fl < 0)
        return error_set(err, -EINVAL, "--fd %d:%s: descriptor %d is not open", f->fd, f->path,
                         f->fd);
    if (fl & O_PATH)
        return error_set(err, -EINVAL, "--fd %d:%s: an O_PATH descriptor cannot be read", f->fd,
                         f->path);
    if (fl & O_APPEND)
        return error_set(err, -EINVAL, "--fd %d:%s: opened with O_APPEND", f->fd, f->path);
    bit = (fl & O_ACCMODE) == O_WRONLY ? 0 : 1u << ((fl & O_ACCMODE) + ((fl & O_DIRECT) ? 4 : 0));
    if ((modes & bit) == 0)
        return error_set(
            err, -EINVAL, "--fd %d:%s: opened %s, but the monitor opens that path %s%s%s", f->fd,
            f->path, mode_name(fl), (modes & 0x11 << O_RDWR) ? "read-write" : "read-only",
            (modes & 0xf0) ? " (and with O_DIRECT for cache=none)" : "",
            (modes & 0xf0) ? "" : " without O_DIRECT");
    return 0;
}

int vmm_fds_take(const struct vmm_options *o, struct error *err)
{
    for (unsigned i = 0; i < o->nfds; i++) {
        const struct vmm_fd *f = &o->fds[i];
        int ret = check_one(o, f, err);
        if (ret < 0)
            return ret;
        ret = fdcache_seed(f->path, f->fd);
        if (ret == -EEXIST)
            return error_set(err, -EINVAL,
                             "--fd %d:%s: that path already has a descriptor "
                             "with this access mode",
                             f->fd, f->path);
        if (ret < 0)
            return error_set(err, -EINVAL, "--fd %d:%s: %s", f->fd, f->path, strerror(-ret));
    }
    return 0;
}

void vmm_fds_close(const struct vmm_options *o)
{
    for (unsigned i = 0; i < o->nfds; i++)
        close(o->fds[i].fd);
}
