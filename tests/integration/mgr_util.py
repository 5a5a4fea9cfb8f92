# SPDX-License-Identifier: MIT
"""Helpers for the manager's integration tests (test_mgr_*.py).

`Mgr` runs `bareiron` with BAREIRON_HOME in a temporary directory, optionally with
BAREIRON_VMM pointing at the fake monitor process (mgr_fake_vmm.py, a test double of the
monitor process, not of KVM).
"""
import json
import os
import pathlib
import signal
import subprocess
import time

HERE = pathlib.Path(__file__).resolve().parent
FAKE_VMM = HERE / "mgr_fake_vmm.py"


class Mgr:
    def __init__(self, bareiron, home, vmm=None, extra_env=None):
        self.bareiron = str(bareiron)
        self.home = pathlib.Path(home)
        self.env = dict(os.environ)
        self.env["BAREIRON_HOME"] = str(self.home)
        self.env.pop("BAREIRON_FAULT_INJECT", None)
        if vmm:
            self.env["BAREIRON_VMM"] = str(vmm)
        self.env.update(extra_env or {})

    def run(self, *args, env=None, timeout=60, input=None, cwd=None):
        e = dict(self.env)
        e.update(env or {})
        return subprocess.run([self.bareiron] + [str(a) for a in args], capture_output=True,
                              text=True, timeout=timeout, env=e, input=input, cwd=cwd)

    def ok(self, *args, **kw):
        r = self.run(*args, **kw)
        assert r.returncode == 0, f"bareiron {args}: {r.returncode}\n{r.stdout}\n{r.stderr}"
        return r

    def show(self, name):
        return json.loads(self.ok("show", name, "--json").stdout)

    def state(self, name):
        return self.show(name)["state"]

    def vm_dir(self, name):
        return self.home / "vms" / name

    def pid(self, name):
        """The pid of VM (name)'s monitor, from its run/vmm.pid."""
        return int((self.vm_dir(name) / "run" / "vmm.pid").read_text().split()[0])

    def kill_monitors(self):
        """SIGKILLs every monitor still named by a pid file: a test never leaves one behind."""
        vms = self.home / "vms"
        for d in vms.iterdir() if vms.exists() else []:
            try:
                os.kill(self.pid(d.name), signal.SIGKILL)
            except (OSError, ValueError):
                pass

    def wait_state(self, name, want, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            s = self.state(name)
            if s == want:
                return s
            time.sleep(0.05)
        raise AssertionError(f"{name} is {self.state(name)}, wanted {want}")
