/* SPDX-License-Identifier: MIT */
/*
 * Internal helpers shared by config.c (vm.json) and config_opt.c (command-line settings):
 * the enum name tables and the checks of names, text, paths, MAC addresses and interface
 * names, so that both front ends enforce exactly the same rules. Not used outside mgr/.
 */
#ifndef BAREIRON_MGR_CONFIG_UTIL_H
#define BAREIRON_MGR_CONFIG_UTIL_H

#include <stddef.h>

#define CONFIG_NAME_RULE                                                                           \
    "a VM name is 1 to 64 characters [A-Za-z0-9._-] starting with a letter or digit"

/* NULL-terminated name tables indexed by the enums of config.h. */
extern const char *const config_boot_names[];
extern const char *const config_format_names[];
extern const char *const config_cache_names[];
extern const char *const config_backing_names[];
extern const char *const config_nic_model_names[];
extern const char *const config_nic_mode_names[];
extern const char *const config_serial_type_names[];

/* Returns 0 if (name) is a valid VM name ([A-Za-z0-9][A-Za-z0-9._-]{0,63}), else -EINVAL. */
int config_check_name(const char *name);
/* Returns NULL if the string (s) of (len) bytes is acceptable text (no NUL or control
 * characters other than tab, at most (max_len) bytes), else why not. */
const char *config_check_text(const char *s, size_t len, size_t max_len);
/* Returns NULL if (path) is an absolute path without newlines, else why not. */
const char *config_check_path(const char *path);
/* Returns 0 for a unicast "xx:xx:xx:xx:xx:xx" MAC address, else -EINVAL. */
int config_check_mac(const char *mac);
/* Returns 0 for a network interface name (1..15 of [A-Za-z0-9._-]), else -EINVAL. */
int config_check_ifname(const char *name);
/* Writes "a|b|c" from the NULL-terminated (names) into (buf). */
void config_join_names(const char *const *names, char *buf, size_t size);
/* Returns the index of (s) in (names) or -1. */
int config_find_name(const char *const *names, const char *s);

#endif
