/* SPDX-License-Identifier: MIT */
/*
 * `bareiron start`, `stop`, `poweroff`, `reset`, `pause`, `resume`, `stats` and `autostart`:
 * the lifecycle commands. Each probes the VM's real state first and checks the requested
 * event against the transition table (mgr/state.h), so a wrong-state request gets a clear
 * message and exit status 4 before anything is sent to the monitor (docs/cli.md).
 */
#include "cli/cmd_vm.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/cli.h"
#include "mgr/config.h"
#include "mgr/proc.h"
#include "mgr/savestate.h"
#include "mgr/state.h"
#include "mgr/store.h"

#define STOP_DEFAULT_TIMEOUT_S 60
#define POWEROFF_WAIT_MS 10000

/* Checks the name and probes VM (name) into (ps). */
static int probe_vm(const struct store *st, const char *name, struct proc_status *ps,
                    struct error *err)
{
    int ret = vm_check_name(name, err);
    if (ret < 0)
        return ret;
    if (!store_exists(st, name))
        return error_set(err, -ENOENT, "no VM named '%s' (see 'bareiron list')", name);
    if (proc_probe(st, name, ps) < 0)
        return error_set(err, -EIO, "cannot probe VM '%s'", name);
    return 0;
}

/* Checks that (event) is legal in VM (name)'s current state (wrong state: -EBUSY, status 4). */
static int check_event(const struct store *st, const char *name, enum vm_event event,
                       struct proc_status *ps, struct error *err)
{
    enum vm_state next;
    int ret = probe_vm(st, name, ps, err);
    if (ret < 0)
        return ret;
    if (vm_state_next(ps->state, event, &next) < 0 && ps->state == VM_STATE_SAVED)
        return error_set(err, -EBUSY,
                         "VM '%s' is saved, not running: 'bareiron start %s' resumes it, "
                         "'bareiron discard %s' drops its state",
                         name, name, name);
    if (vm_state_next(ps->state, event, &next) < 0)
        return error_set(err, -EBUSY, "VM '%s' is %s: cannot %s it", name, vm_state_name(ps->state),
                         vm_event_name(event));
    return 0;
}

/* vm_begin, then (unless --help) check_event. */
static int begin_event(int argc, char **argv, unsigned allowed, enum vm_event event,
                       struct vm_args *a, struct store *st, struct proc_status *ps,
                       struct error *err)
{
    int ret = vm_begin(argc, argv, allowed, a, st, err);
    return ret < 0 || a->is_help ? ret : check_event(st, a->name, event, ps, err);
}

/* A MAC is generated once and stored: an adapter of a definition written by hand without one
 * gets it now, before a guest first sees it. */
static int store_macs(const struct store *st, struct vm_config *cfg, struct error *err)
{
    int ret = config_fill_macs(cfg);
    if (ret < 0)
        return error_set(err, -EIO, "cannot generate a MAC address");
    return ret > 0 ? store_save(st, cfg, err) : 0;
}

/* Starts the monitor of (cfg): a boot, or the resume of its saved state (which is dropped
 * once the resumed guest runs, as VirtualBox does). */
static int start_or_resume(const struct store *st, const struct vm_config *cfg, bool is_saved,
                           pid_t *pid, struct error *err)
{
    char state[PATH_MAX];
    int ret;
    if (!is_saved)
        return proc_start(st, cfg, pid, err);
    if (savestate_path(st, cfg->name, state, sizeof(state)) < 0)
        return error_set(err, -ENAMETOOLONG, "VM '%s': path too long", cfg->name);
    /* One line naming what is wrong, before a monitor is spawned to find it out. */
    ret = savestate_verify(state, err);
    if (ret == 0)
        ret = proc_resume(st, cfg, state, pid, err);
    if (ret == 0 && savestate_discard(st, cfg->name, err) < 0) {
        /* The VM runs: only a later poweroff would find the stale state again. */
        cli_err("VM '%s' resumed, but %s; remove %s before it powers off", cfg->name, err->message,
                state);
        error_clear(err);
    }
    return ret;
}

int vm_start_one(const struct store *st, const char *name, bool is_quiet, struct error *err)
{
    struct vm_config cfg;
    struct proc_status ps;
    bool is_saved = false;
    pid_t pid = 0;
    int lock = -1, ret = vm_check_name(name, err);
    if (ret == 0)
        ret = store_lock(st, name, &lock, err);
    if (ret < 0)
        return ret;
    /* Under the lock, so that of two racing starts exactly one spawns a monitor. */
    ret = check_event(st, name, VM_EVENT_START, &ps, err);
    if (ret == -EBUSY && ps.state == VM_STATE_SAVED) {
        error_clear(err);
        is_saved = true;
        ret = 0;
    }
    if (ret == 0)
        ret = store_load(st, name, &cfg, err);
    if (ret == 0) {
        ret = store_macs(st, &cfg, err);
        if (ret == 0)
            ret = start_or_resume(st, &cfg, is_saved, &pid, err);
        if (ret == 0 && !is_quiet)
            printf("VM '%s' %s (pid %d)\n", name,
                   is_saved ? "resumed from its saved state" : "started", (int)pid);
        config_fini(&cfg);
    }
    store_unlock(lock);
    return ret;
}

/* start --console: refused before starting when COM1 is a file or a socket of the user's. */
static int check_has_console(const struct store *st, const char *name, struct error *err)
{
    struct vm_config cfg;
    int ret = store_load(st, name, &cfg, err);
    if (ret < 0)
        return ret;
    if (cfg.serial_count > 0 && cfg.serials[0].type != SERIAL_CONSOLE)
        ret = error_usage(err,
                          "--console: VM '%s' has COM1 on %s:%s, not on its console ('bareiron "
                          "set %s --serial console' moves it)",
                          name, cfg.serials[0].type == SERIAL_FILE ? "file" : "unix",
                          cfg.serials[0].path ? cfg.serials[0].path : "", name);
    config_fini(&cfg);
    return ret;
}

int cmd_start(int argc, char **argv, struct error *err)
{
    struct vm_args a;
    struct store st;
    int ret = vm_begin(argc, argv, VM_ARG_NAME | VM_ARG_CONSOLE, &a, &st, err);
    if (ret < 0 || a.is_help)
        return ret;
    if (a.is_console && (ret = check_has_console(&st, a.name, err)) < 0)
        return ret;
    ret = vm_start_one(&st, a.name, false, err);
    if (ret == 0 && a.is_console)
        ret = vm_console_attach(&st, a.name, err);
    return ret;
}

/* Sends (cmd) after checking (event); the common body of pause/resume/reset. */
static int simple_action(int argc, char **argv, enum vm_event event, const char *cmd,
                         const char *done, struct error *err)
{
    struct vm_args a;
    struct store st;
    struct proc_status ps;
    int ret = begin_event(argc, argv, VM_ARG_NAME, event, &a, &st, &ps, err);
    if (ret < 0 || a.is_help)
        return ret;
    ret = proc_call(&st, a.name, cmd, NULL, NULL, err);
    if (ret < 0) {
        /* The monitor refused: the VM changed state since the probe (status 4). */
        if (err->code == -EINVAL)
            err->code = -EBUSY;
        return ret;
    }
    printf("VM '%s' %s\n", a.name, done);
    return 0;
}

int cmd_pause(int argc, char **argv, struct error *err)
{
    return simple_action(argc, argv, VM_EVENT_PAUSE, "pause", "paused", err);
}

int cmd_resume(int argc, char **argv, struct error *err)
{
    return simple_action(argc, argv, VM_EVENT_RESUME, "resume", "resumed", err);
}

int cmd_reset(int argc, char **argv, struct error *err)
{
    return simple_action(argc, argv, VM_EVENT_RESET, "reset", "reset", err);
}

int cmd_stop(int argc, char **argv, struct error *err)
{
    struct vm_args a;
    struct store st;
    struct proc_status ps;
    unsigned timeout_s;
    int ret = begin_event(argc, argv, VM_ARG_NAME | VM_ARG_TIMEOUT, VM_EVENT_POWER_BUTTON, &a, &st,
                          &ps, err);
    if (ret < 0 || a.is_help)
        return ret;
    ret = proc_call(&st, a.name, "power-button", NULL, NULL, err);
    if (ret < 0)
        return ret;
    timeout_s = a.has_timeout ? a.timeout_s : STOP_DEFAULT_TIMEOUT_S;
    if (timeout_s == 0) {
        printf("VM '%s': power button pressed\n", a.name);
        return 0;
    }
    if (proc_wait_exit(&st, a.name, (int)timeout_s * 1000, &ps) < 0)
        return error_set(err, -ETIMEDOUT,
                         "VM '%s' did not power off within %u s (the guest ignored the power "
                         "button?); 'bareiron poweroff %s' forces it",
                         a.name, timeout_s, a.name);
    printf("VM '%s' is %s\n", a.name, vm_state_name(ps.state));
    return ps.state == VM_STATE_POWERED_OFF ? 0 : cli_reported(err, -EIO);
}

int cmd_poweroff(int argc, char **argv, struct error *err)
{
    struct vm_args a;
    struct store st;
    struct proc_status ps;
    struct error call_err = {0};
    int ret = begin_event(argc, argv, VM_ARG_NAME, VM_EVENT_POWEROFF, &a, &st, &ps, err);
    if (ret < 0 || a.is_help)
        return ret;
    if (proc_call(&st, a.name, "poweroff", NULL, NULL, &call_err) < 0 && call_err.code != -EPIPE)
        cli_err("%s; killing the monitor", call_err.message);
    if (proc_wait_exit(&st, a.name, POWEROFF_WAIT_MS, &ps) < 0 && ps.pid > 0) {
        /* The monitor is stuck: a hard power-off must not depend on its cooperation. */
        kill(ps.pid, SIGKILL);
        if (proc_wait_exit(&st, a.name, 3000, &ps) < 0)
            return error_set(err, -EIO, "VM '%s': the monitor (pid %d) does not exit", a.name,
                             (int)ps.pid);
    }
    printf("VM '%s' is %s\n", a.name, vm_state_name(ps.state));
    return 0;
}

/* The integer members of (obj), one "key value" line each, indented by (indent). */
static void print_counters(json_t *obj, int indent)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) if (json_is_integer(v) && strcmp(key, "index") != 0)
        printf("%*s%-18s %lld\n", indent, "", key, (long long)json_integer_value(v));
}

static void print_stats_text(const char *name, json_t *res)
{
    json_t *disks = json_object_get(res, "disks"), *nics = json_object_get(res, "nics"), *d;
    size_t i;
    printf("VM '%s'\n", name);
    print_counters(res, 2);
    json_array_foreach(disks, i, d)
    {
        json_t *path = json_object_get(d, "path");
        printf("  disk %zu: %s\n", i, json_is_string(path) ? json_string_value(path) : "?");
        print_counters(d, 4);
    }
    json_array_foreach(nics, i, d)
    {
        json_t *type = json_object_get(d, "type"), *mac = json_object_get(d, "mac");
        printf("  nic %lld: %s, mac %s, link %s\n",
               (long long)json_integer_value(json_object_get(d, "index")) + 1,
               json_is_string(type) ? json_string_value(type) : "?",
               json_is_string(mac) ? json_string_value(mac) : "?",
               json_is_true(json_object_get(d, "link")) ? "up" : "down");
        print_counters(d, 4);
    }
}

/* Adds the adapters' counters (query-net) to (res) as "nics"; a monitor without network
 * (ENOTSUP) leaves them out. Returns 0 or -errno with (err) set. */
static int add_net_stats(const struct store *st, const char *name, json_t *res, struct error *err)
{
    json_t *nics = NULL;
    int ret = proc_query_net(st, name, &nics, err);
    if (ret == -ENOTSUP) {
        error_clear(err);
        return 0;
    }
    if (ret < 0)
        return ret;
    json_object_set_new(res, "nics", nics);
    return 0;
}

int cmd_stats(int argc, char **argv, struct error *err)
{
    struct vm_args a;
    struct store st;
    struct proc_status ps;
    json_t *res = NULL;
    int ret = vm_begin(argc, argv, VM_ARG_NAME | VM_ARG_JSON, &a, &st, err);
    if (ret < 0 || a.is_help)
        return ret;
    if ((ret = probe_vm(&st, a.name, &ps, err)) < 0)
        return ret;
    if (ps.state != VM_STATE_RUNNING && ps.state != VM_STATE_PAUSED)
        return error_set(err, -EBUSY, "VM '%s' is %s: statistics exist only while it runs", a.name,
                         vm_state_name(ps.state));
    if ((ret = proc_call(&st, a.name, "stats", NULL, &res, err)) < 0)
        return ret;
    if ((ret = add_net_stats(&st, a.name, res, err)) < 0) {
        json_decref(res);
        return ret;
    }
    if (a.is_json) {
        char *s;
        json_object_set_new(res, "name", json_string(a.name));
        json_object_set_new(res, "state", json_string(vm_state_name(ps.state)));
        s = json_dumps(res, JSON_INDENT(2) | JSON_SORT_KEYS);
        if (s)
            puts(s);
        free(s);
    } else {
        print_stats_text(a.name, res);
    }
    json_decref(res);
    return 0;
}

/* Starts VM (name) if it is marked auto-start and powered off. */
static int autostart_one(const struct store *st, const char *name, struct error *err)
{
    struct vm_config cfg;
    struct proc_status ps;
    int ret = store_load(st, name, &cfg, err);
    if (ret < 0)
        return ret;
    if (cfg.is_autostart && proc_probe(st, name, &ps) == 0 && !vm_state_is_live(ps.state))
        ret = vm_start_one(st, name, false, err);
    config_fini(&cfg);
    return ret;
}

/* Every VM is tried: each failure is printed as it happens and the first gives the status. */
int cmd_autostart(int argc, char **argv, struct error *err)
{
    struct vm_args a;
    struct store st;
    char **names;
    size_t n;
    int ret = vm_begin(argc, argv, 0, &a, &st, err);
    if (ret < 0 || a.is_help)
        return ret;
    if ((ret = store_list(&st, &names, &n, err)) < 0)
        return ret;
    for (size_t i = 0; i < n; i++) {
        struct error one = {0};
        ret = autostart_one(&st, names[i], &one);
        if (ret < 0 && one.code == 0)
            error_set(&one, ret, "%s: %s", names[i], strerror(-ret));
        if (ret < 0)
            cli_err("%s", one.message);
        if (ret < 0 && err->code == 0) {
            *err = one;
            err->message[0] = '\0'; /* printed already */
        }
    }
    store_list_free(names, n);
    return err->code;
}
