"""The objects the permissions matrix names, one of each kind: built for tests/security and the browser tests.

Every object belongs to alice where it can be someone's (the manager's campaign and report are bob's),
and each carries SECRET, so a refused answer can be checked for having leaked it.
"""

import datetime as dt

from campaigns.models import CampaignRequest
from competitors.models import Competitor, CompetitorPost, CompetitorSummary
from crm.models import SyncRecord, SyncRun
from crm.services import connection_save
from deals.services import deal_open
from hooks.models import Delivery, Endpoint
from leads.imports import csv_import_create
from leads.models import Lead, Task
from library.models import ContentItem
from outreach.linkedin import linkedin_link_hash
from outreach.models import InboundMessage, LinkedInLink, OutreachMessage, SendingAccount
from outreach.unsubscribe import lead_unsubscribe_token
from presence.models import Post
from proposals.links import link_token
from proposals.models import NeedsSummary, Offer, Package, Proposal
from reporting.models import DailyReport
from salesdept.apitokens import api_token_create
from salesdept.models import Notification
from salesdept.roles import ADMIN, MANAGER, REP
from tests.factories import (
    CampaignFactory,
    LeadFactory,
    MessageFactory,
    SendingAccountFactory,
    UserFactory,
)

NOW = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)
SECRET = "Alicesecret"  # in every object of alice's: a refused answer must never contain it


def build_world() -> dict[str, dict]:
    """One object of each kind, alice's where it can be someone's, each carrying SECRET."""
    alice = UserFactory(username="alice@example.com", first_name="Alice", last_name="Rivera", role=REP)
    dan = UserFactory(username="dan@example.com", first_name="Dan", role=REP)
    bob = UserFactory(username="bob@example.com", first_name="Bob", role=MANAGER)
    UserFactory(username="carol@example.com", first_name="Carol", role=ADMIN, is_staff=True)
    UserFactory(username="mallory@example.com", first_name="Mallory")
    account = SendingAccountFactory(owner=alice, name="Alice sandbox")
    campaign = CampaignFactory(owner=bob, accounts=[account, SendingAccountFactory(owner=dan)])
    lead = LeadFactory(campaign=campaign, owner=alice, first_name="Lena", last_name=SECRET)
    draft = MessageFactory(lead=lead, campaign=campaign, account=account, body=f"Hi Lena {SECRET}")
    to_check = MessageFactory(
        lead=lead, account=account, step=2, status=OutreachMessage.Status.UNKNOWN, body=f"Sent? {SECRET}"
    )
    reply = InboundMessage.objects.create(
        lead=lead, account=account, in_reply_to=draft, provider_id="in-1", text=f"Yes {SECRET}", received_at=NOW,
        intent="interested", needs_look=True,
    )  # fmt: skip
    job = csv_import_create(
        user=alice, file_name=f"{SECRET}.csv", data=b"First Name,Last Name,Company\r\nJo,Doe,Acme\r\n", campaign=None
    )
    job.error_report = f"Row,Problem\r\n3,{SECRET} has no company\r\n"
    job.save(update_fields=["error_report"])
    campaign_request = CampaignRequest.objects.create(
        requested_by=alice, text=f"CFOs in London {SECRET}", status=CampaignRequest.Status.PENDING
    )
    report = DailyReport.objects.create(recipient=bob, date=dt.date(2026, 3, 10), html=f"<p>{SECRET}</p>")
    notification = Notification.objects.create(user=alice, text=f"Reply from {SECRET}", url="/leads/")
    task = Task.objects.create(
        lead=lead, owner=alice, created_by=alice, text=f"Call {SECRET}", instruction="Call", due_on=NOW.date(),
        timezone="UTC", due_at=NOW,
    )  # fmt: skip
    linkedin = SendingAccountFactory(
        owner=alice, name="Alice LinkedIn", channel=SendingAccount.Channel.UNIPILE, provider_account_id="acc-alice"
    )
    link = LinkedInLink.objects.create(
        user=alice, kind="create", secret_hash=linkedin_link_hash(SECRET), expires_at=NOW + dt.timedelta(days=36500)
    )
    competitor = Competitor.objects.create(name="Ledgerline", linkedin_id="10351", notes=f"Watch {SECRET}")
    competitor_post = CompetitorPost.objects.create(
        competitor=competitor, provider_id="p-1", text=f"We launch Ledgerline Close. {SECRET}", posted_at=NOW,
        read_at=NOW, url="https://www.linkedin.com/feed/update/p-1/",
    )  # fmt: skip
    CompetitorSummary.objects.create(
        competitor=competitor, week_start=NOW.date() - dt.timedelta(days=NOW.weekday()), written_by="template",
        points=[{"kind": "launch", "text": "We launch Ledgerline Close.", "posts": [competitor_post.pk]}],
    )  # fmt: skip
    item = ContentItem.objects.create(
        title=f"Case study {SECRET}", url="https://example.com/case", summary="Closing books faster.",
        facts=["Month-end close went from 9 days to 4"],
    )  # fmt: skip
    post = Post.objects.create(
        author=Post.Author.REP, rep=alice, account=account, text=f"Month-end close went from 9 days to 4 {SECRET}",
        content_item=item, link=item.url, suggestion_key="world", week=NOW.date(), publish_at=NOW, campaign=campaign,
    )  # fmt: skip
    endpoint = Endpoint.objects.create(
        url=f"https://hooks.example.com/{SECRET}", events=["lead.created"], secret=f"whsec_{SECRET}", created_by=bob,
        created_at=NOW,
    )  # fmt: skip
    delivery = Delivery.objects.create(
        event="lead.created", endpoint=endpoint, payload={"data": {"last_name": SECRET}}, created_at=NOW,
        status=Delivery.Status.DELIVERED, response_code=200,
    )  # fmt: skip
    hubspot = connection_save(kind="hubspot", credentials=f"pat-na1-{SECRET}", actor=bob, connected_as="portal 4242")
    SyncRun.objects.create(
        connection=hubspot, started_at=NOW, finished_at=NOW, status=SyncRun.Status.DONE, created=3, failed=1,
        notes=["Deal 1: moved on both sides; ours (Proposal sent) is newer and was kept."],
    )  # fmt: skip
    SyncRecord.objects.create(
        connection=hubspot, kind=SyncRecord.Kind.CONTACT, local_id=lead.pk, lead=lead, state=SyncRecord.State.ERROR,
        last_error="HubSpot 400 VALIDATION_ERROR: Property values were not valid",
    )  # fmt: skip
    # Alice's deal is with another lead of hers (her main lead stays in conversation, where "Open a deal" shows);
    # dan's deal is his own: alice never sees it.
    dealt = LeadFactory(
        campaign=campaign, owner=alice, first_name="Dora", last_name=SECRET, status=Lead.Status.INTERESTED
    )
    deal = deal_open(lead=dealt, actor=alice, value=12000, next_step=f"Send the deck {SECRET}", now=NOW)
    dans = LeadFactory(campaign=campaign, owner=dan, first_name="Dino", status=Lead.Status.INTERESTED)
    dans_deal = deal_open(lead=dans, actor=dan, value=800, currency="USD", now=NOW)
    needs = NeedsSummary.objects.create(
        lead=lead, generated_by="template", created_by=alice,
        points=[{"field": "pains", "text": f"Yes {SECRET}", "quote": f"Yes {SECRET}", "reply": reply.pk, "ref": "R1",
                 "by": "template", "flag": ""}],
    )  # fmt: skip
    offer = Offer.objects.create(name="Close Accelerator", timeline="Live by week 6.")
    Package.objects.create(offer=offer, name="Core", included="Close checklist", price=18000)
    proposal = Proposal.objects.create(
        lead=lead, needs=needs, offer=offer, title=f"Proposal {SECRET}", prospect_name=f"Lena {SECRET}",
        intro=f"Dear Lena {SECRET}", timeline="Live by week 6.", link_key="world-key",
        needs_points=[{"field": "pains", "text": f"Yes {SECRET}", "quote": f"Yes {SECRET}"}],
        packages=[{"name": "Core", "included": "Close checklist", "price": "18000.00", "currency": "GBP"}],
    )  # fmt: skip
    api_token, _secret = api_token_create(user=alice, name=f"Script {SECRET}", read_only=False, expires_on=None)
    return {
        "-": {},
        "item": {"pk": item.pk},
        "post": {"pk": post.pk},
        "endpoint": {"pk": endpoint.pk},
        "delivery": {"pk": delivery.pk},
        "draft": {"pk": draft.pk},
        "lead": {"pk": lead.pk},
        "to_check": {"pk": to_check.pk},
        "reply": {"pk": reply.pk},
        "import": {"pk": job.pk},
        "request": {"pk": campaign_request.pk},
        "notification": {"pk": notification.pk},
        "account": {"pk": account.pk},
        "campaign": {"pk": campaign.pk},
        "report": {"pk": report.pk},
        "table": {"table": "funnel"},
        "token": {"token": lead_unsubscribe_token(lead=lead)},
        "task": {"pk": task.pk},
        "alice": {"pk": alice.pk},
        "linkedin": {"pk": linkedin.pk},
        "link": {"link_id": link.pk, "token": "not-the-secret"},
        "competitor": {"pk": competitor.pk},
        "api_token": {"pk": api_token.pk},
        "crm": {"kind": hubspot.kind},
        "deal": {"pk": deal.pk},
        "dans_deal": {"pk": dans_deal.pk},
        "needs": {"pk": needs.pk},
        "proposal": {"pk": proposal.pk},
        "proposal_link": {"token": link_token(proposal)},
    }
