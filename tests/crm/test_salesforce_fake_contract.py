"""The fake Salesforce answers what simple-salesforce parses: driven here by the client alone.

If these hold, the adapter's tests exercise the client's real parsing, not the fake's goodwill.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from simple_salesforce import Salesforce, format_soql
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceMalformedRequest,
    SalesforceMoreThanOneRecord,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)
from simple_salesforce.login import token_login

from tests.fakes.salesforce_server import EXTERNAL_ID, FakeSalesforce, id_checksum


@pytest.fixture
def fake() -> Iterator[FakeSalesforce]:
    with FakeSalesforce(query_batch_size=3) as fake:
        yield fake


@pytest.fixture
def client(fake) -> Salesforce:
    session = fake.session()
    token, instance = token_login(
        f"{fake.instance_url}/services/oauth2/token",
        {"grant_type": "client_credentials", "client_id": fake.client_id, "client_secret": fake.client_secret},
        "login",
        fake.client_id,
        None,
        None,
        session,
    )
    assert instance == fake.instance_url.removeprefix("https://")
    return Salesforce(session_id=token, instance=instance, version="59.0", session=session)


def test_it_gives_ids_with_salesforces_case_checksum():
    # The id in the REST API guide's upsert example.
    assert id_checksum("00190000001pPvH") == "AAU"


def test_create_get_update_and_delete_parse(fake, client):
    created = client.Account.create({"Name": "Acme"})
    assert (created["success"], created["errors"], len(created["id"])) == (True, [], 18)
    assert created["id"][15:] == id_checksum(created["id"][:15])

    record = client.Account.get(created["id"])
    assert record["attributes"] == {"type": "Account", "url": f"/services/data/v59.0/sobjects/Account/{created['id']}"}
    assert record["Name"] == "Acme" and record["SystemModstamp"].endswith("+0000")

    assert client.Account.update(created["id"], {"Website": "https://acme.example"}) == 204
    assert client.Account.delete(created["id"]) == 204
    with pytest.raises(SalesforceResourceNotFound) as gone:
        client.Account.get(created["id"])
    assert gone.value.content[0]["errorCode"] == "ENTITY_IS_DELETED"
    deleted = client.query_all(
        format_soql("SELECT Id, IsDeleted FROM Account WHERE Id = {}", created["id"]), include_deleted=True
    )
    assert [row["IsDeleted"] for row in deleted["records"]] == [True]  # the recycle bin


def test_upsert_by_external_id_answers_created_then_updated(fake, client):
    first = client.Contact.upsert(f"{EXTERNAL_ID}/42", {"LastName": "Vogel"}, raw_response=True)
    second = client.Contact.upsert(f"{EXTERNAL_ID}/42", {"LastName": "Vogel-Brandt"}, raw_response=True)

    assert (first.status_code, first.json()["created"]) == (201, True)
    assert (second.status_code, second.json()["created"], second.json()["id"]) == (200, False, first.json()["id"])
    assert client.Contact.get_by_custom_id(EXTERNAL_ID, "42")["LastName"] == "Vogel-Brandt"


def test_an_external_id_on_two_records_is_the_300_the_client_raises(fake, client):
    fake.add("Account", {"Name": "One", EXTERNAL_ID: "7"})
    fake.add("Account", {"Name": "Two", EXTERNAL_ID: "7"})
    with pytest.raises(SalesforceMoreThanOneRecord):
        client.Account.upsert(f"{EXTERNAL_ID}/7", {"Name": "Acme"})


def test_query_all_follows_next_records_url(fake, client):
    for n in range(7):
        fake.add("Account", {"Name": f"Company {n}"})

    first_page = client.query("SELECT Id, Name FROM Account ORDER BY Name")
    everything = client.query_all("SELECT Id, Name FROM Account ORDER BY Name")

    assert (first_page["totalSize"], first_page["done"], len(first_page["records"])) == (7, False, 3)
    assert first_page["nextRecordsUrl"].startswith("/services/data/v59.0/query/")
    assert [row["Name"] for row in everything["records"]] == [f"Company {n}" for n in range(7)]
    assert client.api_usage["api-usage"].total == 15000  # Sforce-Limit-Info parsed


def test_errors_are_lists_the_client_raises_by_status(fake, client):
    with pytest.raises(SalesforceMalformedRequest) as refused:
        client.Contact.create({"FirstName": "No last name"})
    assert refused.value.content == [
        {
            "message": "Required fields are missing: [LastName]",
            "errorCode": "REQUIRED_FIELD_MISSING",
            "fields": ["LastName"],
        }
    ]
    with pytest.raises(SalesforceMalformedRequest) as malformed:
        client.query("SELECT Id FROM Account GROUP BY Name")
    assert malformed.value.content[0]["errorCode"] == "MALFORMED_QUERY"

    fake.limit_storm(1)
    with pytest.raises(SalesforceRefusedRequest) as limited:
        client.Account.create({"Name": "Acme"})
    assert limited.value.content[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"

    fake.expire_sessions()
    with pytest.raises(SalesforceExpiredSession) as expired:
        client.Account.create({"Name": "Acme"})
    assert expired.value.content[0]["errorCode"] == "INVALID_SESSION_ID"
    assert fake.all("Account") == []
