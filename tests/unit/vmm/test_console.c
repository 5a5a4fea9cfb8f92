/* SPDX-License-Identifier: MIT */
/* Unit tests for vmm/console.c: file/none/unix backends, input flow control and the Ctrl-A
 * escapes on stdio (stdin/stdout replaced by pipes), the history replayed to a client that
 * attaches, the refusal of a second client and the size-capped log file. */
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
    spin(loop, 3); /* hang-up: output is kept for the next client */
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

/* A console on a fresh unix socket path; returns the console and fills (sa). */
static struct console *unix_console(struct evloop *loop, struct sockaddr_un *sa, const char *tag)
{
    struct console *c;
    struct error err = {0};
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    snprintf(sa->sun_path, sizeof(sa->sun_path), "/tmp/bareiron-console-%s-%d.sock", tag,
             (int)getpid());
    assert_int_equal(console_create(loop, VMM_SERIAL_UNIX, sa->sun_path, &c, &err), 0);
    return c;
}

static int connect_to(const struct sockaddr_un *sa)
{
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (const struct sockaddr *)sa, sizeof(*sa)), 0);
    return fd;
}

/* Reads exactly (len) bytes from (fd) into (buf), running (loop) meanwhile. */
static void read_all(struct evloop *loop, int fd, uint8_t *buf, size_t len)
{
    size_t got = 0;
    for (int i = 0; i < 2000 && got < len; i++) {
        ssize_t n = recv(fd, buf + got, len - got, MSG_DONTWAIT);
        if (n > 0)
            got += (size_t)n;
        else
            (void)evloop_run_once(loop, 5);
    }
    assert_int_equal(got, len);
}

/* Output written while no client is attached is replayed to the next one, then live output. */
static void test_unix_history_replay(void **state)
{
    struct evloop *loop;
    struct sockaddr_un sa;
    struct console *c;
    uint8_t buf[64] = {0};
    int fd;
    (void)state;
    assert_int_equal(evloop_create(&loop), 0);
    c = unix_console(loop, &sa, "replay");
    console_output(c, (const uint8_t *)"first line\n", 11);
    fd = connect_to(&sa);
    spin(loop, 2);
    read_all(loop, fd, buf, 11);
    assert_memory_equal(buf, "first line\n", 11);
    console_output(c, (const uint8_t *)"live", 4);
    read_all(loop, fd, buf, 4);
    assert_memory_equal(buf, "live", 4);
    close(fd);
    spin(loop, 2);
    /* the next client gets everything held so far, again */
    fd = connect_to(&sa);
    spin(loop, 2);
    read_all(loop, fd, buf, 15);
    assert_memory_equal(buf, "first line\nlive", 15);
    close(fd);
    console_destroy(c);
    evloop_destroy(loop);
}

/* Only the last CONSOLE_HISTORY_BYTES are kept. */
static void test_unix_history_is_bounded(void **state)
{
    struct evloop *loop;
    struct sockaddr_un sa;
    struct console *c;
    size_t total = CONSOLE_HISTORY_BYTES + 1000;
    uint8_t *out = malloc(total), *in = malloc(CONSOLE_HISTORY_BYTES + 1);
    int fd;
    (void)state;
    for (size_t i = 0; i < total; i++)
        out[i] = (uint8_t)(i * 7 + i / 251);
    assert_int_equal(evloop_create(&loop), 0);
    c = unix_console(loop, &sa, "bounded");
    for (size_t off = 0; off < total; off += 100)
        console_output(c, out + off, MIN(100, total - off));
    fd = connect_to(&sa);
    spin(loop, 2);
    read_all(loop, fd, in, CONSOLE_HISTORY_BYTES);
    assert_memory_equal(in, out + total - CONSOLE_HISTORY_BYTES, CONSOLE_HISTORY_BYTES);
    assert_true(recv(fd, in, 1, MSG_DONTWAIT) < 0); /* nothing more */
    close(fd);
    console_destroy(c);
    evloop_destroy(loop);
    free(out);
    free(in);
}

/* A client that does not read for a while still gets all output, in order (no drops while
 * its socket is full). */
static void test_unix_slow_client_loses_nothing(void **state)
{
    struct evloop *loop;
    struct sockaddr_un sa;
    struct console *c;
    size_t total = CONSOLE_HISTORY_BYTES / 2;
    uint8_t *out = malloc(total), *in = malloc(total);
    int fd;
    (void)state;
    for (size_t i = 0; i < total; i++)
        out[i] = (uint8_t)(i * 13 + i / 509);
    assert_int_equal(evloop_create(&loop), 0);
    c = unix_console(loop, &sa, "slow");
    fd = connect_to(&sa);
    spin(loop, 2);
    for (size_t off = 0; off < total; off += 16) /* small sends fill the socket buffer fast */
        console_output(c, out + off, 16);
    read_all(loop, fd, in, total);
    assert_memory_equal(in, out, total);
    close(fd);
    console_destroy(c);
    evloop_destroy(loop);
    free(out);
    free(in);
}

/* A second client is told the console is busy and closed; the first one keeps working. */
static void test_unix_second_client_refused(void **state)
{
    struct evloop *loop;
    struct sockaddr_un sa;
    struct console *c;
    char buf[128] = {0};
    size_t n = strlen(CONTROL_CONSOLE_BUSY);
    int a, b;
    (void)state;
    assert_int_equal(evloop_create(&loop), 0);
    c = unix_console(loop, &sa, "busy");
    a = connect_to(&sa);
    spin(loop, 2);
    b = connect_to(&sa);
    spin(loop, 2);
    read_all(loop, b, (uint8_t *)buf, n);
    assert_string_equal(buf, CONTROL_CONSOLE_BUSY);
    assert_int_equal(recv(b, buf, sizeof(buf), 0), 0); /* then EOF */
    console_output(c, (const uint8_t *)"still", 5);
    memset(buf, 0, sizeof(buf));
    read_all(loop, a, (uint8_t *)buf, 5);
    assert_string_equal(buf, "still");
    close(a);
    close(b);
    console_destroy(c);
    evloop_destroy(loop);
}

static char *slurp(const char *path)
{
    static char buf[512];
    int fd = open(path, O_RDONLY);
    ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
    if (fd >= 0)
        close(fd);
    buf[n > 0 ? n : 0] = '\0';
    return buf;
}

/* The log gets all output and is moved to PATH.old when it would pass its cap. */
static void test_log_rotation(void **state)
{
    struct evloop *loop;
    struct console *c;
    struct error err = {0};
    char dir[] = "/tmp/bareiron-conlog-XXXXXX", path[128], old[160];
    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/console.log", dir);
    snprintf(old, sizeof(old), "%s.old", path);
    assert_int_equal(evloop_create(&loop), 0);
    assert_int_equal(console_create(loop, VMM_SERIAL_NONE, NULL, &c, &err), 0);
    assert_true(console_set_log(c, path, 0, &err) < 0);
    assert_int_equal(console_set_log(c, path, 10, &err), 0);
    console_output(c, (const uint8_t *)"aaaaaa", 6);
    assert_string_equal(slurp(path), "aaaaaa");
    console_output(c, (const uint8_t *)"bbbbbb", 6); /* 12 > 10: rotate first */
    assert_string_equal(slurp(path), "bbbbbb");
    assert_string_equal(slurp(old), "aaaaaa");
    console_output(c, (const uint8_t *)"cccc", 4); /* exactly 10: no rotation */
    assert_string_equal(slurp(path), "bbbbbbcccc");
    console_output(c, (const uint8_t *)"0123456789abc", 13); /* longer than the cap */
    assert_string_equal(slurp(path), "3456789abc");
    assert_string_equal(slurp(old), "bbbbbbcccc");
    console_destroy(c);
    unlink(path);
    unlink(old);
    rmdir(dir);
    evloop_destroy(loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_file_and_none),
        cmocka_unit_test(test_unix_flow_control),
        cmocka_unit_test(test_stdio_escapes),
        cmocka_unit_test(test_unix_history_replay),
        cmocka_unit_test(test_unix_history_is_bounded),
        cmocka_unit_test(test_unix_slow_client_loses_nothing),
        cmocka_unit_test(test_unix_second_client_refused),
        cmocka_unit_test(test_log_rotation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
