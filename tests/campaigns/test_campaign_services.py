"""campaign_create and campaign_update: what they store, what they refuse, and that a refusal stores nothing."""

import pytest
from django.core.exceptions import ValidationError

from campaigns.models import Campaign, SequenceStep, TargetProfile
from campaigns.services import campaign_create, campaign_update
from leads.models import Activity
from tests.factories import CampaignFactory, LeadFactory, MessageFactory, SendingAccountFactory

pytestmark = pytest.mark.django_db


def fields(**overrides) -> dict:
    values = {
        "name": "Fintech CFOs",
        "target": {"titles": ["CFO", "VP Finance"], "locations": ["London"], "company_sizes": ["51-200"]},
        "labels": [{"name": "Speaker", "description": "Could speak"}, {"name": "Sponsor", "description": ""}],
        "min_score": 50,
        "daily_lead_quota": 20,
        "lead_sources": ["sandbox"],
        "brief_links": ["https://summit.example/agenda"],
        "steps": [
            {"kind": "connection_note", "delay_days": 0, "instruction": "Mention the summit"},
            {"kind": "message", "delay_days": 3, "instruction": ""},
        ],
    }
    return values | overrides


def errors_of(excinfo) -> dict[str, list[str]]:
    return excinfo.value.message_dict


def test_it_creates_a_campaign_with_its_own_target_steps_and_accounts(bob, alice_account):
    campaign = campaign_create(actor=bob, **fields(account_ids=[alice_account.pk], offer=" A free pass "))
    campaign.refresh_from_db()
    assert (campaign.name, campaign.owner, campaign.status) == ("Fintech CFOs", bob, "draft")
    assert campaign.target.titles == ["CFO", "VP Finance"]
    assert campaign.target.name == "Fintech CFOs"
    assert campaign.offer == "A free pass"
    assert campaign.tone == "warm, concise, professional"  # blank tone: the default
    assert [(s.order, s.kind, s.delay_days) for s in campaign.steps.all()] == [
        (1, "connection_note", 0),
        (2, "message", 3),
    ]
    assert list(campaign.sending_accounts.all()) == [alice_account]
    assert Activity.objects.filter(verb="campaign.created", campaign=campaign, actor=bob).exists()


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"labels": []}, "labels", "Add at least one label"),
        ({"labels": [{"name": "Speaker"}, {"name": "speaker "}]}, "labels", "'speaker' appears twice"),
        ({"min_score": 150}, "min_score", "from 0 to 100"),
        ({"daily_lead_quota": 0}, "daily_lead_quota", "from 1 to 500"),
        ({"daily_lead_quota": 501}, "daily_lead_quota", "from 1 to 500"),
        ({"brief_links": ["summit.example"]}, "brief_links", "'summit.example' is not a web address"),
        ({"brief_links": ["ftp://summit.example/x"]}, "brief_links", "must start with http:// or https://"),
        ({"steps": []}, "steps", "Add at least one step"),
        ({"steps": [{"kind": "message", "delay_days": 2}]}, "steps", "its delay must be 0 days"),
        ({"steps": [{"kind": "fax", "delay_days": 0}]}, "steps", "choose what kind of message"),
        ({"lead_sources": ["csv"]}, "lead_sources", "Unknown lead source: csv"),
        ({"target": {"company_sizes": ["big"]}}, "company_sizes", "'big' is not one"),
        ({"target": {"linkedin_search_url": "https://evil.example/search"}}, "linkedin_search_url", "linkedin.com"),
        ({"name": "  "}, "name", "Give the campaign a name"),
    ],
)
def test_it_refuses_bad_input_and_stores_nothing(bob, overrides, field, message):
    with pytest.raises(ValidationError) as excinfo:
        campaign_create(actor=bob, **fields(**overrides))
    assert any(message in error for error in errors_of(excinfo)[field]), errors_of(excinfo)
    assert not Campaign.objects.exists()
    assert not TargetProfile.objects.exists()
    assert not Activity.objects.exists()


def test_it_reports_every_bad_field_at_once(bob):
    with pytest.raises(ValidationError) as excinfo:
        campaign_create(actor=bob, **fields(labels=[], min_score=101, steps=[]))
    assert set(errors_of(excinfo)) == {"labels", "min_score", "steps"}


def test_it_refuses_an_account_that_is_switched_off(bob, alice):
    off = SendingAccountFactory(owner=alice, is_active=False)
    with pytest.raises(ValidationError) as excinfo:
        campaign_create(actor=bob, **fields(account_ids=[off.pk]))
    assert "switched off" in errors_of(excinfo)["account_ids"][0]
    assert not Campaign.objects.exists()


def test_it_updates_fields_and_records_what_changed(bob, campaign):
    campaign_update(campaign=campaign, actor=bob, min_score=75, target={"titles": ["Treasurer"]})
    campaign.refresh_from_db()
    assert campaign.min_score == 75
    assert campaign.target.titles == ["Treasurer"]
    activity = Activity.objects.get(verb="campaign.updated", campaign=campaign)
    assert activity.payload["fields"] == ["min_score", "titles"]
    assert activity.actor == bob


def test_an_update_that_changes_nothing_writes_nothing(bob, campaign):
    campaign_update(campaign=campaign, actor=bob, min_score=campaign.min_score)
    assert not Activity.objects.filter(verb="campaign.updated").exists()


def test_a_shared_target_is_copied_not_changed_under_the_other_campaign(bob, campaign):
    other = CampaignFactory(owner=bob, target=campaign.target)
    campaign_update(campaign=campaign, actor=bob, target={"titles": ["Treasurer"]})
    campaign.refresh_from_db()
    other.refresh_from_db()
    assert campaign.target_id != other.target_id
    assert other.target.titles == ["Chief Financial Officer", "VP Finance", "Head of Finance"]
    assert campaign.target.titles == ["Treasurer"]
    assert campaign.target.locations == other.target.locations  # the rest is copied


def test_steps_are_edited_in_place_and_renumbered(bob, campaign):
    first, second = campaign.steps.order_by("order")
    campaign_update(
        campaign=campaign,
        actor=bob,
        steps=[
            {"id": second.pk, "kind": "message", "delay_days": 0, "instruction": "Now first"},
            {"id": first.pk, "kind": "connection_note", "delay_days": 4, "instruction": ""},
            {"kind": "email", "delay_days": 7, "instruction": "Last try"},
        ],
    )
    steps = list(campaign.steps.order_by("order"))
    assert [(s.pk, s.order, s.kind, s.delay_days) for s in steps[:2]] == [
        (second.pk, 1, "message", 0),
        (first.pk, 2, "connection_note", 4),
    ]
    assert (steps[2].order, steps[2].kind, steps[2].instruction) == (3, "email", "Last try")


def test_steps_without_ids_are_matched_by_position(bob, campaign):
    first = campaign.steps.get(order=1)
    campaign_update(campaign=campaign, actor=bob, steps=[{"kind": "inmail", "delay_days": 0, "instruction": ""}])
    assert list(campaign.steps.values_list("pk", "kind")) == [(first.pk, "inmail")]


def test_a_step_with_messages_cannot_be_deleted(bob, campaign, alice):
    first, second = campaign.steps.order_by("order")
    MessageFactory(lead=LeadFactory(campaign=campaign, owner=alice), campaign=campaign, step=2)
    with pytest.raises(ValidationError) as excinfo:
        campaign_update(
            campaign=campaign,
            actor=bob,
            min_score=90,
            steps=[{"id": first.pk, "kind": "connection_note", "delay_days": 0, "instruction": ""}],
        )
    assert "Step 2 (LinkedIn message) cannot be deleted: 1 message(s) were drafted for it" in " ".join(
        errors_of(excinfo)["steps"]
    )
    assert campaign.steps.count() == 2
    campaign.refresh_from_db()
    assert campaign.min_score == 30  # nothing else was saved either


def test_a_step_with_messages_keeps_its_number(bob, campaign, alice):
    first, second = campaign.steps.order_by("order")
    MessageFactory(lead=LeadFactory(campaign=campaign, owner=alice), campaign=campaign, step=2)
    with pytest.raises(ValidationError) as excinfo:
        campaign_update(
            campaign=campaign,
            actor=bob,
            steps=[
                {"id": second.pk, "kind": "message", "delay_days": 0, "instruction": ""},
                {"id": first.pk, "kind": "connection_note", "delay_days": 2, "instruction": ""},
            ],
        )
    assert "must keep its number: it would become step 1" in " ".join(errors_of(excinfo)["steps"])
    assert list(campaign.steps.order_by("order").values_list("pk", flat=True)) == [first.pk, second.pk]


def test_a_step_with_messages_can_still_be_reworded(bob, campaign, alice):
    first, second = campaign.steps.order_by("order")
    MessageFactory(lead=LeadFactory(campaign=campaign, owner=alice), campaign=campaign, step=2)
    campaign_update(
        campaign=campaign,
        actor=bob,
        steps=[
            {"id": first.pk, "kind": "connection_note", "delay_days": 0, "instruction": ""},
            {"id": second.pk, "kind": "message", "delay_days": 5, "instruction": "Shorter"},
        ],
    )
    assert SequenceStep.objects.get(pk=second.pk).delay_days == 5


def test_a_step_of_another_campaign_cannot_be_taken_over(bob, campaign):
    other_step = CampaignFactory(owner=bob).steps.get(order=1)
    with pytest.raises(ValidationError):
        campaign_update(
            campaign=campaign,
            actor=bob,
            steps=[{"id": other_step.pk, "kind": "email", "delay_days": 0, "instruction": ""}],
        )
    assert SequenceStep.objects.get(pk=other_step.pk).kind == "connection_note"


def test_an_account_switched_off_may_stay_on_its_campaign(bob, campaign, alice_account, dan_account):
    alice_account.is_active = False
    alice_account.save(update_fields=["is_active"])
    campaign_update(campaign=campaign, actor=bob, account_ids=[alice_account.pk, dan_account.pk], min_score=60)
    assert set(campaign.sending_accounts.all()) == {alice_account, dan_account}
