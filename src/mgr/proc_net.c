/* SPDX-License-Identifier: MIT */
/*
 * The network side of running a VM (mgr/proc.h): whether the monitor binary has network
 * adapters at all (its --help names --nic), the --nic option of each adapter (the syntax of
 * docs/vmm.md: nat[,mac=][,hostfwd=RULE]...[,restrict=on], tap,ifname=IF[,mac=],
 * none[,mac=]), the port forwards a `set` changes while the VM runs, applied through the
 * control API's net-hostfwd-add/-remove, and the adapters' counters of query-net.
 */
#define LOG_TAG "proc"
#include "mgr/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "mgr/client.h"

#define HELP_MAX_BYTES (64 * 1024)
#define HELP_TIMEOUT_MS 5000

/* Reads what (fd) gives until end of file, (size - 1) bytes or the deadline. */
static size_t read_bounded(int fd, char *buf, size_t size, uint64_t deadline_ns)
{
    size_t len = 0;
    while (len + 1 < size) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        uint64_t now = time_now_ns();
        ssize_t n;
        if (now >= deadline_ns || poll(&pfd, 1, (int)((deadline_ns - now) / 1000000 + 1)) <= 0)
            break;
        n = read(fd, buf + len, size - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    return len;
}

/* True if (text) names the option --nic (not just a longer option starting with it). */
static bool names_nic_option(const char *text)
{
    for (const char *p = strstr(text, "--nic"); p; p = strstr(p + 1, "--nic")) {
        char c = p[5];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
            return true;
    }
    return false;
}

bool proc_vmm_has_nic(const char *vmm)
{
    char *buf = malloc(HELP_MAX_BYTES);
    int pfd[2], status;
    bool has_nic = false;
    pid_t pid;
    if (buf == NULL || pipe2(pfd, O_CLOEXEC) < 0) {
        free(buf);
        return false;
    }
    pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_RDONLY);
        if (null >= 0)
            dup2(null, 0);
        dup2(pfd[1], 1);
        dup2(pfd[1], 2);
        execl(vmm, vmm, "--help", (char *)NULL);
        _exit(127);
    }
    close(pfd[1]);
    if (pid > 0) {
        read_bounded(pfd[0], buf, HELP_MAX_BYTES, time_now_ns() + HELP_TIMEOUT_MS * 1000000ull);
        has_nic = names_nic_option(buf);
        kill(pid, SIGKILL); /* it has exited already, or it hangs */
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
    }
    close(pfd[0]);
    free(buf);
    return has_nic;
}

int proc_nic_arg(const struct nic_config *n, char *buf, size_t size)
{
    size_t off;
    if (n->mode == NIC_MODE_TAP)
        off = (size_t)snprintf(buf, size, "tap,ifname=%s", n->ifname ? n->ifname : "");
    else
        off = (size_t)snprintf(buf, size, "%s", n->mode == NIC_MODE_NONE ? "none" : "nat");
    if (off < size && n->mac[0])
        off += (size_t)snprintf(buf + off, size - off, ",mac=%s", n->mac);
    for (size_t i = 0; n->mode == NIC_MODE_NAT && i < n->forward_count && off < size; i++) {
        char rule[128];
        config_forward_rule(&n->forwards[i], rule, sizeof(rule));
        off += (size_t)snprintf(buf + off, size - off, ",hostfwd=%s", rule);
    }
    if (off < size && n->mode == NIC_MODE_TAP && n->queues > 1)
        off += (size_t)snprintf(buf + off, size - off, ",queues=%u", (unsigned)n->queues);
    if (off < size && n->mode == NIC_MODE_TAP && n->vhost != NIC_VHOST_AUTO)
        off +=
            (size_t)snprintf(buf + off, size - off, ",vhost=%s", config_nic_vhost_names[n->vhost]);
    if (off < size && n->mode == NIC_MODE_NAT && n->is_restricted)
        off += (size_t)snprintf(buf + off, size - off, ",restrict=on");
    if (off < size && n->mode == NIC_MODE_NAT && n->tftp[0])
        off += (size_t)snprintf(buf + off, size - off, ",tftp=%s", n->tftp);
    if (off < size && n->mode == NIC_MODE_NAT && n->tftp[0] && n->bootfile[0])
        off += (size_t)snprintf(buf + off, size - off, ",bootfile=%s", n->bootfile);
    return off < size ? 0 : -ENAMETOOLONG;
}

int proc_check_taps(const struct vm_config *cfg, struct error *err)
{
    for (size_t i = 0; i < cfg->nic_count; i++) {
        const struct nic_config *n = &cfg->nics[i];
        char path[64];
        if (n->mode != NIC_MODE_TAP || n->ifname == NULL)
            continue;
        snprintf(path, sizeof(path), "/sys/class/net/%s", n->ifname);
        if (access(path, F_OK) < 0)
            return error_set(err, -ENOENT,
                             "VM '%s': network adapter %zu: there is no network interface '%s' "
                             "(create the tap device first: ip tuntap add %s mode tap user USER)",
                             cfg->name, i + 1, n->ifname, n->ifname);
    }
    return 0;
}

/* True if adapter (n) has a forward whose rule is (rule). */
static bool has_rule(const struct nic_config *n, const char *rule)
{
    for (size_t i = 0; i < n->forward_count; i++) {
        char r[128];
        config_forward_rule(&n->forwards[i], r, sizeof(r));
        if (strcmp(r, rule) == 0)
            return true;
    }
    return false;
}

/* One change of a running monitor's forwards. */
struct fwd_change {
    bool is_add;
    unsigned nic;
    char rule[128];
};

/* Lists in (ch) what turns (from)'s forwards into (to)'s: removals first, so that a forward
 * moved to another name or adapter frees its host port before it is taken again. */
static size_t diff_forwards(const struct vm_config *from, const struct vm_config *to,
                            struct fwd_change *ch)
{
    size_t n = 0, count = MIN(from->nic_count, to->nic_count);
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < count; i++) {
            const struct nic_config *a = pass ? &to->nics[i] : &from->nics[i];
            const struct nic_config *b = pass ? &from->nics[i] : &to->nics[i];
            for (size_t j = 0; j < a->forward_count; j++) {
                config_forward_rule(&a->forwards[j], ch[n].rule, sizeof(ch[n].rule));
                if (has_rule(b, ch[n].rule))
                    continue;
                ch[n].is_add = pass == 1;
                ch[n++].nic = (unsigned)i;
            }
        }
    }
    return n;
}

int proc_apply_forwards(const struct store *st, const char *name, const struct vm_config *from,
                        const struct vm_config *to, struct error *err)
{
    struct fwd_change ch[2 * CONFIG_MAX_NICS * CONFIG_MAX_FORWARDS];
    struct client c;
    char path[PATH_MAX];
    size_t n = diff_forwards(from, to, ch), done = 0;
    int ret = 0;
    if (n == 0)
        return 0;
    if (store_vm_path(st, name, "run/control.sock", path, sizeof(path)) < 0)
        return error_set(err, -ENAMETOOLONG, "path too long");
    if (client_connect(&c, path, NULL) < 0)
        return error_set(err, -ESRCH, "VM '%s' is not running (no monitor answers on %s)", name,
                         path);
    for (; done < n && ret == 0; done++)
        ret = client_net_hostfwd(&c, ch[done].is_add, ch[done].nic, ch[done].rule,
                                 PROC_CALL_TIMEOUT_MS, err);
    if (ret < 0) {
        /* Undo what went through, so that the monitor keeps matching the definition. */
        for (size_t i = done - 1; i-- > 0;)
            if (client_net_hostfwd(&c, !ch[i].is_add, ch[i].nic, ch[i].rule, PROC_CALL_TIMEOUT_MS,
                                   NULL) < 0)
                log_warn("VM '%s': could not undo the change of forward %s of adapter %u", name,
                         ch[i].rule, ch[i].nic + 1);
    }
    client_close(&c);
    return ret;
}

int proc_query_net(const struct store *st, const char *name, json_t **nics, struct error *err)
{
    struct client c;
    char path[PATH_MAX];
    int ret;
    if (store_vm_path(st, name, "run/control.sock", path, sizeof(path)) < 0)
        return error_set(err, -ENAMETOOLONG, "path too long");
    if (client_connect(&c, path, NULL) < 0)
        return error_set(err, -ESRCH, "VM '%s' is not running (no monitor answers on %s)", name,
                         path);
    ret = client_query_net(&c, PROC_CALL_TIMEOUT_MS, nics, err);
    client_close(&c);
    return ret;
}
