/* SPDX-License-Identifier: MIT */
/*
 * The network commands of the control server (docs/control-api.md "Network"): query-net,
 * net-hostfwd-add, net-hostfwd-remove and net-link. Internal to control_server.c, which
 * dispatches to them; each checks its arguments (nic 0..CONTROL_MAX_NICS-1, rule a string of
 * at most CONTROL_NET_MAX_RULE bytes, up a boolean, no other member), answers ENOTSUP when the
 * monitor left the op NULL, and otherwise calls the op of (ops) with (opaque).
 */
#ifndef BAREIRON_MGR_CONTROL_NET_H
#define BAREIRON_MGR_CONTROL_NET_H

#include <jansson.h>

#include "base/error.h"
#include "mgr/control_server.h"

/* Longest hostfwd rule accepted in a request. */
#define CONTROL_NET_MAX_RULE 255

/* Each fills (result) or returns a negative errno with (err) set. */
int control_net_query(const struct control_ops *ops, void *opaque, json_t *args, json_t *result,
                      struct error *err);
int control_net_hostfwd_add(const struct control_ops *ops, void *opaque, json_t *args,
                            json_t *result, struct error *err);
int control_net_hostfwd_remove(const struct control_ops *ops, void *opaque, json_t *args,
                               json_t *result, struct error *err);
int control_net_link(const struct control_ops *ops, void *opaque, json_t *args, json_t *result,
                     struct error *err);

#endif
