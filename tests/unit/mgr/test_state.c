/* SPDX-License-Identifier: MIT */
/* Unit tests for mgr/state.c: every (state, event) pair of the lifecycle table, names, and the
 * derivation of the shown state from a probe of the monitor. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mgr/state.h"

#define S(x) VM_STATE_##x
#define E(x) VM_EVENT_##x

/* The expected table, written independently of state.c: {state, event, next}. */
static const struct {
    enum vm_state state;
    enum vm_event event;
    enum vm_state next;
} legal[] = {
    {S(POWERED_OFF), E(START), S(STARTING)},
    {S(STARTING), E(STARTED), S(RUNNING)},
    {S(STARTING), E(POWEROFF), S(STOPPING)},
    {S(STARTING), E(EXITED), S(POWERED_OFF)},
    {S(STARTING), E(DIED), S(ABORTED)},
    {S(RUNNING), E(PAUSE), S(PAUSED)},
    {S(RUNNING), E(POWER_BUTTON), S(STOPPING)},
    {S(RUNNING), E(POWEROFF), S(STOPPING)},
    {S(RUNNING), E(RESET), S(RUNNING)},
    {S(RUNNING), E(EXITED), S(POWERED_OFF)},
    {S(RUNNING), E(DIED), S(ABORTED)},
    {S(RUNNING), E(SAVE), S(SAVED)},
    {S(PAUSED), E(RESUME), S(RUNNING)},
    {S(PAUSED), E(POWEROFF), S(STOPPING)},
    {S(PAUSED), E(RESET), S(PAUSED)},
    {S(PAUSED), E(EXITED), S(POWERED_OFF)},
    {S(PAUSED), E(DIED), S(ABORTED)},
    {S(PAUSED), E(SAVE), S(SAVED)},
    {S(STOPPING), E(POWER_BUTTON), S(STOPPING)},
    {S(STOPPING), E(POWEROFF), S(STOPPING)},
    {S(STOPPING), E(EXITED), S(POWERED_OFF)},
    {S(STOPPING), E(DIED), S(ABORTED)},
    {S(ABORTED), E(START), S(STARTING)},
    {S(SAVED), E(RESTORE), S(STARTING)},
    {S(SAVED), E(DISCARD), S(POWERED_OFF)},
};

static void test_every_pair(void **state)
{
    size_t n_legal = 0;
    (void)state;
    for (int s = 0; s < VM_STATE_COUNT; s++) {
        for (int e = 0; e < VM_EVENT_COUNT; e++) {
            enum vm_state next = VM_STATE_COUNT;
            int want = -1;
            for (size_t i = 0; i < sizeof(legal) / sizeof(legal[0]); i++)
                if ((int)legal[i].state == s && (int)legal[i].event == e)
                    want = (int)legal[i].next;
            int ret = vm_state_next((enum vm_state)s, (enum vm_event)e, &next);
            if (want < 0) {
                assert_int_equal(ret, -EINVAL);
                assert_int_equal(next, VM_STATE_COUNT); /* untouched */
            } else {
                assert_int_equal(ret, 0);
                assert_int_equal(next, want);
                n_legal++;
            }
        }
    }
    assert_int_equal(n_legal, sizeof(legal) / sizeof(legal[0]));
}

static void test_out_of_range(void **state)
{
    enum vm_state next;
    (void)state;
    assert_int_equal(vm_state_next(VM_STATE_COUNT, E(START), &next), -EINVAL);
    assert_int_equal(vm_state_next(S(RUNNING), VM_EVENT_COUNT, &next), -EINVAL);
    assert_int_equal(vm_state_next((enum vm_state) - 1, E(START), &next), -EINVAL);
}

static void test_names(void **state)
{
    enum vm_state s;
    (void)state;
    assert_string_equal(vm_state_name(S(POWERED_OFF)), "powered-off");
    assert_string_equal(vm_state_name(S(ABORTED)), "aborted");
    assert_string_equal(vm_state_name(VM_STATE_COUNT), "unknown");
    assert_string_equal(vm_event_name(E(POWER_BUTTON)), "power-button");
    for (int i = 0; i < VM_STATE_COUNT; i++) {
        assert_int_equal(vm_state_parse(vm_state_name((enum vm_state)i), &s), 0);
        assert_int_equal(s, i);
    }
    assert_int_equal(vm_state_parse("Running", &s), -EINVAL);
    assert_true(vm_state_is_live(S(PAUSED)));
    assert_false(vm_state_is_live(S(ABORTED)));
    assert_false(vm_state_is_live(S(SAVED)));
}

static void test_derive(void **state)
{
    struct vm_probe p = {.start_timeout_ms = 1000};
    (void)state;
    assert_int_equal(vm_state_derive(&p), S(POWERED_OFF));
    p.has_exit_record = true; /* last run failed */
    assert_int_equal(vm_state_derive(&p), S(ABORTED));
    p.is_exit_clean = true;
    assert_int_equal(vm_state_derive(&p), S(POWERED_OFF));
    memset(&p, 0, sizeof(p));
    p.start_timeout_ms = 1000;
    p.has_pid_file = true; /* pid file, dead process, no record: killed with its supervisor */
    assert_int_equal(vm_state_derive(&p), S(ABORTED));
    p.is_alive = true; /* alive, silent, young: starting */
    p.pid_age_ms = 10;
    assert_int_equal(vm_state_derive(&p), S(STARTING));
    p.pid_age_ms = 5000; /* alive, silent for too long: hung */
    assert_int_equal(vm_state_derive(&p), S(ABORTED));
    p.is_answering = true;
    p.run_state = "paused";
    assert_int_equal(vm_state_derive(&p), S(PAUSED));
    p.run_state = "stopping";
    assert_int_equal(vm_state_derive(&p), S(STOPPING));
    p.run_state = "weird";
    assert_int_equal(vm_state_derive(&p), S(RUNNING));
    p.run_state = "powered-off"; /* not a live state: the monitor answers, so it runs */
    assert_int_equal(vm_state_derive(&p), S(RUNNING));
    p.has_saved_state = true; /* a live monitor (saving, or resumed from it) wins */
    assert_int_equal(vm_state_derive(&p), S(RUNNING));
    p.is_alive = false; /* the saving monitor exited: whatever its record says */
    assert_int_equal(vm_state_derive(&p), S(SAVED));
    memset(&p, 0, sizeof(p));
    p.has_saved_state = true;
    assert_int_equal(vm_state_derive(&p), S(SAVED));
    p.has_exit_record = true; /* a resume that failed leaves the state to resume */
    assert_int_equal(vm_state_derive(&p), S(SAVED));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_pair),
        cmocka_unit_test(test_out_of_range),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_derive),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
