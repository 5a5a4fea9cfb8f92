# SPDX-License-Identifier: MIT
"""bareiron-vmm on a real /dev/kvm: vCPU tests with tiny multiboot payloads built in Python
(port I/O, serial output, isa-debug-exit, ACPI S5 power-off, i8042 reset, triple fault, SMP),
Linux early boot (e820, ACPI, CPUs and memory as the kernel reports them) with Debian's kernel,
and a full boot to /init (on a real KVM only: elsewhere test_nested_kvm.py runs it)."""
import re
import signal
import subprocess
import time

import pytest

from conftest import run
import boot_util as bu
import vmm_util as u

pytestmark = pytest.mark.usefixtures("need_kvm")


def boot(vmm, tmp_path, code, *args, timeout=30):
    k = u.write_payload(tmp_path, "payload", code)
    return run([vmm, "--kernel", k, "--serial", "stdio", "--no-reboot", "--debug-exit"] + list(args),
               timeout=timeout, stdin=subprocess.DEVNULL)


def test_debug_exit(vmm, tmp_path):
    r = boot(vmm, tmp_path, u.debug_exit(0x21))
    assert r.returncode == (0x21 << 1) | 1, r.stderr


def test_debug_exit_is_opt_in(vmm, tmp_path):
    """Without --debug-exit port 0xf4 is not claimed: the guest cannot choose the monitor's
    exit status (docs/security.md), and goes on to power off through ACPI (status 0)."""
    k = u.write_payload(tmp_path, "payload", u.debug_exit(0x44) + u.out16(0x604, 1 << 13))
    r = run([vmm, "--kernel", k, "--serial", "stdio", "--no-reboot"], timeout=30,
            stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr


def test_serial_output(vmm, tmp_path):
    r = boot(vmm, tmp_path, u.serial_write(b"hello from the guest\n") + u.debug_exit(0))
    assert r.returncode == 1, r.stderr
    assert "hello from the guest" in r.stdout


def test_serial_none_and_file(vmm, tmp_path):
    code = u.serial_write(b"to-file\n") + u.debug_exit(0)
    r = boot(vmm, tmp_path, code, "--serial", "none")
    assert r.returncode == 1 and "to-file" not in r.stdout
    log = tmp_path / "console.log"
    r = boot(vmm, tmp_path, code, "--serial", f"file:{log}")
    assert r.returncode == 1 and "to-file" in log.read_text()


def test_acpi_poweroff(vmm, tmp_path):
    # PM1a_CNT: SLP_TYP = S5 (layout.h ACPI_SLP_TYP_S5 = 0) | SLP_EN
    r = boot(vmm, tmp_path, u.out16(0x604, (0 << 10) | (1 << 13)))
    assert r.returncode == 0, r.stderr


def test_i8042_reset_no_reboot(vmm, tmp_path):
    r = boot(vmm, tmp_path, u.out8(0x64, 0xFE))
    assert r.returncode == 0, r.stderr


def test_triple_fault_no_reboot(vmm, tmp_path):
    r = boot(vmm, tmp_path, u.triple_fault())
    assert r.returncode == 8, r.stderr
    assert "rip=" in r.stderr and "cr0=" in r.stderr and "code:" in r.stderr


def test_reboot_loops_until_killed(vmm, tmp_path):
    """Without --no-reboot a reset builds a new machine: the payload runs again and again
    (with --reboot-limit off; test_vmm_security.py covers the default limit)."""
    k = u.write_payload(tmp_path, "reboot", u.serial_write(b"boot\n") + u.out8(0x64, 0xFE))
    p = subprocess.Popen([vmm, "--kernel", k, "--reboot-limit", "off"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    time.sleep(3)
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=20)
    assert out.count(b"boot\n") >= 2, err
    assert p.returncode == 128 + signal.SIGTERM


@pytest.mark.parametrize("cpus", [1, 2, 8])
def test_smp_and_memory(vmm, tmp_path, cpus):
    r = boot(vmm, tmp_path, u.debug_exit(3), "--cpus", str(cpus), "--memory", "4G")
    assert r.returncode == 7, r.stderr


@pytest.mark.parametrize("model", ["host", "baseline"])
def test_cpu_models(vmm, tmp_path, model):
    r = boot(vmm, tmp_path, u.debug_exit(0), "--cpu-model", model)
    assert r.returncode == 1, r.stderr


@pytest.fixture(scope="module")
def kernel(build_dir):
    k = u.fetch_guest_kernel(build_dir)
    if k is None:
        pytest.skip("no guest kernel (scripts/get-guest-kernel.sh could not fetch Debian's)")
    return k


EARLY_BOOT_PATTERNS = {
    "e820": r"BIOS-e820: \[mem 0x0000000000100000-0x000000001fffffff\] usable",
    "rsdp": r"ACPI: RSDP 0x",
    "madt": r"ACPI: APIC 0x",
    "cpus": r"smpboot: Allowing 2 CPUs",
    "memory": r"Memory: \d+K/\d+K available",
}


def test_linux_early_boot(vmm, kernel):
    """Boots Debian's kernel only as far as it reports what it found (e820, ACPI tables, CPUs,
    memory; all printed early, so this is quick even where guest ring 0 is emulated), then
    stops the monitor. Without a root fs a full run would end in a panic and, with panic=-1
    and --no-reboot, a clean exit; either way is accepted."""
    import threading
    p = subprocess.Popen([vmm, "--kernel", kernel, "--cpus", "2", "--memory", "512M",
                          "--no-reboot", "--serial", "stdio",
                          "--cmdline", "console=ttyS0 earlyprintk=serial panic=-1 reboot=k"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         stdin=subprocess.DEVNULL)
    out = []
    seen = set()
    done = threading.Event()

    def reader():
        for raw in p.stdout:
            line = raw.decode(errors="replace")
            out.append(line)
            for name, pat in EARLY_BOOT_PATTERNS.items():
                if re.search(pat, line):
                    seen.add(name)
            if len(seen) == len(EARLY_BOOT_PATTERNS):
                done.set()
        done.set()

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    done.wait(timeout=300)
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
    p.wait(timeout=30)
    t.join(timeout=10)
    text = "".join(out)
    missing = set(EARLY_BOOT_PATTERNS) - seen
    assert not missing, (missing, text[-3000:], p.stderr.read().decode()[-2000:])
    assert p.returncode in (0, 128 + signal.SIGTERM), p.returncode


def test_linux_init(vmm, kernel, build_dir, need_linux_kvm):
    initrd = bu.or_skip(bu.initramfs(build_dir))
    r = run([vmm, "--kernel", kernel, "--initrd", initrd, "--cpus", "2", "--memory", "512M",
             "--no-reboot", "--cmdline", "console=ttyS0 panic=-1 itest=smp itest_cpus=2"],
            timeout=300, stdin=subprocess.DEVNULL)
    assert "ITEST PASS smp" in r.stdout, r.stdout[-3000:]
    assert r.returncode == 0, r.stderr[-2000:]


def test_control_socket(vmm, tmp_path):
    """pause/resume/stats/query over --control, then poweroff: exit status 0."""
    k = u.write_payload(tmp_path, "spin", b"\xeb\xfe")  # jmp $
    sock = tmp_path / "control.sock"
    p = subprocess.Popen([vmm, "--kernel", k, "--serial", "none", "--control", sock,
                          "--name", "ctl-test", "--cpus", "2"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         stdin=subprocess.DEVNULL)
    try:
        u.wait_path(sock)
        state = None
        for _ in range(100):  # "starting" until the vCPUs run
            state = u.control(sock, "query-state")["result"]["state"]
            if state == "running":
                break
            time.sleep(0.05)
        assert state == "running"
        assert u.control(sock, "pause")["ok"]
        assert u.control(sock, "query-state")["result"]["state"] == "paused"
        r = u.control(sock, "pause")
        assert not r["ok"] and r["error"]["code"] == "EBUSY"
        assert u.control(sock, "resume")["ok"]
        st = u.control(sock, "stats")["result"]
        assert st["vcpu_count"] == 2 and st["guest_mem_bytes"] == 256 << 20
        cfg = u.control(sock, "query-config")["result"]
        assert cfg["name"] == "ctl-test" and cfg["cpus"] == 2
        assert u.control(sock, "poweroff")["ok"]
        p.wait(timeout=20)
        assert p.returncode == 0, p.stderr.read()
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def test_serial_unix_socket(vmm, tmp_path):
    """--serial unix:PATH: a client gets the output and its input reaches the guest, which
    echoes one byte back from the UART (polling LSR.DR) and exits with it."""
    # wait for LSR.DR (0x3fd bit 0), read RBR, echo it to THR, exit with it
    code = (u.serial_write(b"ready\n") +
            b"\x66\xba\xfd\x03" + b"\xec" + b"\xa8\x01" + b"\x74\xfb" +  # dx=0x3fd; in; test; jz
            b"\x66\xba\xf8\x03" + b"\xec" + b"\xee" +                    # dx=0x3f8; in al; out
            b"\xe6\xf4")                                                  # out 0xf4, al
    k = u.write_payload(tmp_path, "echo", code)
    sock = tmp_path / "serial.sock"
    p = subprocess.Popen([vmm, "--kernel", k, "--serial", f"unix:{sock}", "--debug-exit"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         stdin=subprocess.DEVNULL)
    try:
        u.wait_path(sock)
        with u.connect_unix(sock) as s:
            s.sendall(b"\x05")
            got = b""
            while b"\x05" not in got:
                chunk = s.recv(100)
                if not chunk:
                    break
                got += chunk
        p.wait(timeout=20)
        assert p.returncode == (5 << 1) | 1, p.stderr.read()
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
