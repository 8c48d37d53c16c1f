"""The objects the permissions matrix names, one of each kind: built for tests/security and the browser tests.

Every object belongs to alice where it can be someone's (the manager's campaign and report are bob's),
and each carries SECRET, so a refused answer can be checked for having leaked it.
"""

import datetime as dt

from campaigns.models import CampaignRequest
from leads.imports import csv_import_create
from leads.models import Task
from outreach.linkedin import linkedin_link_hash
from outreach.models import InboundMessage, LinkedInLink, OutreachMessage, SendingAccount
from outreach.unsubscribe import lead_unsubscribe_token
from reporting.models import DailyReport
from salesdept.apitokens import api_token_create
from salesdept.models import Notification
from salesdept.roles import ADMIN, MANAGER, REP
from tests.factories import CampaignFactory, LeadFactory, MessageFactory, SendingAccountFactory, UserFactory

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
    api_token, _secret = api_token_create(user=alice, name=f"Script {SECRET}", read_only=False, expires_on=None)
    return {
        "-": {},
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
        "api_token": {"pk": api_token.pk},
    }
