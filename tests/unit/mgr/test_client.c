/* SPDX-License-Identifier: MIT */
/* Unit tests for mgr/client.c against the real control server (mgr/control_server.c) running
 * on an evloop thread: calls, error replies mapped to errno and message, a server that never
 * answers (timeout), one that hangs up, and nothing listening. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/evloop.h"
#include "base/util.h"
#include "mgr/api.h"
#include "mgr/client.h"
#include "mgr/control_server.h"

static bool is_paused;

static enum control_run_state f_state(void *opaque)
{
    (void)opaque;
    return is_paused ? CONTROL_RUN_PAUSED : CONTROL_RUN_RUNNING;
}

static int f_pause(void *opaque, struct error *err)
{
    (void)opaque;
    if (is_paused)
        return error_set(err, -EBUSY, "already paused");
    is_paused = true;
    return 0;
}

static int f_query_net(void *opaque, struct control_nic_stats *out, unsigned max, unsigned *n,
                       struct error *err)
{
    (void)opaque;
    (void)max;
    (void)err;
    out[0].type = "nat";
    memcpy(out[0].mac, "52:54:00:12:34:56", 18);
    out[0].rx_packets = 3;
    *n = 1;
    return 0;
}

static char last_rule[64];

static int f_hostfwd_add(void *opaque, unsigned nic, const char *rule, struct error *err)
{
    (void)opaque;
    if (nic > 0)
        return error_set(err, -ENODEV, "no network adapter %u", nic);
    if (strstr(rule, ":8080-"))
        return error_set(err, -EADDRINUSE, "host port 8080 is in use");
    snprintf(last_rule, sizeof(last_rule), "%s", rule);
    return 0;
}

static const struct control_ops ops = {.query_state = f_state,
                                       .pause = f_pause,
                                       .query_net = f_query_net,
                                       .net_hostfwd_add = f_hostfwd_add};

struct env {
    char dir[64], path[96];
    struct evloop *loop;
    struct control_server *srv;
    pthread_t thread;
};

static void *loop_thread(void *opaque)
{
    evloop_run(opaque);
    return NULL;
}

static int setup(void **state)
{
    struct env *e = calloc(1, sizeof(*e));
    snprintf(e->dir, sizeof(e->dir), "/tmp/bareiron-client-XXXXXX");
    assert_non_null(mkdtemp(e->dir));
    snprintf(e->path, sizeof(e->path), "%s/control.sock", e->dir);
    assert_int_equal(evloop_create(&e->loop), 0);
    assert_int_equal(control_server_create(e->loop, e->path, "c", &ops, NULL, &e->srv, NULL), 0);
    assert_int_equal(pthread_create(&e->thread, NULL, loop_thread, e->loop), 0);
    is_paused = false;
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    struct env *e = *state;
    evloop_stop(e->loop);
    pthread_join(e->thread, NULL);
    control_server_destroy(e->srv);
    evloop_destroy(e->loop);
    rmdir(e->dir);
    free(e);
    return 0;
}

static void test_calls(void **state)
{
    struct env *e = *state;
    struct client c;
    struct error err = {0};
    json_t *res = NULL;
    assert_int_equal(client_connect(&c, e->path, &err), 0);
    assert_int_equal(client_call(&c, "query-state", NULL, 2000, &res, &err), 0);
    assert_string_equal(json_string_value(json_object_get(res, "state")), "running");
    json_decref(res);
    assert_int_equal(client_call(&c, "pause", NULL, 2000, NULL, &err), 0);
    assert_int_equal(client_call(&c, "pause", NULL, 2000, NULL, &err), -EBUSY);
    assert_non_null(strstr(err.message, "already paused"));
    error_clear(&err);
    assert_int_equal(client_call(&c, "nope", NULL, 2000, NULL, &err), -EINVAL);
    assert_non_null(strstr(err.message, "unknown command"));
    error_clear(&err);
    assert_int_equal(client_call(&c, "reset", NULL, 2000, NULL, &err), -ENOTSUP);
    client_close(&c);
}

/* The network helpers: typed calls, the monitor's errno (EADDRINUSE, ENODEV, ENOTSUP) and a
 * query-net reply that is not what the protocol says refused as EPROTO. */
static void test_net(void **state)
{
    static const char *const bad[] = {
        "{\"id\":1,\"ok\":true,\"result\":{}}\n",
        "{\"id\":1,\"ok\":true,\"result\":{\"nics\":5}}\n",
        "{\"id\":1,\"ok\":true,\"result\":{\"nics\":[{\"index\":\"0\"}]}}\n",
        "{\"id\":1,\"ok\":true,\"result\":{\"nics\":[7]}}\n",
    };
    struct env *e = *state;
    struct client c;
    struct error err = {0};
    json_t *nics = NULL;
    assert_int_equal(client_connect(&c, e->path, &err), 0);
    assert_int_equal(client_query_net(&c, 2000, &nics, &err), 0);
    assert_int_equal(json_array_size(nics), 1);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(nics, 0), "rx_packets")), 3);
    json_decref(nics);
    assert_int_equal(client_net_hostfwd(&c, true, 0, "tcp:127.0.0.1:2222-:22", 2000, &err), 0);
    assert_string_equal(last_rule, "tcp:127.0.0.1:2222-:22");
    assert_int_equal(client_net_hostfwd(&c, true, 0, "tcp:127.0.0.1:8080-:80", 2000, &err),
                     -EADDRINUSE);
    assert_non_null(strstr(err.message, "8080 is in use"));
    error_clear(&err);
    assert_int_equal(client_net_hostfwd(&c, true, 3, "tcp::1-:1", 2000, &err), -ENODEV);
    error_clear(&err);
    assert_int_equal(client_net_hostfwd(&c, false, 0, "tcp::1-:1", 2000, &err), -ENOTSUP);
    client_close(&c);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int sv[2];
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        c = (struct client){.fd = sv[0], .next_id = 1, .buf = malloc(API_MAX_MESSAGE_BYTES)};
        assert_int_equal(send(sv[1], bad[i], strlen(bad[i]), 0), (ssize_t)strlen(bad[i]));
        error_clear(&err);
        nics = NULL;
        assert_int_equal(client_query_net(&c, 2000, &nics, &err), -EPROTO);
        assert_null(nics);
        client_close(&c);
        close(sv[1]);
    }
}

/* A listener that accepts and then either stays silent or hangs up. */
static void test_silent_and_hangup(void **state)
{
    struct env *e = *state;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    char path[128];
    struct client c;
    struct error err = {0};
    uint64_t t0;
    int lfd = socket(AF_UNIX, SOCK_STREAM, 0), afd;
    snprintf(path, sizeof(path), "%s/silent.sock", e->dir);
    assert_true(strlen(path) < sizeof(sa.sun_path));
    memcpy(sa.sun_path, path, strlen(path) + 1);
    assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(lfd, 1), 0);
    assert_int_equal(client_connect(&c, path, &err), 0);
    t0 = time_now_ns();
    assert_int_equal(client_call(&c, "hello", NULL, 200, NULL, &err), -ETIMEDOUT);
    assert_true(time_now_ns() - t0 >= 150 * 1000000ull);
    client_close(&c);
    assert_int_equal(client_connect(&c, path, &err), 0);
    afd = accept(lfd, NULL, NULL);
    close(afd);
    afd = accept(lfd, NULL, NULL);
    close(afd);
    error_clear(&err);
    assert_int_equal(client_call(&c, "hello", NULL, 2000, NULL, &err), -EPIPE);
    client_close(&c);
    close(lfd);
    unlink(path);
    error_clear(&err);
    assert_int_equal(client_connect(&c, path, &err), -ENOENT);
    assert_non_null(strstr(err.message, path));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_calls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_silent_and_hangup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_net, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
