/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the monitor's control socket server (mgr/control_server.c,
 * docs/control-api.md) with several clients at once: the input is a script of chunks, each
 * written by one of up to CONTROL_MAX_CLIENTS + 2 clients (so the client limit is reached),
 * with hang-ups in between; partial lines of one client interleave with whole lines of others.
 * The server runs on a real event loop over socketpairs with a fake machine behind
 * control_ops. Every reply a client reads must be one line of valid JSON with an "id" and an
 * "ok" member, no client may get more replies than it sent newlines, and nothing may crash or
 * leak.
 *
 *   script: repeated { u8 op, u8 len, len bytes }
 *     op & 0x1f  client index (modulo the number of clients)
 *     op >> 5    0-4 write the bytes, 5 hang up (a new client takes the slot), 6 run the
 *                loop, 7 write a canned request line (bytes ignored)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>

#include "base/evloop.h"
#include "base/log.h"
#include "mgr/control_server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define NCLIENTS (CONTROL_MAX_CLIENTS + 2)

struct client {
    int fd;          /* our end; -1 when closed */
    size_t newlines; /* newlines written */
    size_t bytes;    /* bytes written: an oversized line gets one reply before its newline */
    size_t replies;
    char buf[2 * CONTROL_MAX_MESSAGE_BYTES];
    size_t len;
};

static struct client clients[NCLIENTS];
static enum control_run_state run_state;

static enum control_run_state f_query_state(void *opaque)
{
    (void)opaque;
    return run_state;
}

static int f_query_config(void *opaque, struct control_config *out, struct error *err)
{
    (void)opaque;
    (void)err;
    out->name = "fuzz";
    out->cpus = 1;
    out->memory_bytes = 128u << 20;
    out->kernel = "/k";
    out->disk_count = 1;
    out->disks[0] = "/a.img,format=raw";
    return 0;
}

static int f_pause(void *opaque, struct error *err)
{
    (void)opaque;
    if (run_state == CONTROL_RUN_PAUSED)
        return error_set(err, -EBUSY, "already paused");
    run_state = CONTROL_RUN_PAUSED;
    return 0;
}

static int f_resume(void *opaque, struct error *err)
{
    (void)opaque;
    (void)err;
    if (run_state != CONTROL_RUN_PAUSED)
        return -EBUSY;
    run_state = CONTROL_RUN_RUNNING;
    return 0;
}

static int f_ok(void *opaque, struct error *err)
{
    (void)opaque;
    (void)err;
    return 0;
}

static int f_stats(void *opaque, struct control_stats *out, struct error *err)
{
    (void)opaque;
    (void)err;
    out->uptime_ns = 1;
    out->disk_count = 1;
    out->disks[0].path = "/a.img";
    return 0;
}

static const struct control_ops ops = {
    .query_state = f_query_state,
    .query_config = f_query_config,
    .power_button = f_ok,
    .poweroff = f_ok,
    .reset = f_ok,
    .pause = f_pause,
    .resume = f_resume,
    .stats = f_stats,
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    log_set_level(LOG_ERROR);
    return 0;
}

/* Checks one reply line. */
static void check_line(const char *line, size_t len)
{
    json_error_t jerr;
    json_t *j = json_loadb(line, len, 0, &jerr);
    if (!j || !json_is_object(j) || !json_object_get(j, "ok") || !json_object_get(j, "id"))
        abort(); /* the server sent something that is not a reply */
    json_decref(j);
}

/* Reads what the server sent to (c) and checks every complete line. */
static void drain(struct client *c)
{
    for (;;) {
        if (c->fd < 0)
            return;
        ssize_t n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
        if (n <= 0)
            return;
        c->len += (size_t)n;
        char *nl;
        while ((nl = memchr(c->buf, '\n', c->len)) != NULL) {
            size_t line = (size_t)(nl - c->buf);
            check_line(c->buf, line);
            if (++c->replies > c->newlines + c->bytes / CONTROL_MAX_MESSAGE_BYTES)
                abort(); /* more replies than requests */
            memmove(c->buf, nl + 1, c->len - line - 1);
            c->len -= line + 1;
        }
        if (c->len == sizeof(c->buf))
            abort(); /* a reply longer than the protocol allows */
    }
}

static void connect_client(struct control_server *srv, struct client *c)
{
    int sv[2];
    c->newlines = c->bytes = c->replies = c->len = 0;
    c->fd = -1;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0)
        abort();
    if (control_server_add_client(srv, sv[1]) != 0) {
        close(sv[0]);
        return;
    }
    c->fd = sv[0];
}

static void pump(struct evloop *loop)
{
    for (int i = 0; i < 4; i++)
        (void)evloop_run_once(loop, 0);
    for (unsigned i = 0; i < NCLIENTS; i++)
        drain(&clients[i]);
}

static void send_bytes(struct client *c, const uint8_t *p, size_t len)
{
    if (c->fd < 0)
        return;
    ssize_t n = write(c->fd, p, len);
    c->bytes += n > 0 ? (size_t)n : 0;
    for (ssize_t i = 0; i < n; i++)
        c->newlines += p[i] == '\n';
}

static const char *const canned[] = {
    "{\"id\":1,\"cmd\":\"hello\",\"args\":{\"version\":1}}\n",
    "{\"id\":2,\"cmd\":\"query-state\",\"args\":{}}\n",
    "{\"id\":3,\"cmd\":\"pause\",\"args\":{}}\n",
    "{\"id\":4,\"cmd\":\"resume\",\"args\":{}}\n",
    "{\"id\":5,\"cmd\":\"stats\",\"args\":{}}\n",
    "{\"id\":6,\"cmd\":\"query-config\",\"args\":{}}\n",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct evloop *loop = NULL;
    struct control_server *srv = NULL;
    struct error err = {0};

    if (evloop_create(&loop) != 0)
        abort();
    if (control_server_create(loop, NULL, "fuzz", &ops, NULL, &srv, &err) != 0)
        abort();
    run_state = CONTROL_RUN_RUNNING;
    for (unsigned i = 0; i < NCLIENTS; i++)
        connect_client(srv, &clients[i]);
    if (control_server_client_count(srv) > CONTROL_MAX_CLIENTS)
        abort();
    size_t pos = 0;
    while (pos + 2 <= size) {
        uint8_t op = data[pos], len = data[pos + 1];
        pos += 2;
        if (len > size - pos)
            len = (uint8_t)(size - pos);
        struct client *c = &clients[(op & 0x1f) % NCLIENTS];
        switch (op >> 5) {
        case 5:
            if (c->fd >= 0)
                close(c->fd);
            pump(loop);
            connect_client(srv, c);
            break;
        case 6:
            pump(loop);
            break;
        case 7: {
            const char *line = canned[len % (sizeof(canned) / sizeof(canned[0]))];
            send_bytes(c, (const uint8_t *)line, strlen(line));
            break;
        }
        default:
            send_bytes(c, data + pos, len);
        }
        pos += len;
        if ((op & 0x60) == 0x60)
            pump(loop);
    }
    pump(loop);
    control_server_destroy(srv);
    for (unsigned i = 0; i < NCLIENTS; i++) {
        if (clients[i].fd >= 0)
            close(clients[i].fd);
        clients[i].fd = -1;
    }
    evloop_destroy(loop);
    return 0;
}
