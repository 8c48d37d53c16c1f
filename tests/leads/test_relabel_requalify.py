"""A rep takes charge of a lead's place in its campaign: another label, qualification run again, a hand score."""

import pytest

from campaigns.allocation import campaign_allocate
from leads.models import Activity, Lead
from outreach.models import OutreachMessage
from outreach.services import messages_draft
from tests.conftest import login
from tests.factories import LeadFactory, MessageFactory

pytestmark = pytest.mark.django_db
S = Lead.Status


@pytest.fixture(autouse=True)
def _no_background_drafts(monkeypatch):
    monkeypatch.setattr("outreach.tasks.messages_draft_task.delay_on_commit", lambda ids, step: None)


@pytest.fixture
def lead(campaign, alice):
    return LeadFactory(campaign=campaign, owner=alice, first_name="Lena", label="Speaker")


# Relabel ---------------------------------------------------------------------------------------------


def test_it_relabels_a_lead_and_the_next_draft_leads_with_that_labels_angle(client, lead, alice):
    response = login(client, alice).post(f"/leads/{lead.pk}/label/", {"label": "Sponsor"})
    assert response.status_code == 302
    lead.refresh_from_db()
    assert (lead.label, lead.classified_by, lead.needs_review) == ("Sponsor", "rep", False)
    activity = Activity.objects.get(lead=lead, verb="lead.relabelled")
    assert (activity.actor, activity.payload) == (alice, {"previous": "Speaker", "label": "Sponsor"})
    [draft] = messages_draft(lead_ids=[lead.pk], step=1)
    assert "reaching the people who attend" in draft.body.lower()  # the Sponsor label's angle
    assert "a place on our stage" not in draft.body.lower()


def test_the_lead_page_offers_the_campaigns_labels(client, lead, alice):
    page = login(client, alice).get(f"/leads/{lead.pk}/").text
    assert f'action="/leads/{lead.pk}/label/"' in page
    assert '<option value="Sponsor">Sponsor</option>' in page and '<option value="Speaker" selected>' in page


def test_a_label_the_campaign_does_not_have_is_refused(client, lead, alice):
    login(client, alice).post(f"/leads/{lead.pk}/label/", {"label": "Wizard"})
    lead.refresh_from_db()
    assert lead.label == "Speaker"
    assert not Activity.objects.filter(lead=lead, verb="lead.relabelled").exists()


def test_the_same_label_again_changes_nothing(client, lead, alice):
    login(client, alice).post(f"/leads/{lead.pk}/label/", {"label": "Speaker"})
    assert not Activity.objects.filter(lead=lead, verb="lead.relabelled").exists()


def test_another_rep_cannot_relabel_alices_lead(client, lead, dan):
    assert login(client, dan).post(f"/leads/{lead.pk}/label/", {"label": "Sponsor"}).status_code == 404
    lead.refresh_from_db()
    assert lead.label == "Speaker"


# Qualify again --------------------------------------------------------------------------------------


def test_a_rep_cannot_qualify_again_a_lead_that_is_not_theirs(client, campaign, alice):
    lead = LeadFactory(campaign=campaign, owner=None, status=S.DISQUALIFIED, score=5, label="Other")
    assert login(client, alice).post(f"/leads/{lead.pk}/requalify/").status_code == 404
    lead.refresh_from_db()
    assert (lead.status, lead.score) == (S.DISQUALIFIED, 5)


def test_a_manager_qualifies_again_a_disqualified_lead_that_now_fits(client, campaign, bob):
    lead = LeadFactory(campaign=campaign, owner=None, status=S.DISQUALIFIED, score=5, label="Other", insight="")
    assert login(client, bob).post(f"/leads/{lead.pk}/requalify/").status_code == 302
    lead.refresh_from_db()
    assert lead.status == S.QUALIFIED
    assert lead.score >= campaign.min_score and lead.insight
    verbs = list(Activity.objects.filter(lead=lead).values_list("verb", flat=True))
    assert verbs[:2] == ["lead.requalified", "lead.qualified"]
    assert campaign_allocate(campaign_id=campaign.pk) == [lead.pk]  # back in play: allocated to a rep


def test_qualifying_again_disqualifies_a_lead_that_no_longer_fits_and_withdraws_its_draft(
    client, campaign, alice, alice_account
):
    campaign.min_score = 95
    campaign.save(update_fields=["min_score"])
    lead = LeadFactory(campaign=campaign, owner=alice, status=S.QUALIFIED, score=96)
    draft = MessageFactory(lead=lead, account=alice_account)
    login(client, alice).post(f"/leads/{lead.pk}/requalify/")
    lead.refresh_from_db()
    draft.refresh_from_db()
    assert lead.status == S.DISQUALIFIED and lead.score < 95
    assert draft.status == OutreachMessage.Status.CANCELLED


def test_a_reps_own_score_still_decides_when_qualification_runs_again(client, campaign, alice):
    campaign.min_score = 95
    campaign.save(update_fields=["min_score"])
    lead = LeadFactory(campaign=campaign, owner=alice, status=S.QUALIFIED, score=96, score_override=99)
    login(client, alice).post(f"/leads/{lead.pk}/requalify/")
    lead.refresh_from_db()
    assert lead.status == S.QUALIFIED and lead.score < 95  # the rule score moved; the rep's did not
    assert Activity.objects.get(lead=lead, verb="lead.requalified").payload["to"] == S.QUALIFIED


def test_a_contacted_lead_is_not_qualified_again(client, lead, alice):
    Lead.objects.filter(pk=lead.pk).update(status=S.CONTACTED)
    response = login(client, alice).post(f"/leads/{lead.pk}/requalify/", follow=True)
    assert "qualification runs only before contact" in response.text
    lead.refresh_from_db()
    assert lead.status == S.CONTACTED
    assert not Activity.objects.filter(lead=lead, verb="lead.requalified").exists()


def test_a_new_lead_gets_its_first_qualification(client, campaign, alice):
    lead = LeadFactory(campaign=campaign, owner=alice, status=S.NEW, score=None)
    login(client, alice).post(f"/leads/{lead.pk}/requalify/")
    lead.refresh_from_db()
    assert lead.status in (S.QUALIFIED, S.DISQUALIFIED) and lead.score is not None


# A hand score ---------------------------------------------------------------------------------------


def test_a_hand_score_at_the_minimum_brings_a_disqualified_lead_back_to_be_allocated(client, campaign, bob):
    lead = LeadFactory(campaign=campaign, owner=None, status=S.DISQUALIFIED, score=10)
    login(client, bob).post(f"/leads/{lead.pk}/score/", {"score": campaign.min_score, "reason": "Met at the Summit"})
    lead.refresh_from_db()
    assert (lead.status, lead.score_override) == (S.QUALIFIED, campaign.min_score)
    moved = Activity.objects.get(lead=lead, verb="lead.qualified")
    assert (moved.payload["from"], moved.payload["trigger"], moved.actor) == (S.DISQUALIFIED, "rep_scores", bob)
    assert campaign_allocate(campaign_id=campaign.pk) == [lead.pk]


def test_a_hand_score_under_the_minimum_leaves_a_disqualified_lead_out(client, campaign, bob):
    lead = LeadFactory(campaign=campaign, owner=None, status=S.DISQUALIFIED, score=10)
    login(client, bob).post(f"/leads/{lead.pk}/score/", {"score": campaign.min_score - 1, "reason": "Maybe"})
    lead.refresh_from_db()
    assert lead.status == S.DISQUALIFIED
    assert campaign_allocate(campaign_id=campaign.pk) == []


def test_a_hand_score_does_not_reopen_a_lost_lead(client, lead, alice):
    Lead.objects.filter(pk=lead.pk).update(status=S.LOST)
    login(client, alice).post(f"/leads/{lead.pk}/score/", {"score": 100, "reason": "Still love them"})
    lead.refresh_from_db()
    assert (lead.status, lead.score_override) == (S.LOST, 100)
