// SPDX-License-Identifier: MIT
/*
 * nested-ctl: the smallest client of bareiron-vmm's control socket (docs/control-api.md: one
 * JSON object per line, request {"id","cmd","args"}, one reply line each), for the nested-KVM
 * initramfs (scripts/nested-kvm.sh), whose busybox has no unix-socket client.
 * Usage: nested-ctl SOCKET ITEM...  where an ITEM is a command name (sent with empty args),
 * sleep:MS, key:NAMES (send-key {"keys":NAMES}), text:WORD (send-key {"text":WORD}) or
 * ptr:X:Y:W:H:BUTTONS (input-pointer; no commas: the case flags are comma-separated), or
 * floppy:PATH / floppy:eject (media-change on the floppy drive, PATH opened read-write here and
 * its descriptor sent along, as `bareiron set --floppy` does), cdrom:PATH / cdrom:eject (the
 * same on the CD-ROM drive, PATH opened read-only), save:PATH or save:PATH:live (save
 * {"path":PATH}, with "live":true for the second; the monitor opens PATH, so not under
 * --sandbox; PATH must hold no ':'), shot:PATH (screenshot {"path":PATH}: a PNG the monitor
 * writes, so not under --sandbox either); the words must not need JSON
 * escapes. Prints `CTL <cmd> <reply>` per command. Retries the connection
 * for 10 s; exit 0 when every command got a reply (whatever it says: the caller judges), else 1.
 */
#include <fcntl.h>
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

/* media-change on (drive) for item floppy:PATH|eject or cdrom:PATH|eject (a CD read-only);
 * returns 0 or -1. */
static int media(FILE *f, int sock, int id, const char *drive, const char *what)
{
    char req[4500];
    int n, img = -1;
    if (strcmp(what, "eject") == 0) {
        n = snprintf(req, sizeof(req),
                     "{\"id\":%d,\"cmd\":\"media-change\",\"args\":{\"drive\":\"%s\","
                     "\"eject\":true}}\n",
                     id, drive);
    } else {
        img = open(what, strcmp(drive, "cdrom") == 0 ? O_RDONLY : O_RDWR);
        if (img < 0) {
            perror(what);
            return -1;
        }
        n = snprintf(req, sizeof(req),
                     "{\"id\":%d,\"cmd\":\"media-change\",\"args\":{\"drive\":\"%s\","
                     "\"path\":\"%s\"}}\n",
                     id, drive, what);
    }
    if (n <= 0 || (size_t)n >= sizeof(req))
        return -1;
    fflush(f);
    if (img >= 0) { /* the first byte carries the descriptor (SCM_RIGHTS) */
        union {
            struct cmsghdr h;
            char buf[CMSG_SPACE(sizeof(int))];
        } ctl;
        struct iovec iov = {.iov_base = req, .iov_len = 1};
        struct msghdr msg = {.msg_iov = &iov,
                             .msg_iovlen = 1,
                             .msg_control = ctl.buf,
                             .msg_controllen = sizeof(ctl.buf)};
        struct cmsghdr *h = CMSG_FIRSTHDR(&msg);
        memset(ctl.buf, 0, sizeof(ctl.buf));
        h->cmsg_level = SOL_SOCKET;
        h->cmsg_type = SCM_RIGHTS;
        h->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(h), &img, sizeof(img));
        if (sendmsg(sock, &msg, 0) != 1) {
            close(img);
            return -1;
        }
        close(img);
        return write(sock, req + 1, (size_t)n - 1) == n - 1 ? 0 : -1;
    }
    return write(sock, req, (size_t)n) == n ? 0 : -1;
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
        if (!strncmp(argv[i], "floppy:", 7) || !strncmp(argv[i], "cdrom:", 6)) {
            const char *what = strchr(argv[i], ':') + 1;
            if (media(f, fd, i - 1, argv[i][0] == 'f' ? "floppy" : "cdrom", what) < 0) {
                printf("CTL %s (not sent)\n", argv[i]);
                fclose(f);
                return 1;
            }
        } else if (!strncmp(argv[i], "key:", 4) || !strncmp(argv[i], "text:", 5)) {
            fprintf(f, "{\"id\":%d,\"cmd\":\"send-key\",\"args\":{\"%s\":\"%s\"}}\n", i - 1,
                    argv[i][0] == 'k' ? "keys" : "text", strchr(argv[i], ':') + 1);
        } else if (!strncmp(argv[i], "save:", 5)) {
            const char *path = argv[i] + 5, *live = strchr(path, ':');
            int len = live ? (int)(live - path) : (int)strlen(path);
            fprintf(f, "{\"id\":%d,\"cmd\":\"save\",\"args\":{\"path\":\"%.*s\"%s}}\n", i - 1, len,
                    path, live && !strcmp(live, ":live") ? ",\"live\":true" : "");
        } else if (!strncmp(argv[i], "shot:", 5)) {
            fprintf(f, "{\"id\":%d,\"cmd\":\"screenshot\",\"args\":{\"path\":\"%s\"}}\n", i - 1,
                    argv[i] + 5);
        } else if (sscanf(argv[i], "ptr:%u:%u:%u:%u:%u", &x, &y, &w, &h, &b) == 5) {
            fprintf(f,
                    "{\"id\":%d,\"cmd\":\"input-pointer\",\"args\":{\"x\":%u,\"y\":%u,"
                    "\"width\":%u,\"height\":%u,\"buttons\":%u}}\n",
                    i - 1, x, y, w, h, b);
        } else {
            fprintf(f, "{\"id\":%d,\"cmd\":\"%s\",\"args\":{}}\n", i - 1, argv[i]);
        }
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
