// SPDX-License-Identifier: MIT
/*
 * nested-mqtap: makes a persistent multi-queue tap interface (TUNSETIFF with IFF_TAP |
 * IFF_NO_PI | IFF_VNET_HDR | IFF_MULTI_QUEUE, then TUNSETPERSIST), for the nested-KVM
 * initramfs (scripts/nested-kvm.sh), whose busybox tunctl cannot ask for several queues.
 * Usage: nested-mqtap NAME. Exit 0 when made, else 1 with the reason on stderr.
 */
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    struct ifreq ifr;
    int fd;

    if (argc != 2 || strlen(argv[1]) >= IFNAMSIZ) {
        fprintf(stderr, "usage: nested-mqtap NAME\n");
        return 1;
    }
    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_MULTI_QUEUE;
    memcpy(ifr.ifr_name, argv[1], strlen(argv[1]));
    fd = open("/dev/net/tun", O_RDWR);
    if (fd < 0 || ioctl(fd, TUNSETIFF, &ifr) < 0 || ioctl(fd, TUNSETPERSIST, 1) < 0) {
        perror("nested-mqtap");
        return 1;
    }
    close(fd);
    return 0;
}
