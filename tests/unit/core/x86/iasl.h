/* SPDX-License-Identifier: MIT */
/*
 * Test helpers around ACPICA's iasl for the ACPI table tests (test_acpi.c, test_acpi_fw.c):
 * run a shell command, dump a table to a file, disassemble it with `iasl -d` and fail on any
 * error or warning iasl reports. Static functions: each test includes this header once.
 * Needs <cmocka.h>, <stdio.h>, <stdlib.h>, <string.h>, <sys/wait.h> and base/util.h first.
 */
#ifndef BAREIRON_TESTS_UNIT_CORE_X86_IASL_H
#define BAREIRON_TESTS_UNIT_CORE_X86_IASL_H

/* Runs (cmd) through the shell; returns its exit status and its output in (out). */
static int run(const char *cmd, char *out, size_t out_size)
{
    FILE *f = popen(cmd, "r");
    size_t n = 0, r;
    int status;

    assert_non_null(f);
    while (n + 1 < out_size && (r = fread(out + n, 1, out_size - 1 - n, f)) > 0)
        n += r;
    out[n] = '\0';
    status = pclose(f);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* True when iasl's output (out) reports an error or a warning ("Error    6126 - ...",
 * "Warning  3144 - ...", "ACPI Error", "ACPI Warning", "N Errors" or "N Warnings" with N > 0). */
static bool iasl_failed(const char *out)
{
    for (const char *line = out; line && *line; line = strchr(line, '\n')) {
        const char *e;
        if (*line == '\n')
            line++;
        if (strncmp(line, "Error", 5) == 0 || strncmp(line, "ACPI Error", 10) == 0 ||
            strncmp(line, "Warning", 7) == 0 || strncmp(line, "ACPI Warning", 12) == 0)
            return true;
        e = strstr(line, " Errors");
        if (e && strncmp(line, "Compilation", 11) == 0 &&
            (strstr(line, " 0 Errors") == NULL || strstr(line, " 0 Warnings") == NULL))
            return true;
    }
    return false;
}

static void dump(const char *dir, const char *name, const uint8_t *p, size_t len)
{
    char path[512];

    snprintf(path, sizeof(path), "%s/%s.dat", dir, name);
    assert_int_equal(write_file_atomic(path, p, len, 0644), 0);
}

/* Disassembles (dir)/(name).dat with iasl and returns the .dsl text (caller frees). */
static char *iasl_d(const char *dir, const char *name)
{
    static char out[65536];
    char cmd[1024], path[512];
    size_t len;
    char *dsl = NULL;

    snprintf(cmd, sizeof(cmd), "cd '%s' && iasl -d %s.dat 2>&1", dir, name);
    int status = run(cmd, out, sizeof(out));
    if (status != 0 || iasl_failed(out))
        fail_msg("iasl -d %s: status %d\n%s", name, status, out);
    snprintf(path, sizeof(path), "%s/%s.dsl", dir, name);
    assert_int_equal(read_file_all(path, 1 << 20, &dsl, &len), 0);
    return dsl;
}

#endif
