/* SPDX-License-Identifier: MIT */
/* Unit tests for mgr/snaptree.c: the snapshot tree's file round trip (parse, dump, parse),
 * tree edits (add under the current snapshot, remove a middle one: its children move to its
 * parent, the current marker follows) and hostile files (bad JSON, unknown keys, duplicate
 * names and UUIDs, parents that do not exist or come later, a bad current, bad definitions,
 * a future version, too many snapshots). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mgr/snaptree.h"

#define U1 "11111111-1111-4111-8111-111111111111"
#define U2 "22222222-2222-4222-8222-222222222222"
#define U3 "33333333-3333-4333-8333-333333333333"
#define CFG "{\"schema\":2,\"name\":\"vm\",\"cpus\":2,\"memory_mib\":256}"

static json_t *cfg(void)
{
    return json_loads(CFG, 0, NULL);
}

static int parse(const char *text, struct snap_tree *t, struct error *err)
{
    return snaptree_parse(text, strlen(text), "snapshots.json", t, err);
}

/* A -> B, A -> C (current) */
static void build(struct snap_tree *t)
{
    json_t *c = cfg();
    *t = (struct snap_tree){.current = -1};
    assert_int_equal(snaptree_add(t, U1, "A", "first", 1, c), 0);
    assert_int_equal(snaptree_add(t, U2, "B", "", 2, c), 1);
    t->current = 0;
    assert_int_equal(snaptree_add(t, U3, "C", "x\ny", 3, c), 2);
    t->v[2].has_state = true; /* taken with the machine state */
    json_decref(c);
}

static void test_round_trip(void **state)
{
    struct snap_tree t, u;
    struct error err = {0};
    char *text, *again;
    (void)state;
    build(&t);
    assert_int_equal(snaptree_dump(&t, &text), 0);
    assert_int_equal(parse(text, &u, &err), 0);
    assert_int_equal(u.n, 3);
    assert_int_equal(u.current, 2);
    assert_int_equal(u.v[1].parent, 0);
    assert_int_equal(u.v[2].parent, 0);
    assert_string_equal(u.v[2].description, "x\ny");
    assert_int_equal(u.v[2].time_sec, 3);
    assert_true(u.v[2].has_state);
    assert_false(u.v[1].has_state);
    assert_non_null(strstr(text, "\"machine_state\": true"));
    assert_int_equal(snaptree_find(&u, "B"), 1);
    assert_int_equal(snaptree_find(&u, U3), 2);
    assert_int_equal(snaptree_find(&u, "nope"), -1);
    assert_int_equal(snaptree_children(&u, 0), 2);
    assert_int_equal(snaptree_dump(&u, &again), 0);
    assert_string_equal(text, again);
    free(text);
    free(again);
    snaptree_free(&t);
    snaptree_free(&u);
}

static void test_remove_middle(void **state)
{
    struct snap_tree t;
    json_t *c = cfg();
    (void)state;
    build(&t);
    t.current = 1;
    assert_int_equal(snaptree_add(&t, "44444444-4444-4444-8444-444444444444", "D", "", 4, c), 3);
    json_decref(c);
    /* A -> B -> D (current), A -> C; removing B makes D a child of A */
    snaptree_remove(&t, 1);
    assert_int_equal(t.n, 3);
    assert_int_equal(t.current, 2);
    assert_string_equal(t.v[2].name, "D");
    assert_int_equal(t.v[2].parent, 0);
    /* removing the current D moves the marker to A; removing the root makes C a root */
    snaptree_remove(&t, 2);
    assert_int_equal(t.current, 0);
    snaptree_remove(&t, 0);
    assert_int_equal(t.n, 1);
    assert_int_equal(t.current, -1);
    assert_int_equal(t.v[0].parent, -1);
    snaptree_free(&t);
}

static void test_names(void **state)
{
    struct error err = {0};
    (void)state;
    assert_int_equal(snaptree_check_name("before upgrade", &err), 0);
    assert_int_equal(snaptree_check_name("", &err), -EINVAL);
    assert_int_equal(snaptree_check_name("-x", &err), -EINVAL);
    assert_int_equal(snaptree_check_name(U1, &err), -EINVAL);
    assert_int_equal(snaptree_check_name("a\tb", &err), -EINVAL);
    char uuid[37];
    assert_int_equal(snaptree_new_uuid(uuid), 0);
    assert_int_equal(strlen(uuid), 36);
    assert_int_equal(uuid[14], '4');
}

#define SNAP(u, n, p)                                                                              \
    "{\"uuid\":\"" u "\",\"name\":\"" n "\",\"description\":\"\",\"time\":1,"                      \
    "\"parent\":" p ",\"config\":" CFG "}"

static void test_hostile(void **state)
{
    static const char *const bad[] = {
        "",
        "[]",
        "{\"version\":1,\"current\":null}",
        "{\"version\":1,\"current\":null,\"snapshots\":[],\"x\":1}",
        "{\"version\":0,\"current\":null,\"snapshots\":[]}",
        "{\"version\":1,\"current\":null,\"snapshots\":{}}",
        "{\"version\":1,\"current\":\"" U2 "\",\"snapshots\":[" SNAP(U1, "A", "null") "]}",
        "{\"version\":1,\"current\":\"A\",\"snapshots\":[" SNAP(U1, "A", "null") "]}",
        "{\"version\":1,\"current\":\"" U1
        "\",\"snapshots\":[" SNAP(U1, "A", "null") "," SNAP(U1, "B", "null") "]}",
        "{\"version\":1,\"current\":\"" U1
        "\",\"snapshots\":[" SNAP(U1, "A", "null") "," SNAP(U2, "A", "null") "]}",
        "{\"version\":1,\"current\":\"" U1
        "\",\"snapshots\":[" SNAP(U1, "A", "\"" U2 "\"") "," SNAP(U2, "B", "null") "]}",
        "{\"version\":1,\"current\":\"" U1 "\",\"snapshots\":[" SNAP(U1, "A", "\"" U1 "\"") "]}",
        "{\"version\":1,\"current\":\"" U1
        "\",\"snapshots\":[" SNAP("not-a-uuid", "A", "null") "]}",
        "{\"version\":1,\"current\":\"" U1 "\",\"snapshots\":[" SNAP(U1, "-A", "null") "]}",
        "{\"version\":1,\"current\":\"" U1 "\",\"snapshots\":[" SNAP(U1, "A\\u0000", "null") "]}",
        "{\"version\":1,\"current\":\"" U1 "\",\"snapshots\":[{\"uuid\":\"" U1 "\",\"name\":\"A\","
        "\"description\":\"\",\"time\":-1,\"parent\":null,\"config\":" CFG "}]}",
        "{\"version\":1,\"current\":\"" U1 "\",\"snapshots\":[{\"uuid\":\"" U1 "\",\"name\":\"A\","
        "\"description\":\"\",\"time\":1,\"parent\":null,\"config\":{\"cpus\":\"many\"}}]}",
        "{\"version\":1,\"current\":\"" U1 "\",\"snapshots\":[{\"uuid\":\"" U1 "\",\"name\":\"A\","
        "\"description\":\"\",\"time\":1,\"parent\":null,\"config\":[]}]}",
        "{\"version\":1,\"current\":\"" U1 "\",\"snapshots\":[{\"uuid\":\"" U1 "\",\"name\":\"A\","
        "\"description\":\"\",\"time\":1,\"parent\":null,\"config\":" CFG ",\"extra\":1}]}",
        "{\"version\":1,\"current\":\"" U1 "\",\"snapshots\":[{\"uuid\":\"" U1 "\",\"name\":\"A\","
        "\"description\":\"\",\"time\":1,\"parent\":null,\"config\":" CFG
        ",\"machine_state\":false}]}",
        "{\"version\":1,\"version\":1,\"current\":null,\"snapshots\":[]}",
    };
    struct snap_tree t;
    struct error err = {0};
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err = (struct error){0};
        if (parse(bad[i], &t, &err) != -EINVAL)
            fail_msg("accepted or wrong error for case %zu: %s", i, bad[i]);
        assert_true(err.message[0] != '\0');
        assert_null(t.v);
    }
    assert_int_equal(parse("{\"version\":2,\"current\":null,\"snapshots\":[]}", &t, &err),
                     -ENOTSUP);
    assert_int_equal(parse("{\"version\":1,\"current\":null,\"snapshots\":[]}", &t, &err), 0);
    assert_int_equal(t.n, 0);
    snaptree_free(&t);
}

static void test_limit(void **state)
{
    struct snap_tree t = {.current = -1};
    json_t *c = cfg();
    char uuid[37], name[16];
    (void)state;
    for (int i = 0; i < SNAPTREE_MAX; i++) {
        assert_int_equal(snaptree_new_uuid(uuid), 0);
        snprintf(name, sizeof(name), "s%d", i);
        assert_int_equal(snaptree_add(&t, uuid, name, "", 0, c), i);
    }
    assert_int_equal(snaptree_add(&t, U1, "one more", "", 0, c), -ENOSPC);
    json_decref(c);
    snaptree_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip), cmocka_unit_test(test_remove_middle),
        cmocka_unit_test(test_names),      cmocka_unit_test(test_hostile),
        cmocka_unit_test(test_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
