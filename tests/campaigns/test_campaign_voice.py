"""A campaign's voice on its form: brand voice, banned phrases, and an offer that stays prospect-facing."""

from html import unescape

import pytest

from campaigns.models import Campaign
from tests.campaigns.test_campaign_pages import edit_data, error_texts, form_data
from tests.conftest import login

pytestmark = pytest.mark.django_db


def test_it_creates_a_campaign_with_its_own_voice(client, bob, alice_account):
    data = form_data(
        [alice_account], brand_voice="  Bold and brief.  ", banned_phrases="circle back\nsynergy\n\ncircle back"
    )
    response = login(client, bob).post("/campaigns/new/", data)
    assert response.status_code == 302
    campaign = Campaign.objects.get()
    assert (campaign.brand_voice, campaign.banned_phrases) == ("Bold and brief.", ["circle back", "synergy"])


def test_the_edit_page_shows_and_keeps_the_voice(client, bob, campaign):
    campaign.brand_voice, campaign.banned_phrases = "Warm, no jargon", ["touch base", "quick call"]
    campaign.save(update_fields=["brand_voice", "banned_phrases"])
    page = unescape(login(client, bob).get(f"/campaigns/{campaign.pk}/edit/").text)
    assert "Warm, no jargon</textarea>" in page and "touch base\nquick call</textarea>" in page
    assert "replaces the team's brand voice" in page and "added to the team's list" in page
    data = edit_data(campaign, brand_voice="Warm, no jargon", banned_phrases="touch base\nquick call\nASAP")
    assert client.post(f"/campaigns/{campaign.pk}/edit/", data).status_code == 302
    campaign.refresh_from_db()
    assert campaign.banned_phrases == ["touch base", "quick call", "ASAP"]
    detail = unescape(client.get(f"/campaigns/{campaign.pk}/").text)
    assert "touch base; quick call; ASAP" in detail


def test_an_offer_that_repeats_the_internal_notes_is_refused(client, bob, campaign):
    notes = "Margin is thin on this one, push the gold package to anyone over 500 staff"
    campaign.internal_notes = notes
    campaign.save(update_fields=["internal_notes"])
    offer = "Our gold package: push the gold package to anyone over 500 staff, with a free pass"
    response = login(client, bob).post(
        f"/campaigns/{campaign.pk}/edit/", edit_data(campaign, offer=offer, internal_notes=notes)
    )
    assert response.status_code == 200
    assert any("The offer repeats the internal notes" in error for error in error_texts(response))
    campaign.refresh_from_db()
    assert campaign.offer != offer


def test_a_short_note_pasted_whole_into_the_offer_is_refused(client, bob, alice_account):
    data = form_data([alice_account], internal_notes="budget is tight", offer="A free pass; budget is tight.")
    response = login(client, bob).post("/campaigns/new/", data)
    assert any("The offer repeats the internal notes ('budget is tight')" in e for e in error_texts(response))
    assert not Campaign.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"brand_voice": "x" * 1001}, "at most 1000 characters"),
        ({"banned_phrases": "y" * 101}, "A banned phrase is at most 100 characters"),
        ({"banned_phrases": "\n".join(f"phrase {n}" for n in range(51))}, "At most 50 banned phrases."),
    ],
)
def test_a_bad_voice_is_explained_and_nothing_is_stored(client, bob, alice_account, overrides, message):
    response = login(client, bob).post("/campaigns/new/", form_data([alice_account], **overrides))
    assert response.status_code == 200
    assert any(message in error for error in error_texts(response)), error_texts(response)
    assert not Campaign.objects.exists()
