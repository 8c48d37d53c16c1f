"""/api/v1/deals: the board's deals by filter and page, a deal with its history, open, move and update."""

import datetime as dt
import json
from decimal import Decimal

import pytest

from deals.models import Deal, DealStage
from deals.services import deal_move, deal_open
from leads.models import Lead
from tests.api.conftest import bearer
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db
S = Lead.Status


def send(client, url: str, headers: dict, body: dict | None = None, method: str = "post"):
    return getattr(client, method)(url, json.dumps(body or {}), content_type="application/json", headers=headers)


def error_of(response, status: int) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["code"] and body["message"]
    return body


def stage(name: str) -> DealStage:
    return DealStage.objects.get(name=name)


def a_deal(owner, *, value="1000", currency="EUR", **lead) -> Deal:
    person = LeadFactory(status=S.INTERESTED, owner=owner, **lead)
    return deal_open(lead=person, actor=owner, value=Decimal(value), currency=currency)


def test_a_rep_lists_only_her_deals_even_naming_another_owner(client, as_alice, alice, dan):
    mine, _theirs = a_deal(alice), a_deal(dan)
    for query in ({}, {"owner": dan.pk}):
        items = client.get("/api/v1/deals", query, headers=as_alice).json()["items"]
        assert [deal["id"] for deal in items] == [mine.pk]


def test_a_manager_lists_every_deal_and_filters(client, as_bob, alice, dan, campaign):
    alices = a_deal(alice, campaign=campaign)
    dans = a_deal(dan, campaign=None)
    deal_move(deal=dans, stage=stage("Won"), actor=dan)

    def ids(**query) -> set[int]:
        return {deal["id"] for deal in client.get("/api/v1/deals", query, headers=as_bob).json()["items"]}

    assert ids() == {alices.pk, dans.pk}
    assert ids(owner=dan.pk) == {dans.pk}
    assert ids(campaign=campaign.pk) == {alices.pk}
    assert ids(open="true") == {alices.pk} and ids(open="false") == {dans.pk}
    assert ids(stage=stage("Won").pk) == {dans.pk}


def test_it_pages_deals_by_cursor_without_repeats(client, as_alice, alice):
    made = {a_deal(alice).pk for _ in range(11)}
    seen, after = [], ""
    while True:
        page = client.get("/api/v1/deals", {"size": 4, "after": after}, headers=as_alice).json()
        seen += [deal["id"] for deal in page["items"]]
        if not (after := page["next_cursor"]):
            break
    assert len(seen) == len(made) and set(seen) == made


def test_it_reads_a_deal_with_its_history(client, as_alice, alice):
    deal = a_deal(alice, value="1234.5", currency="USD")
    deal_move(deal=deal, stage=stage("Needs assessed"), actor=alice)
    body = client.get(f"/api/v1/deals/{deal.pk}", headers=as_alice).json()
    assert (body["stage"], body["outcome"], Decimal(body["value"]), body["currency"]) == (
        "Needs assessed", "open", Decimal("1234.50"), "USD",
    )  # fmt: skip
    assert [entry["verb"] for entry in body["history"]] == ["deal.stage_changed", "deal.opened"]
    assert body["history"][0]["payload"]["from"] == "Meeting" and body["history"][0]["actor_id"] == alice.pk


def test_another_rep_gets_404_on_a_deal_that_is_not_theirs(client, as_dan, alice):
    deal = a_deal(alice)
    error_of(client.get(f"/api/v1/deals/{deal.pk}", headers=as_dan), 404)
    error_of(send(client, f"/api/v1/deals/{deal.pk}/move", as_dan, {"stage": stage("Won").pk}), 404)
    error_of(send(client, f"/api/v1/deals/{deal.pk}", as_dan, {"value": 1}, method="patch"), 404)
    error_of(send(client, "/api/v1/deals", as_dan, {"lead": deal.lead_id, "value": 5}), 404)
    deal.refresh_from_db()
    assert deal.stage.name == "Meeting" and deal.value == Decimal("1000")


def test_it_opens_a_deal_for_a_lead_in_conversation(client, as_alice, alice, settings):
    settings.DEALS_DEFAULT_CURRENCY = "GBP"
    lead = LeadFactory(status=S.REPLIED, owner=alice)
    body = {"lead": lead.pk, "value": "5000", "expected_close": "2027-04-30", "next_step": "Send the proposal"}
    response = send(client, "/api/v1/deals", as_alice, body)
    assert response.status_code == 201, response.content
    deal = Deal.objects.get(lead=lead)
    assert response.json()["id"] == deal.pk
    assert (deal.stage.name, deal.value, deal.currency, deal.expected_close) == (
        "Meeting", Decimal("5000"), "GBP", dt.date(2027, 4, 30),
    )  # fmt: skip
    assert Lead.objects.get(pk=lead.pk).status == S.MEETING


def test_opening_is_refused_before_a_conversation_and_twice(client, as_alice, alice):
    early = LeadFactory(status=S.QUALIFIED, owner=alice)
    assert error_of(send(client, "/api/v1/deals", as_alice, {"lead": early.pk}), 409)["code"] == "deal_open_refused"
    deal = a_deal(alice)
    Lead.objects.filter(pk=deal.lead_id).update(status=S.INTERESTED)
    refused = error_of(send(client, "/api/v1/deals", as_alice, {"lead": deal.lead_id}), 409)
    assert "already has an open deal" in refused["message"]
    assert Deal.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [({"currency": "EUE"}, "currency"), ({"value": -1}, "value"), ({"expected_close": "soon"}, "expected_close"),
     ({"next_step": "x" * 301}, "next_step"), ({"owner": 1}, "owner")],
)  # fmt: skip
def test_bad_input_is_a_400_naming_the_field(client, as_alice, alice, body, field):
    lead = LeadFactory(status=S.REPLIED, owner=alice)
    error = error_of(send(client, "/api/v1/deals", as_alice, {"lead": lead.pk, **body}), 400)
    assert error["code"] == "invalid" and field in {e["field"] for e in error["errors"]}
    assert not Deal.objects.exists()


def test_it_moves_a_deal_and_closes_it_won(client, as_alice, alice):
    deal = a_deal(alice)
    for name in ("Proposal sent", "Won"):
        response = send(client, f"/api/v1/deals/{deal.pk}/move", as_alice, {"stage": stage(name).pk})
        assert response.status_code == 200 and response.json()["stage"] == name
    deal.refresh_from_db()
    assert deal.is_closed and Lead.objects.get(pk=deal.lead_id).status == S.WON


def test_a_refused_move_is_a_409_with_its_code(client, as_alice, alice, bob):
    deal = a_deal(alice)
    seen = deal.stage_id
    deal_move(deal=Deal.objects.get(pk=deal.pk), stage=stage("Negotiation"), actor=bob)
    stale = send(client, f"/api/v1/deals/{deal.pk}/move", as_alice, {"stage": stage("Won").pk, "from_stage": seen})
    body = error_of(stale, 409)
    assert body["code"] == "deal_move_refused" and "Someone moved this deal meanwhile" in body["message"]
    same = send(client, f"/api/v1/deals/{deal.pk}/move", as_alice, {"stage": stage("Negotiation").pk})
    assert error_of(same, 409)["code"] == "deal_move_refused"
    deal.refresh_from_db()
    assert deal.stage.name == "Negotiation" and not deal.is_closed


def test_lost_needs_a_reason(client, as_alice, alice):
    deal = a_deal(alice)
    error = error_of(send(client, f"/api/v1/deals/{deal.pk}/move", as_alice, {"stage": stage("Lost").pk}), 400)
    assert error["errors"] == [{"field": "reason", "message": error["errors"][0]["message"]}]
    assert "Say why the deal was lost" in error["message"]
    ok = send(client, f"/api/v1/deals/{deal.pk}/move", as_alice, {"stage": stage("Lost").pk, "reason": "No budget"})
    assert ok.status_code == 200 and ok.json()["lost_reason"] == "No budget"


def test_it_updates_only_the_fields_sent(client, as_alice, alice):
    deal = a_deal(alice, value="700", currency="USD")
    response = send(client, f"/api/v1/deals/{deal.pk}", as_alice, {"next_step": "Call Tuesday"}, method="patch")
    assert response.status_code == 200, response.content
    deal.refresh_from_db()
    assert (deal.value, deal.currency, deal.next_step) == (Decimal("700"), "USD", "Call Tuesday")
    assert response.json()["history"][0]["payload"]["changed"] == {"next_step": "Call Tuesday"}


def test_a_read_only_token_reads_deals_but_cannot_change_one(client, alice):
    deal = a_deal(alice)
    reader = bearer(alice, read_only=True)
    assert client.get(f"/api/v1/deals/{deal.pk}", headers=reader).status_code == 200
    move = send(client, f"/api/v1/deals/{deal.pk}/move", reader, {"stage": stage("Won").pk})
    update = send(client, f"/api/v1/deals/{deal.pk}", reader, {"value": 1}, method="patch")
    opened = send(client, "/api/v1/deals", reader, {"lead": LeadFactory(status=S.REPLIED, owner=alice).pk})
    for response in (move, update, opened):
        assert error_of(response, 403)["code"] == "read_only_token"
    deal.refresh_from_db()
    assert deal.stage.name == "Meeting" and deal.value == Decimal("1000") and Deal.objects.count() == 1
