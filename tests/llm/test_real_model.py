"""The product against a real small model: qualify → draft → fact check → read replies, through a real worker.

SmolLM2-135M behind llama.cpp's server writes what small local models write: invented labels,
preambles, placeholders, other languages. The product must still keep its promise: every draft
a rep can approve is clean, every opt-out ends in do-not-contact whatever the model read, and
no call is lost without a trace. The figures are printed for the issue note (`make test-llm`).
"""

import re
from collections import Counter

import pytest
from django.db import transaction

from approvals.services import DecisionError, message_approve
from campaigns.services import campaign_start_pipeline
from leads.models import Lead
from leads.suppression import is_suppressed
from outreach.channels.base import InboundItem
from outreach.models import InboundMessage, OutreachMessage
from outreach.replies import inbound_record
from salesdept.models import LLMCall
from tests.factories import CampaignFactory, SendingAccountFactory
from tests.integration.conftest import wait_for

pytestmark = [pytest.mark.llm, pytest.mark.postgres, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

LEADS = 10
OPT_OUTS = [
    "Please remove me from your list.",
    "Bitte entfernen Sie mich aus Ihrem Verteiler.",
    "Merci de ne plus me contacter.",
    "Por favor, no me contacten más.",
    "STOP",
]
OTHER_REPLIES = [
    "I am out of the office until Monday with limited access to email.",
    "Sounds interesting. Could you send me more details about the pricing?",
    "Not interested, thanks.",
]
# What small models were seen to write and a prospect must never get: placeholders, a preamble
# before the greeting, markup debris.
TELLS = [
    re.compile(r"\[[^\]\n]{0,60}\]?|\{[^}\n]*\}|%[A-Z_]+%"),
    re.compile(r"^\s*(?:here is|here's|sure|certainly|subject:)", re.IGNORECASE),
    re.compile(r"</?(?:p|br|div|span|b|strong)\b|\*\*|^#+\s", re.IGNORECASE | re.MULTILINE),
]


def test_a_real_model_never_gets_an_unclean_draft_approved_or_an_opt_out_missed(
    bob, alice, llama_server, celery_worker_process, capsys
):
    account = SendingAccountFactory(owner=alice, name="Alice sandbox")
    campaign = CampaignFactory(
        owner=bob,
        accounts=[account],
        daily_lead_quota=LEADS,
        min_score=0,
        name="Internal: CFOs in fintech, London",
        offer="A two-day summit on finance automation, with 40 speakers from European fintechs.",
        call_to_action="Would you like the agenda?",
    )
    celery_worker_process(
        OPENAI_API_KEY="local-key",
        LLM_BASE_URL=llama_server.base_url,
        LLM_MODEL=llama_server.model,
        LLM_TIMEOUT_SECONDS="120",
    )
    with transaction.atomic():
        campaign_start_pipeline(campaign=campaign, actor=bob)

    def settled_drafts():
        leads = Lead.objects.filter(campaign=campaign, owner__isnull=False)
        drafts = OutreachMessage.objects.filter(campaign=campaign, step=1)
        waiting = drafts.exclude(status=OutreachMessage.Status.GENERATING)
        return list(waiting) if leads.exists() and waiting.count() == leads.count() == drafts.count() else None

    drafts = wait_for("every allocated lead's first draft, written and checked", settled_drafts, timeout=600, every=2)

    # What a rep can approve must pass the product's own approval check, and carry none of the tells.
    approvable = [d for d in drafts if d.status == OutreachMessage.Status.PENDING_APPROVAL and not d.blocked]
    refused = []
    with transaction.atomic():
        for draft in approvable:
            for tell in TELLS:
                assert not tell.search(f"{draft.subject}\n{draft.body}"), (tell.pattern, draft.body)
            assert campaign.name.lower() not in draft.body.lower()
            try:
                message_approve(message=draft, actor=alice, revision=draft.revision)
            except DecisionError as exc:
                refused.append((draft.pk, str(exc)))
        transaction.set_rollback(True)  # approving was the check; nothing is sent
    assert refused == [], "drafts shown as approvable that approval refuses"

    # Replies, read by the model on the worker: every opt-out ends in do-not-contact and suppression.
    leads = list(Lead.objects.filter(campaign=campaign, owner__isnull=False).order_by("pk"))
    texts = OPT_OUTS + OTHER_REPLIES
    assert len(leads) >= len(texts), "every reply needs a lead of its own"
    replied = list(zip(leads, texts, strict=False))
    with transaction.atomic():
        for n, (lead, text) in enumerate(replied):
            item = InboundItem(
                provider_id=f"real-model-reply-{n}",
                sender_provider_id=lead.provider_id,
                text=text,
                received_at=lead.created_at,
            )
            assert inbound_record(account=account, item=item)
    wait_for(
        "every reply to be read",
        lambda: not InboundMessage.objects.filter(lead__campaign=campaign, intent="").exists(),
        timeout=300,
        every=2,
    )
    for lead, text in replied:
        lead.refresh_from_db()
        if text in OPT_OUTS:
            assert lead.status == Lead.Status.DO_NOT_CONTACT, (text, lead.status)
            assert is_suppressed(lead), text
        if text in OTHER_REPLIES[:1] + OTHER_REPLIES[2:]:  # out of office, not interested: nothing to answer
            assert not OutreachMessage.objects.filter(reply_to__lead=lead).exists(), text
    answers = OutreachMessage.objects.filter(reply_to__lead__campaign=campaign)
    for answer in answers.filter(status=OutreachMessage.Status.PENDING_APPROVAL, blocked=False):
        for tell in TELLS:
            assert not tell.search(answer.body), (tell.pattern, answer.body)

    # No call lost without a trace: each one either answered or says why it fell back.
    calls = LLMCall.objects.filter(campaign=campaign)
    silent = calls.exclude(outcome=LLMCall.Outcome.OK).filter(error="").exclude(outcome=LLMCall.Outcome.TEMPLATE)
    assert not silent.exists(), list(silent.values("purpose", "outcome"))
    assert not Lead.objects.filter(campaign=campaign, status=Lead.Status.NEW).exists()

    blocked = Counter(f["code"] for d in drafts if d.blocked for f in d.guardrail_findings if f["blocking"])
    by_outcome = Counter((c.purpose, c.outcome) for c in calls)
    intents = Counter(InboundMessage.objects.filter(lead__campaign=campaign).values_list("intent", flat=True))
    with capsys.disabled():
        print(f"\nreal model {llama_server.model}: {calls.count()} calls")
        for (purpose, outcome), n in sorted(by_outcome.items()):
            print(f"  {purpose:<16} {outcome:<10} {n}")
        print(f"  tokens in {sum(c.tokens_in for c in calls)}, out {sum(c.tokens_out for c in calls)}")
        print(f"  drafts {len(drafts)}: approvable {len(approvable)}, blocked {sum(d.blocked for d in drafts)}")
        print(f"  blocking findings {dict(blocked)}")
        print(f"  replies {len(replied)}: intents {dict(intents)}")
        for call in calls.exclude(outcome=LLMCall.Outcome.OK):
            print(f"  {call.purpose} {call.outcome}: {call.error[:160]}")
