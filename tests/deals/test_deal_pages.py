"""The deals pages: the board, a deal's page, and "Open a deal" on the lead page, through HTTP."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from deals.models import Deal, DealStage
from deals.services import deal_move, deal_open
from leads.models import Activity, Lead
from leads.services import lead_close
from salesdept import clock
from tests.conftest import login
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db
S = Lead.Status
HTMX = {"HTTP_HX_REQUEST": "true"}


def stage(name: str) -> DealStage:
    return DealStage.objects.get(name=name)


def a_deal(owner, *, value="1000", currency="EUR", **lead) -> Deal:
    person = LeadFactory(status=S.INTERESTED, owner=owner, **lead)
    return deal_open(lead=person, actor=owner, value=Decimal(value), currency=currency)


def column(html: str, name: str) -> str:
    """One column of the board, by its stage's name."""
    sections = re.findall(r"<section class=\"board-column.*?</section>", html, re.S)
    found = [section for section in sections if re.search(rf"<h2[^>]*>{re.escape(name)} <", section)]
    assert len(found) == 1, f"no single column {name!r}"
    return found[0]


def test_it_shows_each_open_stage_in_order_then_won_and_lost(client, alice):
    a_deal(alice, first_name="Ines")
    html = login(client, alice).get("/deals/").content.decode()
    names = re.findall(r'<h2 id="stage-\d+">([^<]+?) <', html)
    assert names == ["Meeting", "Needs assessed", "Proposal sent", "Negotiation", "Won", "Lost"]
    assert "Ines" in column(html, "Meeting")


def test_a_card_shows_what_a_rep_needs(client, alice):
    deal = a_deal(alice, first_name="Ines", value="12500.5")
    deal_update_fields = {"expected_close": dt.date(2027, 3, 31), "next_step": "Send the pricing"}
    Deal.objects.filter(pk=deal.pk).update(**deal_update_fields, stage_changed_at=clock.now() - dt.timedelta(days=3))
    card = column(login(client, alice).get("/deals/").content.decode(), "Meeting")
    assert f'href="/leads/{deal.lead_id}/"' in card and deal.lead.company.name in card
    assert "12,500.50 EUR" in card and "31 Mar 2027" in card and "Send the pricing" in card
    assert "3 days" in card and "Alice" in card


def test_totals_are_per_currency_never_added_across(client, alice):
    a_deal(alice, value="1000", currency="EUR")
    a_deal(alice, value="500", currency="EUR")
    a_deal(alice, value="700", currency="USD")
    total = re.search(
        r'column-total">(.*?)</p>', column(login(client, alice).get("/deals/").content.decode(), "Meeting")
    )
    assert total.group(1) == "1,500.00 EUR · 700.00 USD"


def test_won_and_lost_show_only_the_last_30_days(client, alice):
    recent, old, open_one = a_deal(alice, first_name="Recent"), a_deal(alice, first_name="Olden"), a_deal(alice)
    deal_move(deal=recent, stage=stage("Won"), actor=alice)
    deal_move(deal=old, stage=stage("Won"), actor=alice, now=clock.now() - dt.timedelta(days=31))
    won = column(login(client, alice).get("/deals/").content.decode(), "Won")
    assert "Recent" in won and "Olden" not in won
    assert open_one.lead.first_name not in won


def test_a_rep_sees_only_their_deals_and_cannot_filter_to_anothers(client, alice, dan):
    a_deal(alice, first_name="Ines")
    a_deal(dan, first_name="Omar")
    html = login(client, alice).get("/deals/", {"owner": dan.pk}).content.decode()
    assert "Ines" in html and "Omar" not in html
    assert 'name="owner"' not in html  # the owner filter is a manager's


def test_a_manager_filters_by_owner_and_campaign(client, alice, dan, bob, campaign):
    a_deal(alice, first_name="Ines", campaign=campaign)
    a_deal(dan, first_name="Omar", campaign=None)
    login(client, bob)
    everyone = client.get("/deals/").content.decode()
    assert "Ines" in everyone and "Omar" in everyone
    dans = client.get("/deals/", {"owner": dan.pk}).content.decode()
    assert "Omar" in dans and "Ines" not in dans
    in_campaign = client.get("/deals/", {"campaign": campaign.pk}).content.decode()
    assert "Ines" in in_campaign and "Omar" not in in_campaign
    assert client.get("/deals/", {"owner": "x", "campaign": "nope"}).status_code == 200  # junk narrows nothing


# Session, user, roles, the navigation's two counts; the filter's campaigns and reps; the stages and the deals.
BOARD_QUERIES = 9


def test_the_board_costs_the_same_queries_for_1_or_30_deals(client, bob, alice, dan, django_assert_max_num_queries):
    login(client, bob)
    a_deal(alice)
    with CaptureQueriesContext(connection) as one:
        assert client.get("/deals/").status_code == 200
    for n in range(29):
        deal = a_deal(alice if n % 2 else dan, currency="USD" if n % 3 else "EUR")
        if n % 5 == 0:
            deal_move(deal=deal, stage=stage("Proposal sent"), actor=alice)
    with django_assert_max_num_queries(BOARD_QUERIES), CaptureQueriesContext(connection) as thirty:
        response = client.get("/deals/")
    assert response.content.decode().count('class="deal-card"') == 30
    assert len(one) == len(thirty) == BOARD_QUERIES


def test_a_card_moves_with_the_plain_form(client, alice):
    deal = a_deal(alice, first_name="Ines")
    login(client, alice)
    data = {"stage": stage("Needs assessed").pk, "seen": deal.stage_id}
    response = client.post(f"/deals/{deal.pk}/move/", data)
    assert response.status_code == 302 and response["Location"] == f"/deals/#deal-{deal.pk}"
    deal.refresh_from_db()
    assert deal.stage.name == "Needs assessed"
    assert "Ines" in column(client.get("/deals/").content.decode(), "Needs assessed")


def test_the_board_comes_back_with_its_filters_and_nothing_else(client, bob, alice, campaign):
    deal = a_deal(alice, campaign=campaign)
    query = f"campaign={campaign.pk}&owner=x&next=https://evil.example"
    response = login(client, bob).post(f"/deals/{deal.pk}/move/", {"stage": stage("Negotiation").pk, "query": query})
    assert response["Location"] == f"/deals/?campaign={campaign.pk}#deal-{deal.pk}"


def test_htmx_swaps_the_board_with_the_card_in_its_new_column(client, alice):
    deal = a_deal(alice, first_name="Ines")
    login(client, alice)
    data = {"stage": stage("Proposal sent").pk, "seen": deal.stage_id}
    response = client.post(f"/deals/{deal.pk}/move/", data, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200 and html.strip().startswith('<div id="deal-board">') and "<html" not in html
    assert "Ines" in column(html, "Proposal sent") and "Ines Park is at “Proposal sent”" in html


def test_lost_without_a_reason_is_a_400_with_the_reason_asked(client, alice):
    deal = a_deal(alice)
    login(client, alice)
    for headers in ({}, HTMX):
        response = client.post(
            f"/deals/{deal.pk}/move/", {"stage": stage("Lost").pk, "seen": deal.stage_id, "reason": "  "}, **headers
        )
        assert response.status_code == 400
        assert "Say why the deal was lost" in response.content.decode()
    deal.refresh_from_db()
    assert deal.stage.name == "Meeting" and not deal.is_closed
    client.post(f"/deals/{deal.pk}/move/", {"stage": stage("Lost").pk, "seen": deal.stage_id, "reason": "Budget cut"})
    deal.refresh_from_db()
    assert deal.is_closed and deal.lost_reason == "Budget cut"
    assert Lead.objects.get(pk=deal.lead_id).status == S.LOST


def test_a_stale_move_shows_the_refusal_and_changes_nothing(client, alice, bob):
    deal = a_deal(alice, first_name="Ines")
    seen = deal.stage_id
    deal_move(deal=Deal.objects.get(pk=deal.pk), stage=stage("Negotiation"), actor=bob)  # meanwhile
    login(client, alice)
    for headers in ({}, HTMX):
        response = client.post(f"/deals/{deal.pk}/move/", {"stage": stage("Won").pk, "seen": seen}, **headers)
        assert response.status_code == 409
        assert "Someone moved this deal meanwhile" in response.content.decode()
    deal.refresh_from_db()
    assert deal.stage.name == "Negotiation" and not deal.is_closed
    response = client.post(f"/deals/{deal.pk}/move/", {"stage": stage("Won").pk, "seen": seen, "back": "deal"})
    assert response.status_code == 409 and "Someone moved this deal meanwhile" in response.content.decode()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "Pick the stage to move to."),
        ({"stage": "999999"}, "That stage takes no deals."),
        ({"stage": "x"}, "That stage takes no deals."),
    ],
)
def test_bad_move_input_is_a_400_with_a_message(client, alice, data, message):
    deal = a_deal(alice)
    response = login(client, alice).post(f"/deals/{deal.pk}/move/", data)
    assert response.status_code == 400 and message in response.content.decode()


def test_another_rep_gets_404_on_a_deal_that_is_not_theirs(client, alice, dan):
    deal = a_deal(alice)
    login(client, dan)
    assert client.get(f"/deals/{deal.pk}/").status_code == 404
    assert client.post(f"/deals/{deal.pk}/move/", {"stage": stage("Won").pk}).status_code == 404
    assert client.post(f"/deals/{deal.pk}/edit/", {"currency": "EUR", "value": "1"}).status_code == 404
    deal.refresh_from_db()
    assert deal.stage.name == "Meeting" and deal.value == Decimal("1000")


def test_the_deal_page_shows_the_deal_and_its_history(client, alice, bob):
    deal = a_deal(alice, first_name="Ines", value="900")
    deal_move(deal=deal, stage=stage("Needs assessed"), actor=bob)
    html = login(client, alice).get(f"/deals/{deal.pk}/").content.decode()
    assert "Needs assessed" in html and "900.00 EUR" in html
    history = " ".join(re.sub(r"<[^>]+>", " ", html.split('id="history-title"')[1]).split())
    assert history.index("Deal moved to another stage by Bob : Meeting → Needs assessed") < history.index(
        "Deal opened by Alice Rivera"
    )
    assert f'href="/leads/{deal.lead_id}/#conversation"' in html


def test_the_edit_form_saves_through_the_service(client, alice):
    deal = a_deal(alice)
    data = {"value": "2500", "currency": "gbp", "expected_close": "2027-02-01", "next_step": "Call the CFO"}
    response = login(client, alice).post(f"/deals/{deal.pk}/edit/", data)
    assert response.status_code == 302
    deal.refresh_from_db()
    assert (deal.value, deal.currency, deal.expected_close, deal.next_step) == (
        Decimal("2500"), "GBP", dt.date(2027, 2, 1), "Call the CFO",
    )  # fmt: skip
    updated = Activity.objects.get(verb="deal.updated", payload__deal=deal.pk)
    assert updated.payload["changed"]["currency"] == "GBP"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"value": "1", "currency": "EUE"}, "“EUE” is not a currency code"),
        ({"value": "1", "currency": ""}, "Give the currency, e.g. EUR."),
        ({"value": "lots", "currency": "EUR"}, "Give the value as a number"),
        ({"value": "-5", "currency": "EUR"}, "greater than or equal to 0"),
        ({"value": "1", "currency": "EUR", "expected_close": "soon"}, "Give the expected close as a date"),
        ({"value": "1", "currency": "EUR", "next_step": "x" * 301}, "at most 300 characters"),
    ],
)
def test_bad_edit_input_is_a_400_with_a_message(client, alice, data, message):
    deal = a_deal(alice)
    response = login(client, alice).post(f"/deals/{deal.pk}/edit/", data)
    assert response.status_code == 400 and message in response.content.decode()
    deal.refresh_from_db()
    assert deal.value == Decimal("1000") and deal.currency == "EUR"


def test_the_lead_page_offers_to_open_a_deal_then_shows_it(client, alice, settings):
    settings.DEALS_DEFAULT_CURRENCY = "CHF"
    lead = LeadFactory(status=S.REPLIED, owner=alice)
    login(client, alice)
    page = client.get(f"/leads/{lead.pk}/").content.decode()
    assert "Open a deal" in page and 'value="CHF"' in page
    data = {"value": "4000", "currency": "CHF", "next_step": "Demo on Tuesday"}
    assert client.post(f"/deals/open/{lead.pk}/", data).status_code == 302
    deal = Deal.objects.get(lead=lead)
    assert (deal.stage.name, deal.value, deal.currency) == ("Meeting", Decimal("4000"), "CHF")
    assert Lead.objects.get(pk=lead.pk).status == S.MEETING
    page = client.get(f"/leads/{lead.pk}/").content.decode()
    assert "Open a deal</button>" not in page and f'href="/deals/{deal.pk}/"' in page and "4,000.00 CHF" in page


def test_the_lead_page_offers_no_deal_before_a_conversation(client, alice):
    lead = LeadFactory(status=S.QUALIFIED, owner=alice)
    login(client, alice)
    assert "Open a deal" not in client.get(f"/leads/{lead.pk}/").content.decode()
    response = client.post(f"/deals/open/{lead.pk}/", {"value": "1", "currency": "EUR"})
    assert response.status_code == 400 and "a deal starts from a conversation" in response.content.decode()
    assert not Deal.objects.exists()


def test_opening_with_bad_input_is_a_400_on_the_lead_page(client, alice):
    lead = LeadFactory(status=S.REPLIED, owner=alice)
    response = login(client, alice).post(f"/deals/open/{lead.pk}/", {"value": "1", "currency": "XYZ"})
    assert response.status_code == 400 and "“XYZ” is not a currency code" in response.content.decode()
    assert not Deal.objects.exists() and Lead.objects.get(pk=lead.pk).status == S.REPLIED


def test_a_second_open_deal_is_refused_with_a_message(client, alice):
    deal = a_deal(alice)
    Lead.objects.filter(pk=deal.lead_id).update(status=S.INTERESTED)  # as if the lead went back a step
    response = login(client, alice).post(f"/deals/open/{deal.lead_id}/", {"value": "1", "currency": "EUR"})
    assert response.status_code == 400 and "already has an open deal" in response.content.decode()


@pytest.mark.parametrize(("won", "stage_name", "status"), [(True, "Won", S.WON), (False, "Lost", S.LOST)])
def test_closing_a_lead_with_an_open_deal_closes_the_deal(alice, won, stage_name, status):
    deal = a_deal(alice)
    assert lead_close(lead=deal.lead, actor=alice, won=won, reason="Signed" if won else "Went elsewhere")
    deal.refresh_from_db()
    assert deal.is_closed and deal.stage.name == stage_name
    assert deal.lead.status == status == Lead.objects.get(pk=deal.lead_id).status
    assert Activity.objects.filter(verb="deal.stage_changed", payload__deal=deal.pk, payload__to=stage_name).exists()


def test_closing_a_lead_lost_without_a_reason_leaves_deal_and_lead_open(alice):
    deal = a_deal(alice)
    assert not lead_close(lead=deal.lead, actor=alice, won=False)
    deal.refresh_from_db()
    assert not deal.is_closed and Lead.objects.get(pk=deal.lead_id).status == S.MEETING


def test_the_deal_page_costs_the_same_queries_for_a_short_or_long_history(client, alice, django_assert_max_num_queries):
    from deals.services import deal_update

    deal = a_deal(alice)
    login(client, alice)
    with CaptureQueriesContext(connection) as short:
        assert client.get(f"/deals/{deal.pk}/").status_code == 200
    for n in range(20):
        deal_update(deal=deal, actor=alice, next_step=f"Step {n}")
    deal_move(deal=deal, stage=stage("Negotiation"), actor=alice)
    with django_assert_max_num_queries(len(short)):
        html = client.get(f"/deals/{deal.pk}/").content.decode()
    assert html.count("Deal details changed") == 20 and "Step 19" in html
