import pytest

from campaigns.allocation import campaign_allocate
from leads.dedupe import normalise_linkedin_url
from leads.models import Activity, Lead
from leads.services import leads_find, leads_qualify
from leads.sources.sandbox import SandboxSource
from outreach.models import OutreachMessage
from outreach.services import messages_draft
from tests.factories import CampaignFactory, LeadFactory

pytestmark = pytest.mark.django_db


def test_the_sandbox_network_is_deterministic():
    from leads.sources.base import SearchQuery

    first = SandboxSource(seed=3).search_people(query=SearchQuery(titles=["CFO"]), cursor=None, limit=5)
    again = SandboxSource(seed=3).search_people(query=SearchQuery(titles=["CFO"]), cursor=None, limit=5)
    assert [p.provider_id for p in first.items] == [p.provider_id for p in again.items]
    other = SandboxSource(seed=4).search_people(query=SearchQuery(), cursor=None, limit=5)
    assert [p.first_name for p in other.items] != [p.first_name for p in first.items]


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("https://www.linkedin.com/in/Jane-Doe/", "https://www.linkedin.com/in/jane-doe"),
        ("http://linkedin.com/in/jane-doe?trk=abc", "https://www.linkedin.com/in/jane-doe"),
        ("  HTTPS://WWW.LINKEDIN.COM/in/jane-doe#x ", "https://www.linkedin.com/in/jane-doe"),
        ("", ""),
    ],
)
def test_it_normalises_linkedin_urls(raw, normal):
    assert normalise_linkedin_url(raw) == normal


def test_it_finds_new_leads_and_resumes_where_it_stopped(campaign):
    first = leads_find(campaign_id=campaign.pk, limit=5)
    second = leads_find(campaign_id=campaign.pk, limit=5)
    assert len(first) == 5 and len(second) == 5
    assert not set(first) & set(second)
    assert Activity.objects.filter(verb="lead.found").count() == 10


def test_it_never_takes_a_known_person_twice(campaign, bob):
    found = leads_find(campaign_id=campaign.pk, limit=5)
    other = CampaignFactory(owner=bob, target=campaign.target)
    again = leads_find(campaign_id=other.pk, limit=5)  # same network, same people first
    assert not Lead.objects.filter(
        pk__in=again, linkedin_url__in=Lead.objects.filter(pk__in=found).values("linkedin_url")
    ).exists()
    assert Lead.objects.count() == 10


def test_a_paused_campaign_finds_nothing(campaign):
    campaign.status = "paused"
    campaign.save(update_fields=["status"])
    assert leads_find(campaign_id=campaign.pk, limit=5) == []


def test_qualification_scores_with_reasons(campaign):
    lead = LeadFactory(campaign=campaign, status=Lead.Status.NEW, score=None, label="")
    assert leads_qualify(lead_ids=[lead.pk]) == [lead]
    lead.refresh_from_db()
    assert lead.status == Lead.Status.QUALIFIED
    assert lead.score == sum(f["points"] for f in lead.score_breakdown)
    assert {f["factor"] for f in lead.score_breakdown} == {
        "title",
        "seniority",
        "industry",
        "company_size",
        "location",
        "intent",
    }
    assert lead.label in campaign.label_names
    assert lead.insight
    assert lead.classified_by == "template"
    assert leads_qualify(lead_ids=[lead.pk]) == []  # once only


def test_an_excluded_title_is_disqualified(campaign):
    campaign.target.exclusions = ["Intern"]
    campaign.target.save()
    lead = LeadFactory(campaign=campaign, status=Lead.Status.NEW, headline="Finance Intern at Acme")
    leads_qualify(lead_ids=[lead.pk])
    assert Lead.objects.get(pk=lead.pk).status == Lead.Status.DISQUALIFIED


def test_allocation_spreads_leads_fairly_and_keeps_one_rep_per_company(campaign, alice, dan):
    leads = [LeadFactory(campaign=campaign, owner=None) for _ in range(4)]
    same_company = LeadFactory(campaign=campaign, owner=None, company=leads[0].company, score=10)
    allocated = campaign_allocate(campaign_id=campaign.pk)
    assert len(allocated) == 5
    owners = {lead.pk: Lead.objects.get(pk=lead.pk).owner_id for lead in [*leads, same_company]}
    assert sorted(list(owners.values()).count(rep.pk) for rep in (alice, dan)) == [2, 3]
    assert owners[same_company.pk] == owners[leads[0].pk]


def test_drafting_puts_a_checked_message_in_the_queue(campaign, alice):
    lead = LeadFactory(campaign=campaign, owner=alice, first_name="Zoë")
    [message] = messages_draft(lead_ids=[lead.pk])
    assert message.status == OutreachMessage.Status.PENDING_APPROVAL
    assert message.kind == "connection_note"
    assert message.body.startswith("Hi Zoë,")
    assert len(message.body) <= 300
    assert message.generated_by == "template"
    assert message.llm_call.purpose == "draft"
    assert message.blocking_findings == []
    assert messages_draft(lead_ids=[lead.pk]) == []  # idempotent: the draft exists
    assert OutreachMessage.objects.count() == 1


def test_no_draft_for_a_lead_that_must_not_be_contacted(campaign, alice):
    lead = LeadFactory(campaign=campaign, owner=alice, status=Lead.Status.DO_NOT_CONTACT)
    assert messages_draft(lead_ids=[lead.pk]) == []


def test_a_shared_rank_word_does_not_make_a_title_close(campaign):
    from leads.scoring import score_lead

    def title_points(position):
        scored = score_lead(
            position=position,
            seniority="director",
            industry="",
            employees=None,
            location="",
            headline=position,
            company="",
            recent_posts=0,
            target=campaign.target,
        )
        return next(f["points"] for f in scored.breakdown if f["factor"] == "title")

    assert title_points("Head of Finance") == 30
    assert title_points("Head of Finance Operations") == 30
    assert title_points("Finance Director") == 15
    assert title_points("Head of Partnerships") == 0


def test_a_batch_of_drafts_costs_about_the_same_statements_whatever_its_size(
    campaign, alice, django_assert_max_num_queries
):
    """Reads and writes are batched: the rows, their drafts, timeline entries, milestones and counts."""
    for size in (3, 30, 90):
        leads = [LeadFactory(campaign=campaign, owner=alice).pk for _ in range(size)]
        # The reads, among them the enrolments (a stopped one drafts nothing) and the reps' signatures; the
        # lazy LinkedIn activity read (leads.intent), whose views are spent per account in chunks; the writes,
        # in bulk. One by one, the writes cost ten statements a draft (406 for 60 drafts before they were batched).
        # The campaign and its accounts are read on their own, once for the batch: joined, they were built again for
        # every row (four statements more, 800 copies fewer for 800 drafts).
        with django_assert_max_num_queries(52 + size // 10):
            assert len(messages_draft(lead_ids=leads)) == size
