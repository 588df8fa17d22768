"""Starts the AMD-SP simulator and the test KBS for host-side runs of the
boot flow (tests/unit/boot, bench/unlock_bench.py). Standard library only.
"""

import json
import os
import signal
import subprocess
import time

SOURCE_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PYTHON = "/usr/bin/python3"


class Peers:
    """The AMD-SP simulator and the test KBS in one temporary directory."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.procs = []
        self.pki = os.path.join(workdir, "pki")
        self.amdsp_socket = os.path.join(workdir, "amdsp.sock")
        self.kbs_port = None

    def path(self, name):
        return os.path.join(self.workdir, name)

    def _start(self, name, argv, ready):
        with open(self.path(name + ".out"), "w") as out, \
             open(self.path(name + ".log"), "w") as err:
            proc = subprocess.Popen(argv, stdout=out, stderr=err, cwd=self.workdir,
                                    start_new_session=True)
        self.procs.append(proc)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            with open(self.path(name + ".out")) as out:
                line = out.readline()
            if line.startswith(ready):
                return line.strip()
            if proc.poll() is not None:
                break
            time.sleep(0.05)
        with open(self.path(name + ".log")) as log:
            raise RuntimeError("%s did not start: %s" % (name, log.read()[-2000:]))

    def start_amdsp(self, *extra):
        self._start("amdsp", [PYTHON, os.path.join(SOURCE_ROOT, "tests/peers/amdsp/amdsp.py"),
                              "--unix", self.amdsp_socket, "--pki-dir", self.pki,
                              "--report-version", "3"] + list(extra),
                    "listening on unix:")

    def start_kbs(self, policy, *extra):
        with open(self.path("policy.json"), "w") as f:
            json.dump(policy, f)
        line = self._start("kbs", [PYTHON, os.path.join(SOURCE_ROOT, "tests/peers/kbs/kbs_server.py"),
                                   "--listen", "127.0.0.1:0",
                                   "--trust-anchor", os.path.join(self.pki, "ark.pem"),
                                   "--policy", self.path("policy.json"),
                                   "--decision-log", self.path("decisions.jsonl")]
                           + list(extra), "listening on 127.0.0.1:")
        self.kbs_port = int(line.rsplit(":", 1)[1])

    def stop(self):
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
