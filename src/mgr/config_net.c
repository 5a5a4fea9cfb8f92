/* SPDX-License-Identifier: MIT */
/*
 * The network adapters of a VM definition (mgr/config.h, docs/cli.md "Network"): the
 * command-line settings --nic1..--nic4, --nat-forwardN, --nat-restrictN, --nat-tftpN,
 * --nat-bootfileN, --remove-nic and the
 * older --nic, the MAC generated once when an adapter is created, the forwards in the
 * monitor's hostfwd syntax (VirtualBox's NAT rules: name, protocol, host address and port,
 * guest address and port) and the rules that span adapters (unique MACs, forward names and
 * host ports). Adapters are numbered 1..4 without gaps; adapter N is the monitor's nic N-1.
 */
#include "mgr/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "base/util.h"
#include "mgr/config_util.h"

#define NIC_SPEC_HELP                                                                              \
    "nat, tap:IFNAME[,queues=N][,vhost=auto|on|off] or none[,mac=MAC][,model=virtio]"
#define FWD_SPEC_HELP "NAME,tcp|udp,HOSTIP,HOSTPORT,GUESTIP,GUESTPORT or 'delete NAME'"

const char *const config_fwd_proto_names[] = {"tcp", "udp", NULL};

const char *config_fwd_proto_name(enum fwd_proto p)
{
    return p == FWD_PROTO_UDP ? "udp" : "tcp";
}

int config_check_ipv4(const char *s)
{
    struct in_addr a;
    return strlen(s) < 16 && inet_pton(AF_INET, s, &a) == 1 ? 0 : -EINVAL;
}

int config_check_guest_ip(const char *s)
{
    struct in_addr a;
    if (config_check_ipv4(s) < 0 || inet_pton(AF_INET, s, &a) != 1)
        return -EINVAL;
    /* The NAT network is 10.0.2.0/24 (the monitor's, QEMU's and VirtualBox's default). */
    return (ntohl(a.s_addr) & 0xffffff00u) == 0x0a000200u ? 0 : -EINVAL;
}

int config_check_forward_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > CONFIG_MAX_FORWARD_NAME)
        return -EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '_' || s[i] == '-'))
            return -EINVAL;
    return 0;
}

void config_forward_rule(const struct nic_forward *f, char *buf, size_t size)
{
    snprintf(buf, size, "%s:%s:%u-%s:%u", config_fwd_proto_name(f->proto), f->host_ip,
             (unsigned)f->host_port, f->guest_ip, (unsigned)f->guest_port);
}

static bool mac_in_use(const struct vm_config *cfg, const char *mac)
{
    for (size_t i = 0; i < cfg->nic_count; i++)
        if (strcasecmp(cfg->nics[i].mac, mac) == 0)
            return true;
    return false;
}

/* A random 52:54:00:xx:xx:xx that no adapter of (cfg) has. */
static int generate_mac(const struct vm_config *cfg, char mac[18])
{
    for (int tries = 0; tries < 64; tries++) {
        uint8_t b[3];
        if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
            return -EIO;
        snprintf(mac, 18, "52:54:00:%02x:%02x:%02x", b[0], b[1], b[2]);
        if (!mac_in_use(cfg, mac))
            return 0;
    }
    return -EIO;
}

int config_fill_macs(struct vm_config *cfg)
{
    int filled = 0;
    for (size_t i = 0; i < cfg->nic_count; i++) {
        char mac[18];
        int ret;
        if (cfg->nics[i].mac[0])
            continue;
        if ((ret = generate_mac(cfg, mac)) < 0)
            return ret;
        memcpy(cfg->nics[i].mac, mac, sizeof(mac));
        filled++;
    }
    return filled;
}

/* The adapter number N of an option "nicN", "nat-forwardN"... (1..CONFIG_MAX_NICS). */
static size_t key_slot(const char *key)
{
    size_t n = strlen(key);
    char c = n ? key[n - 1] : '\0';
    return c >= '1' && c <= '0' + CONFIG_MAX_NICS ? (size_t)(c - '0') : 0;
}

/* The existing adapter N of option (key); -EINVAL naming the option when there is none. */
static int existing_nic(struct vm_config *cfg, const char *key, struct nic_config **out,
                        struct error *err)
{
    size_t slot = key_slot(key);
    if (slot == 0 || slot > cfg->nic_count)
        return error_set(err, -EINVAL,
                         "--%s: there is no network adapter %zu (define it with --nic%zu)", key,
                         slot, slot);
    *out = &cfg->nics[slot - 1];
    return 0;
}

/* queues=N and vhost=auto|on|off of a tap adapter. */
static int nic_tap_attr(const char *key, struct nic_config *n, const char *attr, struct error *err)
{
    uint64_t q;
    int v;
    if (n->mode != NIC_MODE_TAP)
        return error_set(err, -EINVAL, "--%s: %.64s is for a tap adapter (tap:IFNAME)", key, attr);
    if (attr[0] == 'q') {
        if (parse_u64(attr + 7, &q) < 0 || q < 1 || q > CONFIG_MAX_NIC_QUEUES)
            return error_set(err, -EINVAL, "--%s: queues= expects a number from 1 to %d", key,
                             CONFIG_MAX_NIC_QUEUES);
        n->queues = (uint32_t)q;
        return 0;
    }
    if ((v = config_find_name(config_nic_vhost_names, attr + 6)) < 0)
        return error_set(err, -EINVAL, "--%s: vhost= expects auto, on or off", key);
    n->vhost = (enum nic_vhost)v;
    return 0;
}

static int nic_attr(const char *key, struct nic_config *n, const char *attr, struct error *err)
{
    if (strncmp(attr, "model=", 6) == 0) {
        int i = config_find_name(config_nic_model_names, attr + 6);
        if (i < 0)
            return error_set(err, -EINVAL, "--%s: model must be virtio", key);
        if (i == NIC_MODEL_E1000)
            return error_set(err, -ENOTSUP,
                             "--%s: model=e1000: not supported yet (the monitor has virtio-net "
                             "only)",
                             key);
        n->model = (enum nic_model)i;
    } else if (strncmp(attr, "mac=", 4) == 0) {
        if (config_check_mac(attr + 4) < 0)
            return error_set(err, -EINVAL, "--%s: mac must be a unicast MAC like 52:54:00:12:34:56",
                             key);
        snprintf(n->mac, sizeof(n->mac), "%s", attr + 4);
    } else if (strncmp(attr, "queues=", 7) == 0 || strncmp(attr, "vhost=", 6) == 0) {
        return nic_tap_attr(key, n, attr, err);
    } else {
        return error_set(err, -EINVAL,
                         "--%s: unknown attribute '%.64s' (mac=, model=, and for a tap queues=, "
                         "vhost=)",
                         key, attr);
    }
    return 0;
}

/* Parses "TYPE[,mac=][,model=]" into (n) (mode, ifname, mac, model; the rest untouched). */
static int parse_nic_spec(const char *key, const char *val, struct nic_config *n, struct error *err)
{
    char buf[128], *save = NULL, *tok, *colon;
    int mode, ret = 0;
    if (snprintf(buf, sizeof(buf), "%s", val) >= (int)sizeof(buf) ||
        (tok = strtok_r(buf, ",", &save)) == NULL)
        return error_set(err, -EINVAL, "--%s: needs %s", key, NIC_SPEC_HELP);
    colon = strchr(tok, ':');
    if (colon)
        *colon++ = '\0';
    mode = config_find_name(config_nic_mode_names, tok);
    if (mode < 0 || ((mode == NIC_MODE_TAP || mode == NIC_MODE_BRIDGE) != (colon != NULL)))
        return error_set(err, -EINVAL, "--%s: needs %s", key, NIC_SPEC_HELP);
    if (colon && config_check_ifname(colon) < 0)
        return error_set(err, -EINVAL, "--%s: '%s' is not an interface name", key, colon);
    if (mode == NIC_MODE_BRIDGE)
        return error_set(err, -ENOTSUP,
                         "--%s: bridge: not supported yet (attach a tap device you made to the "
                         "bridge and use tap:IFNAME)",
                         key);
    free(n->ifname);
    n->ifname = NULL;
    n->mode = (enum nic_mode)mode;
    n->queues = 1;
    n->vhost = NIC_VHOST_AUTO;
    if (colon && (n->ifname = strdup(colon)) == NULL)
        return -ENOMEM;
    while (ret == 0 && (tok = strtok_r(NULL, ",", &save)))
        ret = nic_attr(key, n, tok, err);
    return ret;
}

/* --nicN SPEC (a new adapter N = count + 1, or a change of adapter N) and --nic SPEC (a new
 * adapter after the others). A new adapter gets its MAC now, once. */
static int o_nic(struct vm_config *cfg, const char *key, const char *val, struct error *err)
{
    size_t slot = strcmp(key, "nic") == 0 ? cfg->nic_count + 1 : key_slot(key);
    struct nic_config n = {0};
    bool is_new = slot == cfg->nic_count + 1;
    int ret;
    if (slot > CONFIG_MAX_NICS)
        return error_set(err, -EINVAL, "--%s: at most %d network adapters", key, CONFIG_MAX_NICS);
    if (slot == 0 || slot > cfg->nic_count + 1)
        return error_set(err, -EINVAL,
                         "--%s: adapters are numbered without gaps: define --nic%zu first", key,
                         cfg->nic_count + 1);
    if (!is_new) {
        n = cfg->nics[slot - 1];
        n.ifname = NULL;
        if (cfg->nics[slot - 1].ifname && (n.ifname = strdup(cfg->nics[slot - 1].ifname)) == NULL)
            return -ENOMEM;
    }
    ret = parse_nic_spec(key, val, &n, err);
    if (ret == 0 && is_new && n.mac[0] == '\0' && (ret = generate_mac(cfg, n.mac)) < 0)
        error_set(err, ret, "--%s: cannot generate a MAC address", key);
    if (ret < 0) {
        free(n.ifname);
        return ret;
    }
    if (!is_new)
        free(cfg->nics[slot - 1].ifname);
    else
        cfg->nic_count++;
    cfg->nics[slot - 1] = n;
    return 0;
}

/* --remove-nic N|all: adapters after N move down one number. */
static int o_remove_nic(struct vm_config *cfg, const char *key, const char *val, struct error *err)
{
    uint64_t slot = 0;
    if (strcmp(val, "all") != 0 && (parse_u64(val, &slot) < 0 || slot < 1 || slot > cfg->nic_count))
        return error_set(err, -ENOENT, "--%s: no network adapter %s (there are %zu)", key, val,
                         cfg->nic_count);
    for (size_t i = cfg->nic_count; i-- > 0;) {
        if (slot != 0 && i != slot - 1)
            continue;
        free(cfg->nics[i].ifname);
        memmove(&cfg->nics[i], &cfg->nics[i + 1], (cfg->nic_count - i - 1) * sizeof(cfg->nics[0]));
        cfg->nic_count--;
    }
    return 0;
}

/* Parses a port 1..65535. */
static int parse_port(const char *s, uint16_t *out)
{
    uint64_t v;
    if (parse_u64(s, &v) < 0 || v < 1 || v > 65535)
        return -EINVAL;
    *out = (uint16_t)v;
    return 0;
}

/* Splits (s) at commas into exactly (n) fields (empty ones allowed). */
static int split_fields(char *s, char **fields, size_t n)
{
    size_t i = 0;
    fields[i++] = s;
    for (char *p = s; *p; p++) {
        if (*p != ',')
            continue;
        if (i == n)
            return -EINVAL;
        *p = '\0';
        fields[i++] = p + 1;
    }
    return i == n ? 0 : -EINVAL;
}

int config_parse_forward(const char *spec, struct nic_forward *f, const char **why)
{
    char buf[160], *fld[6];
    int proto;
    memset(f, 0, sizeof(*f));
    if (snprintf(buf, sizeof(buf), "%s", spec) >= (int)sizeof(buf) || split_fields(buf, fld, 6) < 0)
        return *why = "needs six comma-separated fields", -EINVAL;
    if (config_check_forward_name(fld[0]) < 0)
        return *why = "the name must be 1 to 32 characters of [A-Za-z0-9._-]", -EINVAL;
    if ((proto = config_find_name(config_fwd_proto_names, fld[1])) < 0)
        return *why = "the protocol must be tcp or udp", -EINVAL;
    if (fld[2][0] && config_check_ipv4(fld[2]) < 0)
        return *why = "the host address must be an IPv4 address (empty: 127.0.0.1)", -EINVAL;
    if (parse_port(fld[3], &f->host_port) < 0)
        return *why = "the host port must be a number from 1 to 65535", -EINVAL;
    if (fld[4][0] && config_check_guest_ip(fld[4]) < 0)
        return *why = "the guest address must be in the NAT network 10.0.2.0/24 (empty: the "
                      "guest's DHCP address)",
               -EINVAL;
    if (parse_port(fld[5], &f->guest_port) < 0)
        return *why = "the guest port must be a number from 1 to 65535", -EINVAL;
    snprintf(f->name, sizeof(f->name), "%s", fld[0]);
    f->proto = (enum fwd_proto)proto;
    snprintf(f->host_ip, sizeof(f->host_ip), "%s", fld[2][0] ? fld[2] : "127.0.0.1");
    snprintf(f->guest_ip, sizeof(f->guest_ip), "%s", fld[4]);
    return 0;
}

static int find_forward(const struct nic_config *n, const char *name)
{
    for (size_t i = 0; i < n->forward_count; i++)
        if (strcmp(n->forwards[i].name, name) == 0)
            return (int)i;
    return -1;
}

/* --nat-forwardN NAME,tcp|udp,HOSTIP,HOSTPORT,GUESTIP,GUESTPORT | "delete NAME" */
static int o_nat_forward(struct vm_config *cfg, const char *key, const char *val, struct error *err)
{
    struct nic_config *n = NULL;
    struct nic_forward f;
    const char *why = NULL;
    int ret = existing_nic(cfg, key, &n, err), i;
    if (ret < 0)
        return ret;
    if (strncmp(val, "delete ", 7) == 0) {
        if ((i = find_forward(n, val + 7)) < 0)
            return error_set(err, -ENOENT, "--%s: adapter %zu has no forward named '%.64s'", key,
                             key_slot(key), val + 7);
        memmove(&n->forwards[i], &n->forwards[i + 1],
                (n->forward_count - (size_t)i - 1) * sizeof(n->forwards[0]));
        n->forward_count--;
        return 0;
    }
    if (n->mode != NIC_MODE_NAT)
        return error_set(err, -EINVAL,
                         "--%s: adapter %zu is %s: port forwards are for NAT adapters", key,
                         key_slot(key), config_nic_mode_name(n->mode));
    if (config_parse_forward(val, &f, &why) < 0)
        return error_set(err, -EINVAL, "--%s: '%.160s': %s (%s)", key, val, why, FWD_SPEC_HELP);
    if (find_forward(n, f.name) >= 0)
        return error_set(err, -EEXIST,
                         "--%s: adapter %zu has a forward named '%s' already (--%s delete %s "
                         "removes it)",
                         key, key_slot(key), f.name, key, f.name);
    if (n->forward_count == CONFIG_MAX_FORWARDS)
        return error_set(err, -EINVAL, "--%s: at most %d forwards per adapter", key,
                         CONFIG_MAX_FORWARDS);
    n->forwards[n->forward_count++] = f;
    return 0;
}

/* --nat-restrictN on|off */
static int o_nat_restrict(struct vm_config *cfg, const char *key, const char *val,
                          struct error *err)
{
    struct nic_config *n = NULL;
    bool is_on;
    int ret = existing_nic(cfg, key, &n, err);
    if (ret < 0)
        return ret;
    if (config_parse_onoff(val, &is_on) < 0)
        return error_set(err, -EINVAL, "--%s: must be on or off", key);
    if (is_on && n->mode != NIC_MODE_NAT)
        return error_set(err, -EINVAL, "--%s: adapter %zu is %s: restrict is for NAT adapters", key,
                         key_slot(key), config_nic_mode_name(n->mode));
    n->is_restricted = is_on;
    return 0;
}

/* --nat-tftpN DIR|none: the directory the NAT gateway serves by TFTP (made absolute; the
 * monitor's --nic takes it between commas, so none may appear in it). */
static int o_nat_tftp(struct vm_config *cfg, const char *key, const char *val, struct error *err)
{
    struct nic_config *n = NULL;
    char real[PATH_MAX];
    struct stat st;
    int ret = existing_nic(cfg, key, &n, err);
    if (ret < 0)
        return ret;
    if (strcmp(val, "none") == 0 || val[0] == '\0') {
        n->tftp[0] = n->bootfile[0] = '\0';
        return 0;
    }
    if (n->mode != NIC_MODE_NAT)
        return error_set(err, -EINVAL, "--%s: adapter %zu is %s: TFTP is for NAT adapters", key,
                         key_slot(key), config_nic_mode_name(n->mode));
    if (realpath(val, real) == NULL || stat(real, &st) < 0)
        return error_set(err, -errno, "--%s: %s: %s", key, val, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return error_set(err, -EINVAL, "--%s: %s: not a directory", key, val);
    if (strcmp(real, "/") == 0)
        return error_set(err, -EINVAL, "--%s: %s: the root directory cannot be served", key, val);
    if (strlen(real) >= sizeof(n->tftp) || strpbrk(real, ",\n") != NULL)
        return error_set(err, -EINVAL,
                         "--%s: %s: expected a path of at most %zu characters without commas", key,
                         real, sizeof(n->tftp) - 1);
    snprintf(n->tftp, sizeof(n->tftp), "%s", real);
    return 0;
}

/* Returns NULL if (name) may be a boot file in the TFTP directory, else why not. */
static const char *bootfile_problem(const char *name, size_t max)
{
    size_t len = strlen(name);
    if (len >= max)
        return "too long";
    if (name[0] == '/' || strcmp(name, "..") == 0 || strncmp(name, "../", 3) == 0 ||
        strstr(name, "/../") != NULL || (len >= 3 && strcmp(name + len - 3, "/..") == 0))
        return "expected a file name relative to the TFTP directory (no leading '/', no '..')";
    if (strpbrk(name, ",\n") != NULL)
        return "commas and newlines are not allowed";
    return NULL;
}

/* --nat-bootfileN NAME|none: the file of the TFTP directory that DHCP offers for network boot. */
static int o_nat_bootfile(struct vm_config *cfg, const char *key, const char *val,
                          struct error *err)
{
    struct nic_config *n = NULL;
    const char *why;
    int ret = existing_nic(cfg, key, &n, err);
    if (ret < 0)
        return ret;
    if (strcmp(val, "none") == 0 || val[0] == '\0') {
        n->bootfile[0] = '\0';
        return 0;
    }
    if ((why = bootfile_problem(val, sizeof(n->bootfile))) != NULL)
        return error_set(err, -EINVAL, "--%s: '%.160s': %s", key, val, why);
    if (n->tftp[0] == '\0')
        return error_set(err, -EINVAL,
                         "--%s: adapter %zu has no TFTP directory (--nat-tftp%zu DIR)", key,
                         key_slot(key), key_slot(key));
    snprintf(n->bootfile, sizeof(n->bootfile), "%s", val);
    return 0;
}

int config_net_option(struct vm_config *cfg, const char *key, const char *val, struct error *err)
{
    if (strcmp(key, "remove-nic") == 0)
        return o_remove_nic(cfg, key, val, err);
    if (strncmp(key, "nat-forward", 11) == 0)
        return o_nat_forward(cfg, key, val, err);
    if (strncmp(key, "nat-restrict", 12) == 0)
        return o_nat_restrict(cfg, key, val, err);
    if (strncmp(key, "nat-tftp", 8) == 0)
        return o_nat_tftp(cfg, key, val, err);
    if (strncmp(key, "nat-bootfile", 12) == 0)
        return o_nat_bootfile(cfg, key, val, err);
    return o_nic(cfg, key, val, err);
}

/* True if forwards (a) and (b) would listen on the same host socket. */
static bool forwards_clash(const struct nic_forward *a, const struct nic_forward *b)
{
    return a->proto == b->proto && a->host_port == b->host_port &&
           (strcmp(a->host_ip, b->host_ip) == 0 || strcmp(a->host_ip, "0.0.0.0") == 0 ||
            strcmp(b->host_ip, "0.0.0.0") == 0);
}

/* Checks forward (j) of adapter (i) against every earlier forward of the definition. */
static int check_forward(const struct vm_config *cfg, size_t i, size_t j, struct error *err)
{
    const struct nic_forward *f = &cfg->nics[i].forwards[j];
    for (size_t k = 0; k <= i; k++) {
        const struct nic_config *o = &cfg->nics[k];
        for (size_t l = 0; l < (k == i ? j : o->forward_count); l++) {
            if (k == i && strcmp(o->forwards[l].name, f->name) == 0)
                return error_set(err, -EINVAL, "network adapter %zu: two forwards are named '%s'",
                                 i + 1, f->name);
            if (forwards_clash(&o->forwards[l], f))
                return error_set(err, -EINVAL,
                                 "network: host port %s %s:%u is forwarded twice (adapter %zu "
                                 "'%s' and adapter %zu '%s')",
                                 config_fwd_proto_name(f->proto), f->host_ip,
                                 (unsigned)f->host_port, k + 1, o->forwards[l].name, i + 1,
                                 f->name);
        }
    }
    return 0;
}

int config_validate_net(const struct vm_config *cfg, struct error *err)
{
    for (size_t i = 0; i < cfg->nic_count; i++) {
        const struct nic_config *n = &cfg->nics[i];
        int ret;
        if (n->mode != NIC_MODE_NAT && (n->forward_count || n->is_restricted || n->tftp[0]))
            return error_set(err, -EINVAL,
                             "network adapter %zu: port forwards, restrict and TFTP are only for "
                             "NAT adapters (--nat-forward%zu delete NAME, --nat-restrict%zu off, "
                             "--nat-tftp%zu none)",
                             i + 1, i + 1, i + 1, i + 1);
        if (strpbrk(n->tftp, ",\n") != NULL)
            return error_set(err, -EINVAL, "network adapter %zu: TFTP directory '%s' has a comma",
                             i + 1, n->tftp);
        if (n->bootfile[0] && (!n->tftp[0] || bootfile_problem(n->bootfile, sizeof(n->bootfile))))
            return error_set(err, -EINVAL,
                             "network adapter %zu: bootfile '%s' needs a TFTP directory and a "
                             "name relative to it",
                             i + 1, n->bootfile);
        if (n->queues > cfg->cpus)
            return error_set(err, -EINVAL,
                             "network adapter %zu: queues=%u is more than the VM's %u CPUs", i + 1,
                             (unsigned)n->queues, (unsigned)cfg->cpus);
        for (size_t j = 0; j < i; j++)
            if (n->mac[0] && strcasecmp(n->mac, cfg->nics[j].mac) == 0)
                return error_set(err, -EINVAL, "network: adapters %zu and %zu have the same MAC %s",
                                 j + 1, i + 1, n->mac);
        for (size_t j = 0; j < n->forward_count; j++)
            if ((ret = check_forward(cfg, i, j, err)) < 0)
                return ret;
    }
    return 0;
}
