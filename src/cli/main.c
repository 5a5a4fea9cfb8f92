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
    {"save", cmd_save, "save a running VM's state to disk and stop it ('start' resumes it)"},
    {"discard", cmd_discard, "drop a saved VM's state (it becomes powered off)"},
    {"sendkey", cmd_sendkey, "press keys or type text in a running VM"},
    {"stats", cmd_stats, "vCPU time, exits, memory and disk counters of a running VM"},
    {"screenshot", cmd_screenshot, "save a running VM's screen as PNG, or print its text screen"},
    {"display", cmd_display, "print where a VNC viewer connects to a running VM's screen"},
    {"snapshot", cmd_snapshot, "take (running too), list, restore and delete a VM's snapshots"},
    {"clone", cmd_clone, "copy a powered-off VM (full or linked), from a snapshot if asked"},
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

int cli_reported(struct error *err, int code)
{
    return error_set(err, code, "%s", "");
}

/*
 * The one place where a failure of `bareiron` is reported: prints what (err) says (or the
 * errno (ret) when nobody filled it in; nothing when the command reported it itself) and
 * returns the documented exit status of the error's class.
 */
static int cli_fail(int ret, struct error *err)
{
    if (err->code == 0)
        error_set(err, ret, "%s", strerror(-ret));
    if (err->message[0])
        cli_err("%s", err->message);
    return exit_status_for_error(err);
}

/* Runs command (c) and turns its result into the exit status. */
static int run(const struct command *c, int argc, char **argv)
{
    struct error err = {0};
    int ret = c->fn(argc, argv, &err);
    return ret < 0 ? cli_fail(ret, &err) : EXIT_STATUS_OK;
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

static const struct command *find_command(const char *name)
{
    for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
        if (strcmp(name, commands[i].name) == 0)
            return &commands[i];
    return NULL;
}

/* `bareiron help [COMMAND]`, `bareiron --help`: the command list, or COMMAND's --help. */
static int help(int argc, char **argv, struct error *err)
{
    static char help_opt[] = "--help";
    const struct command *c;
    if (argc > 3 || (argc > 2 && strcmp(argv[1], "help") != 0))
        return error_usage(err, "%s: unexpected argument '%s' (see 'bareiron help')", argv[1],
                           argv[argc > 3 ? 3 : 2]);
    if (argc == 2) {
        usage(stdout);
        return 0;
    }
    c = find_command(argv[2]);
    if (c == NULL)
        return error_usage(err, "unknown command '%s' (see 'bareiron help')", argv[2]);
    return c->fn(2, (char *[]){argv[2], help_opt, NULL}, err);
}

int main(int argc, char **argv)
{
    static const struct command help_cmd = {"help", help, NULL};
    const struct command *c;
    struct error err = {0};
    log_init_from_env();
    if (argc < 2) {
        usage(stderr);
        return EXIT_STATUS_USAGE;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        printf("bareiron %s\n", BAREIRON_VERSION);
        return EXIT_STATUS_OK;
    }
    if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "-h") == 0)
        return run(&help_cmd, argc, argv);
    c = find_command(argv[1]);
    if (c == NULL)
        return cli_fail(error_usage(&err, "unknown command '%s' (see 'bareiron help')", argv[1]),
                        &err);
    return run(c, argc - 1, argv + 1);
}
