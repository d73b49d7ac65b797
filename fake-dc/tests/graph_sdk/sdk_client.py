"""Microsoft's Graph SDK for Python (msgraph-sdk, with azure-identity) against fake-dc.

Run by fake-dc/tests/graph_sdk.rs with target/venv's interpreter. The Rust side starts
`fake-dc serve --ready-json` on fixtures/azure-tenant.yaml and passes, in FAKE_DC_READY,
its ready line; in EXPECT, what the fixture says the tenant holds. The CA fake-dc wrote
is trusted through SSL_CERT_FILE (httpx, the SDK's HTTP client) and REQUESTS_CA_BUNDLE
(azure-identity's requests transport). Prints one JSON line of findings; any assertion
failing exits non-zero.
"""

import asyncio
import base64
import json
import os
import sys
import urllib.request

from azure.core.exceptions import ClientAuthenticationError
from azure.identity import ClientSecretCredential
from kiota_abstractions.base_request_configuration import RequestConfiguration
from kiota_authentication_azure.azure_identity_authentication_provider import (
    AzureIdentityAuthenticationProvider,
)
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph.generated.users.delta.delta_request_builder import DeltaRequestBuilder
from msgraph.generated.users.users_request_builder import UsersRequestBuilder

READY = json.loads(os.environ["FAKE_DC_READY"])
EXPECT = json.loads(os.environ["EXPECT"])
GRAPH = READY["graph"]
SCOPES = ["https://graph.microsoft.com/.default"]


def credential(secret):
    # The authority host is fake-dc's; instance discovery would ask the real
    # login.microsoftonline.com whether that host is a known cloud, so it is off.
    return ClientSecretCredential(
        tenant_id=GRAPH["tenant-id"],
        client_id=EXPECT["app_id"],
        client_secret=secret,
        authority=GRAPH["authority"],
        disable_instance_discovery=True,
    )


def client(secret):
    auth = AzureIdentityAuthenticationProvider(
        credential(secret), scopes=SCOPES, allowed_hosts=["127.0.0.1"]
    )
    adapter = GraphRequestAdapter(auth)
    adapter.base_url = GRAPH["url"]
    return GraphServiceClient(request_adapter=adapter)


def control(method, path, body=None):
    ctl = READY["control"]
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(
        ctl["url"] + path,
        data=data,
        method=method,
        headers={"Authorization": "Bearer " + ctl["token"], "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req) as resp:
        return resp.read()


async def main():
    found = {}

    # Refused credentials surface as azure-identity's error with the AADSTS code.
    for secret, code in [("not-the-secret", "AADSTS7000215"),
                         ("graph-secret-old", "AADSTS7000222"),
                         ("graph-secret-revoked", "AADSTS7000215")]:
        try:
            credential(secret).get_token(*SCOPES)
        except ClientAuthenticationError as e:
            assert code in str(e), f"{secret}: {e}"
            found.setdefault("refused", []).append(code)
        else:
            raise AssertionError(f"{secret} was accepted")

    graph = client(EXPECT["secret"])

    # Every user, seven a page, following @odata.nextLink.
    query = UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(
        top=7, select=["id", "userPrincipalName", "onPremisesImmutableId", "mail"]
    )
    page = await graph.users.get(RequestConfiguration(query_parameters=query))
    pages, users = 1, list(page.value)
    while page.odata_next_link:
        page = await graph.users.with_url(page.odata_next_link).get()
        pages += 1
        users.extend(page.value)
    upns = sorted(u.user_principal_name.lower() for u in users)
    assert upns == sorted(EXPECT["upns"]), (upns, EXPECT["upns"])
    assert pages == -(-len(EXPECT["upns"]) // 7), pages
    immutable = {u.user_principal_name.lower(): u.on_premises_immutable_id for u in users}
    # Azure AD Connect's sourceAnchor: the objectGUID's bytes, base64.
    for upn, guid_hex in EXPECT["guids"].items():
        want = base64.b64encode(bytes.fromhex(guid_hex)).decode()
        assert immutable[upn] == want, (upn, immutable[upn], want)
    for upn in EXPECT["cloud_upns"]:
        assert immutable[upn] is None, (upn, immutable[upn])
    found["pages"] = pages
    found["users"] = len(users)

    # $filter and $count through the SDK's own query parameters and headers.
    query = UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(
        filter="startswith(displayName,'Alice')", count=True
    )
    config = RequestConfiguration(query_parameters=query)
    config.headers.add("ConsistencyLevel", "eventual")
    alice = await graph.users.get(config)
    assert [u.display_name for u in alice.value] == ["Alice Archer"], alice.value
    assert alice.odata_count == 1

    # Nested groups: Everyone holds Engineering, which holds Platform, which holds cchen.
    groups = await graph.groups.get()
    everyone = next(g for g in groups.value if g.display_name == "Everyone")
    nested = await graph.groups.by_group_id(everyone.id).transitive_members.get()
    nested_names = sorted(getattr(m, "display_name", None) or "" for m in nested.value)
    assert "Carol Chen" in nested_names and "Platform" in nested_names, nested_names
    found["everyone_transitive"] = len(nested.value)

    # A delta round trip: a first round to its deltaLink, a change, the changes only.
    dquery = DeltaRequestBuilder.DeltaRequestBuilderGetQueryParameters(
        select=["displayName", "mail", "userPrincipalName"], top=10
    )
    round1 = await graph.users.delta.get(RequestConfiguration(query_parameters=dquery))
    first = list(round1.value)
    while round1.odata_next_link:
        round1 = await graph.users.delta.with_url(round1.odata_next_link).get()
        first.extend(round1.value)
    assert round1.odata_delta_link, "the last page of a round carries a deltaLink"
    assert len(first) == len(EXPECT["upns"]), len(first)
    control("POST", "/changes", {"changes": [
        {"modify": {"dn": EXPECT["changed_dn"], "replace": {"mail": ["bob.b@hybrid.example.test"]}}},
        {"delete": EXPECT["deleted_dn"]},
    ]})
    round2 = await graph.users.delta.with_url(round1.odata_delta_link).get()
    changed = {u.id: u for u in round2.value}
    assert not round2.odata_next_link and round2.odata_delta_link
    mails = [u.mail for u in round2.value if u.mail]
    assert mails == ["bob.b@hybrid.example.test"], mails
    removed = [u for u in round2.value if "@removed" in (u.additional_data or {})]
    assert len(removed) == 1 and len(changed) == 2, [u.additional_data for u in round2.value]
    found["delta_changed"] = mails
    found["delta_removed"] = [u.additional_data["@removed"] for u in removed]

    # Throttling: the SDK's retry handler waits out Retry-After and succeeds.
    control("POST", "/graph/faults", {"throttle-requests": 2, "retry-after": 1})
    again = await graph.users.get()
    assert again.value, "a throttled request succeeds once retried"
    faults = json.loads(control("GET", "/graph/faults"))
    assert faults["throttle-left"] == 0, faults
    found["throttled_then_ok"] = len(again.value)

    print(json.dumps(found))


asyncio.run(main())
