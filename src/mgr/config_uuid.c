/* SPDX-License-Identifier: MIT */
/*
 * Random (version 4) UUIDs (RFC 9562 §5.4): a VM's "uuid" in vm.json (mgr/config.h) and the
 * UUIDs of snapshots (mgr/snaptree.h).
 */
#include "mgr/config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <sys/random.h>

bool config_is_uuid(const char *s)
{
    for (int i = 0; i < 36; i++) {
        bool is_dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (is_dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
            return false;
    }
    return s[36] == '\0';
}

int config_new_uuid(char out[37])
{
    uint8_t b[16];
    if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
        return -EIO;
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* variant 10 */
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
    return 0;
}
