/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the control protocol codec (mgr/api.c, docs/control-api.md): the input
 * is one message line from an untrusted peer. It is decoded as a request (the monitor's side)
 * and as a reply (the manager's side); what decodes is read through the argument helpers,
 * encoded again and decoded once more, which must give the same id and command. Nothing may
 * crash, leak, or accept a message the codec's rules forbid.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "mgr/api.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void use_args(json_t *args)
{
    struct error err = {0};
    const char *key;
    uint64_t u = 0;
    json_t *val;
    bool b = false;

    (void)!api_arg_uint(args, "bytes", false, &u, &err);
    error_clear(&err);
    (void)!api_arg_bool(args, "force", true, &b, &err);
    error_clear(&err);
    json_object_foreach(args, key, val)
    {
        (void)!api_arg_uint(args, key, true, &u, &err);
        error_clear(&err);
        (void)!api_arg_bool(args, key, true, &b, &err);
        error_clear(&err);
    }
}

static void request(const char *line, size_t len)
{
    struct api_request req, again;
    struct error err = {0};
    char *enc = NULL;
    int ret;

    ret = api_request_decode(line, len, &req, &err);
    if (ret == 0) {
        if (req.id < 0 || req.cmd[0] == '\0' || !json_is_object(req.args))
            abort(); /* decoded, yet against the rules */
        use_args(req.args);
        if (api_request_encode(req.id, req.cmd, req.args, &enc) == 0) {
            error_clear(&err);
            if (api_request_decode(enc, strlen(enc), &again, &err) != 0 || again.id != req.id ||
                strcmp(again.cmd, req.cmd) != 0 || !json_equal(again.args, req.args))
                abort(); /* what we encode we must decode to the same request */
            api_request_fini(&again);
            free(enc);
        }
    } else if (ret != -ENOMEM && err.code == 0) {
        abort(); /* a refusal must say why */
    }
    if (api_reply_encode_error(req.id, ret < 0 ? ret : -EINVAL, err.message, &enc) == 0)
        free(enc);
    api_request_fini(&req);
    error_clear(&err);
}

static void reply(const char *line, size_t len)
{
    struct api_reply rep;
    struct error err = {0};
    char *enc = NULL;

    if (api_reply_decode(line, len, &rep, &err) == 0) {
        if (rep.is_ok && api_reply_encode_ok(rep.id, rep.result, &enc) == 0)
            free(enc);
        if (!rep.is_ok && api_reply_encode_error(rep.id, rep.code, rep.message, &enc) == 0)
            free(enc);
        (void)api_errno_from_name(rep.code_name);
    }
    api_reply_fini(&rep);
    error_clear(&err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *line;

    if (size > API_MAX_MESSAGE_BYTES + 16)
        return 0;
    log_set_level(LOG_ERROR);
    line = malloc(size + 1); /* exactly (size) bytes for the decoder; NUL for the name lookup */
    if (line == NULL)
        return 0;
    memcpy(line, data, size);
    line[size] = '\0';
    request(line, size);
    reply(line, size);
    (void)api_errno_from_name(line);
    free(line);
    return 0;
}
