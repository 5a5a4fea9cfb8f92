/* SPDX-License-Identifier: MIT */
/*
 * The argument parser and error helpers shared by the manager's commands (cli/cmd_vm.h).
 * Options are "--opt VALUE" or "--opt=VALUE"; "--" ends options. Settings options are the
 * keys of mgr/config.h's config_set_option, so `create` and `set` accept the same ones.
 */
#include "cli/cmd_vm.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/util.h"
#include "cli/cli.h"
#include "mgr/config.h"
#include "mgr/proc.h"
#include "mgr/store.h"

static int usage_error(const char *cmd, const char *what, const char *arg, struct error *err)
{
    return error_usage(err, "%s: %s%s%s (see 'bareiron %s --help')", cmd, what, arg ? " " : "",
                       arg ? arg : "", cmd);
}

/* True if (opt) is an option of some manager command (so given to (cmd) it is misplaced). */
static bool is_known_option(const char *opt)
{
    static const char *const others[] = {"json", "keep-disks", "console", "timeout"};
    for (size_t i = 0; i < ARRAY_SIZE(others); i++)
        if (strcmp(opt, others[i]) == 0)
            return true;
    return config_option_exists(opt);
}

/* Refuses option (opt), which (cmd) does not take, in one line naming both. */
static int misplaced(const char *cmd, const char *opt, struct error *err)
{
    if (is_known_option(opt))
        return error_usage(err, "%s: --%s is not an option of '%s' (see 'bareiron %s --help')", cmd,
                           opt, cmd, cmd);
    return error_usage(err, "%s: unknown option --%s (see 'bareiron %s --help')", cmd, opt, cmd);
}

/* The field of flag (opt) if (allowed) takes it, else NULL (an option with a value, or
 * misplaced). */
static bool *flag_field(const char *opt, unsigned allowed, struct vm_args *a)
{
    if (strcmp(opt, "json") == 0 && (allowed & VM_ARG_JSON))
        return &a->is_json;
    if (strcmp(opt, "keep-disks") == 0 && (allowed & VM_ARG_KEEP_DISKS))
        return &a->is_keep_disks;
    if (strcmp(opt, "console") == 0 && (allowed & VM_ARG_CONSOLE))
        return &a->is_console;
    return NULL;
}

/* Handles the flag or option (opt) (without leading dashes; (val) is its inline "=value" or
 * NULL), taking its value from argv[++*i] if needed. */
static int take_option(const char *cmd, const char *opt, const char *val, int *i, int argc,
                       char **argv, unsigned allowed, struct vm_args *a, struct error *err)
{
    bool *flag = flag_field(opt, allowed, a);
    if (flag != NULL) {
        if (val)
            return error_usage(err, "%s: --%s takes no value (see 'bareiron %s --help')", cmd, opt,
                               cmd);
        *flag = true;
        return 0;
    }
    if (!((strcmp(opt, "timeout") == 0 && (allowed & VM_ARG_TIMEOUT)) ||
          ((allowed & VM_ARG_SETTINGS) && config_option_exists(opt) &&
           (strncmp(opt, "remove-", 7) != 0 || (allowed & VM_ARG_REMOVE)))))
        return misplaced(cmd, opt, err);
    if (val == NULL) {
        if (*i + 1 >= argc)
            return error_usage(err, "%s: missing value for --%s (see 'bareiron %s --help')", cmd,
                               opt, cmd);
        val = argv[++*i];
    }
    if (strcmp(opt, "timeout") == 0) {
        uint64_t t;
        if (parse_u64(val, &t) < 0 || t > 86400)
            return usage_error(cmd, "--timeout needs a number of seconds (0 to 86400), not", val,
                               err);
        a->has_timeout = true;
        a->timeout_s = (unsigned)t;
        return 0;
    }
    if (a->nsettings == VM_MAX_SETTINGS)
        return usage_error(cmd, "too many settings", NULL, err);
    if (strncmp(opt, "nat-forward", 11) == 0 && strcmp(val, "delete") == 0) {
        /* VBoxManage's "--natpf1 delete NAME": the name is the next argument. */
        if (*i + 1 >= argc)
            return error_usage(err, "%s: --%s delete needs a forward name", cmd, opt);
        if (a->ndeletes == VM_MAX_DELETES)
            return usage_error(cmd, "too many forwards deleted at once", NULL, err);
        if (snprintf(a->deletes[a->ndeletes], sizeof(a->deletes[0]), "delete %s", argv[++*i]) >=
            (int)sizeof(a->deletes[0]))
            return error_usage(err, "%s: --%s delete: forward name too long", cmd, opt);
        val = a->deletes[a->ndeletes++];
    }
    a->keys[a->nsettings] = opt;
    a->values[a->nsettings++] = val;
    return 0;
}

int vm_parse_args(int argc, char **argv, unsigned allowed, struct vm_args *a, struct error *err)
{
    const char *cmd = argv[0];
    bool is_end = false;
    memset(a, 0, sizeof(*a));
    for (int i = 1; i < argc; i++) {
        char *arg = argv[i];
        char *eq;
        int ret;
        if (!is_end && (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)) {
            vm_print_help(cmd);
            a->is_help = true;
            return 0;
        }
        if (!is_end && strcmp(arg, "--") == 0) {
            is_end = true;
            continue;
        }
        if (is_end || arg[0] != '-' || arg[1] == '\0') {
            if (!(allowed & VM_ARG_NAME) || a->name)
                return usage_error(cmd, "unexpected argument", arg, err);
            a->name = arg;
            continue;
        }
        if (arg[1] != '-')
            return usage_error(cmd, "unknown option", arg, err);
        eq = strchr(arg + 2, '=');
        if (eq)
            *eq = '\0'; /* argv strings are writable: split "--opt=value" in place */
        ret = take_option(cmd, arg + 2, eq ? eq + 1 : NULL, &i, argc, argv, allowed, a, err);
        if (ret < 0)
            return ret;
    }
    if ((allowed & VM_ARG_NAME) && a->name == NULL)
        return usage_error(cmd, "missing VM name", NULL, err);
    return 0;
}

int vm_begin(int argc, char **argv, unsigned allowed, struct vm_args *a, struct store *st,
             struct error *err)
{
    int ret = vm_parse_args(argc, argv, allowed, a, err);
    return ret < 0 || a->is_help ? ret : store_open(st, err);
}

int vm_check_name(const char *name, struct error *err)
{
    int ret = store_check_name(name, err);
    if (ret < 0 && err != NULL)
        err->is_usage = true;
    return ret;
}
int vm_check_running(const struct store *st, const char *name, const char *what, struct error *err)
{
    struct proc_status ps;
    int ret = vm_check_name(name, err);
    if (ret < 0)
        return ret;
    if (!store_exists(st, name))
        return error_set(err, -ENOENT, "no VM named '%s' (see 'bareiron list')", name);
    if (proc_probe(st, name, &ps) < 0)
        return error_set(err, -EIO, "cannot probe VM '%s'", name);
    if (ps.state != VM_STATE_RUNNING && ps.state != VM_STATE_PAUSED)
        return error_set(err, -EBUSY, "VM '%s' is %s: %s exists only while it runs", name,
                         vm_state_name(ps.state), what);
    return 0;
}

void vm_format_mib(unsigned long long mib, char *buf, size_t size)
{
    if (mib >= 1024 && mib % 1024 == 0)
        snprintf(buf, size, "%llu GiB", mib / 1024);
    else
        snprintf(buf, size, "%llu MiB", mib);
}
