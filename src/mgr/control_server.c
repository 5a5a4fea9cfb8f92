/* SPDX-License-Identifier: MIT */
/*
 * Implementation of mgr/control_server.h: the monitor's control socket (docs/control-api.md).
 * Each client has a 64 KiB input buffer that is split at newlines; each complete
 * line is decoded by mgr/api.c, dispatched through a table of commands to the monitor's
 * control_ops, and answered at once. Replies that do not fit in the socket buffer wait in a
 * per-client output queue drained on EPOLLOUT; a client that lets it grow past a bound is
 * dropped. A line longer than the limit is answered with E2BIG and skipped up to its newline.
 */
#define LOG_TAG "control"
#include "mgr/control_server.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#include "base/evloop.h"
#include "base/log.h"
#include "mgr/api.h"
#include "mgr/control_input.h"
#include "mgr/control_media.h"
#include "mgr/control_display.h"
#include "mgr/control_net.h"

/* A client that does not read its replies is dropped when this much is queued. */
#define MAX_QUEUED_BYTES (4 * CONTROL_MAX_MESSAGE_BYTES)

struct client {
    struct control_server *srv;
    int fd; /* -1: slot free */
    char *in;
    size_t in_len;
    bool is_skipping; /* dropping an oversized line up to its newline */
    char *out;
    size_t out_len, out_cap;
    int passed_fd; /* the last descriptor the client sent (SCM_RIGHTS), -1: none */
};

struct control_server {
    struct evloop *loop;
    int listen_fd;
    char *path;
    char *vm_name;
    const struct control_ops *ops;
    void *opaque;
    struct client clients[CONTROL_MAX_CLIENTS];
    int passed_fd; /* the descriptor of the request being dispatched, -1: none */
};

typedef int (*handler_fn)(struct control_server *srv, json_t *args, json_t *result,
                          struct error *err);

static void client_close(struct client *c)
{
    if (c->fd < 0)
        return;
    (void)evloop_del(c->srv->loop, c->fd);
    close(c->fd);
    c->fd = -1;
    if (c->passed_fd >= 0)
        close(c->passed_fd);
    c->passed_fd = -1;
    free(c->in);
    free(c->out);
    c->in = c->out = NULL;
    c->in_len = c->out_len = c->out_cap = 0;
    c->is_skipping = false;
}

/* Writes as much of the queue as the socket takes. Returns 0, or -errno if the peer is gone. */
static int client_flush(struct client *c)
{
    size_t done = 0;
    while (done < c->out_len) {
        ssize_t n = send(c->fd, c->out + done, c->out_len - done, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n <= 0)
            return n < 0 ? -errno : -EPIPE;
        done += (size_t)n;
    }
    memmove(c->out, c->out + done, c->out_len - done);
    c->out_len -= done;
    return evloop_mod(c->srv->loop, c->fd, EPOLLIN | (c->out_len ? EPOLLOUT : 0u));
}

static int client_queue(struct client *c, const char *line)
{
    size_t n = strlen(line);
    if (c->out_len + n > MAX_QUEUED_BYTES)
        return -ENOBUFS;
    if (c->out_len + n > c->out_cap) {
        size_t cap = MAX(c->out_cap * 2, c->out_len + n);
        char *p = realloc(c->out, cap);
        if (p == NULL)
            return -ENOMEM;
        c->out = p;
        c->out_cap = cap;
    }
    memcpy(c->out + c->out_len, line, n);
    c->out_len += n;
    return client_flush(c);
}

static int send_error(struct client *c, int64_t id, int code, const char *msg)
{
    char *line;
    int ret = api_reply_encode_error(id, code, msg, &line);
    if (ret < 0)
        return ret;
    ret = client_queue(c, line);
    free(line);
    return ret;
}

static const char *run_state_name(enum control_run_state s)
{
    switch (s) {
    case CONTROL_RUN_STARTING:
        return "starting";
    case CONTROL_RUN_RUNNING:
        return "running";
    case CONTROL_RUN_PAUSED:
        return "paused";
    case CONTROL_RUN_STOPPING:
        return "stopping";
    }
    return "unknown";
}

static int h_hello(struct control_server *srv, json_t *args, json_t *result, struct error *err)
{
    uint64_t client_version = 0;
    int ret = api_arg_uint(args, "version", false, &client_version, err);
    if (ret < 0)
        return ret;
    json_object_set_new(result, "protocol", json_integer(CONTROL_PROTOCOL_VERSION));
    json_object_set_new(result, "server", json_string("bareiron-vmm " BAREIRON_VERSION));
    json_object_set_new(result, "name", json_string(srv->vm_name ? srv->vm_name : ""));
    json_object_set_new(result, "pid", json_integer(getpid()));
    return 0;
}

static int h_query_state(struct control_server *srv, json_t *args, json_t *result,
                         struct error *err)
{
    (void)args;
    if (srv->ops->query_state == NULL)
        return error_set(err, -ENOTSUP, "query-state is not supported by this monitor");
    json_object_set_new(result, "state",
                        json_string(run_state_name(srv->ops->query_state(srv->opaque))));
    json_object_set_new(result, "pid", json_integer(getpid()));
    return 0;
}

static void set_str(json_t *obj, const char *key, const char *val)
{
    if (val != NULL)
        json_object_set_new(obj, key, json_string(val));
}

static int h_query_config(struct control_server *srv, json_t *args, json_t *result,
                          struct error *err)
{
    struct control_config cfg = {0};
    json_t *disks;
    int ret;
    (void)args;
    if (srv->ops->query_config == NULL)
        return error_set(err, -ENOTSUP, "query-config is not supported by this monitor");
    ret = srv->ops->query_config(srv->opaque, &cfg, err);
    if (ret < 0)
        return ret;
    set_str(result, "name", cfg.name);
    json_object_set_new(result, "cpus", json_integer(cfg.cpus));
    json_object_set_new(result, "memory_bytes", json_integer((json_int_t)cfg.memory_bytes));
    set_str(result, "kernel", cfg.kernel);
    set_str(result, "initrd", cfg.initrd);
    set_str(result, "cmdline", cfg.cmdline);
    set_str(result, "cdrom", cfg.cdrom);
    set_str(result, "floppy", cfg.floppy);
    set_str(result, "uuid", cfg.uuid);
    disks = json_array();
    for (size_t i = 0; i < cfg.disk_count && i < CONTROL_MAX_DISKS; i++)
        if (cfg.disks[i])
            json_array_append_new(disks, json_string(cfg.disks[i]));
    json_object_set_new(result, "disks", disks);
    return 0;
}

/* Sets (obj).(key) to (v) unless unknown (or too large for a JSON integer). */
static void set_stat(json_t *obj, const char *key, uint64_t v)
{
    if (v != CONTROL_STAT_UNKNOWN && v <= (uint64_t)INT64_MAX)
        json_object_set_new(obj, key, json_integer((json_int_t)v));
}

/* One disk's counters, in (disk) and summed into (total). */
static void disk_stats(const struct control_disk_stats *d, json_t *disk,
                       struct control_disk_stats *total)
{
#define DSTAT(f)                                                                                   \
    do {                                                                                           \
        set_stat(disk, #f, d->f);                                                                  \
        if (d->f != CONTROL_STAT_UNKNOWN)                                                          \
            total->f += d->f;                                                                      \
    } while (0)
    DSTAT(read_ops);
    DSTAT(write_ops);
    DSTAT(read_bytes);
    DSTAT(write_bytes);
    DSTAT(flush_ops);
    DSTAT(discard_ops);
    DSTAT(errors);
    DSTAT(in_flight);
#undef DSTAT
}

/* "disks": [{"path", counters}] and the disk_* totals over all disks. */
static void disks_stats(const struct control_stats *st, json_t *result)
{
    struct control_disk_stats total = {0};
    json_t *disks = json_array();
    for (size_t i = 0; i < st->disk_count && i < CONTROL_MAX_DISKS; i++) {
        json_t *d = json_object();
        set_str(d, "path", st->disks[i].path);
        disk_stats(&st->disks[i], d, &total);
        json_array_append_new(disks, d);
    }
    json_object_set_new(result, "disks", disks);
    set_stat(result, "disk_read_ops", total.read_ops);
    set_stat(result, "disk_write_ops", total.write_ops);
    set_stat(result, "disk_read_bytes", total.read_bytes);
    set_stat(result, "disk_write_bytes", total.write_bytes);
    set_stat(result, "disk_flush_ops", total.flush_ops);
    set_stat(result, "disk_discard_ops", total.discard_ops);
    set_stat(result, "disk_errors", total.errors);
    set_stat(result, "disk_in_flight", total.in_flight);
}

static int h_stats(struct control_server *srv, json_t *args, json_t *result, struct error *err)
{
    struct control_stats st;
    int ret;
    (void)args;
    if (srv->ops->stats == NULL)
        return error_set(err, -ENOTSUP, "stats is not supported by this monitor");
    memset(&st, 0xff, sizeof(st)); /* every counter CONTROL_STAT_UNKNOWN */
    st.disk_count = 0;
    memset(st.disks, 0, sizeof(st.disks));
    ret = srv->ops->stats(srv->opaque, &st, err);
    if (ret < 0)
        return ret;
#define STAT(f) set_stat(result, #f, st.f)
    STAT(uptime_ns);
    STAT(vcpu_count);
    STAT(vcpu_time_ns);
    STAT(exits);
    STAT(exits_io);
    STAT(exits_mmio);
    STAT(rss_bytes);
    STAT(guest_mem_bytes);
    STAT(restore_copy_bytes);
    STAT(restore_copy_total_bytes);
    STAT(restore_copy_done);
#undef STAT
    disks_stats(&st, result);
    return 0;
}

/* The commands without arguments that map one to one onto an op. */
#define ACTION(fname, field, label)                                                                \
    static int fname(struct control_server *srv, json_t *args, json_t *result, struct error *err)  \
    {                                                                                              \
        (void)args;                                                                                \
        (void)result;                                                                              \
        if (srv->ops->field == NULL)                                                               \
            return error_set(err, -ENOTSUP, label " is not supported by this monitor");            \
        return srv->ops->field(srv->opaque, err);                                                  \
    }
ACTION(h_power_button, power_button, "power-button")
ACTION(h_poweroff, poweroff, "poweroff")
ACTION(h_reset, reset, "reset")
ACTION(h_pause, pause, "pause")
ACTION(h_resume, resume, "resume")
#undef ACTION

/*
 * save: {"path": "/abs/or/relative/file"[, "compress": "zstd"]} (a relative path is relative to
 * the monitor's directory), or the state file's descriptor passed with the request and no
 * "path" (the sandboxed monitor opens no path).
 */
static int h_save(struct control_server *srv, json_t *args, json_t *result, struct error *err)
{
    static const char *const keys[] = {"path", "compress", "live", NULL};
    const char *path = NULL, *compress = NULL;
    bool is_live = false;
    int ret, fd = srv->passed_fd;
    (void)result;
    if (srv->ops->save == NULL)
        return error_set(err, -ENOTSUP, "save is not supported by this monitor");
    if ((ret = api_check_args(args, keys, err)) < 0 ||
        (ret = api_arg_str(args, "path", false, CONTROL_MAX_PATH, &path, err)) < 0 ||
        (ret = api_arg_str(args, "compress", false, 16, &compress, err)) < 0 ||
        (ret = api_arg_bool(args, "live", false, &is_live, err)) < 0)
        return ret;
    if (compress != NULL && strcmp(compress, "zstd") != 0)
        return error_set(err, -EINVAL, "argument \"compress\" must be \"zstd\"");
    if (compress != NULL && is_live)
        return error_set(err, -ENOTSUP, "save: \"live\" with \"compress\": not supported yet");
    if ((path != NULL) == (fd >= 0))
        return error_set(err, -EINVAL,
                         "save: give either \"path\" or the state file's descriptor with the "
                         "request");
    srv->passed_fd = -1; /* the op's now */
    return srv->ops->save(srv->opaque, path, fd, compress != NULL, is_live, err);
}

/* media-change (control_media.c). */
static int h_media_change(struct control_server *srv, json_t *args, json_t *result,
                          struct error *err)
{
    return control_media_change(srv->ops, srv->opaque, srv->passed_fd, args, result, err);
}

/* The network, input and display commands (control_net.c, control_input.c,
 * control_display.c). */
#define NET(fname, fn)                                                                             \
    static int fname(struct control_server *srv, json_t *args, json_t *result, struct error *err)  \
    {                                                                                              \
        return fn(srv->ops, srv->opaque, args, result, err);                                       \
    }
NET(h_query_net, control_net_query)
NET(h_net_hostfwd_add, control_net_hostfwd_add)
NET(h_net_hostfwd_remove, control_net_hostfwd_remove)
NET(h_net_link, control_net_link)
NET(h_send_key, control_send_key)
NET(h_input_pointer, control_input_pointer)
NET(h_screenshot, control_display_screenshot)
NET(h_query_display, control_display_query)
NET(h_screenshot_data, control_display_data)
#undef NET

static const struct {
    const char *name;
    handler_fn fn;
    bool has_args; /* accepts arguments (checked by the handler) */
} commands[] = {
    {"hello", h_hello, true},
    {"version", h_hello, true},
    {"query-state", h_query_state, false},
    {"query-config", h_query_config, false},
    {"power-button", h_power_button, false},
    {"poweroff", h_poweroff, false},
    {"reset", h_reset, false},
    {"pause", h_pause, false},
    {"resume", h_resume, false},
    {"stats", h_stats, false},
    {"query-net", h_query_net, false},
    {"net-hostfwd-add", h_net_hostfwd_add, true},
    {"net-hostfwd-remove", h_net_hostfwd_remove, true},
    {"net-link", h_net_link, true},
    {"save", h_save, true},
    {"send-key", h_send_key, true},
    {"input-pointer", h_input_pointer, true},
    {"media-change", h_media_change, true},
    {"screenshot", h_screenshot, true},
    {"query-display", h_query_display, false},
    {"screenshot-data", h_screenshot_data, true},
};

/* Runs one request; returns the malloc'd reply line in (*reply) or a negative errno. */
static int dispatch(struct control_server *srv, const struct api_request *req, char **reply)
{
    struct error err = {0};
    json_t *result;
    int ret = -ENOENT;
    size_t i;
    for (i = 0; i < ARRAY_SIZE(commands); i++)
        if (strcmp(req->cmd, commands[i].name) == 0)
            break;
    if (i == ARRAY_SIZE(commands))
        return api_reply_encode_error(req->id, -EINVAL, "unknown command", reply);
    if (!commands[i].has_args && json_object_size(req->args) != 0)
        return api_reply_encode_error(req->id, -EINVAL, "this command takes no arguments", reply);
    result = json_object();
    if (result == NULL)
        return -ENOMEM;
    ret = commands[i].fn(srv, req->args, result, &err);
    if (ret < 0)
        ret = api_reply_encode_error(req->id, ret, err.message[0] ? err.message : strerror(-ret),
                                     reply);
    else
        ret = api_reply_encode_ok(req->id, result, reply);
    json_decref(result);
    return ret;
}

/* Handles one complete line (newline excluded). Returns 0 or -errno to drop the client. */
static int handle_line(struct client *c, const char *line, size_t len)
{
    struct api_request req;
    struct error err = {0};
    char *reply = NULL;
    int ret;
    if (len == 0)
        return 0; /* blank lines are ignored, as in most line protocols */
    ret = api_request_decode(line, len, &req, &err);
    if (ret < 0) {
        log_debug("bad request: %s", err.message);
        ret = send_error(c, req.id, ret, err.message);
        api_request_fini(&req);
        return ret;
    }
    log_debug("request %lld %s", (long long)req.id, req.cmd);
    /* a descriptor sent with the request goes with it, and no further */
    c->srv->passed_fd = c->passed_fd;
    c->passed_fd = -1;
    ret = dispatch(c->srv, &req, &reply);
    if (c->srv->passed_fd >= 0)
        close(c->srv->passed_fd);
    c->srv->passed_fd = -1;
    api_request_fini(&req);
    if (ret < 0)
        return send_error(c, req.id, ret, "could not encode the reply");
    ret = client_queue(c, reply);
    free(reply);
    return ret;
}

/* Splits the input buffer into lines and handles the complete ones. */
static int client_process(struct client *c)
{
    size_t start = 0;
    int ret = 0;
    while (ret == 0 && start < c->in_len) {
        char *nl = memchr(c->in + start, '\n', c->in_len - start);
        size_t len;
        if (nl == NULL)
            break;
        len = (size_t)(nl - (c->in + start));
        if (c->is_skipping)
            c->is_skipping = false;
        else
            ret = handle_line(c, c->in + start, len);
        start += len + 1;
    }
    memmove(c->in, c->in + start, c->in_len - start);
    c->in_len -= start;
    if (ret == 0 && c->in_len == CONTROL_MAX_MESSAGE_BYTES) {
        /* A line that cannot fit: answer once and drop the rest of it. */
        if (!c->is_skipping)
            ret = send_error(c, API_ID_NONE, -E2BIG, "message longer than 64 KiB");
        c->is_skipping = true;
        c->in_len = 0;
    }
    return ret;
}

/* Receives what the client sent and the descriptors it attached (SCM_RIGHTS): the last one is
 * kept for the next request, the others closed (the kernel drops those past the buffer). */
static ssize_t client_recv(struct client *c)
{
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(4 * sizeof(int))];
    } ctl;
    struct iovec iov = {.iov_base = c->in + c->in_len,
                        .iov_len = CONTROL_MAX_MESSAGE_BYTES - c->in_len};
    struct msghdr msg = {.msg_iov = &iov,
                         .msg_iovlen = 1,
                         .msg_control = ctl.buf,
                         .msg_controllen = sizeof(ctl.buf)};
    ssize_t n = recvmsg(c->fd, &msg, MSG_CMSG_CLOEXEC);
    if (n < 0)
        return n;
    for (struct cmsghdr *h = CMSG_FIRSTHDR(&msg); h != NULL; h = CMSG_NXTHDR(&msg, h)) {
        size_t nfds;
        if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS)
            continue;
        nfds = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < nfds; i++) {
            int fd;
            memcpy(&fd, CMSG_DATA(h) + i * sizeof(int), sizeof(fd));
            if (c->passed_fd >= 0)
                close(c->passed_fd);
            c->passed_fd = fd;
        }
    }
    return n;
}

static void client_event(void *opaque, uint32_t events)
{
    struct client *c = opaque;
    if (events & EPOLLOUT) {
        if (client_flush(c) < 0)
            goto drop;
    }
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        ssize_t n = client_recv(c);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        if (n <= 0)
            goto drop;
        c->in_len += (size_t)n;
        if (client_process(c) < 0)
            goto drop;
    }
    return;
drop:
    client_close(c);
}

int control_server_add_client(struct control_server *srv, int fd)
{
    struct client *c = NULL;
    int ret;
    for (size_t i = 0; i < CONTROL_MAX_CLIENTS && c == NULL; i++)
        if (srv->clients[i].fd < 0)
            c = &srv->clients[i];
    if (c == NULL) {
        log_warn("too many control clients, refusing one");
        close(fd);
        return -EMFILE;
    }
    if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
        ret = -errno;
        close(fd);
        return ret;
    }
    c->in = malloc(CONTROL_MAX_MESSAGE_BYTES);
    if (c->in == NULL) {
        close(fd);
        return -ENOMEM;
    }
    c->fd = fd;
    c->passed_fd = -1;
    ret = evloop_add(srv->loop, fd, EPOLLIN, client_event, c);
    if (ret < 0)
        client_close(c);
    return ret;
}

size_t control_server_client_count(const struct control_server *srv)
{
    size_t n = 0;
    for (size_t i = 0; i < CONTROL_MAX_CLIENTS; i++)
        n += srv->clients[i].fd >= 0;
    return n;
}

static void listen_event(void *opaque, uint32_t events)
{
    struct control_server *srv = opaque;
    int fd;
    (void)events;
    fd = accept4(srv->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) {
        if (errno != EAGAIN && errno != EINTR)
            log_ratelimited(LOG_WARN, "accept on the control socket: %s", strerror(errno));
        return;
    }
    if (control_server_add_client(srv, fd) < 0)
        log_ratelimited(LOG_WARN, "control client refused");
}

/* Creates the listening socket at srv->path with mode 0600. */
static int open_listener(struct control_server *srv, struct error *err)
{
    struct sockaddr_un sa;
    mode_t old_umask;
    int fd, dirfd, ret;
    ret = api_unix_addr(srv->path, &sa, &dirfd);
    if (ret < 0)
        return error_set(err, ret, "control socket %s: %s", srv->path, strerror(-ret));
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        ret = error_set(err, -errno, "control socket: %s", strerror(errno));
        goto out;
    }
    (void)unlink(srv->path); /* a stale socket from a monitor that died */
    old_umask = umask(0177);
    ret = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    umask(old_umask);
    if (ret == 0)
        ret = chmod(srv->path, 0600);
    if (ret == 0)
        ret = listen(fd, 8);
    if (ret < 0) {
        ret = error_set(err, -errno, "control socket %s: %s", srv->path, strerror(errno));
        close(fd);
        goto out;
    }
    srv->listen_fd = fd;
out:
    if (dirfd >= 0)
        close(dirfd);
    return ret;
}

int control_server_create(struct evloop *loop, const char *path, const char *vm_name,
                          const struct control_ops *ops, void *opaque, struct control_server **out,
                          struct error *err)
{
    struct control_server *srv = calloc(1, sizeof(*srv));
    int ret = -ENOMEM;
    if (srv == NULL)
        return error_set(err, -ENOMEM, "out of memory");
    srv->loop = loop;
    srv->ops = ops;
    srv->opaque = opaque;
    srv->listen_fd = -1;
    srv->passed_fd = -1;
    for (size_t i = 0; i < CONTROL_MAX_CLIENTS; i++) {
        srv->clients[i].fd = -1;
        srv->clients[i].srv = srv;
    }
    if (vm_name && (srv->vm_name = strdup(vm_name)) == NULL)
        goto err_free;
    if (path) {
        if ((srv->path = strdup(path)) == NULL)
            goto err_free;
        ret = open_listener(srv, err);
        if (ret < 0)
            goto err_free;
        ret = evloop_add(loop, srv->listen_fd, EPOLLIN, listen_event, srv);
        if (ret < 0) {
            error_set(err, ret, "control socket: cannot watch it: %s", strerror(-ret));
            goto err_close;
        }
    }
    *out = srv;
    return 0;
err_close:
    close(srv->listen_fd);
    unlink(srv->path);
err_free:
    free(srv->path);
    free(srv->vm_name);
    free(srv);
    return error_set(err, ret, "control server: %s", strerror(-ret));
}

void control_server_destroy(struct control_server *srv)
{
    if (srv == NULL)
        return;
    for (size_t i = 0; i < CONTROL_MAX_CLIENTS; i++)
        client_close(&srv->clients[i]);
    if (srv->listen_fd >= 0) {
        (void)evloop_del(srv->loop, srv->listen_fd);
        close(srv->listen_fd);
        unlink(srv->path);
    }
    free(srv->path);
    free(srv->vm_name);
    free(srv);
}
