#!/bin/sh
# SPDX-License-Identifier: MIT
# Installs the Debian packages bareiron needs to build, test and benchmark.
# Idempotent: does nothing (and needs no network) when everything is present.
set -eu
PKGS="meson ninja-build pkg-config gcc clang clang-format llvm libcmocka-dev liburing-dev \
libzstd-dev liblz4-dev liblzma-dev zlib1g-dev libjansson-dev \
libseccomp-dev libslirp-dev libglib2.0-dev acpica-tools busybox-static cpio qemu-system-x86 qemu-utils python3-pytest \
seabios binutils fio cppcheck xz-utils"
# iperf3: the network benchmarks (bench/net.sh, scripts/mkinitramfs.sh --net)
PKGS="$PKGS iperf3"
# firmware boot (bareiron-vmm --firmware) and its test media: OVMF, GRUB images, ISO and floppy tools
PKGS="$PKGS ovmf grub-pc-bin grub-efi-amd64-bin xorriso mtools isolinux syslinux-common dosfstools"
# network boot (--boot net): iPXE's option ROM for virtio-net
PKGS="$PKGS ipxe-qemu"
# the display: VNC server and PNG screenshots
PKGS="$PKGS libvncserver-dev libpng-dev"
# dmidecode: the SMBIOS unit test decodes the tables it builds (skipped without it)
PKGS="$PKGS dmidecode"
missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
if [ -z "$missing" ]; then
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    SUDO=sudo
else
    SUDO=
fi
echo "install-deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing
