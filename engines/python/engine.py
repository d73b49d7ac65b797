#!/usr/bin/env python3
"""A directory-sync engine in Python (ldap3) that speaks the harness's engine contract.

The contract, ``fake-dc-engine/1`` (docs/engine-contract.md has the details and a worked
example; docs/engine-contract.schema.json the JSON Schema of every message):

* The harness starts this program once per request and writes one JSON object on its
  standard input::

      {"contract": "fake-dc-engine/1", "kind": "hello"}
      {"contract": "fake-dc-engine/1", "kind": "sync",    "request": {...SyncRequest}}
      {"contract": "fake-dc-engine/1", "kind": "sign-in", "request": {...SignInRequest}}

* The program writes one JSON object on standard output and exits 0::

      {"contract": "fake-dc-engine/1", "name": "...", "claims": ["scenario", ...]}
      {"contract": "fake-dc-engine/1", "response": {"report": {...}, "account": {...}}}
      {"contract": "fake-dc-engine/1", "result": "signed-in", "detail": "..."}

* A sync that fails (bad bind, untrusted certificate, dropped connection) is still an
  answer: a report with ``errors`` and the account unchanged. A non-zero exit, a
  malformed answer or no answer in time fails the scenario step instead.
* Standard error is free text; the harness quotes its last lines when something breaks.

What this engine implements: the directory connector's full sync (bind as the service
account, one paged subtree search with pages of 1,000, ranged retrieval of
``member;range=...``, primary-group members, nested groups with cycles, dynamic
distribution lists, addresses from ``mail``/``proxyAddresses``), the three TLS modes,
failover to the secondary host only when the primary cannot be reached, sign-in
pass-through, and the apply rules its claimed scenarios need. It does not implement the
agent method, the Azure AD method (Microsoft Graph: the ``azure-ad-*`` scenarios), the
google-workspace method (Google Secure LDAP with a client certificate), contacts as
cloud contacts, or address conflicts, and claims no scenario that needs them.

It also claims the ``harness fuzz`` properties it holds to (``property:<name>``, listed
in PROPERTIES): fuzzing judges an engine only on those.

``--break ranged-retrieval`` makes it ignore ranged retrieval on purpose (keeping only the
first 1,500 members of a large group), so tests can show the suite catching a broken
engine.
"""

import argparse
import ipaddress
import json
import re
import ssl
import sys
import uuid

import ldap3
from ldap3.utils.conv import escape_filter_chars
from ldap3.core.exceptions import LDAPException

CONTRACT = "fake-dc-engine/1"
NAME = "python-ldap3"

# The scenarios (file names without .yaml) whose behaviour this engine implements.
CLAIMS = [
    "acknowledge-disabled-off",
    "acknowledge-disabled-on",
    "additional-attributes-updated",
    "bind-account-disabled",
    "bind-account-expired",
    "bind-locked-out",
    "bind-must-change-password",
    "bind-password-expired",
    "bind-unknown-user",
    "bind-wrong-password",
    "busy-dc-fails-cleanly",
    "connection-dropped-mid-extraction-applies-nothing",
    "dynamic-distribution-list",
    "failover-when-primary-down",
    "full-sync-small-org",
    "group-membership-adds-and-removals",
    "group-without-mail-enabled-members-skipped",
    "link-aliases-off",
    "link-aliases-on",
    "manual-user-converted-to-directory-generated",
    "manual-users-never-deleted",
    "max-unlink-stops-a-mass-removal",
    "nested-groups-with-cycle",
    "no-failover-on-bad-certificate",
    "no-failover-on-wrong-password",
    "paging-over-1000-entries",
    "primary-group-members",
    "ranged-retrieval-over-1500-members",
    "read-scope-limits-what-is-synced",
    "registered-domains-only",
    "renamed-ou-keeps-identity",
    "renamed-user-keeps-identity",
    "schedule-australia",
    "schedule-europe",
    "schedule-north-america",
    "schedule-south-africa",
    "sign-in-pass-through-outcomes",
    "special-character-names",
    "sync-contacts-off",
    "tls-none-plain-ldap",
    "tls-relaxed-ca-signed",
    "tls-relaxed-expired",
    "tls-relaxed-self-signed",
    "tls-relaxed-untrusted-ca",
    "tls-relaxed-wrong-host",
    "tls-strict-ca-not-trusted",
    "tls-strict-ca-signed",
    "tls-strict-expired",
    "tls-strict-self-signed",
    "tls-strict-untrusted-ca",
    "tls-strict-wrong-host",
    "user-deleted-is-removed-with-delete-users",
    "user-deleted-is-unlinked",
    "user-moved-out-of-root-dn-is-unlinked",
]

# The properties `harness fuzz` may judge this engine on (docs/engine-contract.md,
# "Fuzz your engine"); claims name them as "property:<name>".
PROPERTIES = [
    "answers",
    "convergence",
    "manual-users-kept",
    "failed-run-keeps-account",
    "max-unlink",
    "identity-by-guid",
    "membership-closure",
    "delta-equals-full",
    "range-size-independence",
    "entry-order-independence",
]
CLAIMS += ["property:" + p for p in PROPERTIES]

# AD refuses pages above 1,000 entries (MaxPageSize).
PAGE_SIZE = 1000
PAGED_RESULTS_OID = "1.2.840.113556.1.4.319"
EXTRACT_FILTER = (
    "(|(mail=*)(proxyAddresses=*)(objectClass=group)"
    "(objectClass=msExchDynamicDistributionList))"
)
BASE_ATTRIBUTES = [
    "objectGUID", "objectClass", "objectSid", "cn", "displayName", "mail",
    "proxyAddresses", "userAccountControl", "member", "primaryGroupID",
    "msExchDynamicDLFilter", "msExchDynamicDLBaseDN",
]
# A ranged retrieval of more steps than this is a misbehaving server, not a big group.
MAX_RANGE_STEPS = 100_000
ACCOUNTDISABLE = 0x2
CONNECT_TIMEOUT = 5
RECEIVE_TIMEOUT = 30

# AD's bind failure sub-codes (the "data NNN" in the diagnostic message).
BIND_SUBCODES = {
    "52e": ("wrong-password", "invalid credentials (AD 52e: wrong password or unknown user)"),
    "525": ("failed", "no such user (AD 525)"),
    "530": ("failed", "logon not permitted at this time (AD 530)"),
    "531": ("failed", "logon not permitted from this workstation (AD 531)"),
    "532": ("password-expired", "password expired (AD 532)"),
    "533": ("disabled", "account disabled (AD 533)"),
    "701": ("failed", "account expired (AD 701)"),
    "773": ("must-change-password", "user must change password (AD 773)"),
    "775": ("locked-out", "account locked out (AD 775)"),
}
WELL_KNOWN_PORTS = {389: "ldap", 636: "ldaps", 3268: "gc", 3269: "gc-tls"}


class SyncFailure(Exception):
    """A sync that ends before apply; the report names the host and TLS outcome."""

    def __init__(self, message, host=None, tls=None, unreachable=False):
        super().__init__(message)
        self.host = host
        self.tls = tls or {"tls": "not-connected"}
        self.unreachable = unreachable


# --- connecting -----------------------------------------------------------------------

class HostTls(ldap3.Tls):
    """TLS to a DC's address while checking the certificate against the DC's host name.

    The harness's DCs listen on loopback ports under names that do not resolve, so the
    socket goes to the address and the name goes to ``server_hostname`` (SNI and
    Python's own host-name check). ldap3's built-in check would compare the certificate
    with the address instead.
    """

    def __init__(self, context, host):
        super().__init__()
        self.context = context
        self.host = host
        self.failure = None

    def wrap_socket(self, connection, do_handshake=False):
        # The handshake happens here, always, so a certificate failure surfaces as one
        # and not later as a confusing read error.
        try:
            connection.socket = self.context.wrap_socket(
                connection.socket, server_side=False, do_handshake_on_connect=True,
                server_hostname=self.host)
        except (ssl.SSLError, ssl.CertificateError, OSError) as error:
            self.failure = str(error) or type(error).__name__
            raise


def tls_context(mode, ca_pem):
    if mode == "strict":
        # Only the CA the customer imported; none means nothing is trusted but the
        # system's roots, which never signed a DC's certificate.
        if ca_pem:
            return ssl.create_default_context(cadata=ca_pem)
        return ssl.create_default_context()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def endpoint_address(dcs, host, port):
    """The (ip, port) where `host` serves AD's well-known `port`, or None."""
    service = WELL_KNOWN_PORTS.get(port)
    for dc in dcs:
        if dc["host"].lower() == host.lower() and service and dc.get(service):
            text = dc[service]
            ip, _, port_text = text.rpartition(":")
            return ip.strip("[]"), int(port_text)
    return None


def bind_failure(result, host, tls, who):
    message = result.get("message") or result.get("description") or "bind failed"
    match = re.search(r"data ([0-9a-f]{3})", message)
    code = match.group(1) if match else None
    _, text = BIND_SUBCODES.get(code, (None, message))
    return SyncFailure(f"{host}: bind as {who} refused: {text}; {message}", host, tls)


def open_connection(request, host, user, password):
    """A bound connection to `host`, or SyncFailure naming the host."""
    connector = request["connector"]
    mode = connector["encryption"]
    address = endpoint_address(request["dcs"], host, connector["port"])
    if address is None:
        raise SyncFailure(f"{host}: cannot be reached on port {connector['port']}",
                          host, unreachable=True)
    ip, port = address
    tls = None
    if mode != "none":
        tls = HostTls(tls_context(mode, request.get("ca-pem")), host)
    server = ldap3.Server(ip, port=port, use_ssl=tls is not None, tls=tls,
                          get_info=ldap3.NONE, connect_timeout=CONNECT_TIMEOUT)
    conn = ldap3.Connection(server, user=user, password=password, auto_bind=ldap3.AUTO_BIND_NONE,
                            raise_exceptions=False, read_only=True, receive_timeout=RECEIVE_TIMEOUT,
                            # Ranged retrieval is done here, on purpose and visibly (ldap3's
                            # auto_range would hide it); ldap3 2.9.1 then trips over its own
                            # empty-attribute padding, so that is off too.
                            auto_range=False, return_empty_attributes=False)
    try:
        conn.open()
    except LDAPException as error:
        if tls is not None and tls.failure:
            raise SyncFailure(f"{host}: TLS failed: {tls.failure}", host,
                              {"tls": "failed", "reason": tls.failure})
        raise SyncFailure(f"{host}: cannot be reached: {error}", host, unreachable=True)
    if mode == "strict":
        outcome = {"tls": "verified", "server-name": host}
    elif mode == "relaxed":
        outcome = {"tls": "relaxed"}
    else:
        outcome = {"tls": "plain"}
    try:
        bound = conn.bind()
    except LDAPException as error:
        raise SyncFailure(f"{host}: bind did not complete: {error}", host, outcome)
    if not bound:
        raise bind_failure(conn.result, host, outcome, user)
    return conn, outcome


def connect_with_failover(request, user, password):
    """SPEC: only an unreachable host fails over; a bad bind or certificate does not."""
    connector = request["connector"]
    hosts = [connector["primary-host"]]
    if connector.get("secondary-host"):
        hosts.append(connector["secondary-host"])
    last = None
    for host in hosts:
        try:
            conn, outcome = open_connection(request, host, user, password)
            return conn, host, outcome
        except SyncFailure as failure:
            if not failure.unreachable:
                raise
            last = failure
    raise last


# --- extraction -----------------------------------------------------------------------

def attributes_of(entry):
    """The entry's raw attribute values, by lower-case attribute name."""
    return {name.lower(): values or [] for name, values in entry["raw_attributes"].items()}


def text(values):
    return [v.decode("utf-8", "replace") for v in values]


def first(attrs, name):
    values = attrs.get(name.lower())
    return values[0].decode("utf-8", "replace") if values else None


def paged_search(conn, host, base, search_filter, attributes):
    """Every entry under `base`, a page of at most PAGE_SIZE at a time."""
    entries = []
    cookie = None
    while True:
        try:
            conn.search(base, search_filter, ldap3.SUBTREE, attributes=attributes,
                        paged_size=PAGE_SIZE, paged_cookie=cookie)
        except LDAPException as error:
            raise SyncFailure(f"extraction from {host} did not complete: {error}", host)
        result = conn.result or {}
        if result.get("result") != 0:
            raise SyncFailure(
                f"{host}: search under '{base}' failed with result {result.get('result')}: "
                f"{result.get('message') or result.get('description')}", host)
        entries.extend(e for e in conn.response if e.get("type") == "searchResEntry")
        control = result.get("controls", {}).get(PAGED_RESULTS_OID, {})
        cookie = control.get("value", {}).get("cookie")
        if not cookie:
            return entries


def all_members(conn, host, dn, attrs, breaks):
    """`member`, with every range fetched when AD answered `member;range=0-1499`."""
    members = list(attrs.get("member", []))
    for name in [n for n in attrs if n.startswith("member;range=")]:
        members.extend(attrs[name])
        if "ranged-retrieval" in breaks:
            continue  # deliberately broken: keep only the first range
        upper = name.rpartition("-")[2]
        steps = 0
        while upper != "*":
            steps += 1
            if steps > MAX_RANGE_STEPS:
                raise SyncFailure(f"{host}: ranged retrieval of {dn} never ended", host)
            start = int(upper) + 1
            try:
                conn.search(dn, "(objectClass=*)", ldap3.BASE,
                            attributes=[f"member;range={start}-*"])
            except LDAPException as error:
                raise SyncFailure(f"extraction from {host} did not complete: {error}", host)
            found = [e for e in conn.response if e.get("type") == "searchResEntry"]
            more = attributes_of(found[0]) if found else {}
            ranged = [n for n in more if n.startswith("member;range=")]
            if not ranged:
                raise SyncFailure(f"{host}: {dn}: range {start}-* came back empty", host)
            members.extend(more[ranged[0]])
            upper = ranged[0].rpartition("-")[2]
    return text(members)


def sid_parts(raw):
    """(domain SID, RID) of a binary objectSid."""
    if not raw or len(raw) < 12:
        return None, None
    count = raw[1]
    authority = int.from_bytes(raw[2:8], "big")
    subs = [int.from_bytes(raw[8 + 4 * i:12 + 4 * i], "little") for i in range(count)]
    if not subs:
        return None, None
    domain = "S-%d-%d-%s" % (raw[0], authority, "-".join(str(s) for s in subs[:-1]))
    return domain, subs[-1]


def addresses(attrs):
    """SPEC: primary is the `SMTP:` proxy address, else `mail`; aliases are `smtp:`."""
    proxies = text(attrs.get("proxyaddresses", []))
    primary = next((p[5:] for p in proxies if p.startswith("SMTP:")), None)
    if primary is None:
        primary = first(attrs, "mail")
    if not primary:
        return None, []
    aliases = []
    for p in proxies:
        if p.startswith("smtp:") and p[5:].lower() != primary.lower():
            if p[5:].lower() not in (a.lower() for a in aliases):
                aliases.append(p[5:])
    return primary, aliases


def extract(conn, host, request, breaks):
    """The directory as a snapshot: users, groups (members resolved) and contacts."""
    settings = request["settings"]
    root = request["connector"]["root-dn"]
    extra = settings.get("additional-attributes", [])
    entries = paged_search(conn, host, root, EXTRACT_FILTER, BASE_ATTRIBUTES + extra)
    users, contacts, groups, lists = {}, {}, {}, []
    by_dn = {}
    for entry in entries:
        attrs = attributes_of(entry)
        classes = {c.lower() for c in text(attrs.get("objectclass", []))}
        raw_guid = attrs.get("objectguid", [None])[0]
        if not raw_guid or len(raw_guid) != 16:
            continue
        guid = str(uuid.UUID(bytes_le=raw_guid))
        dn = entry["dn"]
        primary, aliases = addresses(attrs)
        if "group" in classes:
            domain, rid = sid_parts(attrs.get("objectsid", [None])[0])
            groups[guid] = {
                "guid": guid, "dn": dn, "name": first(attrs, "displayName") or first(attrs, "cn") or dn,
                "address": primary, "sid": (domain, rid),
                "member-dns": all_members(conn, host, dn, attrs, breaks),
            }
            by_dn[dn.lower()] = ("group", guid)
        elif "msexchdynamicdistributionlist" in classes:
            lists.append((guid, dn, first(attrs, "displayName") or first(attrs, "cn") or dn,
                          primary, first(attrs, "msExchDynamicDLFilter"),
                          first(attrs, "msExchDynamicDLBaseDN")))
        elif "user" in classes and "computer" not in classes and primary:
            uac = int(first(attrs, "userAccountControl") or 0)
            domain, _ = sid_parts(attrs.get("objectsid", [None])[0])
            pgid = first(attrs, "primaryGroupID")
            values = {}
            for name in extra:
                found = text(attrs.get(name.lower(), []))
                if found:
                    values[name] = sorted(found)
            users[guid] = {
                "guid": guid, "dn": dn, "primary": primary, "aliases": aliases,
                "disabled": bool(uac & ACCOUNTDISABLE), "attributes": values,
                "primary-group": (domain, int(pgid)) if pgid else None,
            }
            by_dn[dn.lower()] = ("user", guid)
        elif "contact" in classes and primary:
            contacts[guid] = {"guid": guid, "dn": dn, "primary": primary,
                              "name": first(attrs, "displayName") or first(attrs, "cn") or dn}
            by_dn[dn.lower()] = ("contact", guid)

    member_addresses = {g: u["primary"] for g, u in users.items()}
    member_addresses.update({g: c["primary"] for g, c in contacts.items()})
    by_sid = {g["sid"]: guid for guid, g in groups.items() if g["sid"][0]}
    direct = {guid: set() for guid in groups}
    for user in users.values():
        group = by_sid.get(user["primary-group"])
        if group:  # AD lists primary-group members nowhere but in primaryGroupID
            direct[group].add(("user", user["guid"]))
    for guid, group in groups.items():
        for member in group["member-dns"]:
            found = by_dn.get(member.lower())
            if found:  # members we cannot see or that are not mail-enabled drop out
                direct[guid].add(found)

    def closure(start):
        seen, stack, out = {start}, [start], set()
        while stack:  # iterative, with `seen`, so cycles of nested groups terminate
            for kind, guid in direct[stack.pop()]:
                if kind == "group":
                    if guid not in seen:
                        seen.add(guid)
                        stack.append(guid)
                else:
                    out.add(guid)
        return out

    snapshot_groups = {}
    for guid, group in groups.items():
        members = {member_addresses[m] for m in closure(guid)}
        snapshot_groups[guid] = {"guid": guid, "dn": group["dn"], "name": group["name"],
                                 "kind": "group", "address": group["address"],
                                 "members": members}
    for guid, dn, name, primary, ddl_filter, base in lists:
        found = paged_search(conn, host, base or root, ddl_filter or "(objectClass=*)",
                             ["objectGUID"])
        members = set()
        for entry in found:
            raw = attributes_of(entry).get("objectguid", [None])[0]
            member = str(uuid.UUID(bytes_le=raw)) if raw and len(raw) == 16 else None
            if member in member_addresses:
                members.add(member_addresses[member])
        snapshot_groups[guid] = {"guid": guid, "dn": dn, "name": name, "kind": "dynamic-list",
                                 "address": primary, "members": members}
    return {"users": users, "groups": snapshot_groups, "contacts": contacts}


# --- apply ----------------------------------------------------------------------------

def key(address):
    return address.lower()


def plan(account, snapshot, settings):
    """The target account and the changes from `account` to it (target-then-diff, so
    running it again on its own result changes nothing)."""
    registered = {d.strip().rstrip(".").lower() for d in settings.get("domains", [])}

    def in_domain(address):
        return address.rpartition("@")[2].rstrip(".").lower() in registered

    def obj(kind, item):
        return {"kind": kind, "guid": item["guid"], "dn": item["dn"]}

    out_of_domain = []
    before = {key(u["address"]): u for u in account.get("users", [])}
    linked = {u["origin"]["directory-generated"].lower(): k for k, u in before.items()
              if isinstance(u.get("origin"), dict)}
    configured = settings.get("additional-attributes", [])
    target = {k: u for k, u in before.items()}
    claimed = set()
    for guid, du in sorted(snapshot["users"].items()):
        if not in_domain(du["primary"]):
            out_of_domain.append({"address": du["primary"], "role": "primary",
                                  "object": obj("user", du)})
            continue
        current = linked.get(guid)
        if current is None and key(du["primary"]) in before:
            current = key(du["primary"])  # a manual user (or an orphan) with its address
        old = before.get(current, {})
        aliases = old.get("aliases", [])
        if settings.get("link-aliases"):
            aliases = []
            for alias in du["aliases"]:
                if in_domain(alias):
                    aliases.append(alias)
                else:
                    out_of_domain.append({"address": alias, "role": "alias",
                                          "object": obj("user", du)})
        attributes = dict(old.get("attributes", {}))
        for name in configured:
            if name in du["attributes"]:
                attributes[name] = du["attributes"][name]
            else:
                attributes.pop(name, None)
        disabled = du["disabled"] if settings.get("acknowledge-disabled") else old.get("disabled", False)
        if current is not None:
            target.pop(current, None)
        target[key(du["primary"])] = {
            "address": du["primary"], "origin": {"directory-generated": guid},
            "disabled": disabled, "aliases": sorted(aliases, key=key), "attributes": attributes,
        }
        target[key(du["primary"])]["_from"] = current
        claimed.add(key(du["primary"]))

    changes = []
    for k, user in sorted(before.items()):
        origin = user.get("origin")
        if isinstance(origin, dict) and k not in claimed and not any(
                t.get("_from") == k for t in target.values()):
            guid = origin["directory-generated"]
            if settings.get("delete-users"):
                changes.append({"change": "remove-user", "address": user["address"], "guid": guid})
                target.pop(k, None)
            else:
                changes.append({"change": "unlink-user", "address": user["address"], "guid": guid})
                target[k] = dict(user, origin="manual")
    for k, user in sorted(target.items()):
        source = user.pop("_from", None)
        if not isinstance(user.get("origin"), dict) or k not in claimed:
            continue
        guid = user["origin"]["directory-generated"]
        old = before.get(source) if source else None
        if old is None:
            changes.append({"change": "add-user", "user": cloud_user(user)})
            continue
        address = user["address"]
        if key(old["address"]) != k:
            changes.append({"change": "change-user-address", "from": old["address"],
                            "to": address, "guid": guid})
        if not isinstance(old.get("origin"), dict):
            changes.append({"change": "convert-user", "address": address, "guid": guid})
        elif old["origin"]["directory-generated"].lower() != guid:
            changes.append({"change": "relink-user", "address": address,
                            "from": old["origin"]["directory-generated"], "to": guid})
        old_aliases = {key(a) for a in old.get("aliases", [])}
        new_aliases = {key(a) for a in user["aliases"]}
        changes += [{"change": "unlink-alias", "address": address, "alias": a}
                    for a in sorted(old_aliases - new_aliases)]
        changes += [{"change": "link-alias", "address": address, "alias": a}
                    for a in sorted(new_aliases - old_aliases)]
        if old.get("disabled", False) != user["disabled"]:
            changes.append({"change": "disable-user" if user["disabled"] else "enable-user",
                            "address": address})
        old_attrs = old.get("attributes", {})
        for name in sorted(set(old_attrs) | set(user["attributes"])):
            if name not in user["attributes"]:
                changes.append({"change": "clear-attribute", "address": address, "name": name})
            elif sorted(old_attrs.get(name, [])) != user["attributes"][name]:
                changes.append({"change": "set-attribute", "address": address, "name": name,
                                "values": user["attributes"][name]})

    groups_before = {g["guid"].lower(): g for g in account.get("groups", [])}
    groups_after = {}
    for guid, dg in sorted(snapshot["groups"].items()):
        if not dg["members"]:
            continue  # SPEC: a group with no mail-enabled member is not a cloud group
        address = dg["address"]
        if address and not in_domain(address):
            out_of_domain.append({"address": address, "role": "group-address",
                                  "object": obj("group", dg)})
            address = None
        group = {"guid": guid, "name": dg["name"], "kind": dg["kind"],
                 "members": sorted(dg["members"], key=key)}
        if address:
            group["address"] = address
        groups_after[guid] = group
        old = groups_before.get(guid)
        if old is None:
            changes.append({"change": "add-group", "group": group})
            continue
        if old["name"] != group["name"]:
            changes.append({"change": "rename-group", "guid": guid, "from": old["name"],
                            "to": group["name"]})
        if key(old.get("address") or "") != key(address or ""):
            changes.append({"change": "set-group-address", "guid": guid, "name": group["name"],
                            "from": old.get("address"), "to": address})
        old_members = {key(m): m for m in old.get("members", [])}
        new_members = {key(m): m for m in group["members"]}
        changes += [{"change": "remove-group-member", "guid": guid, "name": group["name"],
                     "member": old_members[m]} for m in sorted(set(old_members) - set(new_members))]
        changes += [{"change": "add-group-member", "guid": guid, "name": group["name"],
                     "member": new_members[m]} for m in sorted(set(new_members) - set(old_members))]
    for guid, old in sorted(groups_before.items()):
        if guid not in groups_after:
            changes.append({"change": "remove-group", "guid": old["guid"], "name": old["name"]})

    after = {
        "users": [cloud_user(u) for _, u in sorted(target.items())],
        "groups": [g for _, g in sorted(groups_after.items())],
        # Contacts as cloud contacts are not implemented: the account keeps its own.
        "contacts": account.get("contacts", []),
    }
    would_unlink = sum(c["change"] in ("unlink-user", "remove-user") for c in changes)
    stopped = None
    if would_unlink > settings.get("max-unlink", 50):
        stopped = {"would-unlink": would_unlink, "max-unlink": settings.get("max-unlink", 50)}
        changes, after = [], account
    return changes, after, stopped, out_of_domain


def cloud_user(user):
    out = {"address": user["address"], "origin": user["origin"], "disabled": user.get("disabled", False)}
    if user.get("aliases"):
        out["aliases"] = user["aliases"]
    if user.get("attributes"):
        out["attributes"] = user["attributes"]
    return out


COUNTS = {
    "add-user": "users-added", "convert-user": "users-converted", "relink-user": "users-relinked",
    "unlink-user": "users-unlinked", "remove-user": "users-removed",
    "disable-user": "users-disabled", "enable-user": "users-enabled",
    "add-group": "groups-added", "remove-group": "groups-removed",
}


def counts(changes, out_of_domain):
    result = {name: 0 for name in [
        "users-added", "users-converted", "users-relinked", "users-updated", "users-unlinked",
        "users-removed", "users-disabled", "users-enabled", "groups-added", "groups-updated",
        "groups-removed", "contacts-added", "contacts-updated", "contacts-removed",
        "conflicts", "out-of-domain"]}
    updated_users, updated_groups = set(), set()
    for change in changes:
        kind = change["change"]
        if kind in COUNTS:
            result[COUNTS[kind]] += 1
        elif kind in ("change-user-address", "link-alias", "unlink-alias", "set-attribute",
                      "clear-attribute"):
            updated_users.add(key(change.get("to") or change["address"]))
        else:
            updated_groups.add(change["guid"])
    result["users-updated"] = len(updated_users)
    result["groups-updated"] = len(updated_groups)
    result["out-of-domain"] = len(out_of_domain)
    return result


def report(method, host, tls, changes=(), out_of_domain=(), stopped=None, errors=()):
    return {
        "method": method, "host": host, "tls": tls,
        "counts": counts(list(changes), list(out_of_domain)),
        "stopped": stopped, "changes": list(changes), "conflicts": [],
        "out-of-domain": list(out_of_domain), "warnings": [], "errors": list(errors),
    }


# --- requests -------------------------------------------------------------------------

def sync(request, breaks):
    method = request["method"]
    account = request["account"]
    if method != "directory-connector":
        error = "this engine implements the directory connector only, not the agent"
        return {"report": report(method, None, {"tls": "not-connected"}, errors=[error]),
                "account": account}
    connector = request["connector"]
    try:
        conn, host, tls = connect_with_failover(request, connector["bind-dn"],
                                                connector["password"])
        try:
            snapshot = extract(conn, host, request, breaks)
        finally:
            try:
                conn.unbind()
            except LDAPException:
                pass  # the connection may already be gone; the snapshot decides
    except SyncFailure as failure:
        # SPEC: an extraction that did not finish applies nothing.
        return {"report": report(method, failure.host, failure.tls, errors=[str(failure)]),
                "account": account}
    changes, after, stopped, out_of_domain = plan(account, snapshot, request["settings"])
    users = len(snapshot["users"])
    return {
        "report": report(method, host, tls, changes, out_of_domain, stopped),
        # A dry run (a preview) reports its plan and applies nothing.
        "account": account if request.get("dry-run") else after,
        "extraction": f"{users} users, {len(snapshot['groups'])} groups, "
                      f"{len(snapshot['contacts'])} contacts (python-ldap3)",
    }


def sign_in(request):
    """Find the user by primary address as the service account, then bind as the user."""
    address = request["address"].strip()
    # AD binds an empty password anonymously; that must never count as a sign-in.
    if not request["password"]:
        return "wrong-password", "empty password refused"
    connector = request["connector"]
    try:
        conn, host, _ = connect_with_failover(request, connector["bind-dn"], connector["password"])
        escaped = escape_filter_chars(address)
        found = paged_search(conn, host, connector["root-dn"],
                             f"(&(objectClass=user)(|(mail={escaped})(proxyAddresses=SMTP:{escaped})))",
                             ["mail", "proxyAddresses"])
        conn.unbind()
    except SyncFailure as failure:
        return "failed", str(failure)
    matches = [e for e in found
               if key(addresses(attributes_of(e))[0] or "") == key(address)]
    if len(matches) != 1:
        return "unknown-address", f"{len(matches)} users have the primary address {address}"
    try:
        user_conn, host, _ = connect_with_failover(request, matches[0]["dn"], request["password"])
        user_conn.unbind()
    except SyncFailure as failure:
        match = re.search(r"data ([0-9a-f]{3})", str(failure))
        result = BIND_SUBCODES.get(match.group(1), ("failed", ""))[0] if match else "failed"
        return result, str(failure)
    return "signed-in", f"bound as {matches[0]['dn']} on {host}"


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--break", dest="breaks", action="append", default=[],
                        choices=["ranged-retrieval"],
                        help="misbehave on purpose, to test the test suite")
    args = parser.parse_args(argv)
    try:
        message = json.load(sys.stdin)
    except ValueError as error:
        print(f"engine.py: the request is not JSON: {error}", file=sys.stderr)
        return 2
    if message.get("contract") != CONTRACT:
        print(f"engine.py: request for contract {message.get('contract')!r}; "
              f"this engine speaks {CONTRACT!r}", file=sys.stderr)
        return 2
    kind = message.get("kind")
    if kind == "hello":
        answer = {"name": NAME + ("-broken" if args.breaks else ""), "claims": CLAIMS}
    elif kind == "sync":
        answer = {"response": sync(message["request"], set(args.breaks))}
    elif kind == "sign-in":
        result, detail = sign_in(message["request"])
        answer = {"result": result, "detail": detail}
    else:
        print(f"engine.py: unknown request kind {kind!r}", file=sys.stderr)
        return 2
    # One write: json.dump would make tens of thousands of small ones for a large account.
    sys.stdout.write(json.dumps(dict(contract=CONTRACT, **answer)) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
