/* SPDX-License-Identifier: MIT */
/*
 * Placeholders for the manager's commands until src/mgr lands (issue 4). Each says so and
 * exits with status 1. The manager's work replaces this file.
 */
#include "cli/cli.h"

#define STUB(name)                                                                                 \
    int cmd_##name(int argc, char **argv)                                                          \
    {                                                                                              \
        (void)argc;                                                                                \
        (void)argv;                                                                                \
        cli_err("'" #name "' is not implemented yet");                                             \
        return CLI_EFAIL;                                                                          \
    }

STUB(create)
STUB(list)
STUB(show)
STUB(set)
STUB(delete)
STUB(start)
STUB(console)
STUB(stop)
STUB(poweroff)
STUB(reset)
STUB(pause)
STUB(resume)
STUB(stats)
STUB(autostart)
