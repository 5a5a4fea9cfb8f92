# SPDX-License-Identifier: MIT
"""Helpers for the monitor's integration tests (test_vmm_*.py): tiny multiboot test payloads
built from machine code in Python, and the guest kernel.

A payload is a multiboot v1 image using the a.out kludge (Multiboot Specification 0.6.96 §3.1.3,
flag bit 16): the 32-byte header is followed by 32-bit protected-mode code, loaded at 1 MiB and
entered there with paging off (§3.2). Nothing needs an assembler.
"""
import json
import pathlib
import socket
import struct
import subprocess
import time

MB_MAGIC = 0x1BADB002
MB_FLAG_AOUT_KLUDGE = 1 << 16
LOAD_ADDR = 0x100000
HEADER_SIZE = 32

ROOT = pathlib.Path(__file__).resolve().parents[2]


def multiboot_image(code: bytes, pad_to: int = 0) -> bytes:
    """A multiboot a.out-kludge image whose entry point is (code)."""
    flags = MB_FLAG_AOUT_KLUDGE
    checksum = (-(MB_MAGIC + flags)) & 0xFFFFFFFF
    body = code + b"\xf4\xeb\xfd"  # hlt; jmp back to hlt (never reached normally)
    image_len = HEADER_SIZE + len(body)
    if pad_to > image_len:
        body += b"\x00" * (pad_to - image_len)
        image_len = pad_to
    header = struct.pack("<8I", MB_MAGIC, flags, checksum, LOAD_ADDR, LOAD_ADDR,
                         LOAD_ADDR + image_len, LOAD_ADDR + image_len, LOAD_ADDR + HEADER_SIZE)
    return header + body


# 32-bit machine code snippets
def out8(port: int, value: int) -> bytes:
    """mov $value, %al; out %al, $port (port < 256) or via %dx."""
    if port < 256:
        return bytes([0xB0, value & 0xFF, 0xE6, port])
    return bytes([0xB0, value & 0xFF, 0x66, 0xBA]) + struct.pack("<H", port) + b"\xee"


def out16(port: int, value: int) -> bytes:
    """mov $value, %ax; mov $port, %dx; out %ax, %dx."""
    return (b"\x66\xb8" + struct.pack("<H", value) + b"\x66\xba" + struct.pack("<H", port) +
            b"\x66\xef")


def serial_write(text: bytes) -> bytes:
    return b"".join(out8(0x3F8, c) for c in text)


def debug_exit(value: int) -> bytes:
    return out8(0xF4, value)


def triple_fault() -> bytes:
    """lidt of an empty IDT, then ud2: #UD -> #GP -> #DF -> shutdown. The whole payload code
    (the IDTR's absolute address assumes it starts at the entry point). UD2, not INT3: kvm-pvm
    hosts emulate ring 0 and their emulator refuses INT3 (a KVM internal error, not a triple
    fault)."""
    # lidt [zero_idtr] (7 bytes), ud2 (2), jmp $ (2), then the 6-byte IDTR (absolute address)
    return b"\x0f\x01\x1d" + struct.pack("<I", LOAD_ADDR + HEADER_SIZE + 7 + 2 + 2) + \
        b"\x0f\x0b" + b"\xeb\xfe" + b"\x00" * 6


def write_payload(tmp: pathlib.Path, name: str, code: bytes) -> pathlib.Path:
    p = tmp / f"{name}.mb"
    p.write_bytes(multiboot_image(code))
    return p


def wait_path(path, timeout=5.0):
    """Waits up to (timeout) seconds for (path) (a socket the monitor creates) to appear;
    returns whether it exists."""
    deadline = time.monotonic() + timeout
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return path.exists()


def connect_unix(sock_path, timeout=10):
    """Connects to the unix socket (sock_path) and returns the socket. The monitor's socket
    file appears at bind(), a moment before listen(): a refused connection is retried for up
    to 5 s."""
    deadline = time.monotonic() + 5.0
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        try:
            s.connect(str(sock_path))
            return s
        except ConnectionRefusedError:
            s.close()
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.02)


def control_raw(sock_path, line, timeout=10):
    """Sends the bytes (line) on a new connection to the control socket (sock_path) and
    returns the decoded reply line."""
    with connect_unix(sock_path, timeout) as s:
        s.sendall(line)
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
    return json.loads(buf)


def control(sock_path, cmd, args=None, req_id=1, timeout=10):
    """Sends one control request (docs/control-api.md) on a new connection to (sock_path)
    and returns the decoded reply."""
    req = {"id": req_id, "cmd": cmd}
    if args is not None:
        req["args"] = args
    return control_raw(sock_path, (json.dumps(req) + "\n").encode(), timeout)


def guest_kernel():
    """The Debian kernel fetched by scripts/get-guest-kernel.sh in any build dir, or None."""
    for d in sorted(ROOT.glob("build*/guest/linux/boot")):
        ks = sorted(d.glob("vmlinuz-*"))
        if ks:
            return ks[-1]
    return None


def fetch_guest_kernel(build_dir):
    """Runs scripts/get-guest-kernel.sh (cached download); returns the path or None."""
    k = guest_kernel()
    if k is not None:
        return k
    try:
        r = subprocess.run([str(ROOT / "scripts" / "get-guest-kernel.sh"), str(build_dir)],
                           capture_output=True, text=True, timeout=300, cwd=ROOT)
    except (OSError, subprocess.TimeoutExpired):
        return None
    out = r.stdout.strip()
    return pathlib.Path(out) if r.returncode == 0 and out else None

