/* SPDX-License-Identifier: MIT */
/*
 * `bareiron`: the command-line front door. Dispatches "bareiron <command> [args]" to the
 * cmd_<command>() functions declared in cli/cli.h and prints the command list for help.
 */
#include "cli/cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/log.h"

struct command {
    const char *name;
    cli_cmd_fn fn;
    const char *summary;
};

static const struct command commands[] = {
    {"run", cmd_run, "boot an ad-hoc VM in the foreground (kernel, disks, console)"},
    {"disk", cmd_disk, "create, inspect, convert, resize and check disk images"},
    {"create", cmd_create, "define a new named VM"},
    {"list", cmd_list, "list the defined VMs and their state"},
    {"show", cmd_show, "show a VM's settings and state"},
    {"set", cmd_set, "change a VM's settings"},
    {"delete", cmd_delete, "delete a VM (and its disks unless --keep-disks)"},
    {"start", cmd_start, "start a VM in the background"},
    {"console", cmd_console, "attach to a running VM's serial console"},
    {"stop", cmd_stop, "press the power button and wait for the guest to shut down"},
    {"poweroff", cmd_poweroff, "hard power-off"},
    {"reset", cmd_reset, "hard reset"},
    {"pause", cmd_pause, "pause a running VM"},
    {"resume", cmd_resume, "resume a paused VM"},
    {"stats", cmd_stats, "vCPU time, exits, memory and disk counters of a running VM"},
    {"autostart", cmd_autostart, "start every VM marked auto-start"},
};

void cli_err(const char *fmt, ...)
{
    va_list ap;
    fputs("bareiron: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int cli_exit_for_errno(int code)
{
    return exit_status_for_errno(code);
}

int cli_fail(const struct error *err)
{
    cli_err("%s", err->message[0] ? err->message : strerror(-err->code));
    return cli_exit_for_errno(err->code);
}

static void usage(FILE *f)
{
    fprintf(f, "usage: bareiron <command> [options]\n"
               "       bareiron <command> --help\n"
               "       bareiron --version\n\n"
               "commands:\n");
    for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\nexit status: 0 ok, 1 failed, 2 usage error, 3 not found, 4 wrong state,\n"
               "5 KVM unavailable, 6 invalid input (image, kernel, definition), 7 timeout.\n");
}

int main(int argc, char **argv)
{
    log_init_from_env();
    if (argc < 2) {
        usage(stderr);
        return CLI_EUSAGE;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        printf("bareiron %s\n", BAREIRON_VERSION);
        return CLI_OK;
    }
    if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "-h") == 0) {
        if (argc > 3 || (argc > 2 && strcmp(argv[1], "help") != 0)) {
            cli_err("%s: unexpected argument '%s' (see 'bareiron help')", argv[1],
                    argv[argc > 3 ? 3 : 2]);
            return CLI_EUSAGE;
        }
        if (argc > 2) {
            for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
                if (strcmp(argv[2], commands[i].name) == 0) {
                    static char help_opt[] = "--help";
                    char *hargv[] = {argv[2], help_opt, NULL};
                    return commands[i].fn(2, hargv);
                }
            }
            cli_err("unknown command '%s' (see 'bareiron help')", argv[2]);
            return CLI_EUSAGE;
        }
        usage(stdout);
        return CLI_OK;
    }
    for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].fn(argc - 1, argv + 1);
    cli_err("unknown command '%s' (see 'bareiron help')", argv[1]);
    return CLI_EUSAGE;
}
