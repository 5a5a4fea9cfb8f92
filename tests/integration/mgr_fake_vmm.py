#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""A test double of the `bareiron-vmm` PROCESS (not of KVM) for the manager's tests.

It accepts the monitor's command line (see the contract in docs/cli.md), serves the control
protocol of docs/control-api.md on --control and a console on --serial unix:PATH, and
behaves like a monitor whose guest reacts to the power button. This lets the manager's
start/pause/resume/stop/poweroff/kill -9/racing-start paths run for real on hosts without
/dev/kvm. FAKE_VMM_MODE changes its behaviour:

  normal          (default) the guest powers off 0.2 s after the power button
  ignore-button   the guest ignores the power button
  fail-start      print an error and exit with status 6 before serving anything
  never-ready     never open the control socket
  slow-start      wait 1 s before opening the control socket
  log-flood       write 3 MiB to stderr first (a monitor logging a reset storm)
  no-nic          a monitor without network adapters: --help does not name --nic, --nic is
                  refused and the network commands answer ENOTSUP

With --cdrom/--floppy (a file or "empty") it serves media-change on that drive (ENODEV
without one) and shows the media in query-config; send-key always succeeds. With --machine pc
(the manager's firmware boot) --kernel is not required.

With adapters (--nic, repeatable, the contract of docs/vmm.md) it serves query-net,
net-hostfwd-add/-remove (a host port taken twice is EADDRINUSE, as is a rule whose host port
is in FAKE_VMM_BUSY_PORTS) and net-link. --help prints the options it accepts.
"""
import fcntl
import json
import os
import selectors
import signal
import socket
import sys
import time

VERSION = 1


HELP = """usage: bareiron-vmm (fake) --kernel FILE [options]
  --name NAME --control PATH --cpus N --memory SIZE --kernel FILE --initrd FILE
  --cmdline TEXT --disk SPEC --cdrom FILE|empty --floppy FILE|empty --serial SPEC
  --serial-log FILE --acpi on|off --ioapic on|off --sandbox --no-reboot --fd N:PATH
  --machine pc --firmware bios|uefi --boot LIST --boot-menu on|off --uuid UUID
  --video SPEC --vram SIZE --display SPEC
"""
HELP_NIC = "  --nic nat[,mac=MAC][,hostfwd=RULE]...[,restrict=on|off] | tap,ifname=IF | none\n"


def parse_nic(spec, index):
    """The fake's view of one --nic: type, mac, hostfwd rules, link."""
    parts = spec.split(",")
    nic = {"index": index, "type": parts[0], "mac": f"52:54:00:12:34:{0x56 + index:02x}",
           "link": parts[0] != "none", "hostfwd": [], "restrict": False}
    for p in parts[1:]:
        k, _, v = p.partition("=")
        if k == "mac":
            nic["mac"] = v
        elif k == "hostfwd":
            nic["hostfwd"].append(v)
        elif k == "restrict":
            nic["restrict"] = v == "on"
        elif k not in ("ifname", "tftp", "bootfile"):
            print(f"bareiron-vmm (fake): --nic: unknown attribute {p}", file=sys.stderr)
            sys.exit(2)
    return nic


def parse_args(argv):
    opts = {"disk": [], "nic": [], "fd": []}
    i = 0
    while i < len(argv):
        a = argv[i]
        if not a.startswith("--"):
            sys.exit(f"bareiron-vmm (fake): unexpected argument {a}")
        key = a[2:]
        if key == "help":
            opts["help"] = True
            i += 1
            continue
        if key in ("no-reboot", "sandbox"):
            opts[key] = True
            i += 1
            continue
        if i + 1 >= len(argv):
            print(f"bareiron-vmm (fake): missing value for {a}", file=sys.stderr)
            sys.exit(2)
        if key == "disk":
            opts["disk"].append(argv[i + 1])
        elif key == "fd":
            opts["fd"].append(argv[i + 1])
        elif key == "nic":
            opts["nic"].append(parse_nic(argv[i + 1], len(opts["nic"])))
        else:
            opts[key] = argv[i + 1]
        i += 2
    return opts


def listen(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)
    s.bind(path)
    os.umask(old)
    s.listen(8)
    s.setblocking(False)
    return s


class Monitor:
    def __init__(self, opts, mode):
        self.opts = opts
        self.mode = mode
        self.state = "running"
        self.exit_at = None
        self.started = time.monotonic()
        self.sel = selectors.DefaultSelector()
        self.bufs = {}
        self.console_clients = []
        # the removable drives the monitor was started with: their medium (None: empty)
        self.media = {d: (None if opts[d] == "empty" else opts[d])
                      for d in ("cdrom", "floppy") if d in opts}

    def reply(self, conn, rid, result=None, error=None):
        if error:
            msg = {"id": rid, "ok": False, "error": {"code": error[0], "message": error[1]}}
        else:
            msg = {"id": rid, "ok": True, "result": result or {}}
        conn.sendall((json.dumps(msg) + "\n").encode())

    def handle(self, conn, line):
        try:
            req = json.loads(line)
            rid, cmd = req["id"], req["cmd"]
        except (ValueError, KeyError, TypeError):
            return self.reply(conn, None, error=("EPROTO", "malformed request"))
        if cmd in ("hello", "version"):
            return self.reply(conn, rid, {"protocol": VERSION, "server": "fake-vmm",
                                          "name": self.opts.get("name", ""),
                                          "pid": os.getpid()})
        if cmd == "query-state":
            return self.reply(conn, rid, {"state": self.state, "pid": os.getpid()})
        if cmd == "query-config":
            return self.reply(conn, rid, {"name": self.opts.get("name"),
                                          "cpus": int(self.opts.get("cpus", 1)),
                                          "kernel": self.opts.get("kernel"),
                                          "disks": self.opts["disk"],
                                          "media": self.media})
        if cmd == "media-change":
            args = req.get("args", {})
            drive = args.get("drive")
            if drive not in self.media:
                return self.reply(conn, rid, error=("ENODEV", f"no {drive} drive"))
            self.media[drive] = None if args.get("eject") else args.get("path")
            return self.reply(conn, rid)
        if cmd == "send-key":
            return self.reply(conn, rid)
        if cmd == "pause":
            if self.state != "running":
                return self.reply(conn, rid, error=("EBUSY", f"the VM is {self.state}"))
            self.state = "paused"
            return self.reply(conn, rid)
        if cmd == "resume":
            if self.state != "paused":
                return self.reply(conn, rid, error=("EBUSY", f"the VM is {self.state}"))
            self.state = "running"
            return self.reply(conn, rid)
        if cmd == "power-button":
            if self.mode != "ignore-button":
                self.state = "stopping"
                self.exit_at = time.monotonic() + 0.2
            return self.reply(conn, rid)
        if cmd == "poweroff":
            self.reply(conn, rid)
            self.exit_at = time.monotonic()
            return None
        if cmd == "reset":
            return self.reply(conn, rid)
        if cmd in ("query-net", "net-hostfwd-add", "net-hostfwd-remove", "net-link"):
            return self.reply(conn, rid, *self.net(cmd, req.get("args", {})))
        if cmd == "stats":
            return self.reply(conn, rid, {
                "uptime_ns": int((time.monotonic() - self.started) * 1e9),
                "vcpu_count": int(self.opts.get("cpus", 1)), "exits": 42})
        return self.reply(conn, rid, error=("EINVAL", "unknown command"))

    def net(self, cmd, args):
        """The network commands: (result, None) or (None, (code, message))."""
        nics = self.opts["nic"]
        if self.mode == "no-nic":
            return None, ("ENOTSUP", f"{cmd} is not supported by this monitor")
        if cmd == "query-net":
            return {"nics": [{k: v for k, v in n.items() if k != "restrict"} | {
                "rx_packets": 10, "rx_bytes": 1000, "tx_packets": 20, "tx_bytes": 2000,
                "rx_dropped": 1, "tx_dropped": 0, "errors": 0} for n in nics]}, None
        nic = args.get("nic")
        if not isinstance(nic, int) or nic >= len(nics):
            return None, ("ENODEV", f"no network adapter {nic}")
        if cmd == "net-link":
            nics[nic]["link"] = bool(args.get("up"))
            return {}, None
        rule = args.get("rule", "")
        if nics[nic]["type"] != "nat":
            return None, ("ENOTSUP", "port forwards are for NAT adapters")
        if cmd == "net-hostfwd-remove":
            if rule not in nics[nic]["hostfwd"]:
                return None, ("ENOENT", f"no forward {rule}")
            nics[nic]["hostfwd"].remove(rule)
            return {}, None
        port = rule.split("-")[0].rsplit(":", 1)[-1]
        busy = os.environ.get("FAKE_VMM_BUSY_PORTS", "").split(",")
        taken = [r.split("-")[0].rsplit(":", 1)[-1] for n in nics for r in n["hostfwd"]]
        if port in busy or port in taken:
            return None, ("EADDRINUSE", f"hostfwd {rule}: host port {port} is in use")
        nics[nic]["hostfwd"].append(rule)
        return {}, None

    def on_control(self, conn):
        data = conn.recv(65536)
        if not data:
            self.sel.unregister(conn)
            conn.close()
            return
        buf = self.bufs.get(conn, b"") + data
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            if line.strip():
                self.handle(conn, line)
        self.bufs[conn] = buf

    def on_console(self, conn):
        data = conn.recv(4096)
        if not data:
            self.sel.unregister(conn)
            self.console_clients.remove(conn)
            conn.close()
            return
        conn.sendall(b"echo:" + data)

    def accept(self, lsock, kind):
        conn, _ = lsock.accept()
        conn.setblocking(True)
        if kind == "console" and self.console_clients:  # one client at a time, as the monitor
            conn.sendall(b"bareiron-vmm: the console is in use by another client\r\n")
            conn.close()
        elif kind == "console":
            self.console_clients.append(conn)
            conn.sendall(f"fake console of {self.opts.get('name')}\r\n".encode())
            self.sel.register(conn, selectors.EVENT_READ, ("console-conn", conn))
        else:
            self.sel.register(conn, selectors.EVENT_READ, ("control-conn", conn))

    def run(self):
        serial = self.opts.get("serial", "")
        if serial.startswith("unix:"):
            self.sel.register(listen(serial[5:]), selectors.EVENT_READ, ("console", None))
        if "control" in self.opts:
            self.sel.register(listen(self.opts["control"]), selectors.EVENT_READ,
                              ("control", None))
        print(f"fake vmm {self.opts.get('name')} running pid {os.getpid()}", flush=True)
        while True:
            if self.exit_at is not None and time.monotonic() >= self.exit_at:
                print("guest powered off", flush=True)
                return 0
            for key, _ in self.sel.select(timeout=0.05):
                kind, conn = key.data
                if kind in ("console", "control"):
                    self.accept(key.fileobj, kind)
                else:
                    try:
                        if kind == "control-conn":
                            self.on_control(conn)
                        else:
                            self.on_console(conn)
                    except OSError:
                        self.sel.unregister(conn)
                        conn.close()


def record_fds(specs):
    """What each --fd N:PATH is, for the tests: open, its flags, the same file as PATH."""
    out = []
    for spec in specs:
        n, _, path = spec.partition(":")
        rec = {"fd": int(n), "path": path}
        try:
            st, flags = os.fstat(int(n)), fcntl.fcntl(int(n), fcntl.F_GETFL)
            pst = os.stat(path)
            rec.update(open=True, accmode=flags & os.O_ACCMODE,
                       direct=bool(flags & os.O_DIRECT),
                       same=(st.st_dev, st.st_ino) == (pst.st_dev, pst.st_ino))
        except OSError:
            rec["open"] = False
        out.append(rec)
    openfds = [int(n) for n in os.listdir("/proc/self/fd")]
    with open("fake-fds.json", "w") as f:
        json.dump(out, f)
    with open("fake-openfds.json", "w") as f:
        json.dump(openfds, f)


def main():
    opts = parse_args(sys.argv[1:])
    mode = os.environ.get("FAKE_VMM_MODE", "normal")
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    if opts.get("help"):
        print(HELP + ("" if mode == "no-nic" else HELP_NIC), end="")
        return 0
    if opts["nic"] and mode == "no-nic":
        print("bareiron-vmm (fake): unknown option '--nic' (see --help)", file=sys.stderr)
        return 2
    # the command line is recorded for the tests (run/ is the working directory)
    with open("fake-argv.json", "w") as f:
        json.dump(sys.argv[1:], f)
    record_fds(opts["fd"])
    if "kernel" not in opts and opts.get("machine") != "pc":
        print("bareiron-vmm (fake): --kernel is required", file=sys.stderr)
        return 2
    if mode == "fail-start":
        print(f"bareiron-vmm: {opts.get('kernel')}: not a kernel", file=sys.stderr)
        return 6
    if mode == "never-ready":
        time.sleep(3600)
    if mode == "slow-start":
        time.sleep(1)
    if mode == "log-flood":
        line = "x" * 1023 + "\n"
        for _ in range(3 * 1024):
            sys.stderr.write(line)
        sys.stderr.flush()
    return Monitor(opts, mode).run()


if __name__ == "__main__":
    sys.exit(main())
