/* SPDX-License-Identifier: MIT */
/*
 * The control protocol codec (docs/control-api.md): newline-delimited JSON messages of at most
 * 64 KiB. A request is {"id":N,"cmd":"NAME","args":{...}} and a reply is
 * {"id":N,"ok":true,"result":{...}} or {"id":N,"ok":false,"error":{"code":"EINVAL",
 * "message":"..."}}. Shared by the monitor's control server and the manager's client, and
 * the one place where messages are checked: decoding rejects anything malformed with -EPROTO
 * and a message naming what is wrong, never trusting the peer.
 */
#ifndef BAREIRON_MGR_API_H
#define BAREIRON_MGR_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "base/compiler.h"
#include "base/error.h"

/* Protocol version spoken by this codec (reported by hello/version). */
#define API_PROTOCOL_VERSION 1
/* Maximum size of a message, including its terminating newline. */
#define API_MAX_MESSAGE_BYTES (64 * 1024)
/* Longest command name. */
#define API_MAX_CMD_LEN 63
/* An id that is absent or unreadable in a request ("id":null in the reply). */
#define API_ID_NONE (-1)

struct api_request {
    int64_t id;                    /* >= 0, or API_ID_NONE */
    char cmd[API_MAX_CMD_LEN + 1]; /* "" if it could not be read */
    json_t *args;                  /* an object (empty if absent); owned */
};

struct api_reply {
    int64_t id;
    bool is_ok;
    json_t *result; /* object when is_ok; owned */
    int code;       /* negative errno when !is_ok (-EIO for unknown code names) */
    char code_name[16];
    char message[512];
};

/*
 * Encodes a request line (with the newline) into a malloc'd NUL-terminated string in (*out).
 * (args) may be NULL (sent as {}); it is not consumed. Returns 0, -ENOMEM, or -E2BIG when the
 * message would exceed API_MAX_MESSAGE_BYTES.
 */
MUST_CHECK int api_request_encode(int64_t id, const char *cmd, json_t *args, char **out);

/*
 * Decodes one request from (line) of (len) bytes (the newline optional). On failure returns
 * -EPROTO (or -E2BIG) with (err) filled, and (out) still holds the id when it could be read so
 * that the error reply can carry it. Call api_request_fini on (out) in every case.
 */
MUST_CHECK int api_request_decode(const char *line, size_t len, struct api_request *out,
                                  struct error *err);
/* Frees what (req) owns. */
void api_request_fini(struct api_request *req);

/* Encodes a success reply carrying (result) (NULL: {}; not consumed). Same returns as
 * api_request_encode. */
MUST_CHECK int api_reply_encode_ok(int64_t id, json_t *result, char **out);
/* Encodes an error reply with code error_code_name(code) and (message). */
MUST_CHECK int api_reply_encode_error(int64_t id, int code, const char *message, char **out);

/* Decodes one reply; same conventions as api_request_decode. Call api_reply_fini after. */
MUST_CHECK int api_reply_decode(const char *line, size_t len, struct api_reply *out,
                                struct error *err);
/* Frees what (rep) owns. */
void api_reply_fini(struct api_reply *rep);

struct sockaddr_un;
/*
 * Fills (sa) with the address of the unix socket (path). Paths longer than sun_path (deep
 * test directories) are reached through "/proc/self/fd/N/<basename>" with (*dirfd) an O_PATH
 * descriptor of the directory that the caller closes after bind/connect; otherwise (*dirfd) is
 * -1. Returns 0 or -errno.
 */
MUST_CHECK int api_unix_addr(const char *path, struct sockaddr_un *sa, int *dirfd);

/* Maps an error code name ("EBUSY") back to a negative errno; unknown names give -EIO. */
int api_errno_from_name(const char *name);

/*
 * Argument helpers for command handlers: read (key) from (args) into (out). A missing key
 * leaves (out) unchanged and returns 0 unless (required); a key of the wrong type returns
 * -EINVAL with (err) naming it.
 */
MUST_CHECK int api_arg_uint(json_t *args, const char *key, bool required, uint64_t *out,
                            struct error *err);
MUST_CHECK int api_arg_bool(json_t *args, const char *key, bool required, bool *out,
                            struct error *err);
/* A string of 1 to (max_len) bytes without control characters (NUL included); (*out) points
 * into (args). */
MUST_CHECK int api_arg_str(json_t *args, const char *key, bool required, size_t max_len,
                           const char **out, struct error *err);
/* Like api_arg_str, for text to type: tab, newline, carriage return and backspace are allowed,
 * other control characters (and NUL) are not. */
MUST_CHECK int api_arg_text(json_t *args, const char *key, bool required, size_t max_len,
                            const char **out, struct error *err);
/* Returns 0 if every member of (args) is one of the NULL-terminated (keys), else -EINVAL
 * naming the first other one. */
MUST_CHECK int api_check_args(json_t *args, const char *const *keys, struct error *err);

/* Base64 (RFC 4648 §4, with padding) of (len) bytes of (data) into a malloc'd NUL-terminated
 * string in (*out). Returns 0 or -ENOMEM. */
MUST_CHECK int api_base64_encode(const uint8_t *data, size_t len, char **out);
/* Decodes (s) into (buf) of (size) bytes; (*len) gets the length. Returns 0, -EINVAL (not
 * base64) or -ENOSPC. */
MUST_CHECK int api_base64_decode(const char *s, uint8_t *buf, size_t size, size_t *len);

#endif
