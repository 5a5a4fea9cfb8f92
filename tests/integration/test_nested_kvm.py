# SPDX-License-Identifier: MIT
"""bareiron-vmm on a nested KVM where the host has none (docs/testing.md, "Nested KVM under
TCG"): scripts/nested-kvm.sh boots Debian's kernel in QEMU/TCG with an emulated SVM CPU, loads
kvm-amd there and runs every payload case of payload_util.CASES and the vCPU, control-socket
and Linux cases of nested_util.VCPU_CASES in ONE boot of L1 (about 2 minutes on 2 cores); each
case is then judged as on a real KVM.

Runs only where /dev/kvm is unusable (with a real KVM, test_payloads.py and test_vmm_boot.py
run these cases directly) and QEMU's TCG offers SVM. BAREIRON_NESTED=0 turns it off."""
import os
import subprocess

import pytest

import nested_util as nu
import payload_util as pu
from conftest import kvm_problem

TIMEOUT = 600  # seconds for the whole L1 run (about 60 s on 2 cores)


@pytest.fixture(scope="module")
def nested(build_dir, tmp_path_factory):
    if os.environ.get("BAREIRON_NESTED") == "0":
        pytest.skip("BAREIRON_NESTED=0")
    if kvm_problem() is None:
        pytest.skip("/dev/kvm works here: test_payloads.py and test_vmm_boot.py run directly")
    why = nu.tcg_svm_problem()
    if why:
        pytest.skip(why)
    vmm = build_dir / "src" / "vmm" / "bareiron-vmm"
    if not vmm.exists() or not (build_dir / "tests" / "guest" / "hello.elf").exists():
        pytest.skip("bareiron-vmm or the payloads are not built")
    linux = nu.linux_inputs(build_dir)
    if linux is None:
        pytest.skip("no guest kernel or initramfs (get-guest-kernel.sh, mkinitramfs.sh)")
    tmp = tmp_path_factory.mktemp("nested")
    cases, extra, ids = nu.write_inputs(tmp, linux)
    r = subprocess.run([str(nu.SCRIPT), str(build_dir), str(cases), str(extra)],
                       capture_output=True, text=True, timeout=TIMEOUT + 60, cwd=nu.ROOT,
                       env=dict(os.environ, NESTED_TIMEOUT=str(TIMEOUT)))
    if r.returncode == 4:
        dmesg = [l for l in r.stdout.splitlines() if l.startswith("NESTED")]
        pytest.skip("kvm-amd does not work in the TCG guest: " + " | ".join(dmesg)[-800:])
    if r.returncode == 1:
        pytest.skip(f"nested-kvm.sh could not set up: {r.stderr.strip()[-400:]}")
    return r.returncode, r.stdout, nu.parse(r.stdout), ids


def test_nested_l1_finished(nested):
    rc, out, _, _ = nested
    assert rc == 0, out[-3000:]


@pytest.mark.parametrize("case", [c for c in pu.CASES if not c.vmm_skip], ids=lambda c: c.id)
def test_nested_payload(nested, case):
    _, out, res, _ = nested
    o = res.get(case.id)
    probs = nu.payload_problems(case, o)
    assert not probs, (probs, "\n".join(o.lines) if o else out[-2000:])


@pytest.mark.parametrize("case", nu.VCPU_CASES, ids=lambda c: c.id)
def test_nested_vcpu(nested, case):
    _, out, res, ids = nested
    if case.id not in ids:
        pytest.skip("not run: qemu-img is missing")
    o = res.get(case.id)
    probs = nu.vcpu_problems(case, o)
    assert not probs, (probs, "\n".join(o.lines) if o else out[-2000:])
