/* SPDX-License-Identifier: MIT */
/*
 * The manager's side of the control protocol (docs/control-api.md): connects to a monitor's
 * control socket, sends one request at a time and waits (bounded) for the reply with the same
 * id. Replies that fail to decode, time out or close the connection are reported as errors
 * naming the socket; a monitor's error reply becomes its errno and message.
 */
#ifndef BAREIRON_MGR_CLIENT_H
#define BAREIRON_MGR_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "base/compiler.h"
#include "base/error.h"

struct client {
    int fd;
    int64_t next_id;
    char *buf; /* received bytes not yet consumed (API_MAX_MESSAGE_BYTES) */
    size_t len;
};

/*
 * Connects (c) to the control socket (path). Returns 0, -ENOENT/-ECONNREFUSED when nothing
 * listens there, or another negative errno; (err) is filled in every failure case.
 */
MUST_CHECK int client_connect(struct client *c, const char *path, struct error *err);

/*
 * Sends (cmd) with (args) (NULL for none; not consumed) and waits at most (timeout_ms) for
 * the reply. On success returns 0 and, if (result) is not NULL, a new reference to the result
 * object in (*result). A monitor's error reply returns its negative errno with the message in
 * (err); transport problems return -EPROTO, -ETIMEDOUT or -EPIPE.
 */
MUST_CHECK int client_call(struct client *c, const char *cmd, json_t *args, int timeout_ms,
                           json_t **result, struct error *err);
/* The same with descriptor (fd) sent along with the request (SCM_RIGHTS; not closed here), as
 * media-change takes a new image's descriptor. (fd) -1: none. */
MUST_CHECK int client_call_fd(struct client *c, const char *cmd, json_t *args, int fd,
                              int timeout_ms, json_t **result, struct error *err);

/* client_call that also passes descriptor (fd) with the request (SCM_RIGHTS; -1: none), as
 * save takes the state file's. (fd) stays the caller's. */
MUST_CHECK int client_call_fd(struct client *c, const char *cmd, json_t *args, int fd,
                              int timeout_ms, json_t **result, struct error *err);

/*
 * The network commands (docs/control-api.md "Network"). client_net_hostfwd sends
 * net-hostfwd-add (is_add) or net-hostfwd-remove for adapter (nic) (0-based, the monitor's
 * numbering) and (rule) ("tcp:127.0.0.1:2222-:22"). client_query_net sends query-net and
 * returns a new reference to its "nics" array in (*nics) after checking that each item is an
 * object with an integer "index": the monitor's reply is not trusted. Same returns as
 * client_call; a monitor without network answers -ENOTSUP.
 */
MUST_CHECK int client_net_hostfwd(struct client *c, bool is_add, unsigned nic, const char *rule,
                                  int timeout_ms, struct error *err);
MUST_CHECK int client_query_net(struct client *c, int timeout_ms, json_t **nics, struct error *err);

/* Closes the connection and frees the buffer. Safe on a client that never connected when
 * zero-initialized with fd = -1. */
void client_close(struct client *c);

#endif
