# SPDX-License-Identifier: MIT
"""Two Linux guests on one bridge through tap, vhost-net on and off, directly on a real KVM host
(as root): tests/nested/bridge_case.sh makes the bridge and the taps in a network namespace of
its own and boots both guests; nested_util.check_bridge() judges the output. Elsewhere the same
cases run in the nested L1 (test_nested_kvm.py, linux-bridge-vhost-*)."""
import os
import subprocess

import pytest

import hostkind
import nested_util as nu


@pytest.mark.parametrize("vhost", ["on", "off"])
def test_bridge_two_guests(build_dir, vhost):
    if hostkind.kind() != "kvm":
        pytest.skip("no real KVM here: test_nested_kvm.py runs this case in the nested L1")
    vmm = build_dir / "src" / "vmm" / "bareiron-vmm"
    if "--nic" not in nu.vmm_help(vmm):
        pytest.skip("the monitor has no --nic (bareiron-vmm --help)")
    if os.geteuid() != 0:
        pytest.skip("a bridge and taps need root")
    for dev in ["/dev/net/tun"] + (["/dev/vhost-net"] if vhost == "on" else []):
        if not os.path.exists(dev):
            pytest.skip(f"no {dev}")
    linux = nu.linux_inputs(build_dir)
    if linux is None:
        pytest.skip("no guest kernel or initramfs (get-guest-kernel.sh, mkinitramfs.sh)")
    r = subprocess.run(["/bin/sh", str(nu.ROOT / "tests" / "nested" / "bridge_case.sh"), vhost,
                        str(vmm), str(linux[0]), str(linux[1])],
                       capture_output=True, text=True, timeout=900)
    text = r.stdout + r.stderr
    why = nu.bridge_skip(text)
    if why:
        pytest.skip(why)
    probs = nu.check_bridge(vhost == "on")(text)
    assert not probs, (probs, text[-4000:])
