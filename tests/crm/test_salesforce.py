"""The Salesforce adapter against a fake org over real HTTPS, through the real simple-salesforce.

No database: the adapter holds nothing of ours; what arrived is read back from the fake.
"""

from __future__ import annotations

import datetime as dt
import inspect
import logging
from collections.abc import Iterator
from decimal import Decimal

import pytest

from crm.base import (
    AuthRefused,
    CompanyRecord,
    ContactRecord,
    CRMAdapter,
    CRMError,
    DealRecord,
    NoteRecord,
    RateLimited,
    RecordRefused,
)
from crm.salesforce import CONCURRENT_LIMIT_WAIT, DAILY_LIMIT_WAIT, DEFAULT_CLOSE_DAYS, EXTERNAL_ID, SalesforceAdapter
from salesdept import clock
from tests.fakes.salesforce_server import FakeSalesforce


@pytest.fixture
def fake() -> Iterator[FakeSalesforce]:
    with FakeSalesforce() as fake:
        yield fake


def adapter_for(fake: FakeSalesforce, **kwargs) -> SalesforceAdapter:
    return SalesforceAdapter(
        fake.instance_url, fake.client_id, fake.client_secret, "59.0", verify=str(fake.cert_path), **kwargs
    )


@pytest.fixture
def sf(fake) -> SalesforceAdapter:
    return adapter_for(fake)


ACME = CompanyRecord(local_id=7, name="Acme GmbH", domain="acme.example", industry="Manufacturing")
LENA = ContactRecord(local_id=42, first_name="Lena", last_name="Vogel", email="lena@acme.example", title="CFO")


def a_deal(**changes) -> DealRecord:
    values = dict(
        local_id=5,
        name="Acme: finance automation",
        stage="Needs Analysis",
        amount=Decimal("12500.50"),
        currency="EUR",
        close_date=dt.date(2027, 2, 1),
        next_step="Send the proposal",
    )
    return DealRecord(**(values | changes))


def test_it_tells_which_org_it_is_connected_to(fake, sf):
    assert sf.check() == f"Acme Test Org ({fake.org_id})"
    token_request = fake.requests[0]
    assert token_request["path"] == "/services/oauth2/token"
    assert token_request["form"] == {"grant_type": "client_credentials"}  # the secret travels in Basic auth only
    assert token_request["headers"]["Authorization"].startswith("Basic ")


def test_check_names_the_objects_that_lack_our_external_id_field():
    with FakeSalesforce(without_external_id=("Task", "Opportunity")) as fake:
        sf = adapter_for(fake)
        with pytest.raises(CRMError) as caught:
            sf.check()
        assert "Opportunity, Task lack the SalesDept_Id__c field" in str(caught.value)
        assert not isinstance(caught.value, (RecordRefused, AuthRefused, RateLimited))
        # Syncing anyway stops on the first note with the same advice, not a record error per note.
        contact_id = sf.upsert_contact(LENA, company_id=None)
        with pytest.raises(CRMError, match="no SalesDept_Id__c external-id field on Task") as note:
            sf.add_note(NoteRecord(local_id=1, body="Hi", at=clock.now()), contact_id=contact_id, deal_id=None)
        assert not isinstance(note.value, RecordRefused)


def test_it_upserts_a_company_then_updates_the_same_account(fake, sf):
    account_id = sf.upsert_company(ACME)
    again = sf.upsert_company(CompanyRecord(local_id=7, name="Acme AG", domain="acme.example"))

    assert again == account_id
    [account] = fake.all("Account")
    assert account["Id"] == account_id and len(account_id) == 18 and account_id.startswith("001")
    assert (account["Name"], account["Website"], account[EXTERNAL_ID]) == ("Acme AG", "https://acme.example", "7")
    assert account["Industry"] == "Manufacturing"  # left as it was: our empty industry blanks nothing
    upserts = [r for r in fake.requests if r["method"] == "PATCH"]
    assert [r["path"] for r in upserts] == [f"/services/data/v59.0/sobjects/Account/{EXTERNAL_ID}/7"] * 2
    assert [r["status"] for r in upserts] == [201, 200]  # created, then updated (API 46.0+ answers 200)


def test_it_adopts_an_account_a_person_made_with_the_same_website(fake, sf):
    theirs = fake.add("Account", {"Name": "ACME (typed by hand)", "Website": "www.acme.example"})

    assert sf.upsert_company(ACME) == theirs
    [account] = fake.all("Account")
    assert (account["Name"], account[EXTERNAL_ID]) == ("Acme GmbH", "7")


def test_it_upserts_a_contact_on_its_account_then_updates_it(fake, sf):
    account_id = sf.upsert_company(ACME)
    contact_id = sf.upsert_contact(LENA, company_id=account_id)
    again = sf.upsert_contact(
        ContactRecord(local_id=42, first_name="Lena", last_name="Vogel-Brandt", email="lena@acme.example", title="CFO"),
        company_id=account_id,
    )

    assert again == contact_id and contact_id.startswith("003")
    [contact] = fake.all("Contact")
    assert (contact["FirstName"], contact["LastName"], contact["Email"], contact["Title"]) == (
        "Lena",
        "Vogel-Brandt",
        "lena@acme.example",
        "CFO",
    )
    assert (contact["AccountId"], contact[EXTERNAL_ID]) == (account_id, "42")


def test_a_person_without_a_company_is_a_contact_without_account(fake, sf):
    contact_id = sf.upsert_contact(ContactRecord(local_id=43, first_name="Ola", last_name="Nordmann"), company_id=None)

    assert fake.get("Contact", contact_id)["AccountId"] is None
    assert fake.all("Account") == []


def test_it_adopts_a_contact_a_person_made_with_the_same_email(fake, sf):
    theirs = fake.add("Contact", {"LastName": "Vogel", "Email": "LENA@acme.example"})

    assert sf.upsert_contact(LENA, company_id=None) == theirs
    assert len(fake.all("Contact")) == 1
    assert fake.get("Contact", theirs)[EXTERNAL_ID] == "42"


def test_it_upserts_a_deal_with_its_contact_role_then_updates_the_same_opportunity(fake, sf):
    account_id = sf.upsert_company(ACME)
    contact_id = sf.upsert_contact(LENA, company_id=account_id)

    deal_id = sf.upsert_deal(a_deal(), contact_id=contact_id, company_id=account_id)
    again = sf.upsert_deal(
        a_deal(stage="Proposal/Price Quote", amount=Decimal("14000")), contact_id=contact_id, company_id=account_id
    )

    assert again == deal_id and deal_id.startswith("006")
    [deal] = fake.all("Opportunity")
    assert (deal["Name"], deal["StageName"], deal["Amount"], deal["CurrencyIsoCode"]) == (
        "Acme: finance automation",
        "Proposal/Price Quote",
        14000.0,
        "EUR",
    )
    assert (deal["CloseDate"], deal["NextStep"], deal["AccountId"], deal[EXTERNAL_ID]) == (
        "2027-02-01",
        "Send the proposal",
        account_id,
        "5",
    )
    [role] = fake.all("OpportunityContactRole")  # one, however often the deal is synced
    assert (role["OpportunityId"], role["ContactId"], role["IsPrimary"]) == (deal_id, contact_id, True)


def test_a_deal_without_expected_close_gets_a_default_once_then_keeps_salesforces_date(fake, sf):
    contact_id = sf.upsert_contact(LENA, company_id=None)

    deal_id = sf.upsert_deal(a_deal(close_date=None), contact_id=contact_id, company_id=None)
    default = clock.today() + dt.timedelta(days=DEFAULT_CLOSE_DAYS)
    assert fake.get("Opportunity", deal_id)["CloseDate"] == default.isoformat()

    fake.edit("Opportunity", deal_id, CloseDate="2027-06-30")  # the rep sets it in Salesforce
    sf.upsert_deal(a_deal(close_date=None, next_step="Call back"), contact_id=contact_id, company_id=None)
    deal = fake.get("Opportunity", deal_id)
    assert (deal["CloseDate"], deal["NextStep"]) == ("2027-06-30", "Call back")


def test_a_single_currency_org_gets_no_currency_code(fake):
    with FakeSalesforce(multi_currency=False) as single:
        sf = adapter_for(single, multi_currency=False)
        contact_id = sf.upsert_contact(LENA, company_id=None)
        deal_id = sf.upsert_deal(a_deal(), contact_id=contact_id, company_id=None)
        assert single.get("Opportunity", deal_id)["Amount"] == 12500.5
        # Sent to such an org, the field is a record error Salesforce names.
        with pytest.raises(RecordRefused, match="No such column 'CurrencyIsoCode'"):
            adapter_for(single).upsert_deal(a_deal(local_id=6), contact_id=contact_id, company_id=None)


def test_a_note_sent_twice_is_one_completed_task_on_the_contact_and_deal(fake, sf):
    contact_id = sf.upsert_contact(LENA, company_id=None)
    deal_id = sf.upsert_deal(a_deal(), contact_id=contact_id, company_id=None)
    note = NoteRecord(local_id=900, body="Re: your invoices\n\nHappy to talk on Thursday.", at=clock.now())

    task_id = sf.add_note(note, contact_id=contact_id, deal_id=deal_id)
    assert sf.add_note(note, contact_id=contact_id, deal_id=deal_id) == task_id

    [task] = fake.all("Task")
    assert (task["Subject"], task["Description"], task["Status"]) == (
        "SalesDept: Re: your invoices",
        note.body,
        "Completed",
    )
    assert (task["WhoId"], task["WhatId"], task[EXTERNAL_ID]) == (contact_id, deal_id, "900")
    assert task["ActivityDate"] == clock.today().isoformat()


def test_a_stage_changed_in_salesforce_comes_back_in_changed_deals(fake, sf):
    contact_id = sf.upsert_contact(LENA, company_id=None)
    old_id = sf.upsert_deal(a_deal(local_id=4, name="Old deal"), contact_id=contact_id, company_id=None)
    fake.edit("Opportunity", old_id, at=clock.now() - dt.timedelta(days=2))
    deal_id = sf.upsert_deal(a_deal(stage="Proposal/Price Quote"), contact_id=contact_id, company_id=None)
    since = clock.now() - dt.timedelta(hours=1)

    fake.edit("Opportunity", deal_id, StageName="Negotiation/Review", Amount=15000.25)
    theirs = fake.add("Opportunity", {"Name": "Typed by hand", "StageName": "Closed Won", "CloseDate": "2026-12-01"})

    changed = {deal.remote_id: deal for deal in sf.changed_deals(since=since)}
    assert set(changed) == {deal_id, theirs}  # the deal unchanged for two days is not there
    assert (changed[deal_id].local_id, changed[deal_id].stage, changed[deal_id].amount) == (
        5,
        "Negotiation/Review",
        Decimal("15000.25"),
    )
    assert (changed[theirs].local_id, changed[theirs].stage, changed[theirs].amount) == (None, "Closed Won", None)
    assert changed[deal_id].modified_at >= since


def test_changed_deals_reads_every_page(fake):
    with FakeSalesforce(query_batch_size=2) as paged:
        sf = adapter_for(paged)
        contact_id = sf.upsert_contact(LENA, company_id=None)
        ids = {sf.upsert_deal(a_deal(local_id=n), contact_id=contact_id, company_id=None) for n in range(1, 6)}

        changed = sf.changed_deals(since=clock.now() - dt.timedelta(minutes=5))

        assert {deal.remote_id for deal in changed} == ids
        assert sum(1 for r in paged.requests if r["path"].startswith("/services/data/v59.0/query/01g")) == 2


def test_the_api_limit_is_rate_limited_with_a_wait(fake, sf):
    sf.check()
    fake.limit_storm(3)

    for _ in range(3):
        with pytest.raises(RateLimited) as caught:
            sf.upsert_company(ACME)
        assert caught.value.retry_after == DAILY_LIMIT_WAIT  # Salesforce sends no Retry-After for its daily limit
        assert "TotalRequests Limit exceeded" in str(caught.value)
    assert fake.all("Account") == []

    sf.upsert_company(ACME)  # the storm is over: the same call goes through
    assert len(fake.all("Account")) == 1


def test_too_many_long_requests_at_once_waits_a_minute_not_an_hour(fake, sf):
    sf.check()
    fake.limit_storm(1, "ConcurrentPerOrgLongTxn Limit exceeded.")

    with pytest.raises(RateLimited) as caught:
        sf.changed_deals(since=clock.now())
    assert caught.value.retry_after == CONCURRENT_LIMIT_WAIT < DAILY_LIMIT_WAIT


@pytest.mark.parametrize("status", [429, 503])
def test_a_throttle_with_retry_after_waits_that_long(fake, sf, status):
    sf.check()
    fake.throttle(1, status=status, retry_after="17")

    with pytest.raises(RateLimited) as caught:
        sf.upsert_contact(LENA, company_id=None)
    assert caught.value.retry_after == 17.0


@pytest.mark.parametrize(
    ("record", "message"),
    [
        (
            ContactRecord(local_id=44, first_name="Max", last_name="M", email="max@@acme"),
            "invalid email address: max@@acme",
        ),
        (ContactRecord(local_id=45, first_name="", last_name=""), "Required fields are missing: [LastName]"),
    ],
)
def test_a_refused_contact_is_record_refused_with_salesforces_message(fake, sf, record, message):
    with pytest.raises(RecordRefused) as caught:
        sf.upsert_contact(record, company_id=None)
    assert message in str(caught.value)
    assert fake.all("Contact") == []
    assert sf.upsert_contact(LENA, company_id=None)  # the next record goes on


def test_a_stage_salesforce_does_not_know_and_a_validation_rule_are_record_refused(fake, sf):
    contact_id = sf.upsert_contact(LENA, company_id=None)
    with pytest.raises(RecordRefused, match="bad value for restricted picklist field: Won-ish"):
        sf.upsert_deal(a_deal(stage="Won-ish"), contact_id=contact_id, company_id=None)

    fake.refuse_when(
        "Opportunity", lambda deal: (deal.get("Amount") or 0) > 1_000_000, "Amount needs approval", ["Amount"]
    )
    with pytest.raises(RecordRefused, match="Amount needs approval"):
        sf.upsert_deal(a_deal(amount=Decimal("2000000")), contact_id=contact_id, company_id=None)
    assert fake.all("Opportunity") == []


def test_an_expired_session_logs_in_once_more_and_goes_on(fake, sf):
    sf.upsert_company(ACME)
    fake.expire_sessions()

    sf.upsert_contact(LENA, company_id=None)

    assert fake.logins == 2
    assert [r["status"] for r in fake.requests if r["status"] == 401] == [401]
    assert len(fake.all("Contact")) == 1


def test_a_session_refused_after_a_new_login_is_auth_refused_without_looping(fake, sf):
    sf.upsert_company(ACME)
    fake.refuse_sessions()

    with pytest.raises(AuthRefused, match="INVALID_SESSION_ID"):
        sf.upsert_contact(LENA, company_id=None)
    assert fake.logins == 2  # one new login, then it stops
    assert fake.all("Contact") == []


def test_a_revoked_credential_is_auth_refused(fake, sf):
    sf.upsert_company(ACME)
    fake.revoke()

    with pytest.raises(AuthRefused, match="invalid_client"):
        sf.upsert_contact(LENA, company_id=None)
    assert fake.all("Contact") == []


def test_a_wrong_secret_is_auth_refused_at_check(fake):
    sf = SalesforceAdapter(fake.instance_url, fake.client_id, "not-the-secret", verify=str(fake.cert_path))
    with pytest.raises(AuthRefused):
        sf.check()


def test_delete_contact_removes_the_contact_and_the_tasks_we_wrote(fake, sf):
    contact_id = sf.upsert_contact(LENA, company_id=None)
    deal_id = sf.upsert_deal(a_deal(), contact_id=contact_id, company_id=None)
    sf.add_note(NoteRecord(local_id=901, body="Hello Lena", at=clock.now()), contact_id=contact_id, deal_id=deal_id)
    theirs = fake.add("Task", {"Subject": "Call", "WhoId": contact_id})  # a person's task: not ours to delete

    sf.delete_contact(contact_id)

    assert fake.all("Contact") == []
    assert [task["Id"] for task in fake.all("Task")] == [theirs]
    assert fake.all("OpportunityContactRole") == []
    assert contact_id in fake.recycle_bin  # what Salesforce keeps for 15 days
    assert fake.get("Opportunity", deal_id) is not None  # the deal stays, without the person
    sf.delete_contact(contact_id)  # erasing again (a retried run) is not an error


def test_credentials_never_appear_in_errors_or_logs(fake, sf, caplog):
    caplog.set_level(logging.DEBUG)
    texts = []
    sf.check()
    token = sf._sf.session_id
    fake.expire_sessions()
    sf.upsert_company(ACME)
    token_after = sf._sf.session_id
    for trigger, call in [
        (lambda: fake.limit_storm(1), lambda: sf.upsert_company(ACME)),
        (
            lambda: None,
            lambda: sf.upsert_contact(ContactRecord(local_id=1, first_name="", last_name=""), company_id=None),
        ),
        (fake.revoke, lambda: sf.upsert_company(ACME)),
    ]:
        trigger()
        with pytest.raises(Exception) as caught:
            call()
        texts += [str(caught.value), repr(caught.value), repr(caught.value.__cause__), repr(caught.value.__context__)]
    texts += [caplog.text, repr(sf)]

    assert "logging in again" in caplog.text  # the log was captured, and it names what happened
    for secret in (fake.client_secret, token, token_after):
        assert all(secret not in text for text in texts)


def test_a_notes_date_is_the_teams_date(fake, sf, settings):
    settings.TIME_ZONE = "Europe/Berlin"
    contact_id = sf.upsert_contact(LENA, company_id=None)
    late = dt.datetime(2026, 11, 30, 23, 30, tzinfo=dt.UTC)  # already 1 December in Berlin

    task_id = sf.add_note(NoteRecord(local_id=902, body="Late reply", at=late), contact_id=contact_id, deal_id=None)

    task = fake.get("Task", task_id)
    assert (task["ActivityDate"], task["WhatId"]) == ("2026-12-01", None)


def test_it_implements_every_method_of_the_contract_with_its_signature():
    for name, member in vars(CRMAdapter).items():
        if callable(member) and not name.startswith("_"):
            mine = inspect.signature(getattr(SalesforceAdapter, name), eval_str=True)
            assert mine == inspect.signature(member, eval_str=True), name
    assert SalesforceAdapter.name == "salesforce"


def test_a_lead_costs_a_few_api_calls_of_the_orgs_daily_allowance(fake, sf):
    def sync_once() -> int:
        before = len(fake.requests)
        account_id = sf.upsert_company(ACME)
        contact_id = sf.upsert_contact(LENA, company_id=account_id)
        deal_id = sf.upsert_deal(a_deal(), contact_id=contact_id, company_id=account_id)
        sf.add_note(NoteRecord(local_id=903, body="Hello", at=clock.now()), contact_id=contact_id, deal_id=deal_id)
        return sum(1 for r in fake.requests[before:] if r["path"].startswith("/services/data/"))

    # company: look for a hand-made twin + upsert; contact: the same; deal: upsert + its contact
    # role looked up (and made once); note: one upsert.
    assert sync_once() == 8
    assert sync_once() == 7
    assert fake.logins == 1  # one token for the run
