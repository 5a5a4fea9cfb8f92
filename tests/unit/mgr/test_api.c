/* SPDX-License-Identifier: MIT */
/* Unit tests for mgr/api.c, the control protocol codec: round trips, every malformed shape of
 * request and reply, size limits, error codes and argument helpers. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mgr/api.h"

static void test_request_round_trip(void **state)
{
    struct api_request req;
    struct error err = {0};
    json_t *args = json_pack("{s:i}", "version", 1);
    char *line;
    (void)state;
    assert_int_equal(api_request_encode(42, "hello", args, &line), 0);
    assert_string_equal(line, "{\"id\":42,\"cmd\":\"hello\",\"args\":{\"version\":1}}\n");
    assert_int_equal(api_request_decode(line, strlen(line), &req, &err), 0);
    assert_int_equal(req.id, 42);
    assert_string_equal(req.cmd, "hello");
    assert_int_equal(json_integer_value(json_object_get(req.args, "version")), 1);
    api_request_fini(&req);
    free(line);
    json_decref(args);
    assert_int_equal(api_request_encode(1, "pause", NULL, &line), 0);
    assert_string_equal(line, "{\"id\":1,\"cmd\":\"pause\",\"args\":{}}\n");
    free(line);
}

static void expect_bad_request(const char *text, int code, const char *needle, int64_t id)
{
    struct api_request req;
    struct error err = {0};
    assert_int_equal(api_request_decode(text, strlen(text), &req, &err), code);
    if (strstr(err.message, needle) == NULL)
        fail_msg("decoding '%s': message '%s' lacks '%s'", text, err.message, needle);
    assert_int_equal(req.id, id);
    api_request_fini(&req);
}

static void test_request_malformed(void **state)
{
    (void)state;
    expect_bad_request("", -EPROTO, "malformed JSON", API_ID_NONE);
    expect_bad_request("{", -EPROTO, "malformed JSON", API_ID_NONE);
    expect_bad_request("[1,2]", -EPROTO, "JSON object", API_ID_NONE);
    expect_bad_request("\"x\"", -EPROTO, "malformed", API_ID_NONE);
    expect_bad_request("{\"cmd\":\"pause\"}", -EPROTO, "missing \"id\"", API_ID_NONE);
    expect_bad_request("{\"id\":-1,\"cmd\":\"pause\"}", -EPROTO, "non-negative", API_ID_NONE);
    expect_bad_request("{\"id\":\"1\",\"cmd\":\"pause\"}", -EPROTO, "non-negative", API_ID_NONE);
    expect_bad_request("{\"id\":1.5,\"cmd\":\"pause\"}", -EPROTO, "non-negative", API_ID_NONE);
    expect_bad_request("{\"id\":3}", -EPROTO, "missing \"cmd\"", 3);
    expect_bad_request("{\"id\":3,\"cmd\":7}", -EPROTO, "must be a string", 3);
    expect_bad_request("{\"id\":3,\"cmd\":\"\"}", -EPROTO, "1 to 63", 3);
    expect_bad_request("{\"id\":3,\"cmd\":\"Pause\"}", -EPROTO, "invalid character", 3);
    expect_bad_request("{\"id\":3,\"cmd\":\"a b\"}", -EPROTO, "invalid character", 3);
    expect_bad_request("{\"id\":3,\"cmd\":\"pause\",\"args\":[]}", -EPROTO, "\"args\" must", 3);
    expect_bad_request("{\"id\":3,\"cmd\":\"pause\",\"extra\":1}", -EPROTO, "unknown member", 3);
    expect_bad_request("{\"id\":3,\"id\":4,\"cmd\":\"pause\"}", -EPROTO, "malformed", API_ID_NONE);
    expect_bad_request("{\"id\":3,\"cmd\":\"a\"}\n{}", -EPROTO, "more than one line", API_ID_NONE);
    expect_bad_request("{\"id\":3,\"cmd\":\"a\\u0000b\"}", -EPROTO, "malformed", API_ID_NONE);
    /* The newline terminator is optional and accepted. */
    struct api_request req;
    assert_int_equal(api_request_decode("{\"id\":0,\"cmd\":\"x\"}\n", 19, &req, NULL), 0);
    api_request_fini(&req);
}

static void test_size_limit(void **state)
{
    size_t n = API_MAX_MESSAGE_BYTES + 10;
    char *big = malloc(n + 1);
    json_t *args;
    struct api_request req;
    struct error err = {0};
    char *line;
    (void)state;
    memset(big, 'a', n);
    big[n] = '\0';
    assert_int_equal(api_request_decode(big, n, &req, &err), -E2BIG);
    api_request_fini(&req);
    args = json_pack("{s:s}", "x", big);
    assert_int_equal(api_request_encode(1, "x", args, &line), -E2BIG);
    assert_int_equal(api_reply_encode_ok(1, args, &line), -E2BIG);
    json_decref(args);
    free(big);
}

static void test_reply_round_trip(void **state)
{
    struct api_reply rep;
    struct error err = {0};
    json_t *res = json_pack("{s:s}", "state", "running");
    char *line;
    (void)state;
    assert_int_equal(api_reply_encode_ok(5, res, &line), 0);
    assert_string_equal(line, "{\"id\":5,\"ok\":true,\"result\":{\"state\":\"running\"}}\n");
    assert_int_equal(api_reply_decode(line, strlen(line), &rep, &err), 0);
    assert_true(rep.is_ok);
    assert_int_equal(rep.id, 5);
    assert_string_equal(json_string_value(json_object_get(rep.result, "state")), "running");
    api_reply_fini(&rep);
    free(line);
    json_decref(res);
    assert_int_equal(api_reply_encode_error(API_ID_NONE, -EBUSY, "already paused", &line), 0);
    assert_string_equal(line, "{\"id\":null,\"ok\":false,\"error\":{\"code\":\"EBUSY\","
                              "\"message\":\"already paused\"}}\n");
    assert_int_equal(api_reply_decode(line, strlen(line), &rep, &err), 0);
    assert_false(rep.is_ok);
    assert_int_equal(rep.id, API_ID_NONE);
    assert_int_equal(rep.code, -EBUSY);
    assert_string_equal(rep.code_name, "EBUSY");
    assert_string_equal(rep.message, "already paused");
    api_reply_fini(&rep);
    free(line);
}

static void expect_bad_reply(const char *text, const char *needle)
{
    struct api_reply rep;
    struct error err = {0};
    assert_int_equal(api_reply_decode(text, strlen(text), &rep, &err), -EPROTO);
    if (strstr(err.message, needle) == NULL)
        fail_msg("decoding '%s': message '%s' lacks '%s'", text, err.message, needle);
    api_reply_fini(&rep);
}

static void test_reply_malformed(void **state)
{
    struct api_reply rep;
    (void)state;
    expect_bad_reply("nope", "malformed");
    expect_bad_reply("{\"id\":1}", "\"ok\"");
    expect_bad_reply("{\"id\":1,\"ok\":1}", "\"ok\"");
    expect_bad_reply("{\"id\":\"1\",\"ok\":true}", "\"id\"");
    expect_bad_reply("{\"id\":1,\"ok\":true,\"result\":5}", "\"result\"");
    expect_bad_reply("{\"id\":1,\"ok\":false}", "\"error\"");
    expect_bad_reply("{\"id\":1,\"ok\":false,\"error\":{\"code\":1,\"message\":\"x\"}}",
                     "\"code\"");
    expect_bad_reply("{\"id\":1,\"ok\":true,\"bonus\":1}", "unknown member");
    const char *unk = "{\"id\":1,\"ok\":false,\"error\":{\"code\":\"EWHAT\",\"message\":\"m\"}}";
    assert_int_equal(api_reply_decode(unk, strlen(unk), &rep, NULL), 0);
    assert_int_equal(rep.code, -EIO);
    api_reply_fini(&rep);
}

static void test_errno_names(void **state)
{
    static const int codes[] = {EINVAL, ENOENT, EEXIST, EBUSY, ENOTSUP, ETIMEDOUT, EPROTO, E2BIG};
    (void)state;
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
        assert_int_equal(api_errno_from_name(error_code_name(-codes[i])), -codes[i]);
    assert_int_equal(api_errno_from_name("nonsense"), -EIO);
    assert_int_equal(api_errno_from_name(NULL), -EIO);
}

static void test_args(void **state)
{
    json_t *args = json_pack("{s:i,s:b,s:s,s:i}", "n", 7, "b", 1, "s", "x", "neg", -1);
    struct error err = {0};
    uint64_t n = 0;
    bool b = false;
    (void)state;
    assert_int_equal(api_arg_uint(args, "n", true, &n, &err), 0);
    assert_int_equal(n, 7);
    assert_int_equal(api_arg_uint(args, "missing", false, &n, &err), 0);
    assert_int_equal(n, 7);
    assert_int_equal(api_arg_uint(args, "missing", true, &n, &err), -EINVAL);
    error_clear(&err);
    assert_int_equal(api_arg_uint(args, "s", false, &n, &err), -EINVAL);
    assert_non_null(strstr(err.message, "\"s\""));
    assert_int_equal(api_arg_uint(args, "neg", false, &n, NULL), -EINVAL);
    assert_int_equal(api_arg_bool(args, "b", true, &b, NULL), 0);
    assert_true(b);
    assert_int_equal(api_arg_bool(args, "n", true, &b, NULL), -EINVAL);
    json_decref(args);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_round_trip),
        cmocka_unit_test(test_request_malformed),
        cmocka_unit_test(test_size_limit),
        cmocka_unit_test(test_reply_round_trip),
        cmocka_unit_test(test_reply_malformed),
        cmocka_unit_test(test_errno_names),
        cmocka_unit_test(test_args),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
