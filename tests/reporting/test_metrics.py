"""The daily counts the dashboard and the report read: people per stage, errors, model cost."""

import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Sum
from django.utils import timezone

from leads.models import Lead
from leads.services import activity_record
from reporting.metrics import bump, metrics_record_found
from reporting.models import DailyCount, LeadMilestone
from tests.factories import LeadFactory, MessageFactory

pytestmark = pytest.mark.django_db


def counted(stage: str, **dims) -> int:
    return DailyCount.objects.filter(stage=stage, **dims).aggregate(n=Sum("count"))["n"] or 0


def test_each_stage_counts_a_person_once_with_its_dimensions(campaign, alice, alice_account):
    lead = LeadFactory(campaign=campaign, owner=alice, label="Speaker")
    first = MessageFactory(lead=lead, campaign=campaign, account=alice_account, generated_by="template")
    second = MessageFactory(lead=lead, campaign=campaign, account=alice_account, step=2, generated_by="template")

    activity_record(verb="lead.qualified", lead=lead)
    for message in (first, second):  # a follow-up is sent to the same person
        activity_record(verb="message.sent", message=message, lead=lead)

    row = DailyCount.objects.get(stage="sent")
    assert row.count == 1
    assert (row.campaign_id, row.rep_id, row.account_id, row.label, row.version) == (
        campaign.pk,
        alice.pk,
        alice_account.pk,
        "Speaker",
        "template",
    )
    assert row.day == timezone.localdate()
    assert counted("qualified", campaign_id=campaign.pk) == 1
    assert LeadMilestone.objects.filter(lead=lead).count() == 2


def test_checked_by_hand_counts_as_sent(campaign, alice_account):
    message = MessageFactory(lead=LeadFactory(campaign=campaign), campaign=campaign, account=alice_account)
    activity_record(verb="message.marked_sent", message=message, lead=message.lead)
    assert counted("sent") == 1


def test_send_errors_count_every_event(campaign, alice_account):
    message = MessageFactory(lead=LeadFactory(campaign=campaign), campaign=campaign, account=alice_account)
    for verb in ("message.transient", "message.transient", "message.fatal", "message.held"):
        activity_record(verb=verb, message=message, lead=message.lead)
    assert counted("send_error", account_id=alice_account.pk) == 3  # "held" is our own rule, not an error


def test_timeline_only_verbs_count_nothing(campaign):
    activity_record(verb="lead.snoozed", lead=LeadFactory(campaign=campaign))
    assert not DailyCount.objects.exists()


def test_model_calls_count_with_their_cost(campaign):
    from salesdept.llm.gateway import _saved
    from salesdept.models import LLMCall

    calls = [
        LLMCall(purpose="draft", model="m", campaign_id=campaign.pk, cost_usd=Decimal("0.0125"), outcome="ok"),
        LLMCall(purpose="draft", model="m", campaign_id=campaign.pk, cost_usd=Decimal("0.0075"), outcome="ok"),
    ]
    _saved([(None, call, False) for call in calls])
    row = DailyCount.objects.get(stage="llm", campaign_id=campaign.pk)
    assert (row.count, row.cost_usd) == (2, Decimal("0.02"))


def test_leads_found_in_bulk_are_counted_once(campaign):
    from leads.models import Activity

    leads = [LeadFactory(campaign=campaign, status=Lead.Status.NEW) for _ in range(5)]
    activities = Activity.objects.bulk_create(
        [Activity(lead=lead, campaign=campaign, verb="lead.imported") for lead in leads]
    )
    metrics_record_found(activities)
    metrics_record_found(activities)  # a retry counts nobody twice
    assert counted("found", campaign_id=campaign.pk) == 5


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_many_workers_count_each_person_once_and_every_event(campaign, alice_account):
    leads = [LeadFactory(campaign=campaign) for _ in range(5)]
    day = timezone.localdate()
    errors: list[Exception] = []

    def worker():
        try:
            for lead in leads:
                activity_record(verb="lead.qualified", lead=lead)
                bump(day=day, stage="send_error", account_id=alice_account.pk)
        except Exception as exc:  # pragma: no cover - shown by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert counted("qualified") == 5  # 40 events, 5 people
    assert counted("send_error") == 40
    assert DailyCount.objects.filter(stage="send_error").count() == 1


def test_a_rebuild_from_the_log_matches_the_live_counts(campaign, alice, dan, alice_account, dan_account):
    from django.core.management import call_command

    for owner, account, label in ((alice, alice_account, "Speaker"), (dan, dan_account, "Sponsor")):
        for n in range(3):
            lead = LeadFactory(campaign=campaign, owner=owner, label=label)
            message = MessageFactory(lead=lead, campaign=campaign, account=account, generated_by="template")
            activity_record(verb="lead.found", lead=lead)
            activity_record(verb="message.drafted", message=message, lead=lead)
            if n:
                activity_record(verb="message.sent", message=message, lead=lead)
            if n == 2:
                activity_record(verb="reply.received", message=message, lead=lead)
                activity_record(verb="message.transient", message=message, lead=lead)
    live = sorted(
        DailyCount.objects.values_list(
            "day", "stage", "campaign_id", "rep_id", "account_id", "label", "version", "count"
        )
    )
    milestones = LeadMilestone.objects.count()

    call_command("rebuild_metrics", stdout=None)

    rebuilt = sorted(
        DailyCount.objects.values_list(
            "day", "stage", "campaign_id", "rep_id", "account_id", "label", "version", "count"
        )
    )
    assert rebuilt == live
    assert LeadMilestone.objects.count() == milestones


def test_a_batch_of_entries_counts_what_they_would_one_by_one_and_what_a_rebuild_finds(
    campaign, alice, dan, alice_account, dan_account
):
    from django.core.management import call_command

    from leads.models import Activity
    from leads.services import activities_record

    def entry(verb, message):
        return Activity(verb=verb, lead=message.lead, message=message)

    def rows():
        return sorted(
            DailyCount.objects.values_list(
                "day", "stage", "campaign_id", "rep_id", "account_id", "label", "version", "count"
            )
        )

    earlier = MessageFactory(
        lead__campaign=campaign, lead__owner=alice, lead__label="Sponsor", account=alice_account, generated_by="v1"
    )
    activity_record(verb="message.drafted", message=earlier, lead=earlier.lead)  # drafted before: counted then
    batch = []
    for owner, account, label, version in ((alice, alice_account, "Speaker", "v1"), (dan, dan_account, "", "v2")):
        for _ in range(3):
            lead = LeadFactory(campaign=campaign, owner=owner, label=label)
            batch.append(entry("message.drafted", MessageFactory(lead=lead, account=account, generated_by=version)))
    again = MessageFactory(lead=earlier.lead, account=alice_account, step=2, generated_by="v1")
    twice = MessageFactory(lead=batch[0].lead, account=alice_account, step=2, generated_by="v1")
    batch += [entry("message.drafted", again), entry("message.drafted", twice)]  # people already drafted
    batch += [entry("message.transient", again), entry("message.transient", twice)]  # each error counts

    activities_record(batch)

    assert counted("drafted") == 7  # people: the one drafted before and the six of the batch, each once
    assert counted("drafted", rep_id=alice.pk, label="Speaker", version="v1", account_id=alice_account.pk) == 3
    assert counted("drafted", rep_id=dan.pk, version="v2", account_id=dan_account.pk) == 3
    assert counted("send_error") == 2
    assert LeadMilestone.objects.get(lead=batch[0].lead, stage="drafted").activity == batch[0]
    live = rows()
    call_command("rebuild_metrics", stdout=None)
    assert rows() == live


def test_it_takes_an_undone_approval_out_of_the_funnel_unless_another_stands(campaign, alice, alice_account):
    from django.core.management import call_command

    lead = LeadFactory(campaign=campaign, owner=alice)
    first, second = (MessageFactory(lead=lead, campaign=campaign, account=alice_account, step=step) for step in (1, 2))

    def approved_live_and_rebuilt() -> tuple[int, int]:
        live = counted("approved")
        rows = sorted(DailyCount.objects.values_list("day", "stage", "campaign_id", "rep_id", "count"))
        call_command("rebuild_metrics", stdout=None)
        assert sorted(DailyCount.objects.values_list("day", "stage", "campaign_id", "rep_id", "count")) == rows
        return live, counted("approved")

    activity_record(verb="message.approved", message=first, lead=lead)
    activity_record(verb="message.approved", message=second, lead=lead)
    assert approved_live_and_rebuilt() == (1, 1)  # one person

    activity_record(verb="message.approval_undone", message=first, lead=lead)
    assert approved_live_and_rebuilt() == (1, 1)  # the second approval still stands
    assert LeadMilestone.objects.get(lead=lead, stage="approved").activity.message == second

    activity_record(verb="message.approval_undone", message=second, lead=lead)
    assert approved_live_and_rebuilt() == (0, 0)
    assert not DailyCount.objects.filter(stage="approved").exists()  # no row left at 0

    activity_record(verb="message.approved", message=first, lead=lead)  # approved again: counted again
    assert approved_live_and_rebuilt() == (1, 1)
