"""Nurturing: one useful touch a week for quiet connected, met or won contacts, through the approval queue."""

import datetime as dt
import json

import pytest

from approvals.services import message_approve, message_regenerate, message_reject
from leads.models import Activity, Lead, Suppression
from leads.suppression import suppression_hash
from library.models import ContentItem, Nurture
from library.nurture import item_fit, nurtures_due, nurtures_suggest_due, nurtures_suggest_week, week_of
from library.tasks import nurtures_suggest_due_task
from outreach.models import OutreachMessage
from outreach.sending import outreach_send_next
from outreach.services import messages_fill
from salesdept import clock
from salesdept.schedules import SCHEDULES
from tests.conftest import login
from tests.factories import CompanyFactory, LeadFactory, MessageFactory
from tests.fakes.openai_server import Error, json_reply

pytestmark = pytest.mark.django_db
Status, Kind = OutreachMessage.Status, OutreachMessage.Kind
DAY = dt.timedelta(days=1)


@pytest.fixture(autouse=True)
def _fills(monkeypatch) -> list[list[int]]:
    """The drafting a worker would do: recorded, then run by the test itself."""
    queued: list[list[int]] = []
    monkeypatch.setattr("outreach.tasks.messages_fill_task.delay_on_commit", lambda ids: queued.append(ids))
    return queued


def item(title: str, *, labels=(), industries=(), facts=(), active=True, summary="") -> ContentItem:
    slug = title.lower().replace(" ", "-")
    return ContentItem.objects.create(
        title=title,
        url=f"https://example.com/library/{slug}",
        summary=summary or f"{title}: how finance teams close the books faster.",
        facts=list(facts),
        labels=list(labels),
        industries=list(industries),
        is_active=active,
    )


def connected(lead: Lead, account, *, days_ago: int = 40) -> OutreachMessage:
    """Our invitation to `lead`, sent and accepted `days_ago` days ago: nothing since."""
    at = clock.now() - dt.timedelta(days=days_ago)
    return MessageFactory(
        lead=lead, account=account, status=Status.SENT, sent_at=at, accepted_at=at + DAY, decided_at=at
    )


@pytest.fixture
def lead(campaign, alice, alice_account):
    """Lena, a Speaker at a fintech, connected with alice 40 days ago and quiet since."""
    lena = LeadFactory(
        campaign=campaign,
        owner=alice,
        first_name="Lena",
        status=Lead.Status.CONTACTED,
        label="Speaker",
        company=CompanyFactory(industry="Fintech"),
    )
    connected(lena, alice_account)
    return lena


def suggest() -> list[OutreachMessage]:
    ids = nurtures_suggest_week(now=clock.now())
    return list(OutreachMessage.objects.filter(pk__in=ids).order_by("pk"))


def suggest_and_write() -> list[OutreachMessage]:
    ids = nurtures_suggest_week(now=clock.now())
    return messages_fill(message_ids=ids)


def test_it_is_declared_for_beat_and_runs_from_the_configured_weekday_and_hour(settings):
    assert any(s.task == "library.tasks.nurtures_suggest_due_task" for s in SCHEDULES)
    settings.NURTURE_WEEKDAY, settings.NURTURE_HOUR = 1, 8
    monday_noon = dt.datetime(2026, 11, 23, 12, tzinfo=dt.UTC)
    tuesday_7 = dt.datetime(2026, 11, 24, 7, 59, tzinfo=dt.UTC)
    tuesday_8 = dt.datetime(2026, 11, 24, 8, tzinfo=dt.UTC)
    sunday = dt.datetime(2026, 11, 29, 23, tzinfo=dt.UTC)
    assert [nurtures_due(t) for t in (monday_noon, tuesday_7, tuesday_8, sunday)] == [False, False, True, True]
    assert week_of(sunday) == week_of(tuesday_8) == dt.date(2026, 11, 23)


def test_the_hourly_task_suggests_nothing_before_the_weekly_hour(settings, lead):
    item("Closing the books", labels=["Speaker"])
    today = clock.now().astimezone(dt.UTC)
    settings.NURTURE_WEEKDAY, settings.NURTURE_HOUR = today.weekday(), 23
    if today.hour < 23:
        assert nurtures_suggest_due(now=today) == []
        assert not Nurture.objects.exists()
    settings.NURTURE_WEEKDAY, settings.NURTURE_HOUR = 0, 0  # any instant of the week is past Monday 00:00
    assert nurtures_suggest_due_task() == 1


def test_it_shares_the_fitting_item_rather_than_one_that_does_not_fit(lead, alice, _fills):
    item("Sponsorship packages", labels=["Sponsor"])  # another label: never for Lena
    item("Banking outlook", industries=["Banking"])  # another industry
    anyone = item("Our year in review")  # names no label nor industry: suits anyone, but says less
    fitting = item(
        "Fintech speakers on closing the books",
        labels=["speaker"],
        industries=["FINTECH"],
        facts=["Used by 40 finance teams"],
    )
    [message] = suggest()
    nurture = message.nurture
    assert (nurture.reason, nurture.item, nurture.lead) == (Nurture.Reason.SHARE, fitting, lead)
    assert (message.status, message.step, message.kind, message.account.owner) == (
        Status.GENERATING,
        0,
        Kind.MESSAGE,  # a connection: a LinkedIn message
        alice,
    )
    assert _fills == [[message.pk]]
    [written] = messages_fill(message_ids=[message.pk])  # the drafting task hands it to nurturing's writer
    assert written.status == Status.PENDING_APPROVAL and written.generated_by == "template"
    assert fitting.url in written.body and written.body.startswith("Hi Lena,")
    assert "Sponsorship" not in written.body and anyone.url not in written.body
    assert not written.blocked, written.guardrail_findings
    assert Activity.objects.filter(lead=lead, verb="nurture.suggested").count() == 1


def test_fit_reads_labels_and_industries_and_an_empty_list_means_any():
    assert item_fit(item("a"), label="Speaker", industry="Fintech") == 0
    assert item_fit(item("b", labels=["Speaker"]), label="speaker ", industry="") == 1
    assert item_fit(item("c", labels=["Speaker"], industries=["Fintech"]), label="Speaker", industry="Fintech") == 2
    assert item_fit(item("d", labels=["Sponsor"]), label="Speaker", industry="Fintech") is None
    assert item_fit(item("e", industries=["Banking"]), label="Speaker", industry="Fintech") is None
    assert item_fit(item("f", industries=["Banking"]), label="Speaker", industry="") is None


def test_with_no_fitting_item_a_connection_gets_nothing_and_a_met_contact_a_check_in(lead, campaign, alice):
    unfitting = item("Sponsorship packages", labels=["Sponsor"])
    item("Retired speaker guide", labels=["Speaker"], active=False)  # fits, but retired
    met = LeadFactory(campaign=campaign, owner=alice, first_name="Omar", status=Lead.Status.MEETING, label="Speaker")
    met.email = "omar@example.com"
    met.save(update_fields=["email"])
    [message] = suggest_and_write()
    assert message.lead == met
    assert (message.nurture.reason, message.nurture.item) == (Nurture.Reason.CHECK_IN, None)
    assert unfitting.url not in message.body and "check in" in message.body
    assert message.kind == Kind.EMAIL and message.subject  # never connected on LinkedIn: an email, with a subject
    assert not Nurture.objects.filter(lead=lead).exists()


def test_a_new_role_on_their_profile_is_congratulated_once(lead):
    item("Closing the books", labels=["Speaker"])
    started = (clock.now() - dt.timedelta(days=5)).isoformat()
    Lead.objects.filter(pk=lead.pk).update(
        activity=[{"kind": "job_change", "at": started, "text": "Started as CFO at Ledgerly"}]
    )
    [message] = suggest_and_write()
    assert message.nurture.reason == Nurture.Reason.CONGRATULATE and message.nurture.news["at"] == started
    assert "congratulations" in message.body.lower()
    message_reject(message=message, actor=lead.owner, revision=message.revision, reason="Not now")
    later = clock.now() + dt.timedelta(days=7)
    ids = nurtures_suggest_week(now=later)
    assert [Nurture.objects.get(message_id=pk).reason for pk in ids] == [Nurture.Reason.SHARE]  # not the same news


def test_it_never_offers_an_item_twice_even_after_a_rejection(lead, alice, time_machine):
    first_item = item("Closing the books", labels=["Speaker"], industries=["Fintech"])
    second_item = item("Forecasting in a downturn", labels=["Speaker"])
    [first] = suggest_and_write()
    assert first.nurture.item == first_item
    rejected = message_reject(message=first, actor=alice, revision=first.revision, reason="She has seen it")
    assert rejected.status == Status.REJECTED  # a nurturing touch is not redrafted by default

    time_machine.move_to(clock.now() + dt.timedelta(days=7))
    [second] = suggest_and_write()
    assert second.nurture.item == second_item
    message_reject(message=second, actor=alice, revision=second.revision, reason="No")

    time_machine.move_to(clock.now() + dt.timedelta(days=7))
    assert suggest() == []  # both offered once: a connection with nothing new to share gets nothing
    assert list(Nurture.objects.filter(lead=lead).values_list("item", flat=True).order_by("pk")) == [
        first_item.pk,
        second_item.pk,
    ]


def test_at_most_one_open_suggestion_per_person(lead, time_machine):
    item("Closing the books", labels=["Speaker"])
    item("Forecasting in a downturn", labels=["Speaker"])
    [first] = suggest_and_write()
    time_machine.move_to(clock.now() + dt.timedelta(days=7))
    assert suggest() == []  # the first still waits for the rep
    first.refresh_from_db()
    assert first.status == Status.PENDING_APPROVAL


def test_running_the_week_twice_creates_nothing_new(lead, campaign, alice, alice_account):
    item("Closing the books", labels=["Speaker"])
    other = LeadFactory(campaign=campaign, owner=alice, status=Lead.Status.WON, label="Speaker")
    connected(other, alice_account, days_ago=90)
    assert len(suggest()) == 2
    counts = (Nurture.objects.count(), OutreachMessage.objects.count(), Activity.objects.count())
    assert nurtures_suggest_week(now=clock.now()) == []
    assert nurtures_suggest_week(now=clock.now() + dt.timedelta(hours=30)) == []
    assert (Nurture.objects.count(), OutreachMessage.objects.count(), Activity.objects.count()) == counts


def test_it_waits_for_a_quiet_spell_and_a_reply_is_a_touch(settings, lead, alice_account):
    item("Closing the books", labels=["Speaker"])
    settings.NURTURE_QUIET_DAYS = 60  # the invitation went 40 days ago: not quiet long enough
    assert suggest() == []
    settings.NURTURE_QUIET_DAYS = 30
    lead.inbound_messages.create(
        account=alice_account, provider_id="in-1", text="Thanks!", received_at=clock.now() - dt.timedelta(days=3)
    )
    assert suggest() == []


def test_it_respects_the_contact_budget(settings, lead):
    item("Closing the books", labels=["Speaker"])
    # The budget: no second touch within 60 days of the last one (sent 40 days ago).
    settings.CONTACT_MIN_GAP_DAYS, settings.CONTACT_WINDOW_DAYS = 60, 90
    assert suggest() == []
    settings.CONTACT_MAX_TOUCHES = 1  # and at most one touch in 90 days: still no
    settings.CONTACT_MIN_GAP_DAYS = 2
    assert suggest() == []
    settings.CONTACT_MAX_TOUCHES = 4
    assert len(suggest()) == 1


def test_a_rep_turns_nurturing_off_on_the_lead_page(client, lead, alice):
    item("Closing the books", labels=["Speaker"])
    [waiting] = suggest_and_write()
    login(client, alice)
    page = client.get(f"/leads/{lead.pk}/")
    assert b"Turn nurturing off" in page.content
    response = client.post(f"/leads/{lead.pk}/nurture/", {"nurture": "off"})
    assert response.status_code == 302
    lead.refresh_from_db()
    waiting.refresh_from_db()
    assert lead.nurture_off and waiting.status == Status.CANCELLED  # the waiting touch goes too
    assert Activity.objects.filter(lead=lead, verb="nurture.off", actor=alice).exists()
    page = client.get(f"/leads/{lead.pk}/")
    assert b"Turn nurturing on" in page.content and b"Nurturing turned off" in page.content  # on the timeline
    Nurture.objects.all().delete()
    assert suggest() == []
    assert client.post(f"/leads/{lead.pk}/nurture/", {"nurture": "maybe"}).status_code == 302  # a clear error
    lead.refresh_from_db()
    assert lead.nurture_off
    client.post(f"/leads/{lead.pk}/nurture/", {"nurture": "on"})
    assert len(suggest()) == 1


@pytest.mark.parametrize("closed", ["do_not_contact", "lost", "snoozed", "suppressed", "erased"])
def test_people_who_must_not_hear_from_us_never_get_one(closed, lead, bob):
    item("Closing the books", labels=["Speaker"])
    if closed == "suppressed":
        key = lead.linkedin_url
        Suppression.objects.create(kind="linkedin", value_hash=suppression_hash("linkedin", key), reason="objection")
    elif closed == "erased":
        from leads.privacy import lead_erase

        lead_erase(lead=lead, actor=bob, reason="Asked by email")
    else:
        Lead.objects.filter(pk=lead.pk).update(status=closed)
    assert suggest() == []


def test_the_model_writes_it_in_the_campaigns_voice_from_the_items_facts(lead, campaign, llm):
    campaign.brand_voice = "Dry, friendly, no exclamation marks"
    campaign.save(update_fields=["brand_voice"])
    shared = item("Closing the books", labels=["Speaker"], facts=["Used by 40 finance teams"])
    body = (
        f"Hi Lena,\n\nOur case study on closing the books is used by 40 finance teams: {shared.url}\n\n"
        "Best,\nAlice Rivera"
    )
    facts = ["Used by 40 finance teams"]
    llm.queue(json_reply({"greeting_name": "Lena", "subject": "", "body": body, "facts_used": facts}))
    [message] = suggest_and_write()
    asked = llm.requests[0]["json"]["messages"][1]["content"]
    assert "Dry, friendly" in asked and "Used by 40 finance teams" in asked and shared.url in asked
    assert message.generated_by != "template" and message.body == body
    assert not message.blocked, message.guardrail_findings


def test_a_model_claim_the_item_does_not_make_is_kept_as_a_blocking_finding(lead, llm):
    shared = item("Closing the books", labels=["Speaker"], facts=["Used by 40 finance teams"])
    body = f"Hi Lena,\n\nOver 500 banks rely on us, see {shared.url}\n\nBest,\nAlice Rivera"
    llm.queue(json_reply({"greeting_name": "Lena", "subject": "", "body": body, "facts_used": []}))
    [message] = suggest_and_write()
    codes = [(f["code"], f["blocking"]) for f in message.guardrail_findings]
    assert ("unsupported_claim", True) in codes and message.blocked
    assert any("500" in f["message"] for f in message.guardrail_findings)
    with pytest.raises(Exception, match="Regenerate"):
        message_approve(message=message, actor=lead.owner, revision=message.revision)


def test_when_the_model_fails_the_template_writes_it_and_says_so(lead, llm):
    shared = item("Closing the books", labels=["Speaker"])
    llm.queue(Error(500))
    [message] = suggest_and_write()
    assert message.generated_by == "template" and shared.url in message.body
    assert "llm_fallback" in [f["code"] for f in message.guardrail_findings]
    assert not message.blocked


def test_approved_it_is_sent_by_the_normal_path(lead, alice, settings):
    shared = item("Closing the books", labels=["Speaker"])
    [message] = suggest_and_write()
    approved = message_approve(message=message, actor=alice, revision=message.revision)  # the item's link is allowed
    assert approved.status == Status.APPROVED
    later = clock.now() + dt.timedelta(seconds=settings.APPROVAL_HOLD_SECONDS + 5)
    assert outreach_send_next(account_id=message.account_id, now=later) == "sent"
    message.refresh_from_db()
    assert message.status == Status.SENT
    [line] = [json.loads(row) for row in settings.SANDBOX_OUTBOX.read_text().splitlines()]
    assert line["to"] == lead.provider_id and shared.url in line["body"] and line["kind"] == Kind.MESSAGE
    # Sent, it is the last touch: nothing more for weeks.
    assert nurtures_suggest_week(now=later + dt.timedelta(days=8)) == []


def test_the_queue_names_it_and_filters_it(client, lead, alice, pending):
    shared = item("Closing the books", labels=["Speaker"])
    [message] = suggest_and_write()
    login(client, alice)
    everything = client.get("/approvals/").content.decode()
    assert f"Nurturing: sharing “{shared.title}”" in everything and pending.body in everything
    only = client.get("/approvals/?origin=nurture").content.decode()
    assert f'id="item-{message.pk}"' in only and f'id="item-{pending.pk}"' not in only
    others = client.get("/approvals/?origin=other").content.decode()
    assert f'id="item-{message.pk}"' not in others and f'id="item-{pending.pk}"' in others
    assert client.get("/approvals/?origin=bogus").status_code == 200  # ignored, with a message


def test_the_queue_reads_nurture_labels_in_a_fixed_number_of_queries(
    client, campaign, alice, alice_account, django_assert_max_num_queries
):
    item("Closing the books", labels=["Speaker"])
    login(client, alice)
    for size in (3, 20):
        for _ in range(size):
            person = LeadFactory(campaign=campaign, owner=alice, status=Lead.Status.MEETING, label="Speaker")
            connected(person, alice_account)
        suggest_and_write()
        Nurture.objects.update(week=dt.date(2000, 1, 3))  # each round is a week of its own
        with django_assert_max_num_queries(40):
            assert client.get("/approvals/?origin=nurture").status_code == 200


def test_a_regenerated_touch_is_written_again_as_the_same_touch(lead, alice, _fills):
    shared = item("Closing the books", labels=["Speaker"])
    [message] = suggest_and_write()
    again = message_regenerate(message=message, actor=alice, revision=message.revision, instruction="shorter")
    assert again.status == Status.GENERATING and _fills[-1] == [message.pk]
    [rewritten] = messages_fill(message_ids=[message.pk])
    assert rewritten.nurture.item == shared and shared.url in rewritten.body
    assert "instruction_ignored" in [f["code"] for f in rewritten.guardrail_findings]  # said beside the draft
    assert Nurture.objects.filter(lead=lead).count() == 1


def test_erasing_the_person_empties_the_news_a_touch_kept(lead, bob):
    from leads.privacy import lead_erase

    started = (clock.now() - dt.timedelta(days=5)).isoformat()
    Lead.objects.filter(pk=lead.pk).update(
        activity=[{"kind": "job_change", "at": started, "text": "Started as CFO at Ledgerly"}]
    )
    [message] = suggest_and_write()
    assert message.nurture.news["text"] == "Started as CFO at Ledgerly"
    lead_erase(lead=lead, actor=bob, reason="Asked by email")
    nurture = Nurture.objects.get(lead=lead)
    message.refresh_from_db()
    assert nurture.news == {} and message.status == Status.CANCELLED and message.body == ""


def test_the_weekly_run_costs_a_fixed_number_of_queries_per_person(
    campaign, alice, alice_account, django_assert_max_num_queries
):
    """Reads are batched (people, items, history, accounts); each person costs their checks and their writes."""
    item("Closing the books", labels=["Speaker"])
    for size in (3, 30):
        for _ in range(size):
            person = LeadFactory(campaign=campaign, owner=alice, status=Lead.Status.MEETING, label="Speaker")
            connected(person, alice_account)
        with django_assert_max_num_queries(6 + 8 * size):
            assert len(nurtures_suggest_week(now=clock.now())) == size
        Lead.objects.update(nurture_off=True)  # done: the next round counts only new people
