/* SPDX-License-Identifier: MIT */
/*
 * Implementation of mgr/api.h: the control protocol codec (docs/control-api.md) over
 * jansson. Decoding is strict: one JSON object per line, only the documented keys, each of
 * the documented type, and a size limit checked before parsing.
 */
#include "mgr/api.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <fcntl.h>
#include <unistd.h>

static const char *const errno_names[] = {
    "EINVAL", "ENOENT",       "EEXIST",    "EBUSY",  "EPERM",      "EACCES", "ENOMEM",
    "ENOSPC", "ENOTSUP",      "ETIMEDOUT", "E2BIG",  "ENOEXEC",    "EROFS",  "ENODEV",
    "EPROTO", "ECONNREFUSED", "ESRCH",     "EAGAIN", "EADDRINUSE",
};
static const int errno_values[] = {
    EINVAL, ENOENT,  EEXIST, EBUSY,  EPERM,  EACCES,       ENOMEM, ENOSPC, ENOTSUP,    ETIMEDOUT,
    E2BIG,  ENOEXEC, EROFS,  ENODEV, EPROTO, ECONNREFUSED, ESRCH,  EAGAIN, EADDRINUSE,
};
_Static_assert(sizeof(errno_names) / sizeof(errno_names[0]) ==
                   sizeof(errno_values) / sizeof(errno_values[0]),
               "errno tables");

int api_errno_from_name(const char *name)
{
    for (size_t i = 0; name && i < ARRAY_SIZE(errno_names); i++)
        if (strcmp(name, errno_names[i]) == 0)
            return -errno_values[i];
    return -EIO;
}

/* Serializes (obj) compactly, appends the newline and checks the size limit. Consumes obj. */
static int encode_line(json_t *obj, char **out)
{
    char *s, *line;
    size_t n;
    if (obj == NULL)
        return -ENOMEM;
    s = json_dumps(obj, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(obj);
    if (s == NULL)
        return -ENOMEM;
    n = strlen(s);
    if (n + 1 > API_MAX_MESSAGE_BYTES) {
        free(s);
        return -E2BIG;
    }
    line = realloc(s, n + 2);
    if (line == NULL) {
        free(s);
        return -ENOMEM;
    }
    line[n] = '\n';
    line[n + 1] = '\0';
    *out = line;
    return 0;
}

static json_t *args_or_empty(json_t *args)
{
    return args ? json_incref(args) : json_object();
}

int api_request_encode(int64_t id, const char *cmd, json_t *args, char **out)
{
    if (args && !json_is_object(args))
        return -EINVAL;
    return encode_line(
        json_pack("{s:I,s:s,s:o}", "id", (json_int_t)id, "cmd", cmd, "args", args_or_empty(args)),
        out);
}

int api_reply_encode_ok(int64_t id, json_t *result, char **out)
{
    json_t *jid = id >= 0 ? json_integer(id) : json_null();
    if (result && !json_is_object(result)) {
        json_decref(jid);
        return -EINVAL;
    }
    return encode_line(
        json_pack("{s:o,s:b,s:o}", "id", jid, "ok", 1, "result", args_or_empty(result)), out);
}

int api_reply_encode_error(int64_t id, int code, const char *message, char **out)
{
    json_t *jid = id >= 0 ? json_integer(id) : json_null();
    return encode_line(json_pack("{s:o,s:b,s:{s:s,s:s}}", "id", jid, "ok", 0, "error", "code",
                                 error_code_name(code), "message", message ? message : ""),
                       out);
}

/* Parses (line) into a JSON object after the size and framing checks. */
static int parse_object(const char *line, size_t len, json_t **out, struct error *err)
{
    json_error_t jerr;
    json_t *root;
    if (len > 0 && line[len - 1] == '\n')
        len--;
    if (len + 1 > API_MAX_MESSAGE_BYTES)
        return error_set(err, -E2BIG, "message longer than %d bytes", API_MAX_MESSAGE_BYTES);
    if (memchr(line, '\n', len) != NULL)
        return error_set(err, -EPROTO, "more than one line in a message");
    root = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL)
        return error_set(err, -EPROTO, "malformed JSON at column %d: %s", jerr.column, jerr.text);
    if (!json_is_object(root)) {
        json_decref(root);
        return error_set(err, -EPROTO, "a message must be a JSON object");
    }
    *out = root;
    return 0;
}

/* Reads the "id" member: a non-negative integer. */
static int read_id(json_t *root, int64_t *id, struct error *err)
{
    json_t *jid = json_object_get(root, "id");
    if (jid == NULL)
        return error_set(err, -EPROTO, "missing \"id\"");
    if (!json_is_integer(jid) || json_integer_value(jid) < 0)
        return error_set(err, -EPROTO, "\"id\" must be a non-negative integer");
    *id = json_integer_value(jid);
    return 0;
}

static bool is_cmd_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

static int read_cmd(json_t *root, char *cmd, struct error *err)
{
    json_t *jcmd = json_object_get(root, "cmd");
    const char *s;
    size_t n;
    if (jcmd == NULL)
        return error_set(err, -EPROTO, "missing \"cmd\"");
    if (!json_is_string(jcmd))
        return error_set(err, -EPROTO, "\"cmd\" must be a string");
    s = json_string_value(jcmd);
    n = json_string_length(jcmd);
    if (n == 0 || n > API_MAX_CMD_LEN)
        return error_set(err, -EPROTO, "\"cmd\" must be 1 to %d characters", API_MAX_CMD_LEN);
    for (size_t i = 0; i < n; i++)
        if (!is_cmd_char(s[i]))
            return error_set(err, -EPROTO, "\"cmd\" has an invalid character");
    memcpy(cmd, s, n + 1);
    return 0;
}

/* Rejects members of (root) other than the (n) names in (allowed). */
static int check_keys(json_t *root, const char *const *allowed, size_t n, struct error *err)
{
    const char *key;
    json_t *val;
    json_object_foreach(root, key, val)
    {
        size_t i;
        for (i = 0; i < n; i++)
            if (strcmp(key, allowed[i]) == 0)
                break;
        if (i == n)
            return error_set(err, -EPROTO, "unknown member \"%.64s\"", key);
    }
    return 0;
}

/* Sets (*out) to a new reference to the member (key) of (root), which must be an object when
 * present, or to a new empty object when absent; (what) names it in the error message. */
static int object_member(json_t *root, const char *key, const char *what, json_t **out,
                         struct error *err)
{
    json_t *v = json_object_get(root, key);
    if (v != NULL && !json_is_object(v))
        return error_set(err, -EPROTO, "%s must be an object", what);
    *out = v ? json_incref(v) : json_object();
    return *out ? 0 : -ENOMEM;
}

/* Starts decoding a message: (*id) is API_ID_NONE until read, (*root) the parsed object. */
static int begin_decode(const char *line, size_t len, int64_t *id, json_t **root, struct error *err)
{
    *id = API_ID_NONE;
    *root = NULL;
    return parse_object(line, len, root, err);
}

int api_request_decode(const char *line, size_t len, struct api_request *out, struct error *err)
{
    static const char *const keys[] = {"id", "cmd", "args"};
    json_t *root;
    int ret;
    memset(out, 0, sizeof(*out));
    if ((ret = begin_decode(line, len, &out->id, &root, err)) < 0)
        return ret;
    ret = read_id(root, &out->id, err);
    if (ret == 0)
        ret = check_keys(root, keys, ARRAY_SIZE(keys), err);
    if (ret == 0)
        ret = read_cmd(root, out->cmd, err);
    if (ret == 0)
        ret = object_member(root, "args", "\"args\"", &out->args, err);
    json_decref(root);
    return ret;
}

void api_request_fini(struct api_request *req)
{
    json_decref(req->args);
    req->args = NULL;
}

static int decode_error_member(json_t *jerror, struct api_reply *out, struct error *err)
{
    json_t *code = json_object_get(jerror, "code");
    json_t *msg = json_object_get(jerror, "message");
    if (!json_is_object(jerror))
        return error_set(err, -EPROTO, "\"error\" must be an object");
    if (!json_is_string(code) || !json_is_string(msg))
        return error_set(err, -EPROTO, "\"error\" needs string \"code\" and \"message\"");
    snprintf(out->code_name, sizeof(out->code_name), "%s", json_string_value(code));
    snprintf(out->message, sizeof(out->message), "%s", json_string_value(msg));
    out->code = api_errno_from_name(out->code_name);
    return 0;
}

int api_reply_decode(const char *line, size_t len, struct api_reply *out, struct error *err)
{
    static const char *const keys[] = {"id", "ok", "result", "error"};
    json_t *root, *jid, *jok;
    int ret;
    memset(out, 0, sizeof(*out));
    if ((ret = begin_decode(line, len, &out->id, &root, err)) < 0)
        return ret;
    jid = json_object_get(root, "id");
    jok = json_object_get(root, "ok");
    ret = check_keys(root, keys, ARRAY_SIZE(keys), err);
    if (ret < 0)
        goto out;
    if (json_is_integer(jid) && json_integer_value(jid) >= 0)
        out->id = json_integer_value(jid);
    else if (!json_is_null(jid)) {
        ret = error_set(err, -EPROTO, "reply \"id\" must be a non-negative integer or null");
        goto out;
    }
    if (!json_is_boolean(jok)) {
        ret = error_set(err, -EPROTO, "reply \"ok\" must be a boolean");
        goto out;
    }
    out->is_ok = json_is_true(jok);
    if (!out->is_ok) {
        ret = decode_error_member(json_object_get(root, "error"), out, err);
        goto out;
    }
    ret = object_member(root, "result", "reply \"result\"", &out->result, err);
out:
    json_decref(root);
    return ret;
}

void api_reply_fini(struct api_reply *rep)
{
    json_decref(rep->result);
    rep->result = NULL;
}

int api_arg_uint(json_t *args, const char *key, bool required, uint64_t *out, struct error *err)
{
    json_t *v = json_object_get(args, key);
    if (v == NULL)
        return required ? error_set(err, -EINVAL, "missing argument \"%s\"", key) : 0;
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return error_set(err, -EINVAL, "argument \"%s\" must be a non-negative integer", key);
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

int api_arg_bool(json_t *args, const char *key, bool required, bool *out, struct error *err)
{
    json_t *v = json_object_get(args, key);
    if (v == NULL)
        return required ? error_set(err, -EINVAL, "missing argument \"%s\"", key) : 0;
    if (!json_is_boolean(v))
        return error_set(err, -EINVAL, "argument \"%s\" must be true or false", key);
    *out = json_is_true(v);
    return 0;
}

int api_unix_addr(const char *path, struct sockaddr_un *sa, int *dirfd)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    *dirfd = -1;
    if (strlen(path) < sizeof(sa->sun_path)) {
        memcpy(sa->sun_path, path, strlen(path) + 1);
        return 0;
    }
    if (slash == NULL || (size_t)(slash - path) >= sizeof(dir))
        return -ENAMETOOLONG;
    memcpy(dir, path, (size_t)(slash - path));
    dir[slash - path] = '\0';
    *dirfd = open(dir[0] ? dir : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (*dirfd < 0)
        return -errno;
    if (snprintf(sa->sun_path, sizeof(sa->sun_path), "/proc/self/fd/%d/%s", *dirfd, slash + 1) >=
        (int)sizeof(sa->sun_path)) {
        close(*dirfd);
        *dirfd = -1;
        return -ENAMETOOLONG;
    }
    return 0;
}

static bool is_text_control(char c)
{
    return c == '\t' || c == '\n' || c == '\r' || c == '\b';
}

static int arg_string(json_t *args, const char *key, bool required, size_t max_len, bool is_text,
                      const char **out, struct error *err)
{
    json_t *v = json_object_get(args, key);
    const char *s;
    if (v == NULL)
        return required ? error_set(err, -EINVAL, "missing argument \"%s\"", key) : 0;
    if (!json_is_string(v))
        return error_set(err, -EINVAL, "argument \"%s\" must be a string", key);
    s = json_string_value(v);
    if (json_string_length(v) == 0 || json_string_length(v) > max_len)
        return error_set(err, -EINVAL, "argument \"%s\" must be 1 to %zu characters", key, max_len);
    for (size_t i = 0; i < json_string_length(v); i++)
        if (((unsigned char)s[i] < 0x20 || s[i] == 0x7f) && !(is_text && is_text_control(s[i])))
            return error_set(err, -EINVAL, "argument \"%s\" contains a control character", key);
    *out = s;
    return 0;
}

int api_arg_str(json_t *args, const char *key, bool required, size_t max_len, const char **out,
                struct error *err)
{
    return arg_string(args, key, required, max_len, false, out, err);
}

int api_arg_text(json_t *args, const char *key, bool required, size_t max_len, const char **out,
                 struct error *err)
{
    return arg_string(args, key, required, max_len, true, out, err);
}

int api_check_args(json_t *args, const char *const *keys, struct error *err)
{
    const char *key;
    json_t *val;
    json_object_foreach(args, key, val)
    {
        size_t i;
        for (i = 0; keys[i]; i++)
            if (strcmp(key, keys[i]) == 0)
                break;
        if (keys[i] == NULL)
            return error_set(err, -EINVAL, "unknown argument \"%.64s\"", key);
    }
    return 0;
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int api_base64_encode(const uint8_t *data, size_t len, char **out)
{
    char *s = malloc((len + 2) / 3 * 4 + 1), *p = s;
    if (s == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)data[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)data[i + 1] << 8;
        if (i + 2 < len)
            v |= data[i + 2];
        *p++ = b64[v >> 18 & 63];
        *p++ = b64[v >> 12 & 63];
        *p++ = i + 1 < len ? b64[v >> 6 & 63] : '=';
        *p++ = i + 2 < len ? b64[v & 63] : '=';
    }
    *p = '\0';
    *out = s;
    return 0;
}

int api_base64_decode(const char *s, uint8_t *buf, size_t size, size_t *len)
{
    size_t n = strlen(s), o = 0;
    if (n % 4 != 0)
        return -EINVAL;
    for (size_t i = 0; i < n; i += 4) {
        uint32_t v = 0;
        unsigned pad = 0;
        for (unsigned j = 0; j < 4; j++) {
            const char *c = s[i + j] ? strchr(b64, s[i + j]) : NULL;
            if (s[i + j] == '=' && i + 4 == n && j >= 2) {
                pad++;
                v <<= 6;
                continue;
            }
            if (c == NULL || pad > 0)
                return -EINVAL;
            v = v << 6 | (uint32_t)(c - b64);
        }
        for (unsigned j = 0; j < 3 - pad; j++) {
            if (o >= size)
                return -ENOSPC;
            buf[o++] = (uint8_t)(v >> (16 - 8 * j));
        }
    }
    *len = o;
    return 0;
}
