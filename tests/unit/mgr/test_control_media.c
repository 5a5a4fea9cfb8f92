/* SPDX-License-Identifier: MIT */
/* Unit tests for mgr/control_media.c: the arguments of media-change, with a fake op. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "mgr/control_media.h"

static struct control_media_change seen; /* its strings copied below, args are freed */
static char seen_drive[16];
static bool has_path;
static unsigned calls;

static int fake_change(void *opaque, const struct control_media_change *req, struct error *err)
{
    (void)opaque;
    (void)err;
    seen = *req;
    snprintf(seen_drive, sizeof(seen_drive), "%s", req->drive);
    has_path = req->path != NULL;
    calls++;
    return 0;
}

static int run(const char *json, int fd)
{
    static const struct control_ops ops = {.media_change = fake_change};
    struct error err = {0};
    json_t *args = json_loads(json, 0, NULL), *result = json_object();
    int ret;
    assert_non_null(args);
    ret = control_media_change(&ops, NULL, fd, args, result, &err);
    if (ret < 0)
        assert_true(err.message[0] != '\0');
    json_decref(args);
    json_decref(result);
    return ret;
}

static void test_valid(void **state)
{
    (void)state;
    calls = 0;
    assert_int_equal(run("{\"drive\":\"floppy\",\"path\":\"/a.img\"}", 7), 0);
    assert_string_equal(seen_drive, "floppy");
    assert_true(has_path);
    assert_int_equal(seen.fd, 7);
    assert_false(seen.is_readonly);
    assert_int_equal(run("{\"drive\":\"cdrom\",\"path\":\"/a.iso\",\"readonly\":true}", -1), 0);
    assert_true(seen.is_readonly);
    assert_int_equal(run("{\"drive\":\"floppy\",\"eject\":true}", -1), 0);
    assert_false(has_path);
    assert_int_equal(calls, 3);
}

static void test_invalid(void **state)
{
    static const char *const bad[] = {
        "{}",
        "{\"drive\":\"tape\",\"eject\":true}",
        "{\"drive\":\"floppy\"}",
        "{\"drive\":\"floppy\",\"eject\":false}",
        "{\"drive\":\"floppy\",\"path\":\"/a\",\"eject\":true}",
        "{\"drive\":\"floppy\",\"path\":\"\"}",
        "{\"drive\":\"floppy\",\"eject\":true,\"readonly\":true}",
        "{\"drive\":\"floppy\",\"path\":\"/a\",\"speed\":1}",
        "{\"drive\":7,\"eject\":true}",
        "{\"drive\":\"floppy\",\"path\":7}",
    };
    (void)state;
    calls = 0;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(run(bad[i], -1), -EINVAL);
    assert_int_equal(calls, 0);
}

static void test_no_op(void **state)
{
    static const struct control_ops none = {0};
    struct error err = {0};
    json_t *args = json_loads("{\"drive\":\"floppy\",\"eject\":true}", 0, NULL);
    (void)state;
    assert_int_equal(control_media_change(&none, NULL, -1, args, NULL, &err), -ENOTSUP);
    json_decref(args);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_no_op),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
