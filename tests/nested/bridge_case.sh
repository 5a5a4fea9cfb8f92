#!/bin/sh
# SPDX-License-Identifier: MIT
# The two-VM bridge case of tests/integration/nested_util.py (run by tests/nested/init in L1,
# or directly as root on a real KVM host): in a network namespace of its own (unshare -n, gone
# with the case), a bridge br0 with two taps, tapa and tapb, and two Linux guests on them
# (bareiron-vmm --nic tap,ifname=tapX,vhost=VHOST, the test initramfs' itest=netrun):
#   A  10.9.0.1/24, receives one TCP transfer on port 5001 (itest_tcp=recv:5001)
#   B  10.9.0.2/24, pings A, then sends it 2 MiB of random data (itest_tcp=send:...)
# Once both guests have eth0 up, counts each monitor's descriptors open on /dev/vhost-net.
# Prints each guest's console lines as "A| ..." and "B| ...", then "BRIDGE vhost A=N B=N" and
# "BRIDGE status A=N B=N" (the monitors' exit statuses), or only "BRIDGE-SKIP <why>" when the
# monitor's --help lists no --nic. No traffic leaves the namespace.
# With QUEUES > 1 the taps are multi-queue (nested-mqtap) and each guest has 2 vCPUs and
# --nic ...,queues=QUEUES (virtio-net MQ; with vhost-net one /dev/vhost-net per queue pair).
# IRQCHIP (default split) is the monitors' --irqchip.
# Usage: bridge_case.sh VHOST(on|off) VMM KERNEL INITRD [QUEUES [IRQCHIP]]
set -u

if [ "${1:-}" != --inner ]; then
    vmm=${2:?usage: bridge_case.sh VHOST VMM KERNEL INITRD}
    if ! "$vmm" --help 2>&1 | grep -q -e '--nic'; then
        echo "BRIDGE-SKIP the monitor has no --nic"
        exit 0
    fi
    exec unshare -n /bin/sh "$0" --inner "$@"
fi
vhost=$2
vmm=$3
kernel=$4
initrd=$5
queues=${6:-1}
irqchip=${7:-split}
bb=/bin/busybox
limit=400
cmdline="console=ttyS0 panic=-1 quiet itest=netrun itest_timeout=300"

ip link set lo up
if ! { $bb brctl addbr br0 && ip link set br0 up; }; then
    echo "BRIDGE-ERROR cannot make br0"
    exit 1
fi
# makes tap $1 (multi-queue with QUEUES > 1)
mktap() {
    if [ "$queues" -gt 1 ]; then
        nested-mqtap "$1"
    else
        $bb tunctl -t "$1" >/dev/null
    fi
}

for t in tapa tapb; do
    if ! { mktap "$t" && $bb brctl addif br0 "$t" && ip link set "$t" up; }; then
        echo "BRIDGE-ERROR cannot make $t on br0"
        exit 1
    fi
done

# starts guest $1 on tap $2 with the itest options $3; its pid in $pid
start() {
    timeout -s KILL "$limit" "$vmm" --kernel "$kernel" --initrd "$initrd" --memory 256M \
        --cpus "$queues" --irqchip "$irqchip" --serial stdio --no-reboot \
        --nic "tap,ifname=$2,vhost=$vhost,queues=$queues,mac=52:54:00:00:77:$4" \
        --cmdline "$cmdline $3" </dev/null >"/tmp/bridge-$1.out" 2>&1 &
    pid=$!
}

# descriptors of process $1 open on /dev/vhost-net (busybox timeout execs the monitor)
vhost_fds() {
    c=0
    for f in /proc/"$1"/fd/*; do
        [ "$(readlink "$f")" = /dev/vhost-net ] && c=$((c + 1))
    done
    echo "$c"
}

start a tapa "itest_net=static:10.9.0.1/24 itest_tcp=recv:5001" 0a
pa=$pid
start b tapb "itest_net=static:10.9.0.2/24 itest_ping=10.9.0.1 itest_tcp=send:10.9.0.1:5001:2048" 0b
pb=$pid

# the vhost-net descriptors, once both guests have eth0 up (the device is running by then)
va=-
vb=-
n=0
while [ $n -lt $((limit * 5)) ] && kill -0 "$pa" 2>/dev/null && kill -0 "$pb" 2>/dev/null; do
    if grep -q 'ITEST NET' /tmp/bridge-a.out && grep -q 'ITEST NET' /tmp/bridge-b.out; then
        va=$(vhost_fds "$pa")
        vb=$(vhost_fds "$pb")
        break
    fi
    $bb usleep 200000
    n=$((n + 1))
done
wait "$pb"
sb=$?
wait "$pa"
sa=$?
tr -d '\r' </tmp/bridge-a.out | sed 's/^/A| /'
tr -d '\r' </tmp/bridge-b.out | sed 's/^/B| /'
echo "BRIDGE vhost A=$va B=$vb"
echo "BRIDGE status A=$sa B=$sb"
