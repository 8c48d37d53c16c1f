"""On /me/: a rep's own signature, and a manager's daily report time and timezone."""

import datetime as dt
from html import unescape

import pytest
import time_machine

from reporting.models import DailyReport, ReportRecipient
from reporting.recipients import report_next_at
from reporting.reports import reports_send_due
from salesdept.models import RepSignature
from tests.conftest import login
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db
UTC = dt.UTC


# The signature -------------------------------------------------------------------------------------


def test_it_saves_a_reps_signature_and_shows_it_again(client, alice):
    login(client, alice)
    response = client.post("/me/signature/", {"text": "  Alice Rivera  \n\n Partnerships, Summit "})
    assert response.status_code == 302 and response["Location"] == "/me/"
    assert RepSignature.objects.get(user=alice).text == "Alice Rivera\nPartnerships, Summit"
    page = unescape(client.get("/me/").text)
    assert "Alice Rivera\nPartnerships, Summit</textarea>" in page
    assert "Signature saved" in page


def test_a_blank_signature_falls_back(client, alice):
    RepSignature.objects.create(user=alice, text="Old one")
    login(client, alice).post("/me/signature/", {"text": ""})
    assert RepSignature.objects.get(user=alice).text == ""


def test_anyone_signed_in_sets_only_their_own_signature(client, alice, mallory):
    RepSignature.objects.create(user=alice, text="Alice")
    login(client, mallory).post("/me/signature/", {"text": "Mallory", "user": alice.pk})
    assert RepSignature.objects.get(user=alice).text == "Alice"
    assert RepSignature.objects.get(user=mallory).text == "Mallory"


@pytest.mark.parametrize(
    ("text", "error"),
    [("[Your name]", "Leave out brackets"), ("x" * 201, "at most 200 characters")],
)
def test_a_bad_signature_is_explained_and_nothing_is_stored(client, alice, text, error):
    RepSignature.objects.create(user=alice, text="Alice")
    response = login(client, alice).post("/me/signature/", {"text": text})
    assert response.status_code == 400
    assert error in unescape(response.text)
    assert RepSignature.objects.get(user=alice).text == "Alice"


def test_the_next_draft_signs_off_with_the_signature_set_on_the_page(client, alice, campaign, settings):
    settings.OPENAI_API_KEY = ""  # the offline template writes the draft
    from outreach.services import messages_draft

    login(client, alice).post("/me/signature/", {"text": "Alice, for the Summit team"})
    lead = LeadFactory(campaign=campaign, owner=alice, first_name="Lena", status="qualified")
    [message] = messages_draft(lead_ids=[lead.pk])
    assert message.body.rstrip().endswith("Alice, for the Summit team")


# The daily report's time -----------------------------------------------------------------------------


def test_a_manager_sets_their_report_time_and_sees_when_the_next_one_goes(client, bob):
    login(client, bob)
    with time_machine.travel(dt.datetime(2026, 11, 24, 10, 0, tzinfo=UTC)):
        response = client.post("/me/report-time/", {"timezone": "Europe/Berlin", "send_at": "07:30", "enabled": "on"})
        assert response.status_code == 302
        page = unescape(client.get("/me/").text)
    recipient = ReportRecipient.objects.get(user=bob)
    assert (recipient.timezone, recipient.send_at, recipient.enabled) == ("Europe/Berlin", dt.time(7, 30), True)
    # 10:00 UTC is 11:00 in Berlin: today's 07:30 has passed, so tomorrow's.
    assert "The next one goes Wed 25 Nov at 07:30 (Europe/Berlin)" in page
    assert '<option value="Europe/Berlin" selected>' in page and 'value="07:30"' in page


def test_the_report_goes_at_that_local_time(client, bob, mailoutbox):
    login(client, bob).post("/me/report-time/", {"timezone": "Europe/Berlin", "send_at": "07:30", "enabled": "on"})
    # Berlin is UTC+1 in November.
    assert reports_send_due(now=dt.datetime(2026, 11, 25, 6, 29, tzinfo=UTC)) == 0
    assert reports_send_due(now=dt.datetime(2026, 11, 25, 6, 30, tzinfo=UTC)) == 1
    assert DailyReport.objects.get().date == dt.date(2026, 11, 24)


def test_the_local_time_holds_across_a_summer_time_change(client, bob, mailoutbox):
    login(client, bob).post("/me/report-time/", {"timezone": "America/New_York", "send_at": "08:00", "enabled": "on"})
    # Saturday 13 March 2027: EST (UTC-5), so 08:00 there is 13:00 UTC.
    assert reports_send_due(now=dt.datetime(2027, 3, 13, 12, 59, tzinfo=UTC)) == 0
    assert reports_send_due(now=dt.datetime(2027, 3, 13, 13, 0, tzinfo=UTC)) == 1
    recipient = ReportRecipient.objects.get(user=bob)
    # Clocks go forward on Sunday 14 March: the next 08:00 is 12:00 UTC, an hour earlier in UTC.
    next_at = report_next_at(recipient, now=dt.datetime(2027, 3, 13, 14, 0, tzinfo=UTC))
    assert next_at.astimezone(UTC) == dt.datetime(2027, 3, 14, 12, 0, tzinfo=UTC)
    assert reports_send_due(now=dt.datetime(2027, 3, 14, 11, 59, tzinfo=UTC)) == 0
    assert reports_send_due(now=dt.datetime(2027, 3, 14, 12, 0, tzinfo=UTC)) == 1
    assert [m.to for m in mailoutbox] == [[bob.email], [bob.email]]


def test_switched_off_no_report_goes(client, bob, mailoutbox):
    login(client, bob).post("/me/report-time/", {"timezone": "Europe/London", "send_at": "09:00"})
    assert ReportRecipient.objects.get(user=bob).enabled is False
    assert reports_send_due(now=dt.datetime(2026, 11, 25, 12, 0, tzinfo=UTC)) == 0
    assert "Switched off" in client.get("/me/").text


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"timezone": "Mars/Olympus_Mons", "send_at": "07:30"}, "Unknown timezone Mars/Olympus_Mons"),
        ({"timezone": "Europe/Paris", "send_at": "25:99"}, "Enter a time as HH:MM"),
        ({"timezone": "", "send_at": ""}, "This field is required."),
    ],
)
def test_a_bad_report_time_is_explained_and_nothing_is_stored(client, bob, data, error):
    ReportRecipient.objects.create(user=bob, timezone="Europe/London", send_at=dt.time(9, 15))
    response = login(client, bob).post("/me/report-time/", data)
    assert response.status_code == 400
    assert error in unescape(response.text)
    recipient = ReportRecipient.objects.get(user=bob)
    assert (recipient.timezone, recipient.send_at) == ("Europe/London", dt.time(9, 15))


def test_a_rep_has_no_report_time(client, alice):
    login(client, alice)
    assert "Your daily report" not in client.get("/me/").text
    assert client.post("/me/report-time/", {"timezone": "Europe/Paris", "send_at": "07:00"}).status_code == 403
    assert not ReportRecipient.objects.exists()


def test_a_zone_typed_wrong_in_admin_still_opens_the_page(client, bob):
    ReportRecipient.objects.create(user=bob, timezone="Europe/Nowhere", send_at=dt.time(9, 15))
    response = login(client, bob).get("/me/")
    assert response.status_code == 200
    assert "The next one goes" in response.text
