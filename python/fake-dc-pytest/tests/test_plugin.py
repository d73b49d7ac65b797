"""The plugin against the real binary, with python-ldap3 as the client."""

import ssl

import ldap3
import pytest
from ldap3.core.exceptions import LDAPException

from fake_dc import ControlError

DC1 = "dc1.corp.example.test"
DC2 = "dc2.corp.example.test"
SVC = "CN=Sync Service,OU=Service Accounts,DC=corp,DC=example,DC=test"
USERS = "CN=Users,DC=corp,DC=example,DC=test"


def connect(dc, host=DC1):
    ip, port = dc.address(host)
    server = ldap3.Server(ip, port=port, get_info=ldap3.NONE)
    conn = ldap3.Connection(server, SVC, "Sync-Secret-1", raise_exceptions=True)
    conn.bind()
    return conn


def paged_users(conn, base):
    entries = conn.extend.standard.paged_search(
        base, "(objectClass=user)", attributes=["cn"], paged_size=500, generator=False
    )
    return [e for e in entries if e.get("type") == "searchResEntry"]


def test_binds_pages_and_meets_an_injected_fault(fake_dc):
    conn = connect(fake_dc)
    users = paged_users(conn, fake_dc.base_dn)
    assert len(users) > 1500
    stats = fake_dc.control.stats(DC1)
    assert stats["binds-success"] == 1
    assert stats["pages"] >= 4
    assert stats["controls"]["1.2.840.113556.1.4.319"] == stats["pages"]

    # The connection is dropped when the second page is asked for; dc2 is unaffected.
    fake_dc.control.fault(DC1, drop_on_page=2)
    with pytest.raises(LDAPException):
        paged_users(connect(fake_dc), fake_dc.base_dn)
    assert len(paged_users(connect(fake_dc, DC2), fake_dc.base_dn)) == len(users)


def test_a_change_shows_over_ldap(fake_dc):
    fake_dc.control.changes([{"add-user": {"parent": USERS, "cn": "Zoe Zed", "mail": "zoe@corp.example.test"}}])
    conn = connect(fake_dc)
    conn.search(fake_dc.base_dn, "(mail=zoe@corp.example.test)", attributes=["cn"])
    assert [str(e.cn) for e in conn.entries] == ["Zoe Zed"]


def test_the_next_test_starts_from_the_snapshot(fake_dc):
    # Whatever order the tests ran in, no change and no fault of another test is left.
    conn = connect(fake_dc)
    conn.search(fake_dc.base_dn, "(mail=zoe@corp.example.test)", attributes=["cn"])
    assert conn.entries == []
    assert "drop-on-page" not in fake_dc.control.faults(DC1)


def test_a_bad_change_names_its_field_and_applies_nothing(fake_dc):
    before = fake_dc.control.changes_since(0)["highest-usn"]
    with pytest.raises(ControlError) as err:
        fake_dc.control.changes([
            {"add-user": {"parent": USERS, "cn": "Ok"}},
            {"add-user": {"parent": "OU=Nowhere,DC=corp,DC=example,DC=test", "cn": "No"}},
        ])
    assert err.value.status == 422
    assert err.value.field == "changes[1].add-user.parent"
    assert fake_dc.control.changes_since(0)["highest-usn"] == before


def test_ldaps_trusts_the_ready_lines_ca(fake_dc):
    ip, port = fake_dc.address(DC1, "ldaps")
    tls = ldap3.Tls(
        validate=ssl.CERT_REQUIRED, ca_certs_file=fake_dc.ca_path, valid_names=[DC1]
    )
    server = ldap3.Server(ip, port=port, use_ssl=True, tls=tls, get_info=ldap3.NONE)
    conn = ldap3.Connection(server, SVC, "Sync-Secret-1", raise_exceptions=True)
    assert conn.bind()
