/* SPDX-License-Identifier: MIT */
/*
 * Internal helpers shared by config.c (vm.json) and config_opt.c (command-line settings):
 * the enum name tables and the checks of names, text, paths, MAC addresses and interface
 * names, so that both front ends enforce exactly the same rules. Not used outside mgr/.
 */
#ifndef BAREIRON_MGR_CONFIG_UTIL_H
#define BAREIRON_MGR_CONFIG_UTIL_H

#include <stddef.h>

#include "mgr/config.h"

#define CONFIG_NAME_RULE                                                                           \
    "a VM name is 1 to 64 characters [A-Za-z0-9._-] starting with a letter or digit"

/* NULL-terminated name tables indexed by the enums of config.h. */
extern const char *const config_boot_names[];
extern const char *const config_fw_names[];
extern const char *const config_format_names[];
extern const char *const config_cache_names[];
extern const char *const config_backing_names[];
extern const char *const config_disk_bus_names[];
extern const char *const config_nic_model_names[];
extern const char *const config_nic_mode_names[];
extern const char *const config_serial_type_names[];
extern const char *const config_video_adapter_names[];
extern const char *const config_fwd_proto_names[];

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
/* Returns 0 for a dotted IPv4 address, else -EINVAL. */
int config_check_ipv4(const char *s);
/* Returns 0 for an IPv4 address inside the NAT network 10.0.2.0/24, else -EINVAL. */
int config_check_guest_ip(const char *s);
/* Returns 0 for a forward name (1..CONFIG_MAX_FORWARD_NAME of [A-Za-z0-9._-]), else -EINVAL. */
int config_check_forward_name(const char *s);
/* Parses "NAME,tcp|udp,HOSTIP,HOSTPORT,GUESTIP,GUESTPORT" (empty HOSTIP: 127.0.0.1, empty
 * GUESTIP: the guest's DHCP address) into (f). Returns 0, or -EINVAL with (*why) saying what
 * is wrong. */
int config_parse_forward(const char *spec, struct nic_forward *f, const char **why);
/* The network settings (config_net.c): nic, nic1..nic4, remove-nic, nat-forward1..4,
 * nat-restrict1..4, with config_set_option's conventions. */
int config_net_option(struct vm_config *cfg, const char *key, const char *val, struct error *err);
/* The rules that span adapters (forwards and restrict only on NAT, unique MACs, forward names
 * and host ports). Returns 0 or -EINVAL naming the adapter. */
int config_validate_net(const struct vm_config *cfg, struct error *err);
/* Writes "a|b|c" from the NULL-terminated (names) into (buf). */
void config_join_names(const char *const *names, char *buf, size_t size);
/* Returns the index of (s) in (names) or -1. */
int config_find_name(const char *const *names, const char *s);

#endif
