// SPDX-License-Identifier: MIT
/*
 * nested-ctl: the smallest client of bareiron-vmm's control socket (docs/control-api.md: one
 * JSON object per line, request {"id","cmd","args"}, one reply line each), for the nested-KVM
 * initramfs (scripts/nested-kvm.sh), whose busybox has no unix-socket client.
 * Usage: nested-ctl SOCKET ITEM...  where an ITEM is a command name (sent with empty args),
 * sleep:MS, key:NAMES (send-key {"keys":NAMES}), text:WORD (send-key {"text":WORD}) or
 * ptr:X:Y:W:H:BUTTONS (input-pointer; no commas: the case flags are comma-separated); the
 * words must not need JSON escapes. Prints `CTL <cmd> <reply>` per command. Retries the connection
 * for 10 s; exit 0 when every command got a reply (whatever it says: the caller judges), else 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int connect_retry(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};

    if (strlen(path) >= sizeof(sa.sun_path))
        return -1;
    strcpy(sa.sun_path, path);
    for (int i = 0; i < 200; i++) {
        int fd = socket(AF_UNIX, SOCK_STREAM, 0);
        if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
            return fd;
        if (fd >= 0)
            close(fd);
        usleep(50000);
    }
    return -1;
}

int main(int argc, char **argv)
{
    char line[8192];
    FILE *f;
    int fd;

    if (argc < 3) {
        fprintf(stderr, "usage: nested-ctl SOCKET ITEM...\n");
        return 2;
    }
    fd = connect_retry(argv[1]);
    if (fd < 0) {
        perror("nested-ctl: connect");
        return 1;
    }
    f = fdopen(fd, "r+");
    if (!f)
        return 1;
    for (int i = 2; i < argc; i++) {
        if (!strncmp(argv[i], "sleep:", 6)) {
            usleep((useconds_t)strtoul(argv[i] + 6, NULL, 10) * 1000);
            continue;
        }
        unsigned x, y, w, h, b;
        if (!strncmp(argv[i], "key:", 4) || !strncmp(argv[i], "text:", 5))
            fprintf(f, "{\"id\":%d,\"cmd\":\"send-key\",\"args\":{\"%s\":\"%s\"}}\n", i - 1,
                    argv[i][0] == 'k' ? "keys" : "text", strchr(argv[i], ':') + 1);
        else if (sscanf(argv[i], "ptr:%u:%u:%u:%u:%u", &x, &y, &w, &h, &b) == 5)
            fprintf(f,
                    "{\"id\":%d,\"cmd\":\"input-pointer\",\"args\":{\"x\":%u,\"y\":%u,"
                    "\"width\":%u,\"height\":%u,\"buttons\":%u}}\n",
                    i - 1, x, y, w, h, b);
        else
            fprintf(f, "{\"id\":%d,\"cmd\":\"%s\",\"args\":{}}\n", i - 1, argv[i]);
        fflush(f);
        if (!fgets(line, sizeof(line), f)) {
            printf("CTL %s (no reply)\n", argv[i]);
            fclose(f);
            return 1;
        }
        printf("CTL %s %s", argv[i], line);
        fflush(stdout);
    }
    fclose(f);
    return 0;
}
