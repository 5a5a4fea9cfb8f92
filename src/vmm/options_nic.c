/* SPDX-License-Identifier: MIT */
/*
 * --nic of `bareiron-vmm` (vmm/options.h, docs/vmm.md): the adapter type and its attributes.
 * Forward rules are checked here with net/hostfwd.h, so a malformed one is a usage error
 * (status 2) before anything is opened; a port in use is found when the NAT backend binds it.
 */
#include "vmm/options.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The MAC of adapter (index) without mac=: QEMU's first one, counting up. */
static void default_mac(unsigned index, uint8_t mac[6])
{
    static const uint8_t base[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
    memcpy(mac, base, 6);
    mac[5] = (uint8_t)(base[5] + index);
}

static int parse_mac(const char *spec, const char *v, size_t len, uint8_t mac[6], struct error *err)
{
    unsigned b[6];
    char buf[18], tail;

    if (len != 17)
        goto bad;
    memcpy(buf, v, len);
    buf[len] = '\0';
    if (sscanf(buf, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &tail) !=
        6)
        goto bad;
    for (int i = 0; i < 6; i++)
        mac[i] = (uint8_t)b[i];
    if (mac[0] & 1)
        return error_set(err, -EINVAL, "--nic '%s': mac= must be a unicast address", spec);
    if ((mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]) == 0)
        return error_set(err, -EINVAL, "--nic '%s': mac= must not be all zeros", spec);
    return 0;
bad:
    return error_set(err, -EINVAL, "--nic '%s': mac= expects six hex bytes like 52:54:00:12:34:56",
                     spec);
}

static int parse_hostfwd(const char *spec, const char *v, size_t len, struct vmm_nic *n,
                         struct error *err)
{
    char rule[128];
    struct net_hostfwd f;
    struct error e = {0};

    if (n->nhostfwd == NET_MAX_HOSTFWD)
        return error_set(err, -EINVAL, "--nic '%s': at most %d hostfwd= rules", spec,
                         NET_MAX_HOSTFWD);
    if (len >= sizeof(rule))
        return error_set(err, -EINVAL, "--nic '%s': hostfwd= rule too long", spec);
    memcpy(rule, v, len);
    rule[len] = '\0';
    if (net_hostfwd_parse(rule, &f, &e) < 0)
        return error_set(err, -EINVAL, "--nic '%s': %s", spec, e.message);
    for (unsigned i = 0; i < n->nhostfwd; i++) {
        struct net_hostfwd g;
        if (net_hostfwd_parse(n->hostfwd[i], &g, NULL) == 0 && net_hostfwd_same_host(&f, &g))
            return error_set(err, -EINVAL,
                             "--nic '%s': hostfwd %s: that host port is forwarded twice", spec,
                             rule);
    }
    net_hostfwd_format(&f, n->hostfwd[n->nhostfwd++], NET_HOSTFWD_STR_BYTES);
    return 0;
}

static int parse_fd(const char *spec, const char *v, size_t len, struct vmm_nic *n,
                    struct error *err)
{
    char buf[16], *end;
    long fd;

    if (len == 0 || len >= sizeof(buf))
        goto bad;
    memcpy(buf, v, len);
    buf[len] = '\0';
    fd = strtol(buf, &end, 10);
    if (*end != '\0' || fd < 0 || fd > 65535)
        goto bad;
    n->fd = (int)fd;
    return 0;
bad:
    return error_set(err, -EINVAL, "--nic '%s': fd= expects a descriptor number", spec);
}

/* queues=N: 1..8 queue pairs for a tap; NAT and none have one. */
static int parse_queues(const char *spec, const char *v, size_t len, struct vmm_nic *n,
                        struct error *err)
{
    char buf[8], *end;
    long q = 0;

    if (len > 0 && len < sizeof(buf)) {
        memcpy(buf, v, len);
        buf[len] = '\0';
        q = strtol(buf, &end, 10);
        if (*end != '\0')
            q = 0;
    }
    if (q < 1 || q > (long)NET_MAX_QUEUES)
        return error_set(err, -EINVAL, "--nic '%s': queues= expects a number from 1 to %u", spec,
                         NET_MAX_QUEUES);
    if (q > 1 && n->type != VMM_NIC_TAP)
        return error_set(err, -EINVAL,
                         "--nic '%s': queues=%ld: only a tap adapter has several queue pairs "
                         "(%s has one)",
                         spec, q, n->type == VMM_NIC_NAT ? "NAT" : "none");
    n->queues = (unsigned)q;
    return 0;
}

static bool is_attr(const char *opt, size_t len, const char *name)
{
    size_t l = strlen(name);
    return len > l && strncmp(opt, name, l) == 0 && opt[l] == '=';
}

/*
 * nat: tftp=DIR (libslirp's TFTP server at the gateway serves DIR's files, read-only) and
 * bootfile=NAME (a file in DIR that DHCP offers for network boot). NAME must stay inside DIR:
 * no leading '/' and no ".." component (libslirp refuses those too).
 */
static int parse_tftp(const char *spec, const char *name, const char *v, size_t vlen, char *out,
                      size_t size, struct error *err)
{
    if (vlen == 0 || vlen >= size)
        return error_set(err, -EINVAL, "--nic '%s': %s= needs 1 to %zu characters", spec, name,
                         size - 1);
    memcpy(out, v, vlen);
    out[vlen] = '\0';
    if (strcmp(name, "bootfile") == 0 &&
        (out[0] == '/' || strcmp(out, "..") == 0 || strncmp(out, "../", 3) == 0 ||
         strstr(out, "/../") != NULL || (vlen >= 3 && strcmp(out + vlen - 3, "/..") == 0)))
        return error_set(err, -EINVAL,
                         "--nic '%s': bootfile=%s: expected a file name relative to tftp= "
                         "(no leading '/', no '..')",
                         spec, out);
    return 0;
}

/* One attribute NAME=VALUE (len bytes at opt). */
static int parse_attr(const char *spec, const char *opt, size_t len, struct vmm_nic *n,
                      struct error *err)
{
    const char *v = strchr(opt, '=') + 1;
    size_t vlen = len - (size_t)(v - opt);
    bool is_nat = n->type == VMM_NIC_NAT, is_tap = n->type == VMM_NIC_TAP;

    if (is_attr(opt, len, "mac"))
        return parse_mac(spec, v, vlen, n->mac, err);
    if (is_nat && is_attr(opt, len, "hostfwd"))
        return parse_hostfwd(spec, v, vlen, n, err);
    if (is_nat && is_attr(opt, len, "restrict")) {
        if (vlen == 2 && strncmp(v, "on", 2) == 0)
            n->is_restricted = true;
        else if (vlen == 3 && strncmp(v, "off", 3) == 0)
            n->is_restricted = false;
        else
            return error_set(err, -EINVAL, "--nic '%s': restrict= expects on or off", spec);
        return 0;
    }
    if (is_nat && is_attr(opt, len, "tftp"))
        return parse_tftp(spec, "tftp", v, vlen, n->tftp, sizeof(n->tftp), err);
    if (is_nat && is_attr(opt, len, "bootfile"))
        return parse_tftp(spec, "bootfile", v, vlen, n->bootfile, sizeof(n->bootfile), err);
    if (is_tap && is_attr(opt, len, "ifname")) {
        if (vlen == 0 || vlen >= sizeof(n->ifname))
            return error_set(err, -EINVAL, "--nic '%s': ifname= needs 1 to %zu characters", spec,
                             sizeof(n->ifname) - 1);
        memcpy(n->ifname, v, vlen);
        n->ifname[vlen] = '\0';
        return 0;
    }
    if (is_tap && is_attr(opt, len, "fd"))
        return parse_fd(spec, v, vlen, n, err);
    if (is_attr(opt, len, "queues"))
        return parse_queues(spec, v, vlen, n, err);
    if (is_tap && is_attr(opt, len, "vhost")) {
        if (vlen == 2 && strncmp(v, "on", 2) == 0)
            n->vhost = NET_VHOST_ON;
        else if (vlen == 3 && strncmp(v, "off", 3) == 0)
            n->vhost = NET_VHOST_OFF;
        else if (vlen == 4 && strncmp(v, "auto", 4) == 0)
            n->vhost = NET_VHOST_AUTO;
        else
            return error_set(err, -EINVAL, "--nic '%s': vhost= expects on, off or auto", spec);
        return 0;
    }
    return error_set(err, -EINVAL, "--nic '%s': unknown or misplaced attribute '%.*s'", spec,
                     (int)len, opt);
}

int vmm_parse_nic(const char *spec, unsigned index, struct vmm_nic *n, struct error *err)
{
    const char *comma = strchr(spec, ',');
    size_t tlen = comma ? (size_t)(comma - spec) : strlen(spec);
    int ret;

    memset(n, 0, sizeof(*n));
    n->spec = spec;
    n->fd = -1;
    n->queues = 1;
    default_mac(index, n->mac);
    if (tlen == 3 && strncmp(spec, "nat", 3) == 0)
        n->type = VMM_NIC_NAT;
    else if (tlen == 3 && strncmp(spec, "tap", 3) == 0)
        n->type = VMM_NIC_TAP;
    else if (tlen == 4 && strncmp(spec, "none", 4) == 0)
        n->type = VMM_NIC_NONE;
    else
        return error_set(err, -EINVAL, "--nic '%s': the type must be nat, tap or none", spec);
    while (comma != NULL) {
        const char *opt = comma + 1;
        size_t len;
        comma = strchr(opt, ',');
        len = comma ? (size_t)(comma - opt) : strlen(opt);
        if (memchr(opt, '=', len) == NULL)
            return error_set(err, -EINVAL, "--nic '%s': attribute '%.*s' needs a value", spec,
                             (int)len, opt);
        ret = parse_attr(spec, opt, len, n, err);
        if (ret < 0)
            return ret;
    }
    if (n->type == VMM_NIC_TAP && (n->ifname[0] != '\0') == (n->fd >= 0))
        return error_set(err, -EINVAL,
                         "--nic '%s': tap needs exactly one of ifname= and fd=", spec);
    if (n->bootfile[0] != '\0' && n->tftp[0] == '\0')
        return error_set(err, -EINVAL, "--nic '%s': bootfile= needs tftp=DIR", spec);
    if (n->queues > 1 && n->fd >= 0)
        return error_set(err, -ENOTSUP,
                         "--nic '%s': queues= with fd=: not supported yet (one descriptor is one "
                         "queue; use ifname=)",
                         spec);
    return 0;
}

int vmm_resolve_tftp(struct vmm_nic *n, struct error *err)
{
    char real[PATH_MAX];
    struct stat st;
    if (realpath(n->tftp, real) == NULL || stat(real, &st) < 0)
        return error_set(err, -errno, "tftp=%s: %s", n->tftp, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return error_set(err, -ENOTDIR, "tftp=%s: not a directory", n->tftp);
    if (strcmp(real, "/") == 0) /* the jail would be the host's root (vmm/sandbox.h) */
        return error_set(err, -EINVAL, "tftp=%s: the root directory cannot be served", n->tftp);
    if (strlen(real) >= sizeof(n->tftp))
        return error_set(err, -ENAMETOOLONG,
                         "tftp=%s: the absolute path is longer than %zu "
                         "characters",
                         n->tftp, sizeof(n->tftp) - 1);
    strcpy(n->tftp, real);
    return 0;
}
