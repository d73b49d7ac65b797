"""Start fake-dc, a fake Active Directory domain controller, and drive it while it runs.

    from fake_dc import FakeDc
    with FakeDc.start("fixtures/small-org.yaml") as dc:
        dc.ldap_url("dc1.corp.example.test")   # ldap://127.0.0.1:PORT
        dc.control.changes([{"add-user": {"parent": "CN=Users,DC=corp,DC=example,DC=test", "cn": "Zoe"}}])
        dc.control.fault("dc1.corp.example.test", busy=True)

With pytest, the ``fake_dc`` fixture (see ``fake_dc.plugin``) does this once per session
and restores a snapshot before every test. Only the standard library is used.
"""

from .client import ControlClient, ControlError
from .process import FakeDc, find_binary

__all__ = ["ControlClient", "ControlError", "FakeDc", "find_binary"]
