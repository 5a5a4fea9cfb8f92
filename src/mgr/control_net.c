/* SPDX-License-Identifier: MIT */
/*
 * Implementation of mgr/control_net.h: the control server's network commands. The monitor's
 * answers are copied defensively too: at most CONTROL_MAX_NICS adapters and
 * CONTROL_MAX_HOSTFWD forwards each, a MAC of at most 17 characters, NULL strings left out.
 */
#include "mgr/control_net.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/util.h"
#include "mgr/api.h"

/* Sets (obj).(key) to (v) unless unknown (or too large for a JSON integer). */
static void set_counter(json_t *obj, const char *key, uint64_t v)
{
    if (v != CONTROL_STAT_UNKNOWN && v <= (uint64_t)INT64_MAX)
        json_object_set_new(obj, key, json_integer((json_int_t)v));
}

static json_t *nic_json(const struct control_nic_stats *s)
{
    json_t *o = json_object(), *fwd = json_array();
    char mac[18];
    snprintf(mac, sizeof(mac), "%.*s", (int)strnlen(s->mac, sizeof(s->mac) - 1), s->mac);
    json_object_set_new(o, "index", json_integer(s->index));
    if (s->type)
        json_object_set_new(o, "type", json_string(s->type));
    json_object_set_new(o, "mac", json_string(mac));
    json_object_set_new(o, "link", json_boolean(s->link));
    set_counter(o, "rx_packets", s->rx_packets);
    set_counter(o, "rx_bytes", s->rx_bytes);
    set_counter(o, "tx_packets", s->tx_packets);
    set_counter(o, "tx_bytes", s->tx_bytes);
    set_counter(o, "rx_dropped", s->rx_dropped);
    set_counter(o, "tx_dropped", s->tx_dropped);
    set_counter(o, "errors", s->errors);
    for (unsigned i = 0; i < s->nhostfwd && i < CONTROL_MAX_HOSTFWD; i++)
        if (s->hostfwd[i])
            json_array_append_new(fwd, json_string(s->hostfwd[i]));
    json_object_set_new(o, "hostfwd", fwd);
    return o;
}

int control_net_query(const struct control_ops *ops, void *opaque, json_t *args, json_t *result,
                      struct error *err)
{
    struct control_nic_stats st[CONTROL_MAX_NICS];
    unsigned n = 0;
    json_t *nics;
    int ret;
    (void)args;
    if (ops->query_net == NULL)
        return error_set(err, -ENOTSUP, "query-net is not supported by this monitor");
    memset(st, 0, sizeof(st));
    for (unsigned i = 0; i < CONTROL_MAX_NICS; i++) {
        st[i].index = i;
        st[i].rx_packets = st[i].rx_bytes = st[i].tx_packets = st[i].tx_bytes =
            CONTROL_STAT_UNKNOWN;
        st[i].rx_dropped = st[i].tx_dropped = st[i].errors = CONTROL_STAT_UNKNOWN;
    }
    ret = ops->query_net(opaque, st, CONTROL_MAX_NICS, &n, err);
    if (ret < 0)
        return ret;
    nics = json_array();
    for (unsigned i = 0; i < n && i < CONTROL_MAX_NICS; i++)
        json_array_append_new(nics, nic_json(&st[i]));
    json_object_set_new(result, "nics", nics);
    return 0;
}

/* Reads the "nic" argument, an adapter index 0..CONTROL_MAX_NICS-1. */
static int arg_nic(json_t *args, unsigned *nic, struct error *err)
{
    uint64_t v = 0;
    int ret = api_arg_uint(args, "nic", true, &v, err);
    if (ret < 0)
        return ret;
    if (v >= CONTROL_MAX_NICS)
        return error_set(err, -EINVAL, "argument \"nic\" must be 0 to %d", CONTROL_MAX_NICS - 1);
    *nic = (unsigned)v;
    return 0;
}

/* net-hostfwd-add and -remove: {"nic": N, "rule": "tcp:127.0.0.1:2222-:22"}. */
static int hostfwd(const struct control_ops *ops, void *opaque, json_t *args, bool is_add,
                   struct error *err)
{
    static const char *const keys[] = {"nic", "rule", NULL};
    int (*op)(void *, unsigned, const char *, struct error *) =
        is_add ? ops->net_hostfwd_add : ops->net_hostfwd_remove;
    const char *rule = NULL;
    unsigned nic = 0;
    int ret;
    if (op == NULL)
        return error_set(err, -ENOTSUP, "%s is not supported by this monitor",
                         is_add ? "net-hostfwd-add" : "net-hostfwd-remove");
    if ((ret = api_check_args(args, keys, err)) < 0 || (ret = arg_nic(args, &nic, err)) < 0 ||
        (ret = api_arg_str(args, "rule", true, CONTROL_NET_MAX_RULE, &rule, err)) < 0)
        return ret;
    return op(opaque, nic, rule, err);
}

int control_net_hostfwd_add(const struct control_ops *ops, void *opaque, json_t *args,
                            json_t *result, struct error *err)
{
    (void)result;
    return hostfwd(ops, opaque, args, true, err);
}

int control_net_hostfwd_remove(const struct control_ops *ops, void *opaque, json_t *args,
                               json_t *result, struct error *err)
{
    (void)result;
    return hostfwd(ops, opaque, args, false, err);
}

int control_net_link(const struct control_ops *ops, void *opaque, json_t *args, json_t *result,
                     struct error *err)
{
    static const char *const keys[] = {"nic", "up", NULL};
    unsigned nic = 0;
    bool is_up = false;
    int ret;
    (void)result;
    if (ops->net_link == NULL)
        return error_set(err, -ENOTSUP, "net-link is not supported by this monitor");
    if ((ret = api_check_args(args, keys, err)) < 0 || (ret = arg_nic(args, &nic, err)) < 0 ||
        (ret = api_arg_bool(args, "up", true, &is_up, err)) < 0)
        return ret;
    return ops->net_link(opaque, nic, is_up, err);
}
