/* SPDX-License-Identifier: MIT */
/* Unit tests for vmm/console.c: file/none/unix backends, input flow control and the Ctrl-A
 * escapes on stdio (stdin/stdout replaced by pipes). */
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
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/evloop.h"
#include "vmm/console.h"

struct sink {
    uint8_t buf[256];
    size_t len;
    size_t take_max; /* accept at most this many bytes per call */
    unsigned quits;
};

static size_t sink_input(void *opaque, const uint8_t *buf, size_t len)
{
    struct sink *s = opaque;
    size_t n = MIN(len, s->take_max);
    n = MIN(n, sizeof(s->buf) - s->len);
    memcpy(s->buf + s->len, buf, n);
    s->len += n;
    return n;
}

static void sink_quit(void *opaque)
{
    struct sink *s = opaque;
    s->quits++;
}

static void spin(struct evloop *loop, int rounds)
{
    for (int i = 0; i < rounds; i++)
        (void)evloop_run_once(loop, 20);
}

static void test_file_and_none(void **state)
{
    struct evloop *loop;
    struct console *c;
    struct error err = {0};
    char path[] = "/tmp/bareiron-console-XXXXXX";
    char buf[64] = {0};
    int fd = mkstemp(path);
    (void)state;
    assert_true(fd >= 0);
    assert_int_equal(evloop_create(&loop), 0);
    assert_int_equal(console_create(loop, VMM_SERIAL_FILE, path, &c, &err), 0);
    console_output(c, (const uint8_t *)"guest says hi\n", 14);
    console_destroy(c);
    assert_int_equal(read(fd, buf, sizeof(buf) - 1), 14);
    assert_string_equal(buf, "guest says hi\n");
    close(fd);
    unlink(path);
    assert_int_equal(console_create(loop, VMM_SERIAL_NONE, NULL, &c, &err), 0);
    console_output(c, (const uint8_t *)"dropped", 7);
    console_destroy(c);
    assert_true(console_create(loop, VMM_SERIAL_FILE, "/nonexistent/dir/x", &c, &err) < 0);
    assert_non_null(strstr(err.message, "/nonexistent/dir/x"));
    evloop_destroy(loop);
}

static void test_unix_flow_control(void **state)
{
    struct evloop *loop;
    struct console *c;
    struct error err = {0};
    struct sink sink = {.take_max = 3};
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    char out[16] = {0};
    int fd;
    (void)state;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "/tmp/bareiron-console-%d.sock", (int)getpid());
    assert_int_equal(evloop_create(&loop), 0);
    assert_int_equal(console_create(loop, VMM_SERIAL_UNIX, sa.sun_path, &c, &err), 0);
    console_set_input(c, sink_input, &sink);
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    spin(loop, 3);
    assert_int_equal(write(fd, "hello world", 11), 11);
    spin(loop, 3);
    assert_int_equal(sink.len, 3); /* the guest took 3, the rest waits for room */
    for (int i = 0; i < 5; i++) {
        console_room(c);
        spin(loop, 2);
    }
    assert_int_equal(sink.len, 11);
    assert_memory_equal(sink.buf, "hello world", 11);
    console_output(c, (const uint8_t *)"to client", 9);
    assert_int_equal(read(fd, out, sizeof(out)), 9);
    assert_string_equal(out, "to client");
    close(fd);
    spin(loop, 3); /* hang-up: output is discarded until the next client */
    console_output(c, (const uint8_t *)"nobody", 6);
    console_destroy(c);
    assert_int_equal(access(sa.sun_path, F_OK), -1);
    evloop_destroy(loop);
}

static void test_stdio_escapes(void **state)
{
    struct evloop *loop;
    struct console *c;
    struct error err = {0};
    struct sink sink = {.take_max = 100};
    int in[2], out[2], saved_in = dup(0), saved_out = dup(1);
    char buf[64] = {0};
    (void)state;
    assert_int_equal(pipe(in), 0);
    assert_int_equal(pipe(out), 0);
    dup2(in[0], 0);
    dup2(out[1], 1);
    assert_int_equal(evloop_create(&loop), 0);
    assert_int_equal(console_create(loop, VMM_SERIAL_STDIO, NULL, &c, &err), 0);
    console_set_input(c, sink_input, &sink);
    console_set_quit(c, sink_quit, &sink);
    /* a, C-a C-a (one literal C-a), b, C-a x (quit), c */
    assert_int_equal(write(in[1],
                           "a\x01\x01"
                           "b\x01xc",
                           7),
                     7);
    spin(loop, 3);
    console_output(c, (const uint8_t *)"out", 3);
    console_destroy(c);
    evloop_destroy(loop);
    dup2(saved_in, 0);
    dup2(saved_out, 1);
    assert_int_equal(read(out[0], buf, sizeof(buf)), 3);
    assert_string_equal(buf, "out");
    assert_int_equal(sink.len, 4);
    assert_memory_equal(sink.buf,
                        "a\x01"
                        "bc",
                        4);
    assert_int_equal(sink.quits, 1);
    close(in[0]);
    close(in[1]);
    close(out[0]);
    close(out[1]);
    close(saved_in);
    close(saved_out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_file_and_none),
        cmocka_unit_test(test_unix_flow_control),
        cmocka_unit_test(test_stdio_escapes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
