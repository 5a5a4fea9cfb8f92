// SPDX-License-Identifier: MIT
/*
 * nested-dns: the smallest DNS server (RFC 1035 §4.1), for the network cases of the nested-KVM
 * initramfs (scripts/nested-kvm.sh): L1 has no resolver and no network, so the NAT backend's
 * DNS relay (libslirp, which falls back to 127.0.0.1:53 when the host has no /etc/resolv.conf)
 * reaches this. Every query of type A for any name is answered with ADDR; other types get an
 * empty NOERROR answer. Listens on 127.0.0.1:53 (UDP) until killed.
 * Usage: nested-dns ADDR
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(53)};
    struct in_addr answer;
    uint8_t buf[512];
    int fd;

    if (argc != 2 || inet_pton(AF_INET, argv[1], &answer) != 1) {
        fprintf(stderr, "usage: nested-dns ADDR\n");
        return 2;
    }
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        perror("nested-dns: bind 127.0.0.1:53");
        return 1;
    }
    for (;;) {
        struct sockaddr_in from;
        socklen_t flen = sizeof(from);
        ssize_t n = recvfrom(fd, buf, sizeof(buf) - 16, 0, (struct sockaddr *)&from, &flen);
        size_t q = 12;
        int is_a;

        /* one question: QNAME labels, then QTYPE and QCLASS */
        if (n < 17 || buf[4] != 0 || buf[5] != 1)
            continue;
        while (q < (size_t)n && buf[q] != 0)
            q += (size_t)buf[q] + 1;
        if (q + 5 > (size_t)n)
            continue;
        is_a = buf[q + 1] == 0 && buf[q + 2] == 1;
        q += 5;        /* end of the question */
        buf[2] = 0x81; /* QR, RD */
        buf[3] = 0x80; /* RA, NOERROR */
        buf[6] = 0;
        buf[7] = is_a ? 1 : 0; /* ANCOUNT */
        memset(buf + 8, 0, 4); /* NSCOUNT, ARCOUNT */
        if (is_a) {
            static const uint8_t rr[] = {0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4};
            memcpy(buf + q, rr, sizeof(rr));
            memcpy(buf + q + sizeof(rr), &answer, 4);
            q += sizeof(rr) + 4;
        }
        sendto(fd, buf, q, 0, (struct sockaddr *)&from, flen);
    }
}
