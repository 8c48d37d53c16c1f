"""Salesforce wired into the CRM sync: connected through its page, synced against a fake org over
HTTPS through the real simple-salesforce, stages coming back, a limit storm, an erasure."""

import datetime as dt
import json
import logging
from decimal import Decimal
from unittest import mock

import pytest
from django.db import connection as db

from crm.adapters import adapter_for
from crm.base import CRMError
from crm.models import CRMConnection, FieldMapping, SyncRecord, SyncRun
from crm.salesforce import DEFAULT_CLOSE_DAYS, EXTERNAL_ID, SalesforceAdapter
from crm.sync import sync_run
from crm.tasks import crm_sync_task
from deals.models import Deal, DealStage
from deals.services import deal_move, deal_open
from leads.models import Activity, Lead
from salesdept import clock
from tests.crm.conftest import conversation
from tests.factories import CompanyFactory
from tests.fakes.salesforce_server import FakeSalesforce

pytestmark = pytest.mark.django_db
URL = "/settings/crm/salesforce/"
S = Lead.Status


@pytest.fixture
def fake(settings):
    with FakeSalesforce() as fake:
        settings.SALESFORCE_CA_BUNDLE = str(fake.cert_path)  # trust the fake's certificate, as a proxy's CA
        yield fake


@pytest.fixture
def manager(client, bob):
    client.force_login(bob)
    return client


def form(fake: FakeSalesforce, action: str, **changes) -> dict:
    values = {
        "instance_url": fake.instance_url,
        "client_id": fake.client_id,
        "client_secret": fake.client_secret,
        "multi_currency": "on",
        "action": action,
    }
    return {key: value for key, value in (values | changes).items() if value is not None}


@pytest.fixture
def connection(manager, fake) -> CRMConnection:
    """Connected the way a manager does it: Test connection, then Save."""
    tested = manager.post(f"{URL}connect/", form(fake, "test"))
    assert tested.status_code == 200
    assert f"Connected as Acme Test Org ({fake.org_id})." in tested.content.decode()
    assert not CRMConnection.objects.exists()  # a test stores nothing
    saved = manager.post(f"{URL}connect/", form(fake, "save"))
    assert saved.status_code == 302 and saved["Location"] == URL
    return CRMConnection.objects.get(kind="salesforce")


@pytest.fixture
def lena(alice):
    """A person we wrote to (one sent message) at a company, with a deal at "Proposal sent"."""
    acme = CompanyFactory(name="Acme Ledger", domain="acme-ledger.example", industry="Finance")
    lead = conversation(alice, email="lena@acme-ledger.example", company=acme)
    Lead.objects.filter(pk=lead.pk).update(status=S.INTERESTED)
    lead.refresh_from_db()
    deal = deal_open(lead=lead, actor=alice, value=Decimal("12000"), currency="EUR", next_step="Send the deck")
    deal_move(deal=deal, stage=DealStage.objects.get(name="Proposal sent"), actor=alice)
    return lead


def writes(fake: FakeSalesforce, start: int = 0) -> list[tuple[str, str]]:
    """What the org's data took (logins and refused writes left out) from request `start` on."""
    return [
        (r["method"], r["path"])
        for r in fake.requests[start:]
        if r["method"] in ("POST", "PATCH", "DELETE") and r["path"].startswith("/services/data/") and r["status"] < 300
    ]


def only(items: list):
    assert len(items) == 1, items
    return items[0]


def stored_credentials() -> str:
    with db.cursor() as cursor:
        cursor.execute("SELECT credentials FROM crm_crmconnection")
        return cursor.fetchone()[0]


# The connection and its page.


def test_the_page_stores_the_connected_app_encrypted_with_salesforce_defaults(manager, connection, fake):
    assert json.loads(connection.credentials) == {
        "instance_url": fake.instance_url,
        "client_id": fake.client_id,
        "client_secret": fake.client_secret,
        "multi_currency": True,
    }
    assert fake.client_secret not in stored_credentials() and fake.client_id not in stored_credentials()
    assert connection.connected_as == f"Acme Test Org ({fake.org_id})"
    fields = dict(connection.mappings.filter(kind="contact").values_list("ours", "theirs"))
    assert fields == {"first_name": "FirstName", "last_name": "LastName", "email": "Email", "position": "Title"}
    stages = {
        DealStage.objects.get(pk=int(ours)).name: theirs
        for ours, theirs in connection.mappings.filter(kind="stage").values_list("ours", "theirs")
    }
    assert stages == {
        "Meeting": "Prospecting",
        "Needs assessed": "Needs Analysis",
        "Proposal sent": "Proposal/Price Quote",
        "Negotiation": "Negotiation/Review",
        "Won": "Closed Won",
        "Lost": "Closed Lost",
    }
    page = manager.get(URL).content.decode()
    assert 'name="client_secret"' in page and 'type="password"' in page and fake.client_secret not in page
    assert "Consumer secret</dt><dd>set (never shown again)" in page
    assert "SalesDept_Id__c" in page and "Enable Client Credentials Flow" in page and "Run As user" in page
    # The mapping page shows Salesforce's stage values and saves them as they are (spaces, slashes).
    mapping = manager.get(f"{URL}mapping/").content.decode()
    assert 'value="Proposal/Price Quote"' in mapping
    won = DealStage.objects.get(name="Won")
    assert manager.post(
        f"{URL}mapping/save/", {f"stage_{won.pk}": "Closed Won", "field_email": "Email"}
    ).status_code == (302)
    assert manager.post(f"{URL}mapping/save/", {f"stage_{won.pk}": "Closed <Won>"}).status_code == 400


def test_a_blank_secret_keeps_the_stored_one_and_a_new_key_replaces_the_old(manager, connection, fake):
    response = manager.post(f"{URL}connect/", form(fake, "save", client_secret="", multi_currency=None))
    assert response.status_code == 302
    connection.refresh_from_db()
    stored = json.loads(connection.credentials)
    assert (stored["client_secret"], stored["multi_currency"]) == (fake.client_secret, False)
    # A wrong secret typed in: refused by Salesforce, nothing stored, nothing shown back.
    refused = manager.post(f"{URL}connect/", form(fake, "save", client_secret="wrong-secret-4711"))
    page = refused.content.decode()
    assert refused.status_code == 200 and "The credentials were refused" in page
    assert "wrong-secret-4711" not in page and fake.client_secret not in page
    connection.refresh_from_db()
    assert json.loads(connection.credentials)["client_secret"] == fake.client_secret


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"instance_url": "http://acme.my.salesforce.com"}, "must start with https://"),
        ({"instance_url": "https://acme.my.salesforce.com/lightning/page"}, "without a path"),
        ({"instance_url": "https://user:pw@acme.my.salesforce.com"}, "host only"),
        ({"instance_url": "https://acme.example:port"}, "not a URL"),
        ({"instance_url": ""}, "Enter the org"),
        ({"client_id": "3MVG9 with spaces"}, "no spaces"),
        ({"client_secret": ""}, "none is stored yet"),
        ({"action": "drop"}, "Select a valid choice"),
    ],
)
def test_bad_input_is_a_400_with_the_reason_and_no_secret_back(manager, fake, changes, message):
    response = manager.post(f"{URL}connect/", form(fake, "save") | changes)
    page = response.content.decode()
    assert response.status_code == 400 and message in page
    assert fake.client_secret not in page
    assert not CRMConnection.objects.exists() and fake.logins == 0  # nothing sent to Salesforce either


def test_a_malformed_stored_value_is_a_clear_error_without_the_secret(fake, connection):
    secret = fake.client_secret
    broken = [
        f"not json {secret}",
        json.dumps([secret]),
        json.dumps({"client_id": "k", "client_secret": secret}),
        json.dumps({"instance_url": "http://x.example", "client_id": "k", "client_secret": secret}),
        json.dumps({"instance_url": fake.instance_url, "client_id": "k", "client_secret": secret, "multi_currency": 1}),
    ]
    reasons = []
    for value in broken:
        with pytest.raises(CRMError) as caught:
            adapter_for(CRMConnection(kind="salesforce", credentials=value))
        assert secret not in str(caught.value) and "connect Salesforce again" in str(caught.value)
        reasons.append(str(caught.value).split("(")[1].split(")")[0])
    assert reasons == [
        "not JSON",
        "not a JSON object",
        "missing instance_url",
        "instance_url: it must start with https://",
        "multi_currency is not true or false",
    ]
    # A sync of such a connection fails with that message and calls nobody.
    CRMConnection.objects.filter(pk=connection.pk).update(credentials=broken[0])
    connection.refresh_from_db()
    calls = len(fake.requests)
    run = sync_run(connection)
    assert run.status == "failed" and "not readable (not JSON)" in run.error and secret not in run.error
    assert len(fake.requests) == calls


def test_the_ca_bundle_setting_decides_what_is_trusted(fake, connection, settings):
    adapter = adapter_for(connection)
    assert isinstance(adapter, SalesforceAdapter) and adapter.multi_currency is True
    assert adapter.check() == f"Acme Test Org ({fake.org_id})"
    settings.SALESFORCE_CA_BUNDLE = ""  # the system's CAs: the fake's self-signed certificate is refused
    with pytest.raises(CRMError, match="could not be reached"):
        adapter_for(connection).check()


# The sync.


def test_a_first_run_sends_company_contact_deal_and_note_once_and_a_second_sends_nothing(connection, fake, lena, later):
    run = sync_run(connection)

    run.refresh_from_db()
    assert (run.status, run.created, run.updated, run.failed) == ("done", 4, 0, 0)
    deal = Deal.objects.get(lead=lena)
    account = only(fake.all("Account"))
    contact = only(fake.all("Contact"))
    opportunity = only(fake.all("Opportunity"))
    task = only(fake.all("Task"))
    assert (account["Name"], account["Website"], account[EXTERNAL_ID]) == (
        "Acme Ledger", "https://acme-ledger.example", str(lena.company_id),
    )  # fmt: skip
    assert (contact["Email"], contact["LastName"], contact["Title"], contact["AccountId"]) == (
        "lena@acme-ledger.example", lena.last_name, lena.position, account["Id"],
    )  # fmt: skip
    assert contact[EXTERNAL_ID] == str(lena.pk)
    assert (opportunity["StageName"], opportunity[EXTERNAL_ID], opportunity["AccountId"]) == (
        "Proposal/Price Quote", str(deal.pk), account["Id"],
    )  # fmt: skip
    assert Decimal(str(opportunity["Amount"])) == Decimal("12000") and opportunity["NextStep"] == "Send the deck"
    # No expected close here: Salesforce requires one, so a new opportunity gets a month out.
    assert opportunity["CloseDate"] == (clock.today() + dt.timedelta(DEFAULT_CLOSE_DAYS)).isoformat()
    role = only(fake.all("OpportunityContactRole"))
    assert (role["OpportunityId"], role["ContactId"], role["IsPrimary"]) == (opportunity["Id"], contact["Id"], True)
    assert (task["WhoId"], task["WhatId"], task["Status"]) == (contact["Id"], opportunity["Id"], "Completed")
    assert task["Description"].startswith("Sent by Alice Rivera") and f"Hi {lena.first_name}" in task["Description"]
    data = "/services/data/v59.0/sobjects"
    assert sorted(writes(fake)) == sorted(
        [
            ("PATCH", f"{data}/Account/{EXTERNAL_ID}/{lena.company_id}"),
            ("PATCH", f"{data}/Contact/{EXTERNAL_ID}/{lena.pk}"),
            ("PATCH", f"{data}/Opportunity/{EXTERNAL_ID}/{deal.pk}"),
            ("POST", f"{data}/OpportunityContactRole/"),
            ("PATCH", f"{data}/Task/{EXTERNAL_ID}/{Activity.objects.get(lead=lena, verb='message.sent').pk}"),
        ]
    )

    later(16)
    calls = len(fake.requests)
    again = sync_run(connection)
    again.refresh_from_db()
    assert (again.status, again.created, again.updated, again.failed) == ("done", 0, 0, 0)
    assert writes(fake, calls) == []  # nothing new went out: only the query for Salesforce's own changes
    assert len(fake.all("Task")) == 1 and len(fake.all("Contact")) == 1


def test_a_deal_closed_won_in_salesforce_is_won_here_and_the_lead_follows(connection, fake, lena, later):
    sync_run(connection)
    opportunity = only(fake.all("Opportunity"))
    later(10)
    fake.edit("Opportunity", opportunity["Id"], StageName="Closed Won")
    later(6)

    run = sync_run(connection)

    deal = Deal.objects.select_related("stage", "lead").get(lead=lena)
    assert (deal.stage.name, deal.is_closed, deal.lead.status) == ("Won", True, S.WON)
    run.refresh_from_db()
    assert run.pulled == 1
    later(16)
    again = sync_run(connection)
    assert again.pulled == 0 and fake.get("Opportunity", opportunity["Id"])["StageName"] == "Closed Won"


def test_a_request_limit_storm_retries_the_task_with_the_countdown_and_loses_nothing(
    connection, fake, lena, eager, settings
):
    settings.CRM_RETRY_MAX_SECONDS = 900
    fake.limit_storm(2, "ConcurrentPerOrgLongTxn Limit exceeded.")  # too many long requests: a minute
    with mock.patch.object(crm_sync_task, "retry", wraps=crm_sync_task.retry) as retry:
        crm_sync_task.delay(connection.pk)

    assert [call.kwargs["countdown"] for call in retry.call_args_list] == [60.0, 60.0]
    run = only(list(SyncRun.objects.all()))  # one run, resumed after each wait
    assert (run.status, run.rate_limit_waits, run.created) == ("done", 2, 4)
    assert [r["status"] for r in fake.requests].count(403) == 2
    assert [len(fake.all(obj)) for obj in ("Account", "Contact", "Opportunity", "Task")] == [1, 1, 1, 1]

    fake.limit_storm(1)  # the org's rolling daily allowance: an hour asked, capped by our setting
    Lead.objects.filter(pk=lena.pk).update(position="VP Finance")
    with mock.patch.object(crm_sync_task, "retry", wraps=crm_sync_task.retry) as retry:
        crm_sync_task.delay(connection.pk, True)
    assert [call.kwargs["countdown"] for call in retry.call_args_list] == [900.0]  # 3600 s asked, 900 at most
    assert only(fake.all("Contact"))["Title"] == "VP Finance"


def test_erasing_a_person_deletes_their_contact_and_tasks_in_salesforce(
    connection, fake, lena, carol, eager, later, django_capture_on_commit_callbacks
):
    from leads.privacy import lead_erase

    sync_run(connection)
    contact_id = only(fake.all("Contact"))["Id"]
    task_id = only(fake.all("Task"))["Id"]

    with django_capture_on_commit_callbacks(execute=True):
        lead_erase(lead=lena, actor=carol, reason="Asked by email")

    assert fake.all("Contact") == [] and fake.all("Task") == []
    assert contact_id in fake.recycle_bin and task_id in fake.recycle_bin  # Salesforce's 15 days
    assert fake.all("OpportunityContactRole") == []
    logged = Activity.objects.get(lead=lena, verb="privacy.crm_erased")
    assert logged.payload == {"erased": ["Salesforce"], "unreached": []}
    assert SyncRecord.objects.get(kind="contact", local_id=lena.pk).state == "erased"
    later(16)
    sync_run(connection, full=True)  # even a full run leaves the emptied person out
    assert fake.all("Contact") == [] and fake.all("Task") == []


def test_the_consumer_secret_never_appears_in_pages_or_logs(manager, fake, lena, caplog, later):
    caplog.set_level(logging.DEBUG)
    pages = [manager.post(f"{URL}connect/", form(fake, action)) for action in ("test", "save")]
    connection = CRMConnection.objects.get()
    sync_run(connection)
    fake.revoke()  # refused credentials: the run's error and the managers' notice name no secret
    later(16)
    refused = sync_run(connection)
    pages += [
        manager.get(URL),
        manager.get(f"{URL}mapping/"),
        manager.get("/settings/crm/"),
        manager.get(f"/leads/{lena.pk}/"),
        manager.post(f"{URL}connect/", form(fake, "save", instance_url="ftp://x")),
    ]
    assert refused.status == "failed" and "refused" in refused.error
    assert [page.status_code for page in pages] == [200, 302, 200, 200, 200, 200, 400]
    for page in pages:
        assert fake.client_secret not in page.content.decode()
    assert caplog.records and fake.client_secret not in caplog.text
    connection.refresh_from_db()
    assert fake.client_secret not in f"{connection.health_reason} {refused.error} {refused.notes}"
    assert fake.client_secret not in str(list(FieldMapping.objects.values_list("theirs", flat=True)))
