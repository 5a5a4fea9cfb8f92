/* SPDX-License-Identifier: MIT */
/* Unit tests for mgr/control_server.c: the monitor's control socket served on a real evloop
 * over a socketpair (and a real listening socket), with a fake machine behind control_ops.
 * Covers every command, typed errors for bad input, framing (pipelined, split, blank and
 * oversized lines), hang-ups, the client limit, socket permissions and random garbage. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "base/evloop.h"
#include "mgr/control_server.h"

struct fake {
    enum control_run_state run;
    int pauses, resumes, buttons, poweroffs, resets;
    unsigned last_nic;
    char last_rule[300];
    bool last_up;
    int hostfwd_adds, hostfwd_removes, links;
    int saves;
    char last_path[300];
    bool was_zstd;
    int keys_sent;
    char last_keys[300], last_text[1100];
    struct control_pointer last_pointer;
    bool was_live;
};

static enum control_run_state f_query_state(void *opaque)
{
    return ((struct fake *)opaque)->run;
}

static int f_query_config(void *opaque, struct control_config *out, struct error *err)
{
    (void)opaque;
    (void)err;
    out->name = "vm1";
    out->cpus = 2;
    out->memory_bytes = 256u << 20;
    out->kernel = "/k";
    out->disk_count = 2;
    out->disks[0] = "/a.img,format=raw";
    out->disks[1] = "/b.qcow2,format=qcow2";
    return 0;
}

static int f_pause(void *opaque, struct error *err)
{
    struct fake *f = opaque;
    if (f->run == CONTROL_RUN_PAUSED)
        return error_set(err, -EBUSY, "already paused");
    f->run = CONTROL_RUN_PAUSED;
    f->pauses++;
    return 0;
}

static int f_resume(void *opaque, struct error *err)
{
    struct fake *f = opaque;
    if (f->run != CONTROL_RUN_PAUSED)
        return -EBUSY; /* no message: the server supplies strerror */
    (void)err;
    f->run = CONTROL_RUN_RUNNING;
    f->resumes++;
    return 0;
}

static int f_button(void *opaque, struct error *err)
{
    (void)err;
    ((struct fake *)opaque)->buttons++;
    ((struct fake *)opaque)->run = CONTROL_RUN_STOPPING;
    return 0;
}

static int f_poweroff(void *opaque, struct error *err)
{
    (void)err;
    ((struct fake *)opaque)->poweroffs++;
    return 0;
}

static int f_stats(void *opaque, struct control_stats *out, struct error *err)
{
    (void)opaque;
    (void)err;
    out->vcpu_count = 2;
    out->exits = 1234;
    out->rss_bytes = 1 << 20;
    out->disk_count = 2;
    out->disks[0] = (struct control_disk_stats){
        .path = "/a.img", .read_ops = 3, .read_bytes = 1536, .errors = 1, .in_flight = 2};
    out->disks[1] = (struct control_disk_stats){.path = "/b.qcow2",
                                                .read_ops = 1,
                                                .write_ops = 4,
                                                .write_bytes = 2048,
                                                .flush_ops = 5,
                                                .discard_ops = 6};
    return 0;
}

static int f_save(void *opaque, const char *path, int fd, bool is_zstd, bool is_live,
                  struct error *err)
{
    struct fake *f = opaque;
    f->was_live = is_live;
    if (fd >= 0) { /* the op owns it: mark it as written and close it */
        assert_null(path);
        assert_int_equal(write(fd, "S", 1), 1);
        close(fd);
        path = "(fd)";
    }
    if (strcmp(path, "/nonexistent/x") == 0)
        return error_set(err, -ENOENT, "save: cannot create %s", path);
    snprintf(f->last_path, sizeof(f->last_path), "%s", path);
    f->was_zstd = is_zstd;
    f->saves++;
    return 0;
}

static const struct control_ops fake_ops = {
    .save = f_save,
    .query_state = f_query_state,
    .query_config = f_query_config,
    .power_button = f_button,
    .poweroff = f_poweroff,
    .reset = NULL, /* ENOTSUP */
    .pause = f_pause,
    .resume = f_resume,
    .stats = f_stats,
};

/* The network ops: two adapters, nat (with a forward) and tap; a third one is ENODEV. */
static int f_query_net(void *opaque, struct control_nic_stats *out, unsigned max, unsigned *n,
                       struct error *err)
{
    (void)opaque;
    (void)err;
    assert_int_equal(max, CONTROL_MAX_NICS);
    assert_int_equal(out[0].rx_bytes, CONTROL_STAT_UNKNOWN); /* pre-set by the server */
    out[0].type = "nat";
    memcpy(out[0].mac, "52:54:00:12:34:56", 18);
    out[0].link = true;
    out[0].rx_packets = 7;
    out[0].tx_bytes = 700;
    out[0].nhostfwd = 1;
    out[0].hostfwd[0] = "tcp:127.0.0.1:2222-:22";
    out[1].type = "tap";
    memset(out[1].mac, 'a', sizeof(out[1].mac)); /* not terminated: cut at 17 */
    out[1].nhostfwd = CONTROL_MAX_HOSTFWD + 5;   /* more than there is room for: clamped */
    *n = 2;
    return 0;
}

static int f_hostfwd(void *opaque, bool is_add, unsigned nic, const char *rule, struct error *err)
{
    struct fake *f = opaque;
    if (nic >= 2)
        return error_set(err, -ENODEV, "no network adapter %u", nic);
    if (nic == 1)
        return error_set(err, -ENOTSUP, "adapter 1 is not NAT");
    if (strstr(rule, ":80-"))
        return error_set(err, -EADDRINUSE, "hostfwd %s: port 80 in use", rule);
    f->last_nic = nic;
    snprintf(f->last_rule, sizeof(f->last_rule), "%s", rule);
    *(is_add ? &f->hostfwd_adds : &f->hostfwd_removes) += 1;
    return 0;
}

static int f_hostfwd_add(void *opaque, unsigned nic, const char *rule, struct error *err)
{
    return f_hostfwd(opaque, true, nic, rule, err);
}

static int f_hostfwd_remove(void *opaque, unsigned nic, const char *rule, struct error *err)
{
    return f_hostfwd(opaque, false, nic, rule, err);
}

static int f_link(void *opaque, unsigned nic, bool up, struct error *err)
{
    struct fake *f = opaque;
    (void)err;
    f->last_nic = nic;
    f->last_up = up;
    f->links++;
    return 0;
}

static int f_send_key(void *opaque, const char *keys, const char *text, struct error *err)
{
    struct fake *f = opaque;
    if (keys != NULL && strcmp(keys, "nosuchkey") == 0)
        return error_set(err, -EINVAL, "unknown key 'nosuchkey'");
    f->keys_sent++;
    snprintf(f->last_keys, sizeof(f->last_keys), "%s", keys != NULL ? keys : "");
    snprintf(f->last_text, sizeof(f->last_text), "%s", text != NULL ? text : "");
    return 0;
}

static int f_input_pointer(void *opaque, const struct control_pointer *p, struct error *err)
{
    (void)err;
    ((struct fake *)opaque)->last_pointer = *p;
    return 0;
}

static const struct control_ops net_ops = {
    .send_key = f_send_key,
    .input_pointer = f_input_pointer,
    .query_state = f_query_state,
    .query_net = f_query_net,
    .net_hostfwd_add = f_hostfwd_add,
    .net_hostfwd_remove = f_hostfwd_remove,
    .net_link = f_link,
};

struct env {
    struct evloop *loop;
    struct control_server *srv;
    struct fake fake;
    int peer;
    char buf[256 * 1024];
    size_t len;
};

static int setup_with(void **state, const struct control_ops *ops)
{
    struct env *e = calloc(1, sizeof(*e));
    int sv[2];
    assert_int_equal(evloop_create(&e->loop), 0);
    e->fake.run = CONTROL_RUN_RUNNING;
    assert_int_equal(control_server_create(e->loop, NULL, "vm1", ops, &e->fake, &e->srv, NULL), 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    assert_int_equal(control_server_add_client(e->srv, sv[0]), 0);
    e->peer = sv[1];
    *state = e;
    return 0;
}

static int setup(void **state)
{
    return setup_with(state, &fake_ops);
}

static int setup_net(void **state)
{
    return setup_with(state, &net_ops);
}

static int teardown(void **state)
{
    struct env *e = *state;
    control_server_destroy(e->srv);
    evloop_destroy(e->loop);
    if (e->peer >= 0)
        close(e->peer);
    free(e);
    return 0;
}

/* Runs the loop until a full reply line arrives; returns it decoded. */
static json_t *next_reply(struct env *e)
{
    for (int i = 0; i < 200; i++) {
        char *nl = memchr(e->buf, '\n', e->len);
        if (nl) {
            size_t n = (size_t)(nl - e->buf);
            json_t *j = json_loadb(e->buf, n, 0, NULL);
            memmove(e->buf, nl + 1, e->len - n - 1);
            e->len -= n + 1;
            assert_non_null(j);
            return j;
        }
        evloop_run_once(e->loop, 10);
        ssize_t r = recv(e->peer, e->buf + e->len, sizeof(e->buf) - e->len, MSG_DONTWAIT);
        if (r > 0)
            e->len += (size_t)r;
    }
    fail_msg("no reply");
    return NULL;
}

static void send_raw(struct env *e, const char *s, size_t n)
{
    assert_int_equal(send(e->peer, s, n, 0), (ssize_t)n);
}

static json_t *call(struct env *e, const char *line)
{
    send_raw(e, line, strlen(line));
    return next_reply(e);
}

static void expect_error(json_t *r, const char *code, const char *msg)
{
    assert_true(json_is_false(json_object_get(r, "ok")));
    json_t *err = json_object_get(r, "error");
    assert_string_equal(json_string_value(json_object_get(err, "code")), code);
    if (msg && strstr(json_string_value(json_object_get(err, "message")), msg) == NULL)
        fail_msg("message '%s' lacks '%s'", json_string_value(json_object_get(err, "message")),
                 msg);
    json_decref(r);
}

static json_t *result_of(json_t *r, int id)
{
    assert_true(json_is_true(json_object_get(r, "ok")));
    assert_int_equal(json_integer_value(json_object_get(r, "id")), id);
    return json_object_get(r, "result");
}

static void test_hello_and_state(void **state)
{
    struct env *e = *state;
    json_t *r = call(e, "{\"id\":1,\"cmd\":\"hello\",\"args\":{\"version\":1}}\n");
    json_t *res = result_of(r, 1);
    assert_int_equal(json_integer_value(json_object_get(res, "protocol")), 1);
    assert_string_equal(json_string_value(json_object_get(res, "name")), "vm1");
    json_decref(r);
    r = call(e, "{\"id\":2,\"cmd\":\"version\"}\n");
    result_of(r, 2);
    json_decref(r);
    r = call(e, "{\"id\":3,\"cmd\":\"query-state\",\"args\":{}}\n");
    assert_string_equal(json_string_value(json_object_get(result_of(r, 3), "state")), "running");
    json_decref(r);
}

static void test_pause_resume_errors(void **state)
{
    struct env *e = *state;
    json_t *r = call(e, "{\"id\":4,\"cmd\":\"pause\"}\n");
    result_of(r, 4);
    json_decref(r);
    assert_int_equal(e->fake.pauses, 1);
    expect_error(call(e, "{\"id\":5,\"cmd\":\"pause\"}\n"), "EBUSY", "already paused");
    r = call(e, "{\"id\":6,\"cmd\":\"query-state\"}\n");
    assert_string_equal(json_string_value(json_object_get(result_of(r, 6), "state")), "paused");
    json_decref(r);
    r = call(e, "{\"id\":7,\"cmd\":\"resume\"}\n");
    result_of(r, 7);
    json_decref(r);
    expect_error(call(e, "{\"id\":8,\"cmd\":\"resume\"}\n"), "EBUSY", "busy");
    assert_int_equal(e->fake.resumes, 1);
}

static void test_actions_config_stats(void **state)
{
    struct env *e = *state;
    json_t *r = call(e, "{\"id\":9,\"cmd\":\"power-button\"}\n");
    result_of(r, 9);
    json_decref(r);
    assert_int_equal(e->fake.buttons, 1);
    r = call(e, "{\"id\":10,\"cmd\":\"poweroff\"}\n");
    result_of(r, 10);
    json_decref(r);
    assert_int_equal(e->fake.poweroffs, 1);
    expect_error(call(e, "{\"id\":11,\"cmd\":\"reset\"}\n"), "ENOTSUP", "reset");
    r = call(e, "{\"id\":12,\"cmd\":\"query-config\"}\n");
    json_t *res = result_of(r, 12);
    assert_int_equal(json_integer_value(json_object_get(res, "cpus")), 2);
    assert_int_equal(json_array_size(json_object_get(res, "disks")), 2);
    assert_null(json_object_get(res, "initrd"));
    json_decref(r);
    r = call(e, "{\"id\":13,\"cmd\":\"stats\"}\n");
    res = result_of(r, 13);
    assert_int_equal(json_integer_value(json_object_get(res, "exits")), 1234);
    assert_null(json_object_get(res, "vcpu_time_ns")); /* unknown: left out */
    /* per disk, and the disk_* totals */
    json_t *disks = json_object_get(res, "disks");
    assert_int_equal(json_array_size(disks), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(disks, 1), "path")),
                        "/b.qcow2");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(disks, 0), "read_bytes")),
                     1536);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(disks, 1), "flush_ops")), 5);
    assert_int_equal(json_integer_value(json_object_get(res, "disk_read_ops")), 4);
    assert_int_equal(json_integer_value(json_object_get(res, "disk_write_ops")), 4);
    assert_int_equal(json_integer_value(json_object_get(res, "disk_read_bytes")), 1536);
    assert_int_equal(json_integer_value(json_object_get(res, "disk_write_bytes")), 2048);
    assert_int_equal(json_integer_value(json_object_get(res, "disk_flush_ops")), 5);
    assert_int_equal(json_integer_value(json_object_get(res, "disk_discard_ops")), 6);
    assert_int_equal(json_integer_value(json_object_get(res, "disk_errors")), 1);
    assert_int_equal(json_integer_value(json_object_get(res, "disk_in_flight")), 2);
    json_decref(r);
}

static void test_bad_requests(void **state)
{
    struct env *e = *state;
    json_t *r;
    expect_error(call(e, "{\"id\":20,\"cmd\":\"warp\"}\n"), "EINVAL", "unknown command");
    expect_error(call(e, "{oops\n"), "EPROTO", "malformed");
    expect_error(call(e, "[]\n"), "EPROTO", "object");
    expect_error(call(e, "{\"id\":21,\"cmd\":\"pause\",\"args\":{\"now\":true}}\n"), "EINVAL",
                 "no arguments");
    expect_error(call(e, "{\"id\":22,\"cmd\":\"hello\",\"args\":{\"version\":\"one\"}}\n"),
                 "EINVAL", "version");
    r = call(e, "{\"cmd\":\"pause\"}\n");
    assert_true(json_is_null(json_object_get(r, "id")));
    expect_error(r, "EPROTO", "id");
    r = call(e, "{\"id\":23,\"cmd\":5}\n");
    assert_int_equal(json_integer_value(json_object_get(r, "id")), 23);
    expect_error(r, "EPROTO", "cmd");
    assert_int_equal(e->fake.pauses, 0);
}

/* Without network ops every network command answers ENOTSUP. */
static void test_net_not_supported(void **state)
{
    struct env *e = *state;
    expect_error(call(e, "{\"id\":1,\"cmd\":\"query-net\"}\n"), "ENOTSUP", "query-net");
    expect_error(call(e, "{\"id\":2,\"cmd\":\"net-hostfwd-add\",\"args\":{\"nic\":0,"
                         "\"rule\":\"tcp::1-:2\"}}\n"),
                 "ENOTSUP", "net-hostfwd-add");
    expect_error(call(e, "{\"id\":3,\"cmd\":\"net-hostfwd-remove\",\"args\":{}}\n"), "ENOTSUP",
                 "net-hostfwd-remove");
    expect_error(call(e, "{\"id\":4,\"cmd\":\"net-link\",\"args\":{\"nic\":0,\"up\":true}}\n"),
                 "ENOTSUP", "net-link");
    expect_error(call(e, "{\"id\":5,\"cmd\":\"send-key\",\"args\":{\"keys\":\"a\"}}\n"), "ENOTSUP",
                 "send-key");
    expect_error(call(e, "{\"id\":6,\"cmd\":\"input-pointer\",\"args\":{}}\n"), "ENOTSUP",
                 "input-pointer");
}

/* save: {"path": ...} required, "compress": "zstd" optional, nothing else; the op's error
 * comes back as it is. */
static void test_save(void **state)
{
    struct env *e = *state;
    json_t *r = call(e, "{\"id\":1,\"cmd\":\"save\",\"args\":{\"path\":\"/tmp/vm.state\"}}\n");
    result_of(r, 1);
    json_decref(r);
    assert_int_equal(e->fake.saves, 1);
    assert_string_equal(e->fake.last_path, "/tmp/vm.state");
    expect_error(call(e, "{\"id\":2,\"cmd\":\"save\"}\n"), "EINVAL", "descriptor");
    expect_error(call(e, "{\"id\":3,\"cmd\":\"save\",\"args\":{\"path\":\"\"}}\n"), "EINVAL",
                 "path");
    expect_error(call(e, "{\"id\":4,\"cmd\":\"save\",\"args\":{\"path\":\"a\",\"x\":1}}\n"),
                 "EINVAL", "x");
    expect_error(call(e, "{\"id\":5,\"cmd\":\"save\",\"args\":{\"path\":7}}\n"), "EINVAL", "path");
    expect_error(call(e, "{\"id\":6,\"cmd\":\"save\",\"args\":{\"path\":\"/nonexistent/x\"}}\n"),
                 "ENOENT", "cannot create");
    assert_int_equal(e->fake.saves, 1);
    assert_false(e->fake.was_zstd);
    expect_error(
        call(e, "{\"id\":7,\"cmd\":\"save\",\"args\":{\"path\":\"a\",\"compress\":\"lz4\"}}\n"),
        "EINVAL", "zstd");
    r = call(e, "{\"id\":8,\"cmd\":\"save\",\"args\":{\"path\":\"a\",\"compress\":\"zstd\"}}\n");
    result_of(r, 8);
    json_decref(r);
    assert_true(e->fake.was_zstd);
    assert_false(e->fake.was_live);
    assert_int_equal(e->fake.saves, 2);
    r = call(e, "{\"id\":9,\"cmd\":\"save\",\"args\":{\"path\":\"a\",\"live\":true}}\n");
    result_of(r, 9);
    json_decref(r);
    assert_true(e->fake.was_live);
    expect_error(call(e, "{\"id\":10,\"cmd\":\"save\",\"args\":{\"path\":\"a\",\"live\":1}}\n"),
                 "EINVAL", "live");
    expect_error(call(e, "{\"id\":11,\"cmd\":\"save\",\"args\":{\"path\":\"a\",\"live\":true,"
                         "\"compress\":\"zstd\"}}\n"),
                 "ENOTSUP", "not supported yet");
    assert_int_equal(e->fake.saves, 3);
}

/* Sends (line) with descriptor (fd) attached to its first byte (SCM_RIGHTS). */
static json_t *call_fd(struct env *e, const char *line, int fd)
{
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(2 * sizeof(int))];
    } ctl;
    int fds[2] = {fd, fd};
    struct iovec iov = {.iov_base = (void *)(uintptr_t)line, .iov_len = 1};
    struct msghdr msg = {.msg_iov = &iov,
                         .msg_iovlen = 1,
                         .msg_control = ctl.buf,
                         .msg_controllen = sizeof(ctl.buf)};
    struct cmsghdr *h = CMSG_FIRSTHDR(&msg);
    memset(ctl.buf, 0, sizeof(ctl.buf));
    h->cmsg_level = SOL_SOCKET;
    h->cmsg_type = SCM_RIGHTS;
    h->cmsg_len = CMSG_LEN(sizeof(fds)); /* two: the server keeps the last, closes the other */
    memcpy(CMSG_DATA(h), fds, sizeof(fds));
    assert_int_equal(sendmsg(e->peer, &msg, 0), 1);
    send_raw(e, line + 1, strlen(line) - 1);
    return next_reply(e);
}

/* What the read end of a pipe holds once every write end is closed ("" if nothing). */
static void expect_pipe(int rd, const char *want)
{
    char buf[8] = {0};
    ssize_t n = read(rd, buf, sizeof(buf) - 1);
    assert_true(n >= 0);
    assert_string_equal(buf, want);
    if (n > 0) /* and then end of file: no copy left open */
        assert_int_equal(read(rd, buf, sizeof(buf)), 0);
    close(rd);
}

/* A descriptor passed with save is the state file: "path" is then refused, and a descriptor
 * passed with a command that takes none is closed. */
static void test_save_fd(void **state)
{
    struct env *e = *state;
    int p[2];
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    json_t *r = call_fd(e, "{\"id\":1,\"cmd\":\"save\",\"args\":{\"compress\":\"zstd\"}}\n", p[1]);
    close(p[1]);
    result_of(r, 1);
    json_decref(r);
    assert_string_equal(e->fake.last_path, "(fd)");
    assert_true(e->fake.was_zstd);
    expect_pipe(p[0], "S");

    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    expect_error(call_fd(e, "{\"id\":2,\"cmd\":\"save\",\"args\":{\"path\":\"a\"}}\n", p[1]),
                 "EINVAL", "descriptor");
    close(p[1]);
    expect_pipe(p[0], "");
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    r = call_fd(e, "{\"id\":3,\"cmd\":\"query-state\"}\n", p[1]);
    close(p[1]);
    result_of(r, 3);
    json_decref(r);
    expect_pipe(p[0], "");
    /* the descriptor went with its request: the next save has none */
    expect_error(call(e, "{\"id\":4,\"cmd\":\"save\",\"args\":{}}\n"), "EINVAL", "descriptor");
    assert_int_equal(e->fake.saves, 1);
}

static void test_net_commands(void **state)
{
    struct env *e = *state;
    json_t *r = call(e, "{\"id\":1,\"cmd\":\"query-net\"}\n"), *nics, *n0, *n1;
    nics = json_object_get(result_of(r, 1), "nics");
    assert_int_equal(json_array_size(nics), 2);
    n0 = json_array_get(nics, 0);
    n1 = json_array_get(nics, 1);
    assert_int_equal(json_integer_value(json_object_get(n0, "index")), 0);
    assert_string_equal(json_string_value(json_object_get(n0, "type")), "nat");
    assert_string_equal(json_string_value(json_object_get(n0, "mac")), "52:54:00:12:34:56");
    assert_true(json_is_true(json_object_get(n0, "link")));
    assert_int_equal(json_integer_value(json_object_get(n0, "rx_packets")), 7);
    assert_int_equal(json_integer_value(json_object_get(n0, "tx_bytes")), 700);
    assert_null(json_object_get(n0, "errors")); /* not filled in: left out */
    assert_string_equal(json_string_value(json_array_get(json_object_get(n0, "hostfwd"), 0)),
                        "tcp:127.0.0.1:2222-:22");
    assert_int_equal(json_integer_value(json_object_get(n1, "index")), 1);
    assert_int_equal(strlen(json_string_value(json_object_get(n1, "mac"))), 17);
    assert_int_equal(json_array_size(json_object_get(n1, "hostfwd")), 0); /* NULL pointers */
    assert_true(json_is_false(json_object_get(n1, "link")));
    json_decref(r);
    r = call(e, "{\"id\":2,\"cmd\":\"net-hostfwd-add\",\"args\":{\"nic\":0,"
                "\"rule\":\"tcp:127.0.0.1:2222-:22\"}}\n");
    result_of(r, 2);
    json_decref(r);
    assert_int_equal(e->fake.hostfwd_adds, 1);
    assert_string_equal(e->fake.last_rule, "tcp:127.0.0.1:2222-:22");
    r = call(e, "{\"id\":3,\"cmd\":\"net-hostfwd-remove\",\"args\":{\"nic\":0,"
                "\"rule\":\"udp::53-:53\"}}\n");
    result_of(r, 3);
    json_decref(r);
    assert_int_equal(e->fake.hostfwd_removes, 1);
    expect_error(call(e, "{\"id\":4,\"cmd\":\"net-hostfwd-add\",\"args\":{\"nic\":0,"
                         "\"rule\":\"tcp::80-:80\"}}\n"),
                 "EADDRINUSE", "port 80");
    expect_error(call(e, "{\"id\":5,\"cmd\":\"net-hostfwd-add\",\"args\":{\"nic\":2,"
                         "\"rule\":\"tcp::81-:80\"}}\n"),
                 "ENODEV", "adapter 2");
    expect_error(call(e, "{\"id\":6,\"cmd\":\"net-hostfwd-add\",\"args\":{\"nic\":1,"
                         "\"rule\":\"tcp::81-:80\"}}\n"),
                 "ENOTSUP", "not NAT");
    r = call(e, "{\"id\":7,\"cmd\":\"net-link\",\"args\":{\"nic\":3,\"up\":false}}\n");
    result_of(r, 7);
    json_decref(r);
    assert_int_equal(e->fake.links, 1);
    assert_int_equal(e->fake.last_nic, 3);
    assert_false(e->fake.last_up);
}

/* Arguments are checked before any op runs: nic 0..3, rule a string of at most 255 bytes
 * without control characters, up a boolean, nothing else. */
static void test_net_bad_arguments(void **state)
{
    static const struct {
        const char *line, *msg;
    } cases[] = {
        {"{\"id\":1,\"cmd\":\"net-hostfwd-add\",\"args\":{\"rule\":\"tcp::1-:2\"}}", "\"nic\""},
        {"{\"id\":1,\"cmd\":\"net-hostfwd-add\",\"args\":{\"nic\":4,\"rule\":\"r\"}}", "0 to 3"},
        {"{\"id\":1,\"cmd\":\"net-hostfwd-add\",\"args\":{\"nic\":-1,\"rule\":\"r\"}}", "nic"},
        {"{\"id\":1,\"cmd\":\"net-hostfwd-add\",\"args\":{\"nic\":\"0\",\"rule\":\"r\"}}", "nic"},
        {"{\"id\":1,\"cmd\":\"net-hostfwd-add\",\"args\":{\"nic\":0}}", "\"rule\""},
        {"{\"id\":1,\"cmd\":\"net-hostfwd-add\",\"args\":{\"nic\":0,\"rule\":5}}", "string"},
        {"{\"id\":1,\"cmd\":\"net-hostfwd-add\",\"args\":{\"nic\":0,\"rule\":\"\"}}", "1 to 255"},
        {"{\"id\":1,\"cmd\":\"net-hostfwd-remove\",\"args\":{\"nic\":0,\"rule\":\"a\\nb\"}}",
         "control"},
        {"{\"id\":1,\"cmd\":\"net-hostfwd-add\",\"args\":{\"nic\":0,\"rule\":\"r\",\"x\":1}}",
         "unknown argument"},
        {"{\"id\":1,\"cmd\":\"net-link\",\"args\":{\"nic\":0}}", "\"up\""},
        {"{\"id\":1,\"cmd\":\"net-link\",\"args\":{\"nic\":0,\"up\":1}}", "true or false"},
        {"{\"id\":1,\"cmd\":\"net-link\",\"args\":{\"nic\":9,\"up\":true}}", "0 to 3"},
        {"{\"id\":1,\"cmd\":\"query-net\",\"args\":{\"nic\":0}}", "no arguments"},
    };
    struct env *e = *state;
    char line[512];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(line, sizeof(line), "%s\n", cases[i].line);
        expect_error(call(e, line), "EINVAL", cases[i].msg);
    }
    static const char head[] =
        "{\"id\":1,\"cmd\":\"net-hostfwd-add\",\"args\":{\"nic\":0,\"rule\":\"";
    memset(line, 'a', sizeof(line));
    memcpy(line, head, strlen(head));
    memcpy(line + strlen(head) + 256, "\"}}\n", 5); /* a rule of 256 bytes */
    expect_error(call(e, line), "EINVAL", "1 to 255");
    assert_int_equal(e->fake.hostfwd_adds + e->fake.hostfwd_removes + e->fake.links, 0);
}

/* send-key and input-pointer reach their ops; bad arguments never do. */
static void test_input_commands(void **state)
{
    static const struct {
        const char *args, *msg;
    } bad[] = {
        {"{}", "one of"},
        {"{\"keys\":\"a\",\"text\":\"b\"}", "one of"},
        {"{\"keys\":\"a\\nb\"}", "control"},
        {"{\"keys\":\"\"}", "1 to 255"},
        {"{\"text\":\"\\u0001\"}", "control"},
        {"{\"text\":7}", "string"},
        {"{\"key\":\"a\"}", "unknown argument"},
    };
    static const struct {
        const char *args, *msg;
    } bad_pointer[] = {
        {"{\"x\":1,\"y\":1,\"width\":10,\"height\":10}", "\"buttons\""},
        {"{\"x\":10,\"y\":1,\"width\":10,\"height\":10,\"buttons\":0}", "outside"},
        {"{\"x\":0,\"y\":0,\"width\":0,\"height\":10,\"buttons\":0}", "\"width\""},
        {"{\"x\":0,\"y\":0,\"width\":4294967296,\"height\":10,\"buttons\":0}", "width"},
        {"{\"x\":-1,\"y\":0,\"width\":5,\"height\":10,\"buttons\":0}", "\"x\""},
        {"{\"x\":0,\"y\":0,\"width\":5,\"height\":10,\"buttons\":0,\"z\":1}", "unknown"},
    };
    struct env *e = *state;
    char line[512];
    json_t *r;
    r = call(e, "{\"id\":1,\"cmd\":\"send-key\",\"args\":{\"keys\":\"ctrl-alt-delete\"}}\n");
    result_of(r, 1);
    json_decref(r);
    assert_string_equal(e->fake.last_keys, "ctrl-alt-delete");
    r = call(e, "{\"id\":2,\"cmd\":\"send-key\",\"args\":{\"text\":\"hi\\tyou\\n\"}}\n");
    result_of(r, 2);
    json_decref(r);
    assert_string_equal(e->fake.last_text, "hi\tyou\n");
    expect_error(call(e, "{\"id\":3,\"cmd\":\"send-key\",\"args\":{\"keys\":\"nosuchkey\"}}\n"),
                 "EINVAL", "nosuchkey");
    r = call(e, "{\"id\":4,\"cmd\":\"input-pointer\",\"args\":{\"x\":5,\"y\":7,\"width\":640,"
                "\"height\":480,\"buttons\":1}}\n");
    result_of(r, 4);
    json_decref(r);
    assert_int_equal(e->fake.last_pointer.x, 5);
    assert_int_equal(e->fake.last_pointer.y, 7);
    assert_int_equal(e->fake.last_pointer.width, 640);
    assert_int_equal(e->fake.last_pointer.height, 480);
    assert_int_equal(e->fake.last_pointer.buttons, 1);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(line, sizeof(line), "{\"id\":5,\"cmd\":\"send-key\",\"args\":%s}\n", bad[i].args);
        expect_error(call(e, line), "EINVAL", bad[i].msg);
    }
    for (size_t i = 0; i < sizeof(bad_pointer) / sizeof(bad_pointer[0]); i++) {
        snprintf(line, sizeof(line), "{\"id\":6,\"cmd\":\"input-pointer\",\"args\":%s}\n",
                 bad_pointer[i].args);
        expect_error(call(e, line), "EINVAL", bad_pointer[i].msg);
    }
    assert_int_equal(e->fake.keys_sent, 2);
    assert_int_equal(e->fake.last_pointer.x, 5);
}

static void test_framing(void **state)
{
    struct env *e = *state;
    const char *two = "\n{\"id\":30,\"cmd\":\"query-state\"}\n\n{\"id\":31,\"cmd\":\"hello\"}\n";
    const char *split = "{\"id\":32,\"cmd\":\"query-state\"}\n";
    json_t *r;
    send_raw(e, two, strlen(two));
    r = next_reply(e);
    result_of(r, 30);
    json_decref(r);
    r = next_reply(e);
    result_of(r, 31);
    json_decref(r);
    for (size_t i = 0; i < strlen(split); i++) {
        send_raw(e, split + i, 1);
        evloop_run_once(e->loop, 0);
    }
    r = next_reply(e);
    result_of(r, 32);
    json_decref(r);
}

static void test_oversized_line(void **state)
{
    struct env *e = *state;
    size_t n = CONTROL_MAX_MESSAGE_BYTES * 2 + 100;
    char *big = malloc(n);
    json_t *r;
    memset(big, 'x', n);
    big[n - 1] = '\n';
    for (size_t off = 0; off < n;) {
        ssize_t w = send(e->peer, big + off, n - off, MSG_DONTWAIT);
        if (w > 0)
            off += (size_t)w;
        evloop_run_once(e->loop, 1);
    }
    expect_error(next_reply(e), "E2BIG", "64 KiB");
    r = call(e, "{\"id\":40,\"cmd\":\"query-state\"}\n");
    result_of(r, 40); /* the rest of the long line was skipped */
    json_decref(r);
    free(big);
}

static void test_hangup_and_garbage(void **state)
{
    struct env *e = *state;
    unsigned seed = 1;
    char junk[512];
    for (int round = 0; round < 50; round++) {
        for (size_t i = 0; i < sizeof(junk); i++)
            junk[i] = (char)(rand_r(&seed) & 0xff);
        send_raw(e, junk, sizeof(junk));
        evloop_run_once(e->loop, 0);
        while (recv(e->peer, e->buf, sizeof(e->buf), MSG_DONTWAIT) > 0)
            ;
    }
    assert_int_equal(control_server_client_count(e->srv), 1);
    close(e->peer);
    e->peer = -1;
    for (int i = 0; i < 10 && control_server_client_count(e->srv); i++)
        evloop_run_once(e->loop, 10);
    assert_int_equal(control_server_client_count(e->srv), 0);
}

static void test_listener(void **state)
{
    struct env *e = *state;
    char dir[] = "/tmp/bareiron-ctl-XXXXXX", path[64];
    struct control_server *srv;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct stat st;
    int fds[CONTROL_MAX_CLIENTS + 1];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/control.sock", dir);
    assert_int_equal(close(open(path, O_CREAT | O_WRONLY, 0644)), 0); /* stale file */
    assert_int_equal(control_server_create(e->loop, path, "x", &fake_ops, &e->fake, &srv, NULL), 0);
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0600);
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    for (int i = 0; i <= CONTROL_MAX_CLIENTS; i++) {
        fds[i] = socket(AF_UNIX, SOCK_STREAM, 0);
        assert_int_equal(connect(fds[i], (struct sockaddr *)&sa, sizeof(sa)), 0);
        evloop_run_once(e->loop, 10);
    }
    assert_int_equal(control_server_client_count(srv), CONTROL_MAX_CLIENTS);
    for (int i = 0; i <= CONTROL_MAX_CLIENTS; i++)
        close(fds[i]);
    control_server_destroy(srv);
    assert_int_equal(stat(path, &st), -1); /* removed on destroy */
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_hello_and_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pause_resume_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_actions_config_stats, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_requests, setup, teardown),
        cmocka_unit_test_setup_teardown(test_framing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_net_not_supported, setup, teardown),
        cmocka_unit_test_setup_teardown(test_save, setup, teardown),
        cmocka_unit_test_setup_teardown(test_save_fd, setup, teardown),
        cmocka_unit_test_setup_teardown(test_net_commands, setup_net, teardown),
        cmocka_unit_test_setup_teardown(test_net_bad_arguments, setup_net, teardown),
        cmocka_unit_test_setup_teardown(test_input_commands, setup_net, teardown),
        cmocka_unit_test_setup_teardown(test_oversized_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hangup_and_garbage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_listener, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
