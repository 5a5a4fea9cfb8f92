#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Sends QEMU human-monitor commands to a monitor on a Unix socket and prints the replies.

Usage: hmp.py SOCKET COMMAND...   (each COMMAND one monitor line, e.g. "info registers -a")
Each reply is printed after a `HMP <command>` line. Used by scripts/nested-kvm.sh to record
where a stopped L1 is (docs/testing.md, "Nested KVM under TCG"); no socat needed.
Exit status: 0, or 1 when the socket cannot be reached.
"""
import re
import socket
import sys
import time

PROMPT = b"(qemu) "
ESCAPES = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def read_until_prompt(s, limit=10.0):
    """Bytes up to the next monitor prompt (or what came within (limit) seconds)."""
    buf = b""
    end = time.monotonic() + limit
    while not buf.endswith(PROMPT) and time.monotonic() < end:
        s.settimeout(max(0.1, end - time.monotonic()))
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            break
        if not chunk:
            break
        buf += chunk
    return buf


def main():
    if len(sys.argv) < 3:
        print("usage: hmp.py SOCKET COMMAND...", file=sys.stderr)
        return 1
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(sys.argv[1])
    except OSError as e:
        print(f"hmp.py: cannot reach {sys.argv[1]}: {e}", file=sys.stderr)
        return 1
    read_until_prompt(s)  # the greeting
    for cmd in sys.argv[2:]:
        s.sendall(cmd.encode() + b"\n")
        text = read_until_prompt(s).decode(errors="replace").replace("\r", "")
        lines = text.splitlines()
        if lines and cmd in ESCAPES.sub("", lines[0]):  # the echoed command line
            lines = lines[1:]
        if lines and lines[-1].startswith("(qemu)"):
            lines = lines[:-1]
        print(f"HMP {cmd}")
        print("\n".join(lines), flush=True)
    s.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
