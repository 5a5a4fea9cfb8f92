/* SPDX-License-Identifier: MIT */
/*
 * `bareiron sendkey NAME KEYS...` and `bareiron sendkey NAME --text STR`: the control API's
 * send-key (docs/control-api.md "Input") on a running VM. Key names are checked by the
 * monitor, which knows the keymap; an unknown one is refused there (status 2 here). A VM that
 * does not run is status 4, as for screenshot, display and stats.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "cli/cli.h"
#include "cli/cmd_vm.h"
#include "mgr/control_server.h"
#include "mgr/proc.h"

/* KEYS... joined with spaces into (buf). */
static int join_keys(int argc, char **argv, int first, char *buf, size_t size, struct error *err)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int i = first; i < argc; i++) {
        int n = snprintf(buf + len, size - len, "%s%s", len ? " " : "", argv[i]);
        if (n < 0 || (size_t)n >= size - len)
            return error_usage(err, "sendkey: KEYS longer than %d characters",
                               CONTROL_INPUT_MAX_KEYS);
        len += (size_t)n;
    }
    return 0;
}

int cmd_sendkey(int argc, char **argv, struct error *err)
{
    char keys[CONTROL_INPUT_MAX_KEYS + 1];
    const char *text = NULL;
    struct store st;
    json_t *args;
    int ret;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            vm_print_help("sendkey");
            return 0;
        }
        if (strcmp(argv[i], "--text") == 0)
            break; /* its value is text to type, even "--help" */
    }
    if (argc < 3)
        return error_usage(err, "sendkey: needs NAME and KEYS or --text STR (see 'bareiron "
                                "sendkey --help')");
    if ((ret = vm_check_name(argv[1], err)) < 0)
        return ret;
    if (strcmp(argv[2], "--text") == 0 || strncmp(argv[2], "--text=", 7) == 0) {
        bool is_joined = argv[2][6] == '=';
        if ((!is_joined && argc != 4) || (is_joined && argc != 3))
            return error_usage(err, "sendkey: --text takes one argument, and nothing follows");
        text = is_joined ? argv[2] + 7 : argv[3];
        if (text[0] == '\0' || strlen(text) > CONTROL_INPUT_MAX_TEXT)
            return error_usage(err, "sendkey: --text must be 1 to %d characters",
                               CONTROL_INPUT_MAX_TEXT);
    } else if (argv[2][0] == '-' && argv[2][1] == '-') {
        return error_usage(err, "sendkey: unknown option %s (see 'bareiron sendkey --help')",
                           argv[2]);
    } else if ((ret = join_keys(argc, argv, 2, keys, sizeof(keys), err)) < 0) {
        return ret;
    }
    if ((ret = store_open(&st, err)) < 0 ||
        (ret = vm_check_running(&st, argv[1], "its keyboard", err)) < 0)
        return ret;
    args = text != NULL ? json_pack("{s:s}", "text", text) : json_pack("{s:s}", "keys", keys);
    if (args == NULL)
        return error_set(err, -ENOMEM, "out of memory");
    ret = proc_call(&st, argv[1], "send-key", args, NULL, err);
    json_decref(args);
    if (ret == -EINVAL)
        err->is_usage = true; /* an unknown key or character */
    return ret;
}
