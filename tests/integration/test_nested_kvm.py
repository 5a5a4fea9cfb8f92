# SPDX-License-Identifier: MIT
"""bareiron-vmm on a nested KVM, for what this host cannot run directly (hostkind.py;
docs/testing.md, "Nested KVM under TCG"): scripts/nested-kvm.sh boots Debian's kernel in
QEMU/TCG with an emulated SVM CPU, loads kvm-amd there and runs the cases in ONE boot of L1;
each case is then judged as on a real KVM.

- No usable /dev/kvm: every payload case of payload_util.CASES and every vCPU, control-socket
  and Linux case of nested_util.VCPU_CASES (10 to 20 minutes on 2 cores).
- kvm-pvm: the Linux cases only (a Linux userland cannot run on kvm-pvm); the payload and vCPU
  cases run directly on the host's /dev/kvm in test_payloads.py and test_vmm_boot.py.
- Real KVM: nothing (everything runs directly).

BAREIRON_NESTED=0 turns it off; BAREIRON_HOST_KIND=none runs the no-KVM policy on a KVM host;
BAREIRON_NESTED_LINUX=0 leaves the Linux cases out; BAREIRON_NESTED_ONLY=PREFIX[,PREFIX...] runs
only the cases whose id starts with one of them (e.g. linux-net). Should L1 itself stop
(nested-kvm.sh notices within about a minute; docs/testing.md, "When L1 stops"), the cases
without a result run once more in a fresh L1."""
import os
import subprocess

import pytest

import hostkind
import nested_util as nu
import payload_util as pu

# seconds for the whole L1 run: the Linux cases take 10 to 20 minutes on 2 loaded cores; a stalled
# L1 is noticed within about a minute (nested-kvm.sh) whatever this says
TIMEOUT = 1800


@pytest.fixture(scope="module")
def nested(build_dir, tmp_path_factory):
    if os.environ.get("BAREIRON_NESTED") == "0":
        pytest.skip("BAREIRON_NESTED=0")
    if hostkind.kind() == "kvm":
        pytest.skip("real KVM here: test_payloads.py and test_vmm_boot.py run these directly")
    why = nu.tcg_svm_problem()
    if why:
        pytest.skip(why)
    vmm = build_dir / "src" / "vmm" / "bareiron-vmm"
    if not vmm.exists() or not (build_dir / "tests" / "guest" / "hello.elf").exists():
        pytest.skip("bareiron-vmm or the payloads are not built")
    linux = nu.linux_inputs(build_dir)
    if linux is None:
        pytest.skip("no guest kernel or initramfs (get-guest-kernel.sh, mkinitramfs.sh)")
    if os.environ.get("BAREIRON_NESTED_LINUX") == "0":
        linux = None  # .ci/run's second policy: make check ran the Linux cases in L1 already
    tmp = tmp_path_factory.mktemp("nested")
    cases, extra, ids = nu.write_inputs(tmp, linux, linux_only=hostkind.kind() == "kvm-pvm")
    only = os.environ.get("BAREIRON_NESTED_ONLY")
    if only:
        keep = tuple(only.split(","))
        ids = [i for i in ids if i.startswith(keep)]
        cases.write_text("".join(l + "\n" for l in cases.read_text().splitlines()
                                 if l.split()[0] in ids))
    r = run_l1(build_dir, cases, extra)
    if r.returncode == 4:
        dmesg = [l for l in r.stdout.splitlines() if l.startswith("NESTED")]
        pytest.skip("kvm-amd does not work in the TCG guest: " + " | ".join(dmesg)[-800:])
    if r.returncode == 1:
        pytest.skip(f"nested-kvm.sh could not set up: {r.stderr.strip()[-400:]}")
    first = r
    rc, out, res = r.returncode, r.stdout, nu.parse(r.stdout)
    if rc == 3:
        # L1 stopped making progress (nested-kvm.sh notices within about a minute, and prints
        # where L1 was on stderr) or did not finish in time. The cases without a result run
        # once more in a fresh L1; a case that stops L1 itself stops the second one too and
        # fails.
        done = {k for k, o in res.items() if o.status is not None}
        retry = tmp / "cases-retry"
        retry.write_text("".join(l + "\n" for l in cases.read_text().splitlines()
                                 if l and l.split()[0] not in done))
        r = run_l1(build_dir, retry, extra)
        again = nu.parse(r.stdout)
        res.update({k: o for k, o in again.items() if k not in done})
        why = next((l for l in first.stderr.splitlines() if l.startswith("nested-kvm: L1")),
                   "L1 stopped in the first run")
        rc, out = r.returncode, f"{out}\nNESTED RETRY ({why})\n{r.stdout}"
    return rc, out, res, ids


def run_l1(build_dir, cases, extra):
    """One boot of L1 running (cases) with the files of (extra)."""
    env = dict(os.environ, NESTED_TIMEOUT=str(TIMEOUT))
    if any(l.split()[0].startswith("linux-bridge") for l in cases.read_text().splitlines() if l):
        env["NESTED_MODULES"] = nu.NET_MODULES
    return subprocess.run([str(nu.SCRIPT), str(build_dir), str(cases), str(extra)],
                          capture_output=True, text=True, timeout=TIMEOUT + 60, cwd=nu.ROOT,
                          env=env)


def direct_here(case_id, ids):
    """Skips a case that this host runs directly instead (kvm-pvm), or that
    BAREIRON_NESTED_ONLY leaves out."""
    if case_id not in ids and os.environ.get("BAREIRON_NESTED_ONLY"):
        pytest.skip("not in BAREIRON_NESTED_ONLY")
    if case_id not in ids and hostkind.kind() == "kvm-pvm":
        pytest.skip("kvm-pvm host: this case runs directly on /dev/kvm (test_payloads.py, "
                    "test_vmm_boot.py)")


def test_nested_l1_finished(nested):
    rc, out, _, _ = nested
    assert rc == 0, out[-3000:]


@pytest.mark.parametrize("case", [c for c in pu.CASES if not c.vmm_skip and nu.in_l1(c)],
                         ids=lambda c: c.id)
def test_nested_payload(nested, case):
    _, out, res, ids = nested
    direct_here(case.id, ids)
    o = res.get(case.id)
    probs = nu.payload_problems(case, o)
    assert not probs, (probs, "\n".join(o.lines) if o else out[-2000:])


@pytest.mark.parametrize("case", nu.VCPU_CASES, ids=lambda c: c.id)
def test_nested_vcpu(nested, case):
    _, out, res, ids = nested
    direct_here(case.id, ids)
    if case.id not in ids:
        pytest.skip("not in this L1 run (BAREIRON_NESTED_LINUX=0, or qemu-img is missing)")
    o = res.get(case.id)
    why = case.skip_if("\n".join(o.lines)) if case.skip_if and o else None
    if why:
        pytest.skip(why)
    probs = nu.vcpu_problems(case, o)
    assert not probs, (probs, "\n".join(o.lines) if o else out[-2000:])
