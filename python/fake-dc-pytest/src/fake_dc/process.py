"""Running `fake-dc serve --ports auto --ready-json --exit-on-stdin-close` as a child."""

import json
import os
import shutil
import subprocess
import threading

from .client import ControlClient


def find_binary():
    """The fake-dc binary: $FAKE_DC_BIN, else `fake-dc` on PATH."""
    path = os.environ.get("FAKE_DC_BIN") or shutil.which("fake-dc")
    if not path:
        raise RuntimeError(
            "fake-dc not found: set FAKE_DC_BIN to the binary "
            "(cargo build -p fake-dc; target/debug/fake-dc) or put it on PATH"
        )
    return path


class FakeDc:
    """A running fake-dc: its ready line, its listeners, its CA and a control client.

    The child's standard input is a pipe held by this object: if the test process dies,
    the pipe closes and fake-dc stops by itself.
    """

    def __init__(self, proc, ready, stderr_lines):
        self.proc = proc
        self.ready = ready
        self._stderr = stderr_lines
        control = ready["control"]
        self.control = ControlClient(control["url"], control["token"])

    @classmethod
    def start(cls, fixture, *extra_args, binary=None):
        """Starts fake-dc on `fixture` and waits for its ready line."""
        cmd = [
            binary or find_binary(), "serve", "--ports", "auto", "--ready-json",
            "--exit-on-stdin-close", *extra_args, str(fixture),
        ]
        proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        stderr_lines = []

        def drain():
            for line in proc.stderr:
                stderr_lines.append(line.decode(errors="replace"))

        threading.Thread(target=drain, daemon=True).start()
        line = proc.stdout.readline()
        if not line:
            proc.wait(timeout=10)
            raise RuntimeError(
                f"fake-dc exited ({proc.returncode}) before it was ready:\n" + "".join(stderr_lines)
            )
        return cls(proc, json.loads(line), stderr_lines)

    def stop(self):
        """Closes stdin (fake-dc stops on its own), then waits; kills it if it lingers."""
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    @property
    def stderr(self):
        """What fake-dc logged so far."""
        return "".join(self._stderr)

    @property
    def hosts(self):
        """Served DC host names."""
        return [h["name"] for h in self.ready["hosts"]]

    def address(self, host=None, service="ldap"):
        """(ip, port) of a listener: service is ldap, ldaps, gc or gc-tls."""
        h = self._host(host)
        ip, port = h[service].rsplit(":", 1)
        return ip, int(port)

    def ldap_url(self, host=None, service="ldap"):
        ip, port = self.address(host, service)
        scheme = "ldaps" if service in ("ldaps", "gc-tls") else "ldap"
        return f"{scheme}://{ip}:{port}"

    @property
    def ca_pem(self):
        return self.ready["ca"]["pem"]

    @property
    def ca_path(self):
        return self.ready["ca"]["path"]

    @property
    def base_dn(self):
        """The first domain's base DN."""
        return self.ready["domains"][0]["base-dn"]

    def _host(self, host):
        hosts = self.ready["hosts"]
        if host is None:
            return hosts[0]
        for h in hosts:
            if h["name"] == host.lower():
                return h
        raise KeyError(f"{host} is not served; served: {self.hosts}")
