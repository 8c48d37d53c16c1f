"""Google Sheets sync: the real gspread client over HTTP to a local fake of the token endpoint and Sheets API."""

import datetime as dt
import json
import logging
import threading

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.exceptions import ValidationError
from django.utils import timezone

from leads import sheets
from leads.models import Activity, Lead, SheetSync
from leads.sheets import (
    DEFAULT_SHEET_COLUMNS,
    SHEET_COLUMNS,
    SheetsRetryLater,
    service_account_email,
    sheet_columns_validate,
    sheet_sync_configure,
    sheet_sync_request,
    sheet_sync_run,
)
from leads.tasks import sheet_sync_task, sheets_sync_all_task
from tests.factories import CampaignFactory, LeadFactory
from tests.fakes.sheets_server import FakeSheets

pytestmark = pytest.mark.django_db

KEY = "1BxiMVs0XRA5nFMdKvBdBZjgmUUqptlbs74OgvE2upms"
URL = f"https://docs.google.com/spreadsheets/d/{KEY}/edit#gid=0"
EMAIL = "sales-sync@salesdept-test.iam.gserviceaccount.com"


@pytest.fixture(scope="module")
def private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def key_fragment(key: rsa.RSAPrivateKey) -> str:
    """A line from the middle of the PEM: found in a text only if the key leaked into it."""
    return pem(key).splitlines()[5]


@pytest.fixture
def fake(settings, private_key):
    with FakeSheets() as fake:
        fake.trust(EMAIL, private_key.public_key())
        fake.add_spreadsheet(KEY, editors=[EMAIL])
        settings.GOOGLE_SERVICE_ACCOUNT_KEY = json.dumps(
            {
                "type": "service_account",
                "project_id": "salesdept-test",
                "private_key_id": "0123456789abcdef",
                "private_key": pem(private_key),
                "client_email": EMAIL,
                "client_id": "1234567890",
                "token_uri": fake.token_uri,
            }
        )
        settings.SHEETS_API_URL = fake.base_url
        yield fake


@pytest.fixture
def sync(campaign, bob) -> SheetSync:
    return sheet_sync_configure(
        campaign=campaign, spreadsheet=URL, worksheet="Leads", columns=[], enabled=True, actor=bob
    )


def ids_in_sheet(fake: FakeSheets) -> list:
    return [row[0] for row in fake.rows(KEY, "Leads")[1:] if row]


def test_it_writes_the_header_and_every_lead_on_the_first_sync(fake, sync, campaign, alice):
    leads = [LeadFactory(campaign=campaign, owner=alice) for _ in range(3)]
    LeadFactory()  # another campaign's lead stays out

    assert sheet_sync_run(campaign_id=campaign.pk) == 3

    rows = fake.rows(KEY, "Leads")
    assert rows[0] == [SHEET_COLUMNS[c] for c in DEFAULT_SHEET_COLUMNS]
    assert [row[0] for row in rows[1:]] == [lead.pk for lead in leads]
    first = dict(zip(DEFAULT_SHEET_COLUMNS, rows[1], strict=False))
    assert first["first_name"] == leads[0].first_name
    assert first["company"] == leads[0].company.name
    assert first["score"] == 70
    assert first["status"] == "Qualified"
    assert first["owner"] == "Alice Rivera"
    assert fake.sheet(KEY, "Leads")["properties"]["gridProperties"]["frozenRowCount"] == 1
    sync.refresh_from_db()
    assert (sync.status, sync.rows_synced, sync.last_error) == (SheetSync.Status.OK, 3, "")
    assert sync.last_synced_at is not None


def test_it_creates_the_worksheet_and_writes_raw_values(fake, sync, campaign):
    LeadFactory(campaign=campaign, first_name="=IMPORTXML(evil)")
    sheet_sync_run(campaign_id=campaign.pk)

    assert [c["json"]["requests"][0] for c in fake.calls("write", ":batchUpdate") if "/values" not in c["path"]][0][
        "addSheet"
    ]["properties"]["title"] == "Leads"
    writes = [c for c in fake.calls("write") if "/values" in c["path"]]
    assert writes and all(
        (c["json"] or {}).get("valueInputOption", c["query"].get("valueInputOption")) == "RAW" for c in writes
    )
    assert fake.rows(KEY, "Leads")[1][1] == "=IMPORTXML(evil)"  # stored as text, never run as a formula


def test_it_updates_rows_in_place_and_appends_new_leads_even_after_a_person_sorted_the_sheet(fake, sync, campaign):
    leads = [LeadFactory(campaign=campaign) for _ in range(4)]
    sheet_sync_run(campaign_id=campaign.pk)
    header, *body = fake.rows(KEY, "Leads")
    # Someone sorts the sheet by id, descending, adds a note column and leaves a blank row.
    notes = [[*row, *[""] * (len(header) - len(row)), "call back"] for row in body]  # right of our columns
    sorted_rows = sorted(notes, key=lambda r: r[0], reverse=True)
    fake.set_rows(KEY, "Leads", [header, sorted_rows[0], [], *sorted_rows[1:]])
    Lead.objects.filter(pk=leads[1].pk).update(first_name="Renamed", score=95)
    newcomers = [LeadFactory(campaign=campaign) for _ in range(2)]

    assert sheet_sync_run(campaign_id=campaign.pk) == 6

    rows = fake.rows(KEY, "Leads")
    ids = [row[0] for row in rows[1:] if row]
    assert sorted(ids) == sorted(lead.pk for lead in [*leads, *newcomers])  # no duplicates
    assert ids[-2:] == [newcomers[0].pk, newcomers[1].pk]  # appended after the last row
    renamed = next(row for row in rows if row and row[0] == leads[1].pk)
    assert rows.index(renamed) == 4  # where the person's sort put it
    assert renamed[1] == "Renamed"
    assert renamed[DEFAULT_SHEET_COLUMNS.index("score")] == 95
    assert renamed[-1] == "call back"  # the person's note beside it is kept
    assert rows[2] == []  # the blank row too


def test_it_writes_the_configured_columns_in_their_order(fake, campaign, bob):
    sheet_sync_configure(
        campaign=campaign,
        spreadsheet=KEY,
        worksheet="Export",
        columns=["email", "first_name", "score"],
        enabled=True,
        actor=bob,
    )
    fake.add_spreadsheet(KEY, worksheets=("Export",), editors=[EMAIL])
    lead = LeadFactory(campaign=campaign, email="lena@fintech.example", first_name="Lena", score=81)

    sheet_sync_run(campaign_id=campaign.pk)

    assert fake.rows(KEY, "Export") == [
        ["ID", "Email", "First name", "Score"],
        [lead.pk, "lena@fintech.example", "Lena", 81],
    ]


def test_it_rewrites_the_header_when_the_columns_change(fake, sync, campaign, bob):
    lead = LeadFactory(campaign=campaign, email="omar@bank.example")
    sheet_sync_run(campaign_id=campaign.pk)
    sheet_sync_configure(
        campaign=campaign, spreadsheet=KEY, worksheet="Leads", columns=["email"], enabled=True, actor=bob
    )

    sheet_sync_run(campaign_id=campaign.pk)

    rows = fake.rows(KEY, "Leads")
    assert rows[0][:2] == ["ID", "Email"]
    assert rows[1][:2] == [lead.pk, "omar@bank.example"]
    assert len(rows) == 2


def test_it_syncs_2000_leads_in_a_few_batched_requests(fake, sync, campaign, django_assert_max_num_queries):
    LeadFactory.create_batch(2000, campaign=campaign, company=None)

    with django_assert_max_num_queries(4):  # the sync, its claim, the leads, the result
        assert sheet_sync_run(campaign_id=campaign.pk) == 2000

    calls = fake.calls("api")
    appends = fake.calls("write", ":append")
    # spreadsheets.get twice (open, worksheet), add the sheet, column A, header, freeze, 4 appends of 500.
    assert len(calls) == 10
    assert [len(c["json"]["values"]) for c in appends] == [500, 500, 500, 500]
    assert len(fake.calls("token")) == 1
    assert len(fake.rows(KEY, "Leads")) == 2001

    fake.requests.clear()
    LeadFactory.create_batch(10, campaign=campaign, company=None)
    sheet_sync_run(campaign_id=campaign.pk)

    updates = fake.calls("write", "/values:batchUpdate")
    assert [len(c["json"]["data"]) for c in updates] == [500, 500, 500, 500, 1]  # header + 2000 rows in place
    assert [len(c["json"]["values"]) for c in fake.calls("write", ":append")] == [10]
    assert len(fake.calls("api")) == 2 + 1 + 5 + 1
    assert len(fake.rows(KEY, "Leads")) == 2011


def test_it_paces_requests_within_the_per_minute_quota(fake, sync, campaign, settings, monkeypatch):
    settings.SHEETS_REQUESTS_PER_MINUTE = 3
    now = [1000.0]
    slept = []

    def sleep(seconds):
        slept.append(seconds)
        now[0] += seconds

    monkeypatch.setattr(sheets, "_clock", lambda: now[0])
    monkeypatch.setattr(sheets, "_sleep", sleep)
    LeadFactory.create_batch(3, campaign=campaign)

    sheet_sync_run(campaign_id=campaign.pk)

    assert len(fake.calls("api")) == 7  # open, worksheet, add it, column A, header, freeze, append
    assert len(slept) == 2 and all(0 < s <= 60 for s in slept)  # the 4th and the 7th waited for the minute


def test_it_retries_on_429_with_the_status_visible_then_succeeds(fake, sync, campaign):
    LeadFactory.create_batch(2, campaign=campaign)
    fake.fail_next(1, status=429)

    with pytest.raises(SheetsRetryLater):
        sheet_sync_run(campaign_id=campaign.pk)
    sync.refresh_from_db()
    assert sync.status == SheetSync.Status.RETRYING
    assert "quota" in sync.last_error and "Trying again" in sync.last_error

    fake.fail_next(2, status=503)
    result = sheet_sync_task.apply(args=[campaign.pk])  # eager: each retry runs at once, the backoff skipped

    assert result.successful() and result.result == 2
    assert len([r for r in fake.requests if r["status"] in (429, 503)]) == 3
    sync.refresh_from_db()
    assert (sync.status, sync.last_error, sync.rows_synced) == (SheetSync.Status.OK, "", 2)
    assert len(ids_in_sheet(fake)) == 2


def test_it_gives_up_after_its_retries_and_says_so(fake, sync, campaign):
    LeadFactory(campaign=campaign)
    fake.fail_next(100, status=429)

    result = sheet_sync_task.apply(args=[campaign.pk])

    assert result.successful() and result.result == 0
    assert len(fake.calls("api")) == 7  # the first try and six retries
    sync.refresh_from_db()
    assert sync.status == SheetSync.Status.FAILED
    assert "Gave up" in sync.last_error


def test_it_fails_without_retry_when_the_sheet_is_not_shared(fake, sync, campaign):
    fake.add_spreadsheet(KEY, editors=[])  # shared with nobody
    LeadFactory(campaign=campaign)

    result = sheet_sync_task.apply(args=[campaign.pk])

    assert result.successful() and result.result == 0
    assert len(fake.calls("api")) == 1
    sync.refresh_from_db()
    assert sync.status == SheetSync.Status.FAILED
    assert f"Share the sheet with {EMAIL} as an Editor" in sync.last_error
    assert Activity.objects.filter(verb="campaign.sheet_sync_failed", campaign=campaign).exists()


def test_it_fails_clearly_when_the_sheet_is_shared_read_only(fake, sync, campaign):
    fake.add_spreadsheet(KEY, worksheets=("Leads",), viewers=[EMAIL])
    LeadFactory(campaign=campaign)

    assert sheet_sync_run(campaign_id=campaign.pk) == 0

    sync.refresh_from_db()
    assert sync.status == SheetSync.Status.FAILED
    assert EMAIL in sync.last_error and "Editor" in sync.last_error


def test_it_fails_clearly_when_the_sheet_does_not_exist(fake, campaign, bob):
    sheet_sync_configure(
        campaign=campaign, spreadsheet="9" * 44, worksheet="Leads", columns=[], enabled=True, actor=bob
    )
    assert sheet_sync_run(campaign_id=campaign.pk) == 0
    sync = SheetSync.objects.get(campaign=campaign)
    assert sync.status == SheetSync.Status.FAILED
    assert "cannot find this spreadsheet" in sync.last_error and EMAIL in sync.last_error


@pytest.mark.parametrize(
    "spreadsheet",
    ["https://example.com/spreadsheets/d/" + KEY, "my sheet", "https://docs.google.com/document/d/" + KEY, ""],
)
def test_it_refuses_an_address_that_is_not_a_sheet(campaign, bob, spreadsheet):
    with pytest.raises(ValidationError) as error:
        sheet_sync_configure(
            campaign=campaign, spreadsheet=spreadsheet, worksheet="Leads", columns=[], enabled=True, actor=bob
        )
    assert "spreadsheet" in error.value.message_dict
    assert not SheetSync.objects.exists()


def test_it_refuses_unknown_and_repeated_columns():
    with pytest.raises(ValidationError, match="Unknown columns: salary, phone. Choose from: id, first_name"):
        sheet_columns_validate(["email", "salary", "phone"])
    with pytest.raises(ValidationError, match="Each column once: email"):
        sheet_columns_validate(["email", "email"])
    assert sheet_columns_validate(["email", "id", "score"]) == ["id", "email", "score"]
    assert sheet_columns_validate([]) == []


def test_configure_stores_the_key_and_records_who_did_it(campaign, bob):
    sync = sheet_sync_configure(
        campaign=campaign, spreadsheet=f"  {URL}  ", worksheet="", columns=["score"], enabled=True, actor=bob
    )
    assert (sync.spreadsheet, sync.worksheet, sync.columns) == (KEY, "Leads", ["id", "score"])
    activity = Activity.objects.get(verb="campaign.sheet_configured")
    assert (activity.actor, activity.campaign, activity.payload["spreadsheet"]) == (bob, campaign, KEY)

    with pytest.raises(ValidationError) as error:
        sheet_sync_configure(
            campaign=campaign, spreadsheet=KEY, worksheet="L", columns=["nope"], enabled=True, actor=bob
        )
    assert "columns" in error.value.message_dict
    sync.refresh_from_db()
    assert sync.columns == ["id", "score"]  # nothing stored is lost


def test_a_sync_that_finds_another_running_leaves_it_alone(fake, sync, campaign):
    SheetSync.objects.filter(pk=sync.pk).update(status=SheetSync.Status.RUNNING, claimed_at=timezone.now())

    assert sheet_sync_run(campaign_id=campaign.pk) == 0

    assert fake.requests == []
    sync.refresh_from_db()
    assert sync.status == SheetSync.Status.RUNNING


def test_a_run_whose_worker_died_is_taken_over(fake, sync, campaign, settings):
    LeadFactory.create_batch(2, campaign=campaign)
    long_ago = timezone.now() - dt.timedelta(minutes=settings.SHEET_SYNC_STALE_MINUTES + 1)
    SheetSync.objects.filter(pk=sync.pk).update(status=SheetSync.Status.RUNNING, claimed_at=long_ago)

    assert sheet_sync_request(campaign=campaign) is True  # not stuck "running" forever
    assert sheet_sync_run(campaign_id=campaign.pk) == 2

    sync.refresh_from_db()
    assert sync.status == SheetSync.Status.OK and sync.claimed_at > long_ago


@pytest.mark.django_db(transaction=True)
def test_two_syncs_at_once_one_runs(fake, campaign, bob):
    sheet_sync_configure(campaign=campaign, spreadsheet=KEY, worksheet="Leads", columns=[], enabled=True, actor=bob)
    LeadFactory.create_batch(3, campaign=campaign)
    fake.gate = threading.Event()  # the first sync waits inside its first API call
    results = []
    first = threading.Thread(target=lambda: results.append(sheet_sync_run(campaign_id=campaign.pk)))
    first.start()
    while not fake.calls("api"):
        first.join(0.01)

    second = sheet_sync_run(campaign_id=campaign.pk)
    fake.gate.set()
    first.join(10)

    assert (second, results) == (0, [3])
    assert sorted(ids_in_sheet(fake)) == sorted(Lead.objects.filter(campaign=campaign).values_list("pk", flat=True))


def test_request_queues_once_on_commit(fake, sync, campaign, bob, django_capture_on_commit_callbacks, monkeypatch):
    queued = []
    monkeypatch.setattr(sheet_sync_task, "delay_on_commit", lambda campaign_id: queued.append(campaign_id))

    assert sheet_sync_request(campaign=campaign, actor=bob) is True
    assert sheet_sync_request(campaign=campaign, actor=bob) is False  # already queued

    assert queued == [campaign.pk]
    sync.refresh_from_db()
    assert sync.status == SheetSync.Status.QUEUED
    assert Activity.objects.filter(verb="campaign.sheet_sync_requested", actor=bob).count() == 1


def test_request_is_refused_when_disabled_unconfigured_or_without_credentials(fake, campaign, bob, settings):
    other = CampaignFactory(owner=bob)
    assert sheet_sync_request(campaign=other) is False  # no sheet configured
    sheet_sync_configure(campaign=campaign, spreadsheet=KEY, worksheet="Leads", columns=[], enabled=False, actor=bob)
    assert sheet_sync_request(campaign=campaign) is False
    SheetSync.objects.update(enabled=True)
    settings.GOOGLE_SERVICE_ACCOUNT_KEY = ""
    assert sheet_sync_request(campaign=campaign) is False
    assert service_account_email() == ""


def test_the_hourly_run_queues_every_enabled_sheet_of_an_active_campaign(fake, bob, monkeypatch):
    queued = []
    monkeypatch.setattr(sheet_sync_task, "delay_on_commit", lambda campaign_id: queued.append(campaign_id))
    active, paused, disabled = (CampaignFactory(owner=bob) for _ in range(3))
    paused.status = paused.Status.PAUSED
    paused.save(update_fields=["status"])
    for campaign in (active, paused, disabled):
        sheet_sync_configure(
            campaign=campaign, spreadsheet=KEY, worksheet="Leads", columns=[], enabled=campaign != disabled, actor=bob
        )

    assert sheets_sync_all_task.apply().result == 1

    assert queued == [active.pk]


def test_it_shows_the_service_account_email_from_the_json_or_a_file(fake, settings, tmp_path):
    assert service_account_email() == EMAIL
    path = tmp_path / "service-account.json"
    path.write_text(settings.GOOGLE_SERVICE_ACCOUNT_KEY)
    settings.GOOGLE_SERVICE_ACCOUNT_KEY = str(path)
    assert service_account_email() == EMAIL


def test_the_key_never_reaches_logs_or_the_page(fake, sync, campaign, private_key, settings, caplog):
    caplog.set_level(logging.DEBUG)
    LeadFactory(campaign=campaign)
    secret = key_fragment(private_key)
    info = json.loads(settings.GOOGLE_SERVICE_ACCOUNT_KEY)
    errors = []

    sheet_sync_run(campaign_id=campaign.pk)  # a sync that works
    for broken in (
        {**info, "private_key": pem(rsa.generate_private_key(public_exponent=65537, key_size=2048))},  # refused
        {**info, "private_key": info["private_key"][:300]},  # cut short: unreadable
        {**info, "token_uri": ""},
    ):
        settings.GOOGLE_SERVICE_ACCOUNT_KEY = json.dumps(broken)
        sheet_sync_run(campaign_id=campaign.pk)
        sync.refresh_from_db()
        errors.append(sync.last_error)
    settings.GOOGLE_SERVICE_ACCOUNT_KEY = json.dumps(info)[:-40]  # not JSON any more
    sheet_sync_run(campaign_id=campaign.pk)
    sync.refresh_from_db()
    errors.append(sync.last_error)

    assert errors[0].startswith("Google refused the service account's key")
    assert all("GOOGLE_SERVICE_ACCOUNT_KEY" in error for error in errors), errors
    assert sync.status == SheetSync.Status.FAILED
    for text in [caplog.text, *errors, *Activity.objects.values_list("payload", flat=True).iterator()]:
        assert secret not in str(text)
        assert "PRIVATE KEY" not in str(text)
        assert info["private_key_id"] not in str(text)


def test_settings_edited_in_the_admin_are_read_or_refused_clearly(fake, campaign):
    LeadFactory(campaign=campaign)
    sync = SheetSync.objects.create(campaign=campaign, spreadsheet=URL, worksheet="Leads", columns=["bogus"])

    assert sheet_sync_run(campaign_id=campaign.pk) == 0
    sync.refresh_from_db()
    assert sync.status == SheetSync.Status.FAILED
    assert "The sheet settings need fixing: Unknown column: bogus" in sync.last_error

    SheetSync.objects.filter(pk=sync.pk).update(columns=["score"])
    assert sheet_sync_run(campaign_id=campaign.pk) == 1  # a URL where the key belongs still opens
    assert fake.rows(KEY, "Leads")[0] == ["ID", "Score"]


def test_nothing_leaves_for_google_when_the_api_is_elsewhere(fake, sync, campaign, caplog):
    caplog.set_level(logging.DEBUG)
    LeadFactory(campaign=campaign)

    sheet_sync_run(campaign_id=campaign.pk)

    # google-auth would ask iamcredentials.googleapis.com about the account after each token.
    assert sheets._credentials()._is_regional_access_boundary_lookup_required() is False
    assert "googleapis.com" not in caplog.text
    assert {r["path"].split("/")[1] for r in fake.requests} == {"token", "v4"}
