# SPDX-License-Identifier: MIT
"""The display adapter and its VNC server (docs/vmm.md "Display"). The display payload
(tests/guest/payloads/display.c) sets 1024x768x32 through the dispi registers of the MMIO BAR
and draws a known pattern in the linear framebuffer; the PNG screenshot of the control API
matches it pixel for pixel, and so does the framebuffer a small RFB client (rfb_client.py)
receives over the unix socket. Hostile viewers (malformed RFB messages, a connection flood)
neither crash nor stall the monitor: query-state keeps answering at once. The option checks
need no KVM."""
import json
import os
import pathlib
import select
import shutil
import socket
import struct
import subprocess
import threading
import time

import pytest

import firmware_util as fu
import hostkind
import rfb_client as rfb
import vmm_util as u

VGABIOS = "/usr/share/seabios/vgabios-stdvga.bin"


def pattern(x, y):
    return (x & 0xFF) << 16 | (y & 0xFF) << 8 | ((x ^ y) >> 2 & 0xFF)


def mismatches(rows, w, h, limit=5):
    bad = []
    for y in range(h):
        row = rows[y]
        for x in range(w):
            if row[x] != pattern(x, y):
                bad.append((x, y, hex(row[x]), hex(pattern(x, y))))
                if len(bad) >= limit:
                    return bad
    return bad


@pytest.fixture
def payload(build_dir):
    p = build_dir / "tests" / "guest" / "display.elf"
    if not p.exists():
        pytest.skip(f"{p} is not built")
    return p


class Guest:
    """The monitor running the display payload, up to its READY line."""

    def __init__(self, vmm, payload, tmp, *extra, mode="1024x768", video="std"):
        self.ctl = str(tmp / "ctl.sock")
        self.vnc = str(tmp / "vnc.sock")
        args = [str(vmm), "--kernel", str(payload), "--debug-exit", "--no-reboot", "--serial",
                "stdio", "--cmdline", f"mode={mode} strict=1", "--video", video, "--display",
                f"vnc=unix:{self.vnc}", "--control", self.ctl, *extra]
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        self.out = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline().decode(errors="replace")
            if not line:
                break
            self.out.append(line.rstrip())
            if line.startswith("READY display"):
                return
        self.kill()
        raise AssertionError("no READY line:\n" + "\n".join(self.out) +
                             self.proc.stderr.read().decode(errors="replace"))

    def change(self):
        """Makes the payload invert its 64x64 square at (256, 128)."""
        self.proc.stdin.write(b"c")
        self.proc.stdin.flush()
        while True:
            line = self.proc.stdout.readline().decode(errors="replace")
            assert line, "the payload ended"
            if line.startswith("CHANGED display"):
                return

    def finish(self):
        """Lets the payload end; returns (status, output)."""
        self.proc.stdin.write(b"x")
        self.proc.stdin.flush()
        out, err = self.proc.communicate(timeout=60)
        return self.proc.returncode, "\n".join(self.out) + out.decode(errors="replace"), err

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def guest(vmm, payload, tmp_path, need_kvm):
    g = Guest(vmm, payload, tmp_path)
    yield g
    g.kill()


def test_png_and_vnc_match_the_pattern(guest, tmp_path):
    shot = tmp_path / "shot.png"
    reply = u.control(guest.ctl, "screenshot", {"path": str(shot)})
    assert reply["ok"], reply
    w, h, rows = rfb.read_png(shot)
    assert (w, h) == (1024, 768)
    assert mismatches(rows, w, h) == []
    info = u.control(guest.ctl, "query-display")["result"]
    assert info["mode"] == "vbe" and (info["width"], info["height"], info["bpp"]) == (1024, 768, 32)
    assert info["vnc"] == "unix:" + guest.vnc
    c = rfb.RfbClient(path=guest.vnc)
    fb = c.full_frame()
    assert (c.width, c.height) == (1024, 768)
    assert fb == rows, "the VNC framebuffer differs from the screenshot"
    # nothing changes on screen: an incremental request gets no rectangle within 300 ms
    c.request(True)
    c.sock.settimeout(0.3)
    with pytest.raises(socket.timeout):
        c.read_update()
    # a guest store in the RAM-mapped framebuffer (KVM's dirty log): only that square is sent
    c.sock.settimeout(10)
    guest.change()
    before = c.bytes_received
    rects = []
    while sum(w * h for (_, _, w, h, _) in rects) < 64 * 64:
        rects += c.read_update()
        c.request(True)
    assert all(256 <= x and x + w <= 320 and 128 <= y and y + h <= 192
               for (x, y, w, h, _) in rects), rects
    assert c.bytes_received - before < 64 * 64 * 4 + 1024
    for y in range(128, 192):
        for x in range(256, 320):
            assert c.fb[y][x] == pattern(x, y) ^ 0xFFFFFF
    c.close()
    text = u.control(guest.ctl, "screenshot", {"format": "text"})
    assert not text["ok"] and text["error"]["code"] == "ENOTSUP"
    status, out, err = guest.finish()
    assert status == 1, out + err.decode(errors="replace")
    assert "PASS display" in out


@pytest.mark.parametrize("live", [False, True], ids=["paused", "live"])
def test_save_and_restore(vmm, payload, tmp_path, need_kvm, live):
    """`save` (and a live one) of a VM with --video keeps the adapter's registers and video memory: the restored
    monitor's PNG screenshot equals the one before the save, and the payload, resumed, still
    draws in the framebuffer mapped where its BAR points."""
    g = Guest(vmm, payload, tmp_path)
    before, after = tmp_path / "before.png", tmp_path / "after.png"
    state = tmp_path / "vm.state"
    try:
        assert u.control(g.ctl, "screenshot", {"path": str(before)})["ok"]
        r = u.control(g.ctl, "save", {"path": str(state), **({"live": True} if live else {})})
        assert r["ok"], r
        g.proc.communicate(timeout=60)
        assert g.proc.returncode == 0
    finally:
        g.kill()
    if os.path.exists(g.ctl):
        os.unlink(g.ctl)
    p = subprocess.Popen(g.proc.args + ["--restore", str(state)], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while not os.path.exists(g.ctl) and time.monotonic() < deadline and p.poll() is None:
            time.sleep(0.1)
        reply = u.control(g.ctl, "screenshot", {"path": str(after)})
        assert reply["ok"], reply
        assert rfb.read_png(after) == rfb.read_png(before)
        p.stdin.write(b"c")
        p.stdin.flush()
        line = b""
        while not line.startswith(b"CHANGED display"):
            line = p.stdout.readline()
            assert line, p.stderr.read().decode(errors="replace")
        assert u.control(g.ctl, "screenshot", {"path": str(after)})["ok"]
        w, h, rows = rfb.read_png(after)
        assert rows[128][256] != pattern(256, 128) and rows[0][0] == pattern(0, 0)
    finally:
        p.kill()
        p.communicate(timeout=30)


def test_bochs_display(vmm, payload, tmp_path, need_kvm):
    """bochs-display: the same framebuffer and MMIO BAR without legacy VGA."""
    g = Guest(vmm, payload, tmp_path, mode="640x480", video="bochs-display")
    try:
        info = u.control(g.ctl, "query-display")["result"]
        assert info["adapter"] == "bochs-display" and info["mode"] == "vbe"
        shot = tmp_path / "b.png"
        assert u.control(g.ctl, "screenshot", {"path": str(shot)})["ok"]
        w, h, rows = rfb.read_png(shot)
        assert (w, h) == (640, 480) and mismatches(rows, w, h) == []
        r = u.control(g.ctl, "screenshot", {"format": "text"})
        assert "bochs-display has no text mode" in json.dumps(r), r
        status, out, err = g.finish()
        assert status == 1, out
    finally:
        g.kill()


def test_hostile_viewers(guest):
    # bad pixel format (bpp 7), an update request far outside the screen, a huge cut text
    # announced but never sent, unknown message types: each connection is cut or ignored
    bad_messages = [
        b"\x00\x00\x00\x00" + struct.pack(">BBBBHHHBBB3x", 7, 24, 0, 1, 255, 255, 255, 16, 8, 0),
        struct.pack(">BBHHHH", 3, 0, 60000, 60000, 65535, 65535),
        struct.pack(">BxxxI", 6, 0xFFFFFFFF) + b"A" * 4096,
        b"\xff" * 64,
        struct.pack(">BxH", 2, 0xFFFF) + b"\0" * 16,
    ]
    for msg in bad_messages:
        c = rfb.RfbClient(path=guest.vnc)
        try:
            c.sock.sendall(msg)
        except OSError:
            pass
        c.close()
    # a flood: many connections at once, most of them never finishing the handshake
    flood = []
    for _ in range(64):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(guest.vnc)
            s.sendall(b"RFB 003.008\n")
        except OSError:
            pass
        flood.append(s)
    t0 = time.monotonic()
    reply = u.control(guest.ctl, "query-state")
    assert reply["ok"] and time.monotonic() - t0 < 1.0
    for s in flood:
        s.close()
    time.sleep(0.5)
    c = rfb.RfbClient(path=guest.vnc)  # the server still serves a well-behaved viewer
    c.full_frame()
    assert (c.width, c.height) == (1024, 768)
    c.close()
    status, out, err = guest.finish()
    assert status == 1, out + err.decode(errors="replace")


def test_stalled_handshakes_release_their_slots(guest):
    """Four connections that never answer the version hold the four viewer slots: a fifth is
    closed at once, and 10 s later the stalled ones are closed and a viewer gets in."""
    stalled = []
    for _ in range(4):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(guest.vnc)
        stalled.append(s)
    time.sleep(0.3)
    with pytest.raises(rfb.RfbError):
        rfb.RfbClient(path=guest.vnc, timeout=3)
    time.sleep(11)
    c = rfb.RfbClient(path=guest.vnc)
    assert (c.width, c.height) == (1024, 768)
    c.close()
    for s in stalled:
        s.close()
    status, out, err = guest.finish()
    assert status == 1, out


def test_vnc_password(vmm, payload, tmp_path, need_kvm):
    pw = tmp_path / "pw"
    pw.write_text("s3cret\n")
    g = Guest(vmm, payload, tmp_path, "--display-password-file", str(pw), mode="640x480")
    try:
        with pytest.raises(rfb.RfbError):
            rfb.RfbClient(path=g.vnc)  # no password: refused
        try:
            c = rfb.RfbClient(path=g.vnc, password="s3cret")
        except (subprocess.CalledProcessError, FileNotFoundError):
            pytest.skip("openssl has no DES here")
        assert (c.width, c.height) == (640, 480) or c.full_frame()
        c.close()
        with pytest.raises(rfb.RfbError):
            rfb.RfbClient(path=g.vnc, password="wrong")
    finally:
        g.kill()


@pytest.mark.parametrize("args, message", [
    (["--display", "vnc=unix:/tmp/x.sock"], "--display vnc: needs --video"),
    (["--vram", "32M"], "--vram: needs --video"),
    (["--video", "std", "--vram", "3M"], "power of two"),
    (["--video", "vga"], "expected std, bochs-display or none"),
    (["--video", "std", "--display", "vnc=127.0.0.1:0"], "port must be"),
    (["--video", "std", "--display-password-file", "/x"], "needs --display"),
    (["--video", "std", "--display", "vnc=localhost:5901"], "'localhost' is not a numeric address"),
    (["--video", "std,mode=4096x2160", "--vram", "1M"], "more than --vram 1024 KiB"),
])
def test_option_errors(vmm, tmp_path, args, message):
    k = tmp_path / "k"
    k.write_bytes(b"\0" * 64)
    r = subprocess.run([str(vmm), "--kernel", str(k), *args], capture_output=True, text=True)
    assert r.returncode == 2, r.stderr
    assert message in r.stderr


def test_password_file_missing(vmm, payload, tmp_path, need_kvm):
    """A --display-password-file that does not exist is status 3, as a missing disk."""
    r = subprocess.run([str(vmm), "--kernel", str(payload), "--memory", "64", "--serial", "none",
                        "--video", "std", "--display", f"vnc=unix:{tmp_path / 'v.sock'}",
                        "--display-password-file", str(tmp_path / "nosuch")],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 3, r.stderr
    assert "nosuch" in r.stderr and "No such file" in r.stderr, r.stderr


def test_manager_screenshot_and_display(bareiron, build_dir, payload, tmp_path, need_kvm):
    """The manager honours --video/--vram, starts the monitor with its VNC socket in run/,
    and `screenshot` (PNG written by the CLI), `screenshot --text`, `display` and `show`
    work on it (as root, the monitor runs in its jail)."""
    from mgr_util import Mgr
    m = Mgr(bareiron, tmp_path / "home")
    serial = tmp_path / "serial.log"
    try:
        m.ok("create", "d", "--kernel", payload, "--memory", "64M", "--cmdline", "mode=800x600 strict=1",
             "--video", "std", "--video", "800x600", "--vram", "8M", "--serial",
             f"file:{serial}")
        m.ok("start", "d")
        deadline = time.monotonic() + 60
        while "READY display" not in (serial.read_text(errors="replace")
                                      if serial.exists() else ""):
            assert time.monotonic() < deadline, "no READY line"
            time.sleep(0.05)
        r = m.ok("display", "d")
        sock = r.stdout.strip()
        assert sock == "unix:" + str(m.vm_dir("d") / "run" / "vnc.sock")
        assert ("Display:       vnc " + sock) in m.run("show", "d").stdout
        shot = tmp_path / "m.png"
        m.ok("screenshot", "d", str(shot))
        w, h, rows = rfb.read_png(shot)
        assert (w, h) == (800, 600) and mismatches(rows, w, h) == []
        r = m.run("screenshot", "d", "--text")
        assert r.returncode == 6 and "not in a text mode" in r.stderr
        assert "graphics 800x600x32 (VBE)" in r.stderr, r.stderr  # the mode it is in
        c = rfb.RfbClient(path=sock[5:])
        assert c.name == "d"  # the desktop name is the VM's
        assert c.full_frame() == rows
        c.close()
        m.ok("poweroff", "d")
        r = m.run("screenshot", "d", str(shot))
        assert r.returncode == 4
    finally:
        m.kill_monitors()


def test_viewer_keys_and_pointer_reach_the_guest(vmm, build_dir, tmp_path, need_kvm):
    """The ps2 payload (tests/guest/payloads/ps2.c) waits for the key 'a' and a pointer move
    right 10, up 5 with the left button; here they come from an RFB client's KeyEvent and
    PointerEvent messages, through ui_input_ops and the event loop to the i8042."""
    payload = build_dir / "tests" / "guest" / "ps2.elf"
    if not payload.exists():
        pytest.skip(f"{payload} is not built")
    sock = str(tmp_path / "vnc.sock")
    p = subprocess.Popen([str(vmm), "--kernel", str(payload), "--debug-exit", "--no-reboot",
                          "--serial", "stdio", "--cmdline", "timeout=20", "--video", "std",
                          "--display", f"vnc=unix:{sock}"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    try:
        out = []
        while True:
            line = p.stdout.readline().decode(errors="replace")
            assert line, "no READY line:\n" + "".join(out)
            out.append(line)
            if line.startswith("READY ps2"):
                break
        c = rfb.RfbClient(path=sock)
        c.key(0x61, True)
        c.key(0x61, False)
        c.pointer(100, 100, 0)
        c.pointer(110, 95, 1)
        rest, err = p.communicate(timeout=60)
        c.close()
        text = "".join(out) + rest.decode(errors="replace")
        assert p.returncode == 1, text + err.decode(errors="replace")
        assert "PASS ps2" in text
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def test_viewer_keys_and_pointer_reach_virtio_input(vmm, build_dir, tmp_path, need_kvm):
    """The virtio_input payload (tests/guest/payloads/virtio_input.c) drives the virtio-input
    keyboard, then the tablet, of --input virtio; an RFB client's KeyEvent reaches the keyboard
    as KEY_A, and its PointerEvent the tablet as ABS_X/ABS_Y (the position scaled to
    0..32767 over the screen the viewer was given) with BTN_LEFT."""
    payload = build_dir / "tests" / "guest" / "virtio_input.elf"
    if not payload.exists():
        pytest.skip(f"{payload} is not built")
    sock = str(tmp_path / "vnc.sock")
    p = subprocess.Popen([str(vmm), "--kernel", str(payload), "--debug-exit", "--no-reboot",
                          "--serial", "stdio", "--cmdline", "timeout=20", "--video", "std",
                          "--display", f"vnc=unix:{sock}", "--input", "virtio"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    out = []

    def wait_line(prefix):
        while True:
            line = p.stdout.readline().decode(errors="replace")
            assert line, f"no {prefix} line:\n" + "".join(out)
            out.append(line)
            if line.startswith(prefix):
                return line

    try:
        wait_line("READY virtio_input keyboard")
        c = rfb.RfbClient(path=sock)
        c.key(0x61, True)
        c.key(0x61, False)
        wait_line("READY virtio_input tablet")
        x, y = 300, 200
        c.pointer(x, y, 1)
        got = wait_line("TABLET").split()[1:]
        want = [x * 32767 // (c.width - 1), y * 32767 // (c.height - 1)]
        # the rest through the same buffered reader: communicate() would read the pipe
        # directly and lose what readline() had read ahead
        watchdog = threading.Timer(60, p.kill)
        watchdog.start()
        try:
            rest, err = p.stdout.read(), p.stderr.read()
            p.wait()
        finally:
            watchdog.cancel()
        c.close()
        text = "".join(out) + rest.decode(errors="replace")
        assert p.returncode == 1, text + err.decode(errors="replace")
        assert "PASS virtio_input-key" in text and "PASS virtio_input-pointer" in text, text
        assert [int(v) for v in got] == want, text
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


class FirmwareVm:
    """--machine pc with SeaBIOS and --video std (its VGA BIOS from the adapter's ROM BAR)."""

    def __init__(self, vmm, tmp, *extra):
        self.ctl = str(tmp / "fw-ctl.sock")
        self.proc = subprocess.Popen(
            [str(vmm), "--machine", "pc", "--memory", "128", "--video", "std", "--serial",
             "stdio", "--no-reboot", "--control", self.ctl, *[str(a) for a in extra]],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.out = b""

    def wait_serial(self, text, timeout=90):
        deadline = time.monotonic() + timeout
        while text.encode() not in self.out and time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.5)
            if ready:
                self.out += os.read(self.proc.stdout.fileno(), 65536)
        assert text.encode() in self.out, self.out.decode(errors="replace")

    def text(self):
        reply = u.control(self.ctl, "screenshot", {"format": "text"})
        assert reply["ok"], reply
        return reply["result"]["lines"]

    def wait_text(self, pred, timeout=10):
        """The text screen once (pred)(lines) holds: sercon writes COM1 first, the screen a
        moment later."""
        deadline = time.monotonic() + timeout
        lines = self.text()
        while not pred(lines) and time.monotonic() < deadline:
            time.sleep(0.2)
            lines = self.text()
        return lines

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.communicate(timeout=30)


@pytest.fixture
def firmware(vmm):
    problem = hostkind.firmware_problem()
    if problem:
        pytest.skip(problem)
    if not os.path.exists(fu.SEABIOS) or not os.path.exists(VGABIOS):
        pytest.skip(f"{fu.SEABIOS} or {VGABIOS} missing (Debian package seabios)")
    if not shutil.which("as") or not shutil.which("ld"):
        pytest.skip("binutils (as, ld) not installed")


def test_seabios_banner_on_the_screen(vmm, firmware, tmp_path):
    """SeaBIOS runs the VGA BIOS from the ROM BAR, which sets text mode in the legacy window
    (0xa0000..0xbffff, not RAM on pc): its banner and boot messages are on the screen."""
    g = FirmwareVm(vmm, tmp_path)
    try:
        g.wait_serial("No bootable device")  # sercon: the same text on COM1
        lines = g.wait_text(lambda ls: "No bootable device." in ls)
        assert lines[0].startswith("SeaBIOS (version"), lines
        assert "No bootable device." in lines, lines
        shot = tmp_path / "bios.png"
        assert u.control(g.ctl, "screenshot", {"path": str(shot)})["ok"]
        w, h, _ = rfb.read_png(shot)
        assert (w, h) == (720, 400)  # 80x25 characters of 9x16
    finally:
        g.kill()


def qemu_screendump(tmp_path, img):
    """QEMU -M pc -vga std booting (img) up to READY on COM1: its screen as (w, h, rows)."""
    log, mon, ppm = tmp_path / "q-serial.log", tmp_path / "q-mon.sock", tmp_path / "q.ppm"
    q = subprocess.Popen(["qemu-system-x86_64", "-M", "pc", "-m", "128", "-nodefaults", "-vga",
                          "std", "-display", "none", "-serial", f"file:{log}", "-monitor",
                          f"unix:{mon},server=on,wait=off", "-drive",
                          f"file={img},format=raw,if=ide"] + hostkind.firmware_qemu_accel(),
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and q.poll() is None:
            if log.exists() and "READY" in log.read_text(errors="replace"):
                break
            time.sleep(0.2)
        else:
            pytest.fail("QEMU: no READY on COM1: " + q.stderr.read().decode(errors="replace"))
        time.sleep(0.5)  # QEMU redraws the text screen on its display refresh
        with u.connect_unix(mon) as s:
            s.sendall(f"screendump {ppm}\n".encode())
            deadline = time.monotonic() + 10
            while not ppm.exists() and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(0.3)
    finally:
        q.kill()
        q.communicate(timeout=30)
    data = ppm.read_bytes()
    magic, w, h, maxval, rest = data.split(maxsplit=4)
    assert magic == b"P6" and maxval == b"255"
    w, h = int(w), int(h)
    rows = [[int.from_bytes(rest[3 * (y * w + x):3 * (y * w + x) + 3], "big") for x in range(w)]
            for y in range(h)]
    return w, h, rows


def test_int10_text_on_the_screen(vmm, firmware, tmp_path):
    """A boot sector writes through INT 10h (mode 3, cursor hidden, teletype at row 10, column
    20); screenshot --text reads it back, and the PNG equals QEMU's screendump of the same
    disk pixel for pixel (same VGA BIOS, same font) in the DAC's 6 bits a channel: QEMU widens
    a 6-bit value c to c << 2 (0x2a: 0xa8), we to the full range (0xaa)."""
    img = fu.int10_disk_image(tmp_path, "HELLO-INT10")
    g = FirmwareVm(vmm, tmp_path, "--disk", f"{img},format=raw")
    try:
        g.wait_serial("READY")
        lines = g.wait_text(lambda ls: "HELLO-INT10" in ls[10])
        assert lines[10][20:31] == "HELLO-INT10", lines
        assert lines[10][:20].strip() == "" and all(not ln.strip() for ln in lines[11:]), lines
        shot = tmp_path / "int10.png"
        assert u.control(g.ctl, "screenshot", {"path": str(shot)})["ok"]
        ours = rfb.read_png(shot)
    finally:
        g.kill()
    if not shutil.which("qemu-system-x86_64"):
        return
    w, h, rows = qemu_screendump(tmp_path, img)
    assert (w, h) == ours[:2]
    six = [[p & 0xfcfcfc for p in row] for row in ours[2]]
    assert mismatches_rows(six, rows) == []


def test_mode13h_on_the_screen(vmm, firmware, tmp_path):
    """Mode 13h set through INT 10h and drawn at 0xa0000 (the legacy window, chain-4): the PNG
    is 320x200 with the default palette's colour (x + y) & 0xff at (x, y), as QEMU shows it
    (QEMU's screendump doubles the pixels, 640x400, and widens some DAC values otherwise)."""
    img = fu.int10_disk_image(tmp_path, "M13", fu.MODE13_SECTOR)
    g = FirmwareVm(vmm, tmp_path, "--disk", f"{img},format=raw")
    try:
        g.wait_serial("READY")
        shot = tmp_path / "m13.png"
        assert u.control(g.ctl, "screenshot", {"path": str(shot)})["ok"]
        ours = rfb.read_png(shot)
    finally:
        g.kill()
    assert ours[:2] == (320, 200)
    assert ours[2][0][0] == 0 and ours[2][0][1] == 0x0000aa  # colours 0 and 1: black, blue
    if not shutil.which("qemu-system-x86_64"):
        return
    w, h, rows = qemu_screendump(tmp_path, img)
    assert (w, h) == (640, 400)
    far = [(x, y) for y, (ra, rb) in enumerate(zip(ours[2], rows[::2]))
           for x, (pa, pb) in enumerate(zip(ra, rb[::2]))
           if any(abs((pa >> sh & 0xff) - (pb >> sh & 0xff)) > 4 for sh in (0, 8, 16))]
    assert far[:5] == []  # 6-bit DAC values widened differently: within 4 a channel


GRUB_TITLE = "bareiron GRUB menu test"
GRUB_MENU_CFG = f"""set timeout=3600
terminal_output console
menuentry "{GRUB_TITLE}" {{
    echo chosen
}}
"""
# SeaBIOS's POST and GRUB's protected-mode code (decompressing its core image, loading normal.mod
# and parsing its lists) run in kvm-pvm's ring-0 emulator: about 30 s of CPU to the menu, minutes
# on a loaded machine. A real VT-x/AMD-V host needs a few seconds
GRUB_WAIT = 480


def grub_menu_iso(tmp_path):
    """A BIOS-bootable ISO made by grub-mkrescue (GRUB's i386-pc modules, Debian's grub-pc-bin)
    whose GRUB shows a one-entry menu on its console terminal (the BIOS's INT 10h text mode)
    with a one-hour timeout. Only normal.mod, echo.mod and what they need are on the disc, no
    fonts, locales or themes: fewer lists for GRUB to parse in the slow emulated ring 0."""
    mods = "/usr/lib/grub/i386-pc"
    if not shutil.which("grub-mkrescue") or not shutil.which("xorriso") or \
            not os.path.isdir(mods):
        pytest.skip("grub-mkrescue, xorriso or GRUB's i386-pc modules missing "
                    "(Debian packages grub-common, grub-pc-bin, xorriso)")
    src = tmp_path / "grub-iso"
    (src / "boot" / "grub").mkdir(parents=True)
    (src / "boot" / "grub" / "grub.cfg").write_text(GRUB_MENU_CFG)
    iso = tmp_path / "grub-menu.iso"
    subprocess.run(["grub-mkrescue", "-d", mods, "--install-modules=normal echo", "--locales=",
                    "--fonts=", "--themes=", "-o", str(iso), str(src)], check=True,
                   capture_output=True, timeout=120)
    return iso


def wait_screen(g, pred, timeout):
    """(g)'s text screen once (pred)(lines) holds, polled every second while its output pipes
    are drained (COM1 gets the screen's text too, through sercon); the last screen after
    (timeout) seconds or once the monitor ends."""
    deadline = time.monotonic() + timeout
    u.wait_path(pathlib.Path(g.ctl), 30)
    lines = []
    while g.proc.poll() is None:
        ready, _, _ = select.select([g.proc.stdout, g.proc.stderr], [], [], 1)
        for f in ready:
            data = os.read(f.fileno(), 65536)
            if f is g.proc.stdout:
                g.out += data
        reply = u.control(g.ctl, "screenshot", {"format": "text"})
        lines = reply["result"]["lines"] if reply["ok"] else []  # not text mode yet
        if pred(lines) or time.monotonic() > deadline:
            break
    return lines


def qemu_same_screen(tmp_path, iso, ours, skip_rows, timeout=120):
    """QEMU -M pc -vga std booting (iso) from its IDE CD-ROM: [] once its screendump equals
    (ours), the PNG's (w, h, rows) in the DAC's 6 bits a channel, outside the text rows
    (skip_rows), else the last mismatches after (timeout) seconds. KVM only on a real KVM
    host: on kvm-pvm GRUB's ring 0 would be as slow in QEMU as in ours, TCG is quicker."""
    mon, ppm = tmp_path / "gq-mon.sock", tmp_path / "gq.ppm"
    accel = ["-accel", "kvm"] if hostkind.kind() == "kvm" else ["-accel", "tcg"]
    q = subprocess.Popen(["qemu-system-x86_64", "-M", "pc", "-m", "128", "-nodefaults", "-vga",
                          "std", "-display", "none", "-monitor",
                          f"unix:{mon},server=on,wait=off", "-cdrom", str(iso), "-boot", "d"] +
                         accel, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE)
    w, h, rows = ours
    want = [[p & 0xfcfcfc for p in row] for row in rows]
    keep = [y for y in range(h) if y // 16 not in skip_rows]
    bad = ["no screendump"]
    try:
        u.wait_path(mon, 30)
        deadline = time.monotonic() + timeout
        while bad and time.monotonic() < deadline and q.poll() is None:
            time.sleep(1)
            ppm.unlink(missing_ok=True)
            with u.connect_unix(mon) as s:
                s.sendall(f"screendump {ppm}\n".encode())
                end = time.monotonic() + 10
                while not ppm.exists() and time.monotonic() < end:
                    time.sleep(0.1)
                time.sleep(0.3)
            data = ppm.read_bytes()
            magic, qw, qh, _, rest = data.split(maxsplit=4)
            if magic != b"P6" or (int(qw), int(qh)) != (w, h):
                bad = [f"QEMU's screen is {qw}x{qh}"]
                continue
            got = [[int.from_bytes(rest[3 * (y * w + x):3 * (y * w + x) + 3], "big")
                    for x in range(w)] for y in keep]
            bad = mismatches_rows([want[y] for y in keep], got)
    finally:
        q.kill()
        q.communicate(timeout=30)
    return bad


def test_grub_menu_on_the_screen(vmm, firmware, tmp_path):
    """SeaBIOS boots GRUB (a grub-mkrescue ISO) from the IDE CD-ROM by El Torito; its menu on
    the console terminal is read back with screenshot --text: the "GNU GRUB" header, the entry
    and the countdown. The PNG equals QEMU's screendump of the same ISO in the DAC's 6 bits a
    channel, but for the countdown's row."""
    iso = grub_menu_iso(tmp_path)
    g = FirmwareVm(vmm, tmp_path, "--cdrom", iso, "--boot", "cdrom")
    try:
        lines = wait_screen(g, lambda ls: any("executed automatically" in ln for ln in ls),
                            GRUB_WAIT)
        shot = tmp_path / "grub.png"
        assert u.control(g.ctl, "screenshot", {"path": str(shot)})["ok"]
        ours = rfb.read_png(shot)
    finally:
        g.kill()
    text = "\n".join(lines)
    assert any(ln.strip().startswith("GNU GRUB  version") for ln in lines), text
    assert any(f"*{GRUB_TITLE}" in ln for ln in lines), text  # the highlighted entry
    countdown = [i for i, ln in enumerate(lines) if "executed automatically" in ln]
    assert countdown, text
    assert ours[:2] == (720, 400)
    if not shutil.which("qemu-system-x86_64"):
        return
    assert qemu_same_screen(tmp_path, iso, ours, set(countdown)) == []


def mismatches_rows(a, b, limit=5):
    bad = []
    for y, (ra, rb) in enumerate(zip(a, b)):
        for x, (pa, pb) in enumerate(zip(ra, rb)):
            if pa != pb:
                bad.append((x, y, hex(pa), hex(pb)))
                if len(bad) >= limit:
                    return bad
    return bad


def _monitor_threads_and_maps(vmm, tmp, *extra):
    """Starts the monitor on a guest that halts at once, waits until it runs, and returns the
    names of its threads (without the kernel's kvm-* helper threads the KVM module attaches)
    and the paths of what it has mapped."""
    image = u.write_payload(tmp, "halt", b"\xfa")  # cli; then the image's hlt loop
    ctl = tmp / "nodisplay-ctl.sock"
    p = subprocess.Popen([str(vmm), "--kernel", str(image), "--serial", "none", "--control",
                          str(ctl), *extra], stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        assert u.wait_path(ctl), p.stderr.read().decode(errors="replace") if p.poll() else ""
        state = None
        for _ in range(200):
            state = u.control(ctl, "query-state")["result"]["state"]
            if state == "running":
                break
            time.sleep(0.05)
        assert state == "running"
        names = []
        for tid in os.listdir(f"/proc/{p.pid}/task"):
            with open(f"/proc/{p.pid}/task/{tid}/comm") as f:
                name = f.read().strip()
            if not name.startswith("kvm-"):
                names.append(name)
        with open(f"/proc/{p.pid}/maps") as f:
            maps = {line.split()[-1] for line in f if "/" in line}
        return sorted(names), maps
    finally:
        p.kill()
        p.communicate(timeout=30)
        ctl.unlink(missing_ok=True)


def test_no_display_loads_no_library_and_starts_no_thread(vmm, tmp_path, need_kvm):
    """With no display (--video none, the default of a direct boot) the monitor maps neither
    libvncserver nor libpng and runs just its main thread and the vCPU's. --video std alone
    opens libpng (for screenshots) but neither libvncserver nor a thread. With a VNC display
    both appear, with the "vnc" thread: the check can see them."""
    def libs(maps, *names):
        return sorted(m for m in maps if any(n in m for n in names))

    for extra in ([], ["--video", "none"], ["--video", "std"]):
        names, maps = _monitor_threads_and_maps(vmm, tmp_path, *extra)
        found = libs(maps, "libvncserver", *(["libpng"] if "std" not in extra else []))
        assert found == [], (extra, found)
        assert names == ["bareiron-vmm", "bareiron-vmm"], (extra, names)  # main, vCPU
    names, maps = _monitor_threads_and_maps(vmm, tmp_path, "--video", "std", "--display",
                                            f"vnc=unix:{tmp_path / 'vnc.sock'}")
    assert any("libvncserver" in m for m in maps), sorted(maps)
    assert "vnc" in names, names
