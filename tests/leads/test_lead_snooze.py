"""The lead page shows where a snooze date came from, and the lead's rep can correct it."""

import datetime as dt

import pytest

from leads.models import Activity, Lead
from leads.services import activity_record
from tests.conftest import login
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}
NOW = dt.datetime(2026, 12, 5, 9, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def snoozed(campaign, alice) -> Lead:
    """Lena's auto-reply said "back on Monday"."""
    lead = LeadFactory(
        campaign=campaign, owner=alice, status=Lead.Status.SNOOZED, snoozed_until=dt.date(2026, 12, 7), timezone=""
    )
    activity_record(
        verb="lead.away", lead=lead, until="2026-12-07", source="read from “back on Monday”", phrase="back on Monday"
    )
    return lead


def test_it_shows_the_date_and_the_words_it_was_read_from(client, alice, snoozed):
    response = login(client, alice).get(f"/leads/{snoozed.pk}/")
    assert 'Snoozed until <strong><time datetime="2026-12-07">Mon 7 Dec 2026</time></strong>' in response.text
    assert "read from “back on Monday” in their reply" in response.text
    assert f'action="/leads/{snoozed.pk}/snooze/"' in response.text
    # Text in the app's own day-month-year, never a browser's mm/dd/yyyy date field.
    assert 'type="text" name="until" value="7 Dec 2026"' in response.text


def test_it_lets_the_rep_correct_the_date(client, alice, snoozed):
    response = login(client, alice).post(f"/leads/{snoozed.pk}/snooze/", {"until": "2026-12-14"})
    assert response.status_code == 302 and response.url == f"/leads/{snoozed.pk}/"
    snoozed.refresh_from_db()
    assert (snoozed.status, snoozed.snoozed_until) == (Lead.Status.SNOOZED, dt.date(2026, 12, 14))
    corrected = Activity.objects.filter(lead=snoozed, verb="lead.snoozed").get()
    assert (corrected.actor, corrected.payload["until"]) == (alice, "2026-12-14")
    page = client.get(f"/leads/{snoozed.pk}/")
    assert "Mon 14 Dec 2026" in page.text and "set by Alice Rivera" in page.text


def test_it_swaps_just_the_snooze_section_for_htmx(client, alice, snoozed):
    response = login(client, alice).post(f"/leads/{snoozed.pk}/snooze/", {"until": "2026-12-14"}, **HTMX)
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<div id="lead-snooze">')
    assert "Snoozed until Mon 14 Dec 2026." in response.text
    assert "<html" not in response.text
    assert Lead.objects.get(pk=snoozed.pk).snoozed_until == dt.date(2026, 12, 14)


@pytest.mark.parametrize(
    ("until", "error"),
    [("2026-12-04", "Pick a date after today"), ("2026-12-05", "Pick a date after today"),
     ("next tuesday", "Pick a date such as"), ("", "Pick the date to snooze until"),
     ("2028-01-01", "within a year")],
)  # fmt: skip
def test_it_re_renders_bad_dates_with_an_error(client, alice, snoozed, until, error):
    response = login(client, alice).post(f"/leads/{snoozed.pk}/snooze/", {"until": until})
    assert response.status_code == 200
    assert error in response.text and "<html" in response.text
    assert Lead.objects.get(pk=snoozed.pk).snoozed_until == dt.date(2026, 12, 7)
    assert not Activity.objects.filter(lead=snoozed, verb="lead.snoozed").exists()


def test_it_shows_an_htmx_error_in_the_section(client, alice, snoozed):
    response = login(client, alice).post(f"/leads/{snoozed.pk}/snooze/", {"until": "garbage"}, **HTMX)
    assert response.status_code == 200 and "<html" not in response.text
    assert "Pick a date such as" in response.text


def test_it_hides_another_reps_lead(client, dan, snoozed):
    response = login(client, dan).post(f"/leads/{snoozed.pk}/snooze/", {"until": "2026-12-14"})
    assert response.status_code == 404
    assert Lead.objects.get(pk=snoozed.pk).snoozed_until == dt.date(2026, 12, 7)


def test_it_refuses_a_get(client, alice, snoozed):
    assert login(client, alice).get(f"/leads/{snoozed.pk}/snooze/").status_code == 405


def test_it_says_a_lead_that_is_not_snoozable_cannot_be_snoozed(client, alice, snoozed):
    Lead.objects.filter(pk=snoozed.pk).update(status=Lead.Status.DO_NOT_CONTACT)
    response = login(client, alice).post(f"/leads/{snoozed.pk}/snooze/", {"until": "2026-12-14"})
    assert response.status_code == 200 and "there is nothing to snooze" in response.text
    assert Lead.objects.get(pk=snoozed.pk).status == Lead.Status.DO_NOT_CONTACT


@pytest.mark.parametrize("typed", ["14 Dec 2026", "14 December 2026", "2026-12-14", "14/12/2026", "Mon 14 Dec 2026"])
def test_it_reads_the_date_day_first_as_the_app_writes_it(client, alice, snoozed, typed):
    login(client, alice).post(f"/leads/{snoozed.pk}/snooze/", {"until": typed})
    snoozed.refresh_from_db()
    assert snoozed.snoozed_until == dt.date(2026, 12, 14)


def test_it_reads_an_ambiguous_numeric_date_day_first(client, alice, snoozed):
    login(client, alice).post(f"/leads/{snoozed.pk}/snooze/", {"until": "5/1/2027"})
    snoozed.refresh_from_db()
    assert snoozed.snoozed_until == dt.date(2027, 1, 5)  # 5 January, never May 1


@pytest.mark.parametrize("typed", ["next tuesday", "14 Dec", "someday", "31 Feb 2027"])
def test_it_refuses_what_is_not_a_whole_date_and_keeps_the_old_one(client, alice, snoozed, typed):
    response = login(client, alice).post(f"/leads/{snoozed.pk}/snooze/", {"until": typed}, **HTMX)
    assert "Pick a date such as 4 Jan 2027." in response.text
    snoozed.refresh_from_db()
    assert snoozed.snoozed_until == dt.date(2026, 12, 7)
