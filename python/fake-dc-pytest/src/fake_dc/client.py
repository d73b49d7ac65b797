"""A small client for fake-dc's control API (docs/control-api.md), on urllib only."""

import json
import urllib.error
import urllib.request


class ControlError(Exception):
    """A request the control API refused: the HTTP status, the message and the field at fault."""

    def __init__(self, status, error, field):
        super().__init__(f"{status} {field}: {error}")
        self.status = status
        self.error = error
        self.field = field


class ControlClient:
    """Every route of the control API as a method. Errors raise ControlError."""

    def __init__(self, url, token, timeout=30.0):
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def request(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Authorization", f"Bearer {self.token}")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                text = resp.read()
        except urllib.error.HTTPError as e:
            try:
                err = json.loads(e.read() or b"{}")
            except ValueError:
                err = {}
            raise ControlError(e.code, err.get("error", e.reason), err.get("field", "")) from None
        return json.loads(text) if text.strip() else None

    # Directory.
    def changes(self, changes):
        """Applies changes (scenario vocabulary: add-user, modify, delete, …), all or nothing."""
        return self.request("POST", "/changes", {"changes": list(changes)})

    def changes_since(self, usn):
        return self.request("GET", f"/changes?since={int(usn)}")

    def reload(self, path=None):
        return self.request("POST", "/reload", {} if path is None else {"path": str(path)})

    # Faults.
    def fault(self, host, **faults):
        """Adds faults to a host: fault(host, busy=True), fault(host, latency_ms=200), …"""
        body = {k.replace("_", "-"): v for k, v in faults.items()}
        return self.request("POST", f"/hosts/{host}/faults", body)

    def faults(self, host):
        return self.request("GET", f"/hosts/{host}/faults")

    def clear_faults(self, host):
        return self.request("DELETE", f"/hosts/{host}/faults")

    # Clock.
    def clock(self):
        return self.request("GET", "/clock")

    def advance_clock(self, duration):
        """Moves the directory clock forward: "90m", "6h", "2d"."""
        return self.request("POST", "/clock", {"advance": duration})

    def set_clock(self, unix):
        return self.request("POST", "/clock", {"set": int(unix)})

    # Snapshots.
    def snapshot(self, name):
        return self.request("POST", "/snapshots", {"name": name})

    def restore(self, name):
        return self.request("POST", f"/snapshots/{name}/restore")

    def snapshots(self):
        return self.request("GET", "/snapshots")

    def delete_snapshot(self, name):
        return self.request("DELETE", f"/snapshots/{name}")

    # Statistics.
    def stats(self, host=None):
        return self.request("GET", "/stats" if host is None else f"/hosts/{host}/stats")

    def reset_stats(self):
        return self.request("DELETE", "/stats")

    def hosts(self):
        return self.request("GET", "/hosts")
