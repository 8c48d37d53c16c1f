"""Per person limits on what reaches other people or costs money, with a clear "try again in N minutes"."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from campaigns.models import CampaignRequest
from leads.models import ImportJob
from outreach.models import OutreachMessage
from salesdept import clock
from salesdept.models import Notification
from tests.conftest import login
from tests.factories import LeadFactory, MessageFactory

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def _at_a_known_minute(time_machine):
    time_machine.move_to("2026-11-24T10:15:00+00:00", tick=False)  # 45 minutes before the hour's window ends


def _request(client, n: int):
    return client.post("/approvals/requests/new/", {"text": f"Reach CFOs of fintechs in Berlin, batch {n}"})


def test_it_stops_a_flood_of_campaign_requests_and_says_when_to_try_again(client, alice, bob, carol):
    login(client, alice)
    answers = [_request(client, n).status_code for n in range(6)]

    assert answers == [302] * 5 + [400]
    refused = _request(client, 7)
    assert "That is more than 5 campaign requests in an hour: try again in 45 minutes." in refused.text
    assert CampaignRequest.objects.count() == 5  # no sixth model call, no sixth email to each manager
    assert Notification.objects.filter(user=bob).count() <= 5


def test_it_counts_each_person_apart_and_starts_again_in_the_next_hour(client, alice, dan, time_machine):
    login(client, alice)
    for n in range(6):
        _request(client, n)
    login(client, dan)
    assert _request(client, 10).status_code == 302  # dan's count is his own

    time_machine.move_to("2026-11-24T11:00:01+00:00", tick=False)
    login(client, alice)
    assert _request(client, 11).status_code == 302


def test_it_limits_rewrites_of_drafts(client, alice, campaign, alice_account, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "regenerate": ("rewrites", 2, 3600)}
    drafts = [
        MessageFactory(lead=LeadFactory(campaign=campaign, owner=alice), campaign=campaign, account=alice_account)
        for _ in range(3)
    ]
    login(client, alice)

    for draft in drafts:
        response = client.post(f"/approvals/{draft.pk}/regenerate/", {"revision": 1, "instruction": "shorter"}, **HTMX)

    assert "That is more than 2 rewrites in an hour: try again in 45 minutes." in response.text
    statuses = [OutreachMessage.objects.get(pk=d.pk).status for d in drafts]
    assert statuses == ["generating", "generating", "pending_approval"]  # the third went to no model


def test_it_limits_imports(client, alice, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "import": ("imports", 2, 3600)}
    login(client, alice)
    data = b"First Name,Last Name,Company\r\nJane,Doe,Acme\r\n"

    def upload():
        return client.post(
            "/leads/import/", {"file": SimpleUploadedFile("p.csv", data, content_type="text/csv"), "campaign": ""}
        )

    assert [upload().status_code for _ in range(2)] == [302, 302]
    refused = upload()
    assert "That is more than 2 imports in an hour: try again in 45 minutes." in refused.text
    assert ImportJob.objects.count() == 2


def test_it_answers_429_with_retry_after_to_too_many_exports(client, bob, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "export": ("exports", 2, 3600)}
    login(client, bob)

    answers = [client.get("/dashboard/export/funnel.csv") for _ in range(3)]

    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[2]["Retry-After"] == str(45 * 60)
    assert "That is more than 2 exports in an hour: try again in 45 minutes." in answers[2].text


def test_the_clock_decides_the_window(time_machine):
    """A limit of a day resets at the day's edge of the clock the product runs on, not the machine's."""
    from django.contrib.auth import get_user_model

    from salesdept.ratelimit import RateLimited, rate_limit_take

    user = get_user_model()(pk=10**9)
    time_machine.move_to("2027-02-28T23:59:00+00:00", tick=False)
    with pytest.MonkeyPatch.context() as patch:
        from django.conf import settings

        patch.setattr(settings, "RATE_LIMITS", {"export": ("exports", 1, 86400)})
        rate_limit_take(user=user, action="export")
        with pytest.raises(RateLimited, match="try again in a minute"):
            rate_limit_take(user=user, action="export")
        time_machine.move_to(clock.now() + dt.timedelta(minutes=2), tick=False)
        rate_limit_take(user=user, action="export")
