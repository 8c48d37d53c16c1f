"""A person's data: exported whole, erased everywhere (suppression and counts kept), purged when old."""

import dataclasses
import datetime as dt
import json

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import models
from django.db.models import Q
from django.utils import timezone

from leads.models import Activity, Lead, Suppression
from leads.privacy import ErasureRefused, lead_erase, lead_export, privacy_purge
from leads.services import activity_record, lead_store_prospect
from leads.sources.sandbox import person
from leads.suppression import is_suppressed, suppression_add
from outreach.models import InboundMessage, OutreachMessage, WebhookEvent
from reporting.metrics import metrics_rebuild
from reporting.models import DailyCount
from salesdept.models import LLMCall, Notification
from tests.conftest import login
from tests.factories import LeadFactory, MessageFactory
from tests.leads.test_csv_import import HEADER, csv_file, run

pytestmark = pytest.mark.django_db

NAME, EMAIL, LINKEDIN = "Zuzanna Kowalczyk", "zuzanna.k@kowalczyk-ltd.example", "https://www.linkedin.com/in/zuzanna-k"
TRACES = ["Zuzanna", "Kowalczyk", "zuzanna.k@", "linkedin.com/in/zuzanna-k", "chat-zk-0001", "li-member-zk"]


def a_life(campaign, owner, account, *, first="Zuzanna", last="Kowalczyk", email=EMAIL, url=LINKEDIN, tag="zk"):
    """A lead with a bit of everything: profile, sent and pending messages, a reply, a timeline."""
    lead = LeadFactory(
        campaign=campaign,
        owner=owner,
        first_name=first,
        last_name=last,
        email=email,
        linkedin_url=url,
        provider_id=f"li-member-{tag}",
        status=Lead.Status.REPLIED,
        raw_profile={"name": f"{first} {last}", "recent_posts": [f"{first} on forecasting"]},
        score_breakdown=[{"factor": "title", "points": 30, "max": 30, "reason": f"{first} is a CFO"}],
        insight=f"{first} {last} speaks at fintech events",
    )
    activity_record(verb="lead.found", lead=lead, source="sandbox")
    sent = MessageFactory(
        lead=lead,
        account=account,
        status=OutreachMessage.Status.SENT,
        sent_at=timezone.now(),
        chat_id=f"chat-{tag}-0001",
        provider_message_id=f"msg-{tag}-0001",
        subject=f"For {first}",
    )
    activity_record(verb="message.sent", lead=lead, message=sent)
    pending = MessageFactory(lead=lead, account=account, step=2, reject_reason=f"Too pushy for {first}")
    reply = InboundMessage.objects.create(
        lead=lead,
        account=account,
        in_reply_to=sent,
        provider_id=f"unipile:reply-{tag}-0001",
        text=f"Thanks, {first} {last} here. Call me on 0123.",
        received_at=timezone.now(),
        intent="interested",
        sentiment="positive",
        analysis={"summary": f"{first} wants a call"},
    )
    activity_record(verb="reply.received", lead=lead, message=sent, text=reply.text[:100], intent="interested")
    WebhookEvent.objects.create(
        source="unipile",
        key=f"event-{tag}",
        event="message_received",
        payload={"chat_id": f"chat-{tag}-0001", "sender": {"name": f"{first} {last}"}, "message": reply.text},
    )
    LLMCall.objects.create(purpose="draft", backend="openai", model="m", prompt_version="d1", lead=lead, error=first)
    Notification.objects.create(user=owner, text=f"{first} {last} replied", url=f"/leads/{lead.pk}/")
    return lead, sent, pending, reply


@pytest.fixture
def zuzanna(campaign, alice, alice_account):
    return a_life(campaign, alice, alice_account)


@pytest.fixture
def omar(campaign, dan, dan_account):
    """Somebody else, whose data must survive Zuzanna's erasure and stay out of her export."""
    return a_life(
        campaign,
        dan,
        dan_account,
        first="Omar",
        last="Haddad",
        email="omar@haddad.example",
        url="https://www.linkedin.com/in/omar-h",
        tag="oh",
    )


def text_columns() -> list[tuple[type[models.Model], list[str]]]:
    kinds = (models.CharField, models.TextField, models.JSONField)
    found = []
    for model in apps.get_models():
        names = [f.name for f in model._meta.concrete_fields if isinstance(f, kinds)]
        if names and model._meta.managed:
            found.append((model, names))
    return found


def rows_mentioning(text: str) -> list[str]:
    """Every row of every table whose text columns contain `text` (case-insensitive)."""
    hits = []
    for model, names in text_columns():
        match = Q()
        for name in names:
            match |= Q(**{f"{name}__icontains": text})
        hits += [f"{model.__name__} {pk}" for pk in model.objects.filter(match).values_list("pk", flat=True)]
    return hits


def counts() -> list[tuple]:
    return sorted(
        DailyCount.objects.values_list("day", "stage", "campaign_id", "rep_id", "account_id", "label", "count")
    )


# Export


def test_it_exports_every_kind_of_data_and_nobody_elses(zuzanna, omar, django_assert_max_num_queries):
    lead, sent, pending, reply = zuzanna
    suppression_add(kind=Suppression.Kind.EMAIL, value=EMAIL, reason=Suppression.Reason.UNSUBSCRIBE)

    with django_assert_max_num_queries(8):
        export = lead_export(lead=lead)

    assert export["format"] == "salesdept-person-export/1"
    person_ = export["person"]
    assert (person_["first_name"], person_["email"], person_["linkedin_url"]) == ("Zuzanna", EMAIL, LINKEDIN)
    assert person_["raw_profile"]["name"] == NAME
    assert person_["score_breakdown"][0]["reason"] == "Zuzanna is a CFO"
    assert person_["consent_basis"] == "legitimate_interest"
    assert "unsubscribe_token" not in person_
    assert export["company"]["name"] == lead.company.name
    by_id = {message["id"]: message for message in export["messages"]}
    assert by_id[sent.pk]["body"] == sent.body and by_id[sent.pk]["status"] == "sent"
    assert by_id[sent.pk]["channel"] == "sandbox" and by_id[sent.pk]["sent_at"]
    assert by_id[pending.pk]["status"] == "pending_approval"
    assert export["replies"] == [
        {
            "id": reply.pk,
            "in_reply_to_id": sent.pk,
            "received_at": reply.received_at.isoformat(),
            "text": reply.text,
            "sentiment": "positive",
            "intent": "interested",
            "confidence": None,
            "analysis": {"summary": "Zuzanna wants a call"},
            "snooze_until": None,
        }
    ]
    assert [entry["verb"] for entry in export["timeline"]] == ["lead.found", "message.sent", "reply.received"]
    assert export["suppression"] == {"email": True, "email_domain": False, "linkedin": False}
    assert [call["purpose"] for call in export["llm_calls"]] == ["draft"]
    dumped = json.dumps(export)  # JSON-able as it is
    for trace in ("Omar", "Haddad", "omar@haddad.example", "chat-oh-0001"):
        assert trace not in dumped


def test_it_downloads_the_export_for_a_manager_and_notes_who_took_it(client, bob, zuzanna):
    lead = zuzanna[0]
    response = login(client, bob).get(f"/leads/{lead.pk}/export.json")
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="person-{lead.pk}.json"'
    assert response.json()["person"]["email"] == EMAIL
    assert Activity.objects.get(verb="privacy.exported").actor == bob


# Erasure


def test_it_erases_the_person_everywhere_and_keeps_them_suppressed_and_the_counts(zuzanna, omar, bob):
    lead = zuzanna[0]
    metrics_rebuild()  # the counts as a rebuild finds them: the same before and after
    before = counts()
    assert before and rows_mentioning("Zuzanna")

    lead_erase(lead=lead, actor=bob, reason="Asked by email on 3 May")

    for trace in TRACES:
        assert rows_mentioning(trace) == [], trace
    assert counts() == before
    metrics_rebuild()  # nothing recounts differently: the rows the counts come from are all kept
    assert counts() == before
    assert is_suppressed(Lead(email=EMAIL)) and is_suppressed(Lead(linkedin_url=LINKEDIN))
    assert set(Suppression.objects.values_list("kind", "reason")) == {("email", "erasure"), ("linkedin", "erasure")}
    lead.refresh_from_db()
    assert (lead.status, lead.email, lead.linkedin_url, lead.raw_profile) == ("do_not_contact", None, None, {})
    assert OutreachMessage.objects.filter(lead=lead).count() == 2  # rows stay, texts do not
    assert not OutreachMessage.objects.filter(lead=lead, status="pending_approval").exists()
    assert InboundMessage.objects.get(lead=lead).intent == "interested"
    audit = Activity.objects.get(verb="privacy.erased")
    assert (audit.lead, audit.actor, audit.payload) == (
        None,
        bob,
        {"lead_id": lead.pk, "reason": "Asked by email on 3 May"},
    )
    # Somebody else's data is untouched.
    assert rows_mentioning("Omar") and rows_mentioning("chat-oh-0001")
    assert WebhookEvent.objects.get(key="event-oh").payload["sender"]["name"] == "Omar Haddad"


def test_it_keeps_the_persons_name_out_of_the_audit_reason(zuzanna, bob):
    lead_erase(lead=zuzanna[0], actor=bob, reason="Zuzanna Kowalczyk asked (zuzanna.k@kowalczyk-ltd.example)")
    assert Activity.objects.get(verb="privacy.erased").payload["reason"] == "[erased] asked ([erased])"


def test_it_removes_the_persons_rows_from_past_csv_imports(alice, bob):
    job = run(alice, csv_file(HEADER, ["Zuzanna", "Kowalczyk", "Firm", EMAIL, LINKEDIN, "CFO"], ["Ana", "Lopez"]))
    lead = Lead.objects.get(email=EMAIL)

    lead_erase(lead=lead, actor=bob, reason="Asked by letter")

    job.refresh_from_db()
    assert b"Zuzanna" not in bytes(job.data) and b"Ana" in bytes(job.data)
    assert rows_mentioning("Kowalczyk") == []


def test_an_erased_person_is_not_imported_again(alice, bob, zuzanna):
    lead_erase(lead=zuzanna[0], actor=bob, reason="Asked by email")

    job = run(alice, csv_file(HEADER, ["Zuzanna", "Kowalczyk", "New Firm", EMAIL.upper(), "", "CFO"]))

    assert (job.created_count, job.skipped_count) == (0, 1)
    assert not Lead.objects.filter(first_name="Zuzanna").exists()


def test_an_erased_person_is_not_found_again(campaign, bob):
    found = person(7, 1)
    lead = lead_store_prospect(campaign=campaign, prospect=found, source="sandbox")
    lead_erase(lead=lead, actor=bob, reason="Asked by email")
    leads = Lead.objects.count()

    again = dataclasses.replace(found, provider_id="another-search-id")  # the source returns the same person
    assert lead_store_prospect(campaign=campaign, prospect=again, source="sandbox") is None

    assert Lead.objects.count() == leads
    assert not Lead.objects.filter(first_name=found.first_name, last_name=found.last_name).exists()


@pytest.mark.parametrize("reason", ["", "   "])
def test_it_refuses_an_erasure_without_a_reason(zuzanna, bob, reason):
    with pytest.raises(ErasureRefused):
        lead_erase(lead=zuzanna[0], actor=bob, reason=reason)
    assert Lead.objects.get(pk=zuzanna[0].pk).email == EMAIL
    assert not Suppression.objects.exists()


def test_a_manager_erases_from_the_lead_page(client, bob, zuzanna):
    lead = zuzanna[0]
    page = login(client, bob).get(f"/leads/{lead.pk}/")
    assert b"Erase this person" in page.content and f"/leads/{lead.pk}/export.json".encode() in page.content

    response = client.post(
        f"/leads/{lead.pk}/erase/", {"reason": "Asked by email", "confirm_name": " zuzanna  kowalczyk"}
    )

    assert response.status_code == 302 and response["Location"] == "/leads/"
    assert Lead.objects.get(pk=lead.pk).email is None
    assert "data is erased" in client.get("/leads/").content.decode()


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({"reason": "Asked by email", "confirm_name": "Zuzanna"}, "The name typed is not Zuzanna Kowalczyk"),
        ({"reason": "Asked by email", "confirm_name": ""}, "Type the person&#x27;s name to confirm"),
        ({"reason": "", "confirm_name": NAME}, "Say why the person is erased."),
    ],
)
def test_it_erases_nothing_on_bad_input_and_says_why(client, bob, zuzanna, form, error):
    lead = zuzanna[0]
    response = login(client, bob).post(f"/leads/{lead.pk}/erase/", form, follow=True)
    assert response.status_code == 200
    assert error in response.content.decode()
    assert Lead.objects.get(pk=lead.pk).email == EMAIL
    assert not Suppression.objects.exists() and not Activity.objects.filter(verb="privacy.erased").exists()


def test_reps_and_outsiders_get_403_on_both_actions(client, alice, mallory, zuzanna):
    lead = zuzanna[0]  # alice owns it: still not hers to export or erase
    for user in (alice, mallory):
        login(client, user)
        assert client.get(f"/leads/{lead.pk}/export.json").status_code == 403
        assert client.post(f"/leads/{lead.pk}/erase/", {"reason": "x", "confirm_name": NAME}).status_code == 403
    assert Lead.objects.get(pk=lead.pk).email == EMAIL
    page = login(client, alice).get(f"/leads/{lead.pk}/")
    assert b"Erase this person" not in page.content and b"export.json" not in page.content


def test_each_action_takes_only_its_method(client, bob, zuzanna):
    lead = zuzanna[0]
    login(client, bob)
    assert client.post(f"/leads/{lead.pk}/export.json").status_code == 405
    assert client.get(f"/leads/{lead.pk}/erase/").status_code == 405


def test_the_command_erases_by_email_for_requests_that_come_by_mail(zuzanna, carol):
    call_command("erase_person", "--email", EMAIL.upper(), "--reason", "Letter of 3 May", "--actor", carol.username)
    assert rows_mentioning("Kowalczyk") == []
    assert Activity.objects.get(verb="privacy.erased").actor == carol


def test_the_command_suppresses_an_address_we_do_not_hold(db):
    call_command("erase_person", "--linkedin", "https://linkedin.com/in/Nobody-Here/?x=1", "--reason", "By email")
    assert is_suppressed(Lead(linkedin_url="https://www.linkedin.com/in/nobody-here"))


def test_the_command_needs_an_address_and_a_reason(db):
    with pytest.raises(CommandError):
        call_command("erase_person", "--reason", "By email")
    with pytest.raises(CommandError):
        call_command("erase_person", "--email", EMAIL, "--reason", " ")


# Retention


def test_the_purge_empties_only_what_is_old_and_keeps_the_counts(
    zuzanna, omar, settings, django_assert_max_num_queries
):
    settings.RETENTION_RAW_PROFILE_DAYS, settings.RETENTION_MESSAGE_BODY_DAYS = 365, 730
    now = timezone.now()
    old_lead, old_sent, old_pending, old_reply = zuzanna
    Lead.objects.filter(pk=old_lead.pk).update(updated_at=now - dt.timedelta(days=400))
    OutreachMessage.objects.filter(pk=old_sent.pk).update(sent_at=now - dt.timedelta(days=800))
    OutreachMessage.objects.filter(pk=old_pending.pk).update(updated_at=now - dt.timedelta(days=800))
    InboundMessage.objects.filter(pk=old_reply.pk).update(received_at=now - dt.timedelta(days=800))
    WebhookEvent.objects.filter(key="event-zk").update(
        received_at=now - dt.timedelta(days=800), processed_at=now - dt.timedelta(days=800)
    )
    before = counts()

    with django_assert_max_num_queries(16):  # two per batch and kind, one batch here
        purged = privacy_purge(now=now)

    assert purged == {"raw_profiles": 1, "messages": 1, "replies": 1, "webhook_events": 1}
    old_lead.refresh_from_db()
    assert old_lead.raw_profile == {} and old_lead.first_name == "Zuzanna"  # the profile, not the person
    sent = OutreachMessage.objects.get(pk=old_sent.pk)
    assert (sent.body, sent.status, sent.sent_at) == ("", "sent", now - dt.timedelta(days=800))
    assert OutreachMessage.objects.get(pk=old_pending.pk).body  # still waiting for a person: kept
    reply = InboundMessage.objects.get(pk=old_reply.pk)
    assert (reply.text, reply.analysis, reply.intent) == ("", {}, "interested")
    assert WebhookEvent.objects.get(key="event-zk").payload == {}
    # The recent person is untouched.
    omar_lead = omar[0]
    omar_lead.refresh_from_db()
    assert omar_lead.raw_profile and OutreachMessage.objects.get(pk=omar[1].pk).body
    assert InboundMessage.objects.get(pk=omar[3].pk).text and WebhookEvent.objects.get(key="event-oh").payload
    assert counts() == before
    assert privacy_purge(now=now) == {"raw_profiles": 0, "messages": 0, "replies": 0, "webhook_events": 0}


def test_the_purge_works_in_bounded_batches(campaign, alice, settings, django_assert_max_num_queries, monkeypatch):
    from leads import privacy

    monkeypatch.setattr(privacy, "PURGE_BATCH", 5)
    old = timezone.now() - dt.timedelta(days=1000)
    for _ in range(12):
        lead = LeadFactory(campaign=campaign, owner=alice, raw_profile={"x": 1})
        MessageFactory(lead=lead, status=OutreachMessage.Status.SENT, sent_at=old)
    Lead.objects.update(updated_at=old)

    with django_assert_max_num_queries(4 * 2 + 2 * 3 * 2):  # 3 batches of 5 for leads and messages
        purged = privacy_purge(now=timezone.now())

    assert (purged["raw_profiles"], purged["messages"]) == (12, 12)


def test_the_retention_task_is_scheduled_daily():
    from leads.tasks import privacy_purge_task
    from salesdept.schedules import SCHEDULES

    entry = next(entry for entry in SCHEDULES if entry.name == "privacy-retention")
    assert (entry.task, entry.minutes) == ("leads.tasks.privacy_purge_task", 24 * 60)
    assert privacy_purge_task() == {"raw_profiles": 0, "messages": 0, "replies": 0, "webhook_events": 0}
