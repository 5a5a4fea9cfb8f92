// SPDX-License-Identifier: MIT
/*
 * nested-ctl: the smallest client of bareiron-vmm's control socket (docs/control-api.md:
 * one JSON object per line, request {"id","cmd","args"}, reply with "ok"), for the nested-KVM
 * initramfs (scripts/nested-kvm.sh), whose busybox has no unix-socket client. Usage:
 * nested-ctl SOCKET CMD — sends hello (version 1) then CMD with empty args, prints both replies;
 * exit 0 when both replies carry "ok":true. Retries the connection for 5 s.
 */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int call(FILE *f, int id, const char *cmd, const char *args)
{
    char line[4096];

    fprintf(f, "{\"id\":%d,\"cmd\":\"%s\",\"args\":%s}\n", id, cmd, args);
    fflush(f);
    if (!fgets(line, sizeof(line), f))
        return -1;
    fputs(line, stdout);
    return strstr(line, "\"ok\":true") || strstr(line, "\"ok\": true") ? 0 : -1;
}

int main(int argc, char **argv)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    FILE *f;
    int fd = -1;

    if (argc != 3 || strlen(argv[1]) >= sizeof(sa.sun_path)) {
        fprintf(stderr, "usage: nested-ctl SOCKET CMD\n");
        return 2;
    }
    strcpy(sa.sun_path, argv[1]);
    for (int i = 0; i < 100; i++) {
        fd = socket(AF_UNIX, SOCK_STREAM, 0);
        if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
            break;
        if (fd >= 0)
            close(fd);
        fd = -1;
        usleep(50000);
    }
    if (fd < 0) {
        perror("nested-ctl: connect");
        return 1;
    }
    f = fdopen(fd, "r+");
    if (!f)
        return 1;
    if (call(f, 1, "hello", "{\"version\":1}") < 0 || call(f, 2, argv[2], "{}") < 0)
        return 1;
    fclose(f);
    return 0;
}
