# SPDX-License-Identifier: MIT
"""Saved states with a real guest (docs/vmm.md "Saved state"): the counter payload
(tests/guest/payloads/counter.c) counts in memory and prints "COUNT <tick> <bad>" lines; the
control command save stops the monitor with status 0 and a sparse state file; --restore
continues the count where it stopped (the COUNT lines of both runs, joined, follow each other
without a gap), twice from one file; bad state files and other machines are refused with one
line naming the section or the header, status 6. With `disk=1` the counter also writes each
tick to a virtio-blk disk and reads the one before back: saved mid-I/O (beside virtio-rng and
virtio-console), restored twice from copies of the disk, it goes on with the disk matching; a
virtio section with a queue outside guest RAM (checksums fixed up) is refused naming it, and so
is a saved CPUID showing the guest a feature this host does not offer."""
import os
import re
import subprocess
import time
import zlib

import pytest

import vmm_util as u

pytestmark = pytest.mark.usefixtures("need_kvm")

TICKS = 100000  # far more than a test waits for: the guest never finishes on its own


@pytest.fixture
def counter(build_dir):
    p = build_dir / "tests" / "guest" / "counter.elf"
    if not p.exists():
        pytest.skip(f"{p} is not built")
    return p


def vmm_args(vmm, kernel, *extra, memory=128, cmdline=""):
    return [str(vmm), "--kernel", str(kernel), "--memory", str(memory), "--debug-exit",
            "--no-reboot", "--serial", "stdio", "--cmdline", f"ticks={TICKS} shift=18 {cmdline}",
            *extra]


SPAWNED = []


@pytest.fixture(autouse=True)
def reap():
    """Kills what a failed test left running."""
    yield
    while SPAWNED:
        p = SPAWNED.pop()
        if p.poll() is None:
            p.kill()
            p.wait()


def spawn(args):
    p = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    SPAWNED.append(p)
    return p


def counts(text):
    return [int(m.group(1)) for m in re.finditer(rb"^COUNT (\d+) (\d+)\r?$", text, re.M)]


def read_until(p, pattern, timeout=20.0):
    """Reads p's stdout until (pattern) (bytes regex) matches; returns what was read."""
    buf = b""
    os.set_blocking(p.stdout.fileno(), False)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        chunk = p.stdout.read()
        if chunk:
            buf += chunk
            if re.search(pattern, buf, re.M):
                return buf
        elif p.poll() is not None:
            break
        else:
            time.sleep(0.02)
    raise AssertionError(f"no {pattern!r} in {buf[-400:]!r}; stderr {p.stderr.read()!r}")


def finish(p, timeout=20):
    out, err = p.communicate(timeout=timeout)
    return out, err


def save_run(vmm, counter, tmp_path, after=40, extra=(), cmdline=""):
    """Runs the counter until COUNT (after), saves it; returns (stdout, state path)."""
    sock = tmp_path / "ctl.sock"
    state = tmp_path / "vm.state"
    p = spawn(vmm_args(vmm, counter, "--control", str(sock), *extra, cmdline=cmdline))
    out = read_until(p, rb"^COUNT %d " % after)
    r = u.control(sock, "save", {"path": str(state)})
    assert r.get("ok"), r
    rest, err = finish(p)
    assert p.returncode == 0, err
    return out + rest, state


def restore_run(vmm, counter, state, more=30, extra=(), cmdline=""):
    p = spawn(vmm_args(vmm, counter, "--restore", str(state), "--log-level", "info", *extra,
                       cmdline=cmdline))
    first = read_until(p, rb"^COUNT \d+ ")
    out = first + read_until(p, rb"^COUNT (\d+) ", timeout=20)
    start = counts(out)[0] if counts(out) else 0
    out += read_until(p, rb"^COUNT %d " % (start + more))
    p.kill()
    rest, err = finish(p)
    return out + rest, err


def check_continues(before, after):
    """The serial stream of the saved run followed by the restored one counts on without a
    gap or a repeat (a line the save cut in two is finished by the restored run)."""
    a, joined = counts(before), counts(before + after)
    assert a and len(joined) > len(a), (before[-200:], after[:200])
    assert joined == list(range(1, len(joined) + 1)), f"saved at {a[-1]}: {joined[len(a) - 2:][:5]}"
    assert not re.search(rb"^COUNT \d+ [1-9]", before + after, re.M), "memory lost its values"


# the split irqchip (default); the kernel one (PIC, IOAPIC and PIT through KVM_GET_IRQCHIP and
# KVM_GET_PIT2); a second vCPU (waiting for its SIPI: its MP state); two network adapters
# (their sections)
@pytest.mark.parametrize("extra", [(), ("--irqchip", "kernel"), ("--cpus", "2"),
                                   ("--nic", "nat", "--nic", "none")],
                         ids=["split", "kernel-irqchip", "cpus2", "nics"])
def test_save_restore_twice(vmm, counter, tmp_path, extra):
    before, state = save_run(vmm, counter, tmp_path, extra=extra)
    st = os.stat(state)
    assert st.st_size > 128 << 20  # the whole of guest RAM, as holes
    assert st.st_blocks * 512 < 16 << 20, "guest memory was not written sparsely"
    outs = []
    for _ in range(2):
        after, err = restore_run(vmm, counter, state, extra=extra)
        assert b"resumed from" in err
        check_continues(before, after)
        outs.append(counts(before + after)[len(counts(before))])
    assert outs[0] == outs[1]  # both restores start from the same saved point


def test_restore_refuses_other_machine(vmm, counter, tmp_path):
    _, state = save_run(vmm, counter, tmp_path, after=5)
    for extra, what in ((["--memory", "256"], "memory"), (["--cpus", "2"], "vCPUs"),
                        (["--rng"], "devices")):
        args = vmm_args(vmm, counter, "--restore", str(state))
        args += extra
        r = subprocess.run(args, capture_output=True, timeout=30)
        assert r.returncode == 6, r.stderr
        assert b"state file: header" in r.stderr and what.encode() in r.stderr, r.stderr


def corrupt(state, tmp_path, name, fn):
    data = bytearray(state.read_bytes()[: 1 << 20])
    fn(data)
    bad = tmp_path / name
    with open(state, "rb") as src, open(bad, "wb") as dst:
        dst.write(data)
        src.seek(len(data))
        while chunk := src.read(1 << 20):
            dst.write(chunk)
    return bad


def test_restore_refuses_bad_files(vmm, counter, tmp_path):
    _, state = save_run(vmm, counter, tmp_path, after=5)
    raw = state.read_bytes()[:1 << 16]
    com1 = raw.index(b"com1\0")

    def flip(off):
        return lambda d: d.__setitem__(off, d[off] ^ 0x40)

    cases = [
        ("version", lambda d: d.__setitem__(8, 9), b"format version 9"),
        ("sectioncrc", flip(com1 + 48), b"section com1: bad checksum"),
        ("headercrc", flip(com1 + 32), b"section com1: bad header checksum"),
        ("magic", flip(0), b"not a bareiron state file"),
    ]
    for name, fn, msg in cases:
        bad = corrupt(state, tmp_path, name, fn)
        r = subprocess.run(vmm_args(vmm, counter, "--restore", str(bad)), capture_output=True,
                           timeout=30)
        assert r.returncode == 6 and msg in r.stderr, (name, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    trunc = tmp_path / "truncated"
    trunc.write_bytes(raw[:com1 + 20])
    r = subprocess.run(vmm_args(vmm, counter, "--restore", str(trunc)), capture_output=True,
                       timeout=30)
    assert r.returncode == 6 and b"truncated" in r.stderr, r.stderr


DISK_SLOTS = 64  # counter.c: tick t is written to sector 1 + t % DISK_SLOTS


def disk_ticks(path):
    """The tick each slot of the counter's disk holds (0: never written or not uniform)."""
    data = path.read_bytes()
    out = []
    for slot in range(DISK_SLOTS):
        sec = data[(1 + slot) * 512:(2 + slot) * 512]
        t = int.from_bytes(sec[:8], "little")
        out.append(t if sec == sec[:8] * 64 else 0)
    return out


def check_disk(path, last):
    """Ticks last - 62 .. last are on the disk, each in its slot: what the guest saw done (the
    slot of last - 63 may hold last + 1, written before the monitor stopped)."""
    ticks = disk_ticks(path)
    for t in range(max(1, last - DISK_SLOTS + 2), last + 1):
        assert ticks[t % DISK_SLOTS] == t, f"slot {t % DISK_SLOTS}: {ticks[t % DISK_SLOTS]}, want {t}"


# A virtio-blk disk under I/O (a write and a read per tick, polled by the guest), with the
# virtio-rng, virtio-console and virtio-input devices beside it: saved mid-run, the disk copied as the save
# left it, restored twice from copies; the count goes on, the guest's read-backs of the tick
# before find it on the restored disk, and the disk files hold the last ticks the guest saw.
def test_save_restore_virtio_blk(vmm, counter, tmp_path):
    disk = tmp_path / "disk.img"
    disk.write_bytes(bytes(1 << 20))
    devs = ("--rng", "--vconsole", "none", "--input", "virtio")
    before, state = save_run(vmm, counter, tmp_path, after=30,
                             extra=("--disk", f"{disk},format=raw", *devs), cmdline="disk=1")
    last = counts(before)[-1]
    check_disk(disk, last)
    for i in range(2):
        copy = tmp_path / f"disk{i}.img"
        copy.write_bytes(disk.read_bytes())
        after, err = restore_run(vmm, counter, state,
                                 extra=("--disk", f"{copy},format=raw", *devs), cmdline="disk=1")
        assert b"resumed from" in err, err
        check_continues(before, after)
        check_disk(copy, counts(before + after)[-1])


def test_restore_refuses_hostile_virtio_section(vmm, counter, tmp_path):
    """A virtio-blk section whose checksums are right but whose queue lies outside guest RAM
    is refused naming the section, as a guest writing that address would be."""
    disk = tmp_path / "disk.img"
    disk.write_bytes(bytes(1 << 20))
    spec = f"{disk},format=raw"
    _, state = save_run(vmm, counter, tmp_path, after=5, extra=("--disk", spec), cmdline="disk=1")
    raw = state.read_bytes()[:1 << 16]
    # the section header (the file header's device list names it too): its checksum holds
    h = next(m.start() for m in re.finditer(rb"virtio-blk\.0\0{12}", raw)
             if zlib.crc32(raw[m.start():m.start() + 44]).to_bytes(4, "little")
             == raw[m.start() + 44:m.start() + 48])
    length = int.from_bytes(raw[h + 32:h + 40], "little")
    # transport (5 bytes), MSI-X of 2 vectors (42), core header (31), then queue 0:
    # size, vector, flags, desc address
    desc = h + 48 + 5 + 42 + 31 + 5

    def patch(d):
        d[desc:desc + 8] = (1 << 40).to_bytes(8, "little")
        d[h + 40:h + 44] = zlib.crc32(bytes(d[h + 48:h + 48 + length])).to_bytes(4, "little")
        d[h + 44:h + 48] = zlib.crc32(bytes(d[h:h + 44])).to_bytes(4, "little")

    bad = corrupt(state, tmp_path, "hostile", patch)
    r = subprocess.run(vmm_args(vmm, counter, "--restore", str(bad), "--disk", spec,
                                cmdline="disk=1"), capture_output=True, timeout=30)
    assert r.returncode == 6 and b"section virtio-blk.0: cannot be loaded" in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr


def section(raw, name):
    """(header offset, data length) of the section (name), found by its header checksum."""
    pat = re.escape(name.encode()) + b"\0" * (24 - len(name))
    for m in re.finditer(pat, raw):
        h = m.start()
        if zlib.crc32(raw[h:h + 44]).to_bytes(4, "little") == raw[h + 44:h + 48]:
            return h, int.from_bytes(raw[h + 32:h + 40], "little")
    raise AssertionError(f"no section {name}")


def test_restore_refuses_missing_cpu_feature(vmm, counter, tmp_path):
    """The guest's CPUID is saved; a state whose guest saw a feature this host's KVM does not
    offer (here crafted: MONITOR, or another bit KVM never reports) is refused naming it."""
    _, state = save_run(vmm, counter, tmp_path, after=5)
    raw = state.read_bytes()[:1 << 16]
    h, length = section(raw, "cpuid")
    data = raw[h + 48:h + 48 + length]
    n = int.from_bytes(data[:4], "little")
    entries = [[int.from_bytes(data[4 + 28 * i + 4 * k:8 + 28 * i + 4 * k], "little")
                for k in range(7)] for i in range(n)]
    leaf1 = next(i for i, e in enumerate(entries) if e[0] == 1)
    # ECX bit 3 MONITOR, bit 2 DTES64, bit 4 DS-CPL: KVM leaves them out of its supported CPUID
    bit, name = next((b, nm) for b, nm in ((3, "monitor"), (2, "(unnamed)"), (4, "(unnamed)"))
                     if not entries[leaf1][5] & (1 << b))
    off = h + 48 + 4 + 28 * leaf1 + 20  # ECX

    def patch(d):
        v = int.from_bytes(d[off:off + 4], "little") | (1 << bit)
        d[off:off + 4] = v.to_bytes(4, "little")
        d[h + 40:h + 44] = zlib.crc32(bytes(d[h + 48:h + 48 + length])).to_bytes(4, "little")
        d[h + 44:h + 48] = zlib.crc32(bytes(d[h:h + 44])).to_bytes(4, "little")

    bad = corrupt(state, tmp_path, "cpuid", patch)
    r = subprocess.run(vmm_args(vmm, counter, "--restore", str(bad)), capture_output=True,
                       timeout=30)
    assert r.returncode == 6, r.stderr
    assert (f"section cpuid: the guest uses CPU feature {name} (CPUID leaf 0x1 subleaf 0 ECX "
            f"bit {bit})").encode() in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_save_restore_zstd(vmm, counter, tmp_path):
    """save with "compress": "zstd" writes the touched memory compressed (the counter's
    buffer pages hold one number each: a few hundred KiB); --restore reads it back, twice; a
    frame that does not decode (checksums fixed up) is refused naming the section."""
    sock, state = tmp_path / "ctl.sock", tmp_path / "z.state"
    p = spawn(vmm_args(vmm, counter, "--control", str(sock), cmdline="mib=64 fill=1"))
    before = read_until(p, rb"^COUNT 20 ")
    r = u.control(sock, "save", {"path": str(state), "compress": "zstd"})
    assert r.get("ok"), r
    rest, err = finish(p)
    assert p.returncode == 0, err
    before += rest
    assert os.stat(state).st_blocks * 512 < 4 << 20, "the 64 MiB written were not compressed"
    for _ in range(2):
        after, err = restore_run(vmm, counter, state, cmdline="mib=64 fill=1")
        assert b"resumed from" in err, err
        check_continues(before, after)
    raw = state.read_bytes()[:1 << 20]
    name = re.search(rb"([a-z0-9-]+)\.zstd\0", raw).group(1).decode() + ".zstd"
    h, length = section(raw, name)

    def patch(d):
        d[h + 48] ^= 0xff  # the frame's magic number
        d[h + 40:h + 44] = zlib.crc32(bytes(d[h + 48:h + 48 + length])).to_bytes(4, "little")
        d[h + 44:h + 48] = zlib.crc32(bytes(d[h:h + 44])).to_bytes(4, "little")

    bad = corrupt(state, tmp_path, "zstd", patch)
    r = subprocess.run(vmm_args(vmm, counter, "--restore", str(bad), cmdline="mib=64 fill=1"),
                       capture_output=True, timeout=30)
    assert r.returncode == 6 and f"section {name}: cannot be loaded".encode() in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr


# save with "live": guest memory is copied while the counter runs (KVM's dirty log and the
# devices' marks), the guest paused only for the last round; the restored count goes on without
# a gap and every page the counter checks holds what it wrote, with the disk matching.
@pytest.mark.parametrize("extra", [(), ("--cpus", "2")], ids=["cpus1", "cpus2"])
def test_live_save(vmm, counter, tmp_path, extra):
    disk = tmp_path / "disk.img"
    disk.write_bytes(bytes(1 << 20))
    args = ("--disk", f"{disk},format=raw", "--log-level", "info", *extra)
    sock, state = tmp_path / "ctl.sock", tmp_path / "vm.state"
    p = spawn(vmm_args(vmm, counter, "--control", str(sock), *args, cmdline="disk=1 mib=32"))
    out = read_until(p, rb"^COUNT 40 ")
    r = u.control(sock, "save", {"path": str(state), "live": True})
    assert r.get("ok"), r
    rest, err = finish(p)
    assert p.returncode == 0, err
    assert "live save:" in err.decode(), err
    before = out + rest
    saved_disk = disk.read_bytes()
    for _ in range(2):
        disk.write_bytes(saved_disk)
        after, err = restore_run(vmm, counter, state, extra=args, cmdline="disk=1 mib=32")
        check_continues(before, after)
        check_disk(disk, counts(after)[-1])


def test_restore_copy(vmm, counter, tmp_path):
    """--restore-copy: the guest's memory, mapped from the state file, is moved out of it on
    the event loop while the counter runs; stats reports the progress, and once done the file
    is no longer open nor mapped: truncated and refilled with garbage, the guest keeps counting
    with every page it checks intact. Without --restore the option is a usage error."""
    before, state = save_run(vmm, counter, tmp_path, cmdline="mib=64 fill=1")
    size = os.stat(state).st_size
    sock = tmp_path / "ctl2.sock"
    p = spawn(vmm_args(vmm, counter, "--restore", str(state), "--restore-copy", "--control",
                       str(sock), "--log-level", "info", cmdline="mib=64 fill=1"))
    out = read_until(p, rb"^COUNT \d+ ")
    deadline = time.monotonic() + 60
    while True:
        st = u.control(sock, "stats")["result"]
        assert st["restore_copy_total_bytes"] == 128 << 20, st
        if st["restore_copy_done"]:
            break
        assert time.monotonic() < deadline, st
        time.sleep(0.05)
    assert st["restore_copy_bytes"] == st["restore_copy_total_bytes"], st
    fds = [os.readlink(f"/proc/{p.pid}/fd/{f}") for f in os.listdir(f"/proc/{p.pid}/fd")]
    assert str(state) not in fds, fds
    assert str(state) not in open(f"/proc/{p.pid}/maps").read()
    with open(state, "r+b") as f:
        f.truncate(0)
        f.write(b"\xa5" * size)
    out += read_until(p, rb"^COUNT \d+ ")
    last = counts(out)[-1]
    out += read_until(p, rb"^COUNT %d " % (last + 40), timeout=30)
    assert p.poll() is None, p.stderr.read()
    p.kill()
    rest, err = finish(p)
    assert b"restore copy: 128 MiB moved" in err, err
    check_continues(before, out + rest)
    r = subprocess.run(vmm_args(vmm, counter, "--restore-copy"), capture_output=True, timeout=30)
    assert r.returncode == 2 and b"--restore-copy needs --restore" in r.stderr, r.stderr
