/* SPDX-License-Identifier: MIT */
/*
 * Implementation of mgr/client.h: a blocking, one-request-at-a-time client of the control
 * socket (docs/control-api.md) with poll(2) deadlines.
 */
#include "mgr/client.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/util.h"
#include "mgr/api.h"

int client_connect(struct client *c, const char *path, struct error *err)
{
    struct sockaddr_un sa;
    int dirfd, ret;
    memset(c, 0, sizeof(*c));
    c->fd = -1;
    c->next_id = 1;
    ret = api_unix_addr(path, &sa, &dirfd);
    if (ret < 0)
        return error_set(err, ret, "%s: %s", path, strerror(-ret));
    c->buf = malloc(API_MAX_MESSAGE_BYTES);
    c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->buf == NULL || c->fd < 0) {
        ret = error_set(err, c->buf ? -errno : -ENOMEM, "control socket: %s",
                        strerror(c->buf ? errno : ENOMEM));
        goto fail;
    }
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        ret = error_set(err, -errno, "cannot connect to %s: %s", path, strerror(errno));
        goto fail;
    }
    if (dirfd >= 0)
        close(dirfd);
    return 0;
fail:
    if (dirfd >= 0)
        close(dirfd);
    client_close(c);
    return ret;
}

void client_close(struct client *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    free(c->buf);
    c->buf = NULL;
    c->len = 0;
}

static int remaining_ms(uint64_t deadline_ns)
{
    uint64_t now = time_now_ns();
    return now >= deadline_ns ? 0 : (int)((deadline_ns - now) / 1000000 + 1);
}

/* Reads until a whole line is buffered; returns its length (without the newline). */
static int read_line(struct client *c, uint64_t deadline_ns, size_t *line_len, struct error *err)
{
    for (;;) {
        char *nl = memchr(c->buf, '\n', c->len);
        struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
        ssize_t n;
        int r;
        if (nl) {
            *line_len = (size_t)(nl - c->buf);
            return 0;
        }
        if (c->len == API_MAX_MESSAGE_BYTES)
            return error_set(err, -EPROTO, "monitor reply longer than 64 KiB");
        r = poll(&pfd, 1, remaining_ms(deadline_ns));
        if (r < 0 && errno == EINTR)
            continue;
        if (r == 0)
            return error_set(err, -ETIMEDOUT, "the monitor did not answer in time");
        n = recv(c->fd, c->buf + c->len, API_MAX_MESSAGE_BYTES - c->len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return error_set(err, -EPIPE, "the monitor closed the control connection");
        c->len += (size_t)n;
    }
}

/* Sends the first byte of (line) with descriptor (fd) attached (SCM_RIGHTS), the rest as
 * usual. Returns 0 or -errno. */
static int send_with_fd(int sock, const char *line, size_t len, int fd)
{
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int))];
    } ctl;
    char first = line[0];
    struct iovec iov = {.iov_base = &first, .iov_len = 1};
    struct msghdr msg = {.msg_iov = &iov,
                         .msg_iovlen = 1,
                         .msg_control = ctl.buf,
                         .msg_controllen = sizeof(ctl.buf)};
    struct cmsghdr *h = CMSG_FIRSTHDR(&msg);
    ssize_t n;
    memset(ctl.buf, 0, sizeof(ctl.buf));
    h->cmsg_level = SOL_SOCKET;
    h->cmsg_type = SCM_RIGHTS;
    h->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(h), &fd, sizeof(fd));
    do
        n = sendmsg(sock, &msg, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    return send_full(sock, line + 1, len - 1);
}

int client_call(struct client *c, const char *cmd, json_t *args, int timeout_ms, json_t **result,
                struct error *err)
{
    return client_call_fd(c, cmd, args, -1, timeout_ms, result, err);
}

int client_call_fd(struct client *c, const char *cmd, json_t *args, int fd, int timeout_ms,
                   json_t **result, struct error *err)
{
    uint64_t deadline = time_now_ns() + (uint64_t)timeout_ms * 1000000;
    int64_t id = c->next_id++;
    struct api_reply rep;
    char *line;
    size_t len = 0;
    int ret = api_request_encode(id, cmd, args, &line);
    if (ret < 0)
        return error_set(err, ret, "cannot encode the request: %s", strerror(-ret));
    ret = fd >= 0 ? send_with_fd(c->fd, line, strlen(line), fd)
                  : send_full(c->fd, line, strlen(line));
    free(line);
    if (ret < 0)
        return error_set(err, ret, "cannot send to the monitor: %s", strerror(-ret));
    for (;;) {
        struct error derr = {0};
        if ((ret = read_line(c, deadline, &len, err)) < 0)
            return ret;
        ret = api_reply_decode(c->buf, len, &rep, &derr);
        memmove(c->buf, c->buf + len + 1, c->len - len - 1);
        c->len -= len + 1;
        if (ret < 0) {
            api_reply_fini(&rep);
            return error_set(err, -EPROTO, "bad reply from the monitor: %s", derr.message);
        }
        if (rep.id == id || rep.id == API_ID_NONE)
            break;
        api_reply_fini(&rep); /* a stale reply to an earlier, timed-out request */
    }
    if (!rep.is_ok) {
        ret = error_set(err, rep.code, "%s: %s", cmd, rep.message);
    } else if (result) {
        *result = rep.result;
        rep.result = NULL;
    }
    api_reply_fini(&rep);
    return ret;
}

int client_net_hostfwd(struct client *c, bool is_add, unsigned nic, const char *rule,
                       int timeout_ms, struct error *err)
{
    json_t *args = json_pack("{s:i,s:s}", "nic", (int)nic, "rule", rule);
    int ret;
    if (args == NULL)
        return error_set(err, -ENOMEM, "out of memory");
    ret = client_call(c, is_add ? "net-hostfwd-add" : "net-hostfwd-remove", args, timeout_ms, NULL,
                      err);
    json_decref(args);
    return ret;
}

int client_query_net(struct client *c, int timeout_ms, json_t **nics, struct error *err)
{
    json_t *res = NULL, *arr, *item;
    size_t i;
    int ret = client_call(c, "query-net", NULL, timeout_ms, &res, err);
    if (ret < 0)
        return ret;
    arr = json_object_get(res, "nics");
    if (!json_is_array(arr)) {
        json_decref(res);
        return error_set(err, -EPROTO, "bad reply from the monitor: query-net has no \"nics\"");
    }
    json_array_foreach(arr, i, item)
    {
        if (!json_is_object(item) || !json_is_integer(json_object_get(item, "index"))) {
            json_decref(res);
            return error_set(err, -EPROTO,
                             "bad reply from the monitor: query-net item %zu is not an adapter", i);
        }
    }
    *nics = json_incref(arr);
    json_decref(res);
    return 0;
}
