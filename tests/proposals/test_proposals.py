"""From a conversation to a sent proposal: needs in their words, checked; an offer's document; the queue; the link."""

import datetime as dt
import io
import re

import pypdf
import pytest
import time_machine
from django.core import signing
from django.db import connection
from django.test.utils import CaptureQueriesContext

from leads.models import Activity, Lead
from outreach.models import InboundMessage, OutreachMessage
from outreach.sending import outreach_send_next
from proposals.links import LINK_DAYS
from proposals.models import NeedsSummary, Proposal
from salesdept import clock
from salesdept.llm.template import NAME as TEMPLATE
from tests.conftest import login
from tests.factories import LeadFactory
from tests.fakes.openai_server import json_reply
from tests.proposals.builders import REPLIES, close_offer, conversation_lead

pytestmark = pytest.mark.django_db
Status = OutreachMessage.Status

LINK = re.compile(r"https?://\S+/p/(\S+)/")


@pytest.fixture
def lead(campaign, alice, alice_account):
    return conversation_lead(campaign=campaign, owner=alice, account=alice_account)


@pytest.fixture
def offer(db):
    return close_offer()


def model_points(*points):
    return json_reply({"points": [dict(zip(("field", "text", "quote", "message"), p, strict=True)) for p in points]})


HONEST = [
    ("pains", "Month-end close takes 9 days in spreadsheets", "it takes us 9 days and lives in spreadsheets", "R1"),
    ("requirements", "Must integrate with NetSuite", "We need something that integrates with NetSuite", "R2"),
    ("budget", "Around £40k a year", "Our budget is around £40k a year.", "R2"),
    ("decision_makers", "CFO Maria Lopez signs off", "Our CFO Maria Lopez signs off on anything above £20k.", "R3"),
]
# Never said: a quote not in any of her messages, and a budget the quote does not hold.
INVENTED_QUOTE = ("requirements", "Needs SOC 2 reports", "we cannot buy without SOC 2 reports", "R2")
INVENTED_FIGURE = ("budget", "Budget of £75,000 approved", "Our budget is around £40k a year.", "R2")


def draft_needs(client, lead) -> NeedsSummary:
    response = client.post(f"/proposals/leads/{lead.pk}/needs/")
    assert response.status_code == 302, response.content[:500]
    return NeedsSummary.objects.get(pk=int(response.url.rstrip("/").rsplit("/", 1)[1]))


def pdf_text(data: bytes) -> str:
    return " ".join(" ".join(page.extract_text().split()) for page in pypdf.PdfReader(io.BytesIO(data)).pages)


def test_it_takes_a_proposal_from_the_conversation_to_the_prospect(
    client, llm, settings, alice, alice_account, lead, offer
):
    llm.queue(model_points(*HONEST))
    login(client, alice)
    page = client.get(f"/leads/{lead.pk}/")
    assert "Draft needs summary" in page.text

    needs = draft_needs(client, lead)
    assert [p["flag"] for p in needs.points] == [""] * 4
    replies = list(InboundMessage.objects.filter(lead=lead).order_by("received_at").values_list("pk", flat=True))
    assert [p["reply"] for p in needs.points] == [replies[0], replies[1], replies[1], replies[2]]
    page = client.get(f"/proposals/needs/{needs.pk}/")
    assert "“Our budget is around £40k a year.”" in page.text
    assert page.text.count("not said") == 1  # timeline: the model gave no point for it

    response = client.post(f"/proposals/needs/{needs.pk}/proposal/", {"offer": offer.pk})
    proposal = Proposal.objects.get(lead=lead)
    assert response.url == f"/proposals/{proposal.pk}/"
    edited = {
        "title": "Close Accelerator for Acme Ledger", "prospect_name": "Lena Park", "company_name": "Acme Ledger",
        "intro": "Dear Lena,\n\nAs promised after our exchange, here is how we would shorten your close.",
        "timeline": offer.timeline, "terms": offer.terms, "closing": "Kind regards,\nAlice Rivera",
    }  # fmt: skip
    assert client.post(f"/proposals/{proposal.pk}/", edited).status_code == 302
    preview = client.get(f"/proposals/{proposal.pk}/pdf/")
    assert preview["Content-Type"] == "application/pdf"
    text = pdf_text(preview.content)
    for expected in (
        "As promised after our exchange",  # the rep's edit
        "Our budget is around £40k a year.",  # her need, in her words
        "We need something that integrates with NetSuite",
        "Plus",
        "36,500.00 GBP",  # the package and its price
        "live by week 6",
        "Page 1 of",  # the stylesheet's page footer: the PDF's own CSS was applied
    ):
        assert expected in text, expected

    response = client.post(f"/proposals/{proposal.pk}/send/")
    assert response.status_code == 302
    proposal.refresh_from_db()
    message = proposal.message
    # The conversation went by LinkedIn message: so does the proposal, outside the sequence (step 0).
    assert (proposal.status, message.status, message.step, message.kind) == (
        "queued",
        Status.PENDING_APPROVAL,
        0,
        "message",
    )
    assert not any(f["blocking"] for f in message.guardrail_findings), message.guardrail_findings
    token = LINK.search(message.body).group(1)
    assert client.logout() is None
    assert client.get(f"/p/{token}/").status_code == 404  # not approved yet: nothing to read

    # Edits are refused once it is queued: the approver sees what goes.
    login(client, alice)
    refused = client.post(f"/proposals/{proposal.pk}/", {**edited, "intro": "Changed after queueing"})
    assert refused.status_code == 400 and "approval queue" in refused.text
    queue = client.get("/approvals/")
    assert "Preview the PDF" in queue.text and f"/proposals/{proposal.pk}/pdf/" in queue.text
    assert client.post(f"/approvals/{message.pk}/approve/", {"revision": message.revision}).status_code == 302
    message.refresh_from_db()
    assert message.status == Status.APPROVED

    with time_machine.travel(message.not_before + dt.timedelta(seconds=1), tick=False):
        assert outreach_send_next(account_id=alice_account.pk) == "sent"
    message.refresh_from_db()
    proposal.refresh_from_db()
    assert (message.status, proposal.status) == (Status.SENT, "sent")
    assert [
        v
        for v in Activity.objects.filter(lead=lead).order_by("pk").values_list("verb", flat=True)
        if v.startswith(("needs.", "proposal."))
    ] == ["needs.drafted", "proposal.created", "proposal.edited", "proposal.queued", "proposal.sent"]
    assert (
        f"/p/{token}/" in settings.SANDBOX_OUTBOX.read_text()
    )  # the sandbox channel delivered the message with the link

    client.logout()
    served = client.get(f"/p/{token}/")
    assert served.status_code == 200 and served["Content-Type"] == "application/pdf"
    assert "Our budget is around £40k a year." in pdf_text(served.content)
    assert "36,500.00 GBP" in pdf_text(served.content)
    login(client, alice)
    frozen = client.post(f"/proposals/{proposal.pk}/", {**edited, "intro": "After sending"})
    assert frozen.status_code == 400 and "new version" in frozen.text


@pytest.mark.parametrize(
    "tamper",
    [
        lambda token: token[:-2] + ("AA" if not token.endswith("AA") else "BB"),  # signature changed
        lambda token: re.sub(r"^\d+", lambda m: str(int(m.group(0)) + 1), token),  # another proposal's id
        lambda token: token.split(":")[0] + ":" + signing.Signer(salt="other").sign("x").split(":")[1],
    ],
    ids=["signature", "id", "foreign-signature"],
)
def test_it_refuses_a_tampered_link(client, alice, lead, offer, tamper):
    message = _approved_proposal(client, alice, lead, offer)
    token = LINK.search(message.body).group(1)
    client.logout()
    assert client.get(f"/p/{token}/").status_code == 200
    assert client.get(f"/p/{tamper(token)}/").status_code == 404


def test_it_refuses_an_expired_link(client, alice, lead, offer):
    message = _approved_proposal(client, alice, lead, offer)
    token = LINK.search(message.body).group(1)
    client.logout()
    with time_machine.travel(clock.now() + dt.timedelta(days=LINK_DAYS, minutes=1), tick=False):
        assert client.get(f"/p/{token}/").status_code == 404
    with time_machine.travel(clock.now() + dt.timedelta(days=LINK_DAYS - 1), tick=False):
        assert client.get(f"/p/{token}/").status_code == 200


def _approved_proposal(client, alice, lead, offer) -> OutreachMessage:
    """Template path (no model): summary, proposal, queue, approval."""
    login(client, alice)
    needs = draft_needs(client, lead)
    client.post(f"/proposals/needs/{needs.pk}/proposal/", {"offer": offer.pk})
    proposal = Proposal.objects.get(lead=lead)
    client.post(f"/proposals/{proposal.pk}/send/")
    message = Proposal.objects.get(pk=proposal.pk).message
    assert client.post(f"/approvals/{message.pk}/approve/", {"revision": message.revision}).status_code == 302
    message.refresh_from_db()
    return message


def test_it_flags_claims_she_never_made_and_keeps_them_out_of_the_pdf(client, llm, alice, lead, offer):
    llm.queue(model_points(*HONEST[:2], INVENTED_QUOTE, INVENTED_FIGURE))
    login(client, alice)
    needs = draft_needs(client, lead)
    flags = {p["text"]: p["flag"] for p in needs.points}
    assert flags["Must integrate with NetSuite"] == ""
    assert flags["Needs SOC 2 reports"].startswith("Not in what they wrote: the quote is not in")
    assert flags["Budget of £75,000 approved"] == "Not in what they wrote: £75,000 is not in the quote."
    page = client.get(f"/proposals/needs/{needs.pk}/")
    assert page.text.count("Not in what they wrote") == 2

    client.post(f"/proposals/needs/{needs.pk}/proposal/", {"offer": offer.pk})
    proposal = Proposal.objects.get(lead=lead)
    assert [p["text"] for p in proposal.needs_points] == [HONEST[0][1], HONEST[1][1]]
    text = pdf_text(client.get(f"/proposals/{proposal.pk}/pdf/").content)
    assert "it takes us 9 days" in text
    assert "SOC 2" not in text and "75,000" not in text
    assert Activity.objects.get(lead=lead, verb="needs.drafted").payload["flagged"] == 2


def test_it_flags_a_name_not_in_the_quote(client, llm, alice, lead):
    llm.queue(model_points(("decision_makers", "CEO John Smith decides", "Our CFO Maria Lopez signs off", "R3")))
    needs = draft_needs(login(client, alice), lead)
    assert needs.points[0]["flag"] == "Not in what they wrote: John, Smith is not in the quote."


def test_it_does_not_take_our_own_words_as_theirs(client, llm, alice, lead):
    """A quote of our message (or of our text quoted under their reply) is not what they wrote."""
    InboundMessage.objects.create(
        lead=lead, account=lead.owner.sending_accounts.first(), provider_id="quoted", received_at=clock.now(),
        text="Sounds good.\n\nOn Monday Alice wrote:\n> how does Acme close its books today?",
    )  # fmt: skip
    llm.queue(model_points(("pains", "How Acme closes its books", "how does Acme close its books today", "R4")))
    needs = draft_needs(login(client, alice), lead)
    assert needs.points[0]["flag"].startswith("Not in what they wrote")


def test_the_offline_template_only_quotes_and_says_not_said(client, alice, lead, offer):
    needs = draft_needs(login(client, alice), lead)  # no model configured
    assert needs.generated_by == TEMPLATE
    assert needs.points, "the template found none of her needs"
    theirs = " ".join(REPLIES)
    for point in needs.points:
        assert point["text"] == point["quote"] and point["quote"] in theirs and point["flag"] == ""
        assert point["by"] == "template"
    fields = {p["field"] for p in needs.points}
    assert {"pains", "requirements", "budget", "timeline", "decision_makers"} >= fields
    page = client.get(f"/proposals/needs/{needs.pk}/")
    assert "offline template" in page.text
    said = sum(1 for field, _, points in needs.by_field() if points)
    assert page.text.count(">not said<") == 5 - said


def test_it_falls_back_to_the_template_when_the_model_fails(client, llm, alice, lead):
    llm.queue(json_reply({"nonsense": True}), json_reply({"still": "wrong"}))
    needs = draft_needs(login(client, alice), lead)
    assert needs.generated_by == TEMPLATE
    assert all(p["quote"] in " ".join(REPLIES) for p in needs.points)


def test_a_reps_edit_is_marked_as_theirs_and_checked_the_same_way(client, llm, alice, lead):
    llm.queue(model_points(*HONEST[:2]))
    needs = draft_needs(login(client, alice), lead)
    data = {
        "revision": needs.revision, "form-TOTAL_FORMS": 4, "form-INITIAL_FORMS": 2,
        "form-0-field": "pains", "form-0-text": HONEST[0][1], "form-0-quote": HONEST[0][2], "form-0-orig": 0,
        "form-1-field": "requirements", "form-1-text": "NetSuite and an audit trail",
        "form-1-quote": "integrates with NetSuite and keeps an audit trail", "form-1-orig": 1,
        "form-2-field": "timeline", "form-2-text": "Live by the end of Q1", "form-2-quote": "go live by the end of Q1",
        "form-3-field": "budget", "form-3-text": "Budget of £90k", "form-3-quote": "Our budget is around £40k a year",
    }  # fmt: skip
    response = client.post(f"/proposals/needs/{needs.pk}/", data)
    assert response.status_code == 302
    needs.refresh_from_db()
    by = [(p["field"], p["by"], bool(p["flag"])) for p in needs.points]
    assert by == [
        ("pains", "model", False),
        ("requirements", "rep", False),
        ("timeline", "rep", False),
        ("budget", "rep", True),  # the rep's own invention is held back like the model's
    ]
    assert needs.edited_by == alice
    assert Activity.objects.filter(lead=lead, verb="needs.edited", actor=alice).exists()
    assert "Written by the rep" in client.get(f"/proposals/needs/{needs.pk}/").text


def test_it_refuses_a_point_without_its_quote(client, alice, lead):
    needs = draft_needs(login(client, alice), lead)
    before = needs.points
    data = {
        "revision": needs.revision, "form-TOTAL_FORMS": 1, "form-INITIAL_FORMS": 0,
        "form-0-field": "budget", "form-0-text": "About £40k", "form-0-quote": "   ",
    }  # fmt: skip
    response = client.post(f"/proposals/needs/{needs.pk}/", data)
    assert response.status_code == 400
    assert "their own words it comes from" in response.text
    needs.refresh_from_db()
    assert needs.points == before


def test_it_refuses_empty_proposal_fields_with_a_message(client, alice, lead, offer):
    needs = draft_needs(login(client, alice), lead)
    client.post(f"/proposals/needs/{needs.pk}/proposal/", {"offer": offer.pk})
    proposal = Proposal.objects.get(lead=lead)
    response = client.post(f"/proposals/{proposal.pk}/", {"title": " ", "prospect_name": "Lena Park", "intro": ""})
    assert response.status_code == 400
    assert "Give the proposal a title." in response.text
    assert "Write the introduction" in response.text
    proposal.refresh_from_db()
    assert proposal.title == "Close Accelerator for Acme Ledger"


def test_it_refuses_an_offer_that_is_not_one(client, alice, lead, offer):
    needs = draft_needs(login(client, alice), lead)
    for data in ({}, {"offer": "not-a-number"}, {"offer": offer.pk + 999}):
        response = client.post(f"/proposals/needs/{needs.pk}/proposal/", data)
        assert response.status_code == 400
        assert "Choose" in response.text
    assert not Proposal.objects.exists()


def test_another_rep_gets_404_for_every_step(client, alice, dan, lead, offer):
    needs = draft_needs(login(client, alice), lead)
    client.post(f"/proposals/needs/{needs.pk}/proposal/", {"offer": offer.pk})
    proposal = Proposal.objects.get(lead=lead)
    login(client, dan)
    assert client.post(f"/proposals/leads/{lead.pk}/needs/").status_code == 404
    assert client.get(f"/proposals/needs/{needs.pk}/").status_code == 404
    assert client.post(f"/proposals/needs/{needs.pk}/proposal/", {"offer": offer.pk}).status_code == 404
    assert client.get(f"/proposals/{proposal.pk}/").status_code == 404
    assert client.get(f"/proposals/{proposal.pk}/pdf/").status_code == 404
    assert client.post(f"/proposals/{proposal.pk}/send/").status_code == 404
    assert Proposal.objects.get(pk=proposal.pk).status == "draft"
    assert NeedsSummary.objects.count() == 1


def test_it_refuses_a_summary_before_they_wrote(client, alice, campaign):
    lead = LeadFactory(campaign=campaign, owner=alice)
    response = login(client, alice).post(f"/proposals/leads/{lead.pk}/needs/", follow=True)
    assert "has not written to us yet" in response.text
    assert not NeedsSummary.objects.exists()


def test_it_sends_nothing_to_a_person_who_opted_out(client, alice, lead, offer):
    needs = draft_needs(login(client, alice), lead)
    client.post(f"/proposals/needs/{needs.pk}/proposal/", {"offer": offer.pk})
    proposal = Proposal.objects.get(lead=lead)
    Lead.objects.filter(pk=lead.pk).update(status=Lead.Status.DO_NOT_CONTACT)
    response = client.post(f"/proposals/{proposal.pk}/send/")
    assert response.status_code == 400 and "opted out" in response.text
    assert not OutreachMessage.objects.filter(lead=lead, step=0).exists()
    assert Proposal.objects.get(pk=proposal.pk).status == "draft"


def test_a_rejected_proposal_message_is_not_redrafted_and_the_proposal_reopens(client, alice, lead, offer):
    login(client, alice)
    needs = draft_needs(client, lead)
    client.post(f"/proposals/needs/{needs.pk}/proposal/", {"offer": offer.pk})
    proposal = Proposal.objects.get(lead=lead)
    client.post(f"/proposals/{proposal.pk}/send/")
    message = Proposal.objects.get(pk=proposal.pk).message
    assert "Regenerate" not in client.get(f"/approvals/{message.pk}/").text
    response = client.post(f"/approvals/{message.pk}/reject/", {"revision": message.revision, "reason": "Wrong offer"})
    assert response.status_code == 302
    message.refresh_from_db()
    assert message.status == Status.REJECTED  # rejected alone: no model rewrote the proposal's message
    assert client.post(f"/proposals/{proposal.pk}/reopen/").status_code == 302
    proposal.refresh_from_db()
    assert (proposal.status, proposal.link_key, proposal.pdf) == ("draft", "", None)
    token = LINK.search(message.body).group(1)
    assert client.get(f"/p/{token}/").status_code == 404


def test_a_second_send_makes_no_second_message(client, alice, lead, offer):
    """Two clicks on "Send the proposal" (or two tabs): one message in the queue, the other refused."""
    needs = draft_needs(login(client, alice), lead)
    client.post(f"/proposals/needs/{needs.pk}/proposal/", {"offer": offer.pk})
    proposal = Proposal.objects.get(lead=lead)
    assert client.post(f"/proposals/{proposal.pk}/send/").status_code == 302
    again = client.post(f"/proposals/{proposal.pk}/send/")
    assert again.status_code == 400 and "approval queue" in again.text
    assert OutreachMessage.objects.filter(lead=lead, step=0).count() == 1


def test_a_new_version_is_a_new_proposal(client, alice, lead, offer):
    message = _approved_proposal(client, alice, lead, offer)
    first = message.proposal
    response = client.post(f"/proposals/{first.pk}/new-version/")
    second = Proposal.objects.get(lead=lead, version=2)
    assert response.url == f"/proposals/{second.pk}/"
    assert (second.status, second.intro, second.message) == ("draft", first.intro, None)
    assert client.post(f"/proposals/{second.pk}/", {
        "title": "v2", "prospect_name": "Lena Park", "intro": "New intro", "timeline": "Six weeks",
    }).status_code == 302  # fmt: skip
    first.refresh_from_db()
    assert first.intro != "New intro"


def test_the_lead_page_lists_proposals_in_few_queries(client, alice, lead, offer, django_assert_max_num_queries):
    needs = draft_needs(login(client, alice), lead)
    client.post(f"/proposals/needs/{needs.pk}/proposal/", {"offer": offer.pk})
    with CaptureQueriesContext(connection) as one:
        client.get(f"/leads/{lead.pk}/")
    with_one = len(one)  # now: each request clears the connection's query log
    for _ in range(5):
        client.post(f"/proposals/needs/{needs.pk}/proposal/", {"offer": offer.pk})
    with django_assert_max_num_queries(with_one):  # six proposals cost what one did
        page = client.get(f"/leads/{lead.pk}/")
    assert page.text.count("/pdf/") == 6


def test_erasing_the_person_removes_their_needs_and_proposals(client, alice, lead, offer):
    from leads.privacy import lead_erase

    message = _approved_proposal(client, alice, lead, offer)
    token = LINK.search(message.body).group(1)
    lead_erase(lead=lead, actor=alice, reason="Asked by email")
    assert not NeedsSummary.objects.filter(lead=lead).exists()
    assert not Proposal.objects.filter(lead=lead).exists()
    client.logout()
    assert client.get(f"/p/{token}/").status_code == 404
