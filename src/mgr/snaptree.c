/* SPDX-License-Identifier: MIT */
/*
 * The snapshot tree's file (mgr/snaptree.h):
 *
 *   {"version": 1, "current": "<uuid>" | null,
 *    "snapshots": [{"uuid": ..., "name": ..., "description": ..., "time": <unix seconds>,
 *                   "parent": "<uuid>" | null, "config": {<vm.json>}
 *                   [, "machine_state": true]}, ...]}
 *
 * Parents come before their children in the array; the file is read as hostile input.
 */
#include "mgr/snaptree.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mgr/config.h"

#define LEAF "snapshots.json"

static bool is_uuid(const char *s)
{
    return config_is_uuid(s);
}

int snaptree_check_name(const char *name, struct error *err)
{
    size_t n = strlen(name);
    if (n == 0 || n > SNAPTREE_MAX_NAME)
        return error_set(err, -EINVAL, "snapshot name must be 1 to %d bytes", SNAPTREE_MAX_NAME);
    if (name[0] == '-' || is_uuid(name))
        return error_set(err, -EINVAL,
                         "snapshot name '%s' must not start with '-' or look like a UUID", name);
    for (size_t i = 0; i < n; i++)
        if (!isprint((unsigned char)name[i]))
            return error_set(err, -EINVAL, "snapshot name may only hold printable ASCII");
    return 0;
}

int snaptree_new_uuid(char out[37])
{
    return config_new_uuid(out);
}

void snaptree_free(struct snap_tree *t)
{
    for (size_t i = 0; i < t->n; i++) {
        free(t->v[i].name);
        free(t->v[i].description);
        json_decref(t->v[i].config);
    }
    free(t->v);
    t->v = NULL;
    t->n = 0;
    t->current = -1;
}

int snaptree_find(const struct snap_tree *t, const char *key)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->v[i].uuid, key) == 0 || strcmp(t->v[i].name, key) == 0)
            return (int)i;
    return -1;
}

size_t snaptree_children(const struct snap_tree *t, int i)
{
    size_t n = 0;
    for (size_t j = 0; j < t->n; j++)
        n += t->v[j].parent == i;
    return n;
}

int snaptree_add(struct snap_tree *t, const char *uuid, const char *name, const char *description,
                 int64_t time_sec, json_t *config)
{
    struct snap *v, *s;
    if (t->n >= SNAPTREE_MAX)
        return -ENOSPC;
    v = realloc(t->v, (t->n + 1) * sizeof(*v));
    if (v == NULL)
        return -ENOMEM;
    t->v = v;
    s = &v[t->n];
    *s = (struct snap){.time_sec = time_sec, .parent = t->current};
    snprintf(s->uuid, sizeof(s->uuid), "%s", uuid);
    s->name = strdup(name);
    s->description = strdup(description ? description : "");
    if (s->name == NULL || s->description == NULL) {
        free(s->name);
        free(s->description);
        return -ENOMEM;
    }
    s->config = json_incref(config);
    t->current = (int)t->n++;
    return t->current;
}

void snaptree_remove(struct snap_tree *t, int i)
{
    int parent = t->v[i].parent;
    free(t->v[i].name);
    free(t->v[i].description);
    json_decref(t->v[i].config);
    memmove(&t->v[i], &t->v[i + 1], (t->n - (size_t)i - 1) * sizeof(t->v[0]));
    t->n--;
    if (t->current == i)
        t->current = parent;
    else if (t->current > i)
        t->current--;
    for (size_t j = 0; j < t->n; j++) {
        if (t->v[j].parent == i)
            t->v[j].parent = parent;
        else if (t->v[j].parent > i)
            t->v[j].parent--;
    }
}

static int bad(struct error *err, const char *what, size_t i, const char *msg)
{
    return error_set(err, -EINVAL, "%s: snapshot %zu: %s", what, i, msg);
}

/* Reads string member (key) of (o) (at most (max) bytes, no NUL) into (*out). */
static int get_str(json_t *o, const char *key, size_t max, const char **out)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_string(v) || json_string_length(v) > max ||
        strlen(json_string_value(v)) != json_string_length(v))
        return -EINVAL;
    *out = json_string_value(v);
    return 0;
}

/* Checks one snapshot's config by parsing it as a definition. */
static int check_config(json_t *c, const char *what, size_t i, struct error *err)
{
    struct vm_config cfg;
    char where[PATH_MAX + 32];
    snprintf(where, sizeof(where), "%s: snapshot %zu: config", what, i);
    if (!json_is_object(c))
        return bad(err, what, i, "\"config\" must be an object");
    if (config_from_json(c, where, &cfg, err) < 0)
        return -EINVAL;
    config_fini(&cfg);
    return 0;
}

static int parse_one(struct snap_tree *t, json_t *o, const char *what, struct error *err)
{
    size_t i = t->n;
    const char *uuid, *name, *desc, *parent = NULL;
    json_t *time = json_object_get(o, "time"), *p = json_object_get(o, "parent");
    json_t *ms = json_object_get(o, "machine_state");
    int ret, pi = -1;

    if (!json_is_object(o) || json_object_size(o) != 6u + (ms != NULL))
        return bad(err, what, i,
                   "must be an object with exactly uuid, name, description, time, "
                   "parent and config (and machine_state)");
    if (ms != NULL && !json_is_true(ms))
        return bad(err, what, i, "\"machine_state\" must be true when present");
    if (get_str(o, "uuid", 36, &uuid) < 0 || !is_uuid(uuid))
        return bad(err, what, i, "\"uuid\" must be a UUID");
    if (get_str(o, "name", SNAPTREE_MAX_NAME, &name) < 0 || snaptree_check_name(name, err) < 0)
        return bad(err, what, i, "bad \"name\"");
    if (get_str(o, "description", SNAPTREE_MAX_DESC, &desc) < 0)
        return bad(err, what, i, "bad \"description\"");
    if (!json_is_integer(time) || json_integer_value(time) < 0)
        return bad(err, what, i, "\"time\" must be a non-negative integer");
    if (!json_is_null(p) && (get_str(o, "parent", 36, &parent) < 0 ||
                             (pi = snaptree_find(t, parent)) < 0 || !is_uuid(parent)))
        return bad(err, what, i, "\"parent\" must be null or the UUID of an earlier snapshot");
    if (snaptree_find(t, uuid) >= 0 || snaptree_find(t, name) >= 0)
        return bad(err, what, i, "its uuid or name is not unique");
    ret = check_config(json_object_get(o, "config"), what, i, err);
    if (ret < 0)
        return ret;
    t->current = pi;
    ret = snaptree_add(t, uuid, name, desc, json_integer_value(time), json_object_get(o, "config"));
    if (ret < 0)
        return error_set(err, ret, "%s: too many snapshots or out of memory", what);
    t->v[ret].has_state = ms != NULL;
    return 0;
}

static int parse_root(json_t *root, const char *what, struct snap_tree *t, struct error *err)
{
    json_t *ver = json_object_get(root, "version"), *list = json_object_get(root, "snapshots"),
           *cur = json_object_get(root, "current"), *o;
    size_t i;
    int ret;

    if (!json_is_object(root) || json_object_size(root) != 3)
        return error_set(err, -EINVAL, "%s: must be an object with version, current, snapshots",
                         what);
    if (!json_is_integer(ver) || json_integer_value(ver) < 1)
        return error_set(err, -EINVAL, "%s: bad \"version\"", what);
    if (json_integer_value(ver) > SNAPTREE_VERSION)
        return error_set(err, -ENOTSUP, "%s: version %lld is newer than this bareiron reads (%d)",
                         what, (long long)json_integer_value(ver), SNAPTREE_VERSION);
    if (!json_is_array(list) || json_array_size(list) > SNAPTREE_MAX)
        return error_set(err, -EINVAL, "%s: \"snapshots\" must be an array of at most %d", what,
                         SNAPTREE_MAX);
    json_array_foreach(list, i, o)
    {
        ret = parse_one(t, o, what, err);
        if (ret < 0)
            return ret;
    }
    t->current = -1;
    if (json_is_null(cur)) /* none taken yet, or the current root was deleted */
        return 0;
    if (!json_is_string(cur) || (t->current = snaptree_find(t, json_string_value(cur))) < 0 ||
        !is_uuid(json_string_value(cur)))
        return error_set(err, -EINVAL, "%s: \"current\" is not the UUID of a snapshot", what);
    return 0;
}

int snaptree_parse(const char *text, size_t len, const char *what, struct snap_tree *t,
                   struct error *err)
{
    json_error_t je;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    int ret;

    *t = (struct snap_tree){.current = -1};
    if (root == NULL)
        return error_set(err, -EINVAL, "%s: line %d: %s", what, je.line, je.text);
    ret = parse_root(root, what, t, err);
    json_decref(root);
    if (ret < 0)
        snaptree_free(t);
    return ret;
}

static json_t *snap_json(const struct snap_tree *t, const struct snap *s)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:I, s:o, s:O}", "uuid", s->uuid, "name", s->name,
                          "description", s->description, "time", (json_int_t)s->time_sec, "parent",
                          s->parent < 0 ? json_null() : json_string(t->v[s->parent].uuid), "config",
                          s->config);
    if (o != NULL && s->has_state && json_object_set_new(o, "machine_state", json_true()) < 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

int snaptree_dump(const struct snap_tree *t, char **out)
{
    json_t *list = json_array(), *root;
    for (size_t i = 0; list && i < t->n; i++)
        if (json_array_append_new(list, snap_json(t, &t->v[i])) < 0) {
            json_decref(list);
            list = NULL;
        }
    if (list == NULL)
        return -ENOMEM;
    root = json_pack("{s:i, s:o, s:o}", "version", SNAPTREE_VERSION, "current",
                     t->current < 0 ? json_null() : json_string(t->v[t->current].uuid), "snapshots",
                     list);
    *out = root ? json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(root);
    if (*out == NULL)
        return -ENOMEM;
    return 0;
}

int snaptree_load(const struct store *st, const char *name, struct snap_tree *t, struct error *err)
{
    char *text, what[PATH_MAX];
    size_t len;
    int ret = store_read_leaf(st, name, LEAF, SNAPTREE_MAX_BYTES, &text, &len);

    *t = (struct snap_tree){.current = -1};
    if (store_vm_path(st, name, LEAF, what, sizeof(what)) < 0)
        snprintf(what, sizeof(what), LEAF);
    if (ret == -ENOENT)
        return 0;
    if (ret < 0)
        return error_set(err, ret == -EFBIG ? -EINVAL : ret, "%s: %s", what,
                         ret == -EFBIG ? "too large" : strerror(-ret));
    ret = snaptree_parse(text, len, what, t, err);
    free(text);
    return ret;
}

int snaptree_save(const struct store *st, const char *name, const struct snap_tree *t,
                  struct error *err)
{
    char *text = NULL;
    int ret;
    if (t->n == 0)
        return store_write_leaf(st, name, LEAF, NULL, 0, err);
    ret = snaptree_dump(t, &text);
    if (ret < 0)
        return error_set(err, ret, "out of memory");
    ret = store_write_leaf(st, name, LEAF, text, strlen(text), err);
    free(text);
    return ret;
}
