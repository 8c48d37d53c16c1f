"""The manager's campaign pages: create, edit, run, and watch searches, imports and the sheet."""

import re
from html import unescape

import pytest
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from campaigns.labels import labels_as_text
from campaigns.models import Campaign, SequenceStep
from competitors.models import Competitor
from leads.models import Activity, ImportJob, SearchRun, SheetSync
from library.models import ContentItem
from tests.conftest import login
from tests.factories import CampaignFactory, LeadFactory, MessageFactory, SendingAccountFactory

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def steps_data(*steps: dict, initial: int = 0) -> dict:
    data = {"steps-TOTAL_FORMS": str(len(steps)), "steps-INITIAL_FORMS": str(initial)}
    for i, step in enumerate(steps):
        data |= {f"steps-{i}-{name}": value for name, value in step.items()}
    return data


def form_data(accounts=(), **overrides) -> dict:
    data = {
        "name": "Fintech CFOs, spring",
        "titles": "CFO, VP Finance\nHead of Finance",
        "seniorities": "c_suite, vp",
        "industries": "Fintech\nBanking",
        "locations": "London, Berlin",
        "company_sizes": "51-200, 201-1000",
        "keywords": "forecasting",
        "exclusions": "intern, student",
        "linkedin_api": "sales_navigator",
        "linkedin_search_url": "https://www.linkedin.com/sales/search/people?query=cfo",
        "labels": "Speaker: Could speak at the summit\nSponsor: Could sponsor it\nOther",
        "min_score": "55",
        "daily_lead_quota": "30",
        "lead_goal": "400",
        "lead_sources": ["sandbox", "apollo"],
        "account_ids": [str(account.pk) for account in accounts],
        "offer": "A free pass to the Fintech Summit",
        "event": "Fintech Summit 2027",
        "call_to_action": "Would a 15-minute call work?",
        "tone": "direct, friendly",
        "brief_links": "https://summit.example/agenda\nhttps://summit.example/speakers",
        **steps_data(
            {"kind": "connection_note", "delay_days": "0", "instruction": "Mention the summit"},
            {"kind": "message", "delay_days": "3", "instruction": "Ask about speaking"},
            {"kind": "", "delay_days": "", "instruction": ""},  # the blank row for one more step
        ),
    }
    return data | overrides


def edit_data(campaign: Campaign, **overrides) -> dict:
    """What the edit page posts back unchanged: the campaign as it is."""
    target = campaign.target
    steps = list(campaign.steps.order_by("order"))
    data = form_data(
        campaign.sending_accounts.all(),
        name=campaign.name,
        titles="\n".join(target.titles),
        seniorities="\n".join(target.seniorities),
        industries="\n".join(target.industries),
        locations="\n".join(target.locations),
        company_sizes="\n".join(target.company_sizes),
        keywords="\n".join(target.keywords),
        exclusions="\n".join(target.exclusions),
        linkedin_api=target.linkedin_api,
        linkedin_search_url=target.linkedin_search_url,
        labels=labels_as_text(campaign.labels),
        min_score=str(campaign.min_score),
        daily_lead_quota=str(campaign.daily_lead_quota),
        lead_goal="" if campaign.lead_goal is None else str(campaign.lead_goal),
        lead_sources=campaign.lead_sources,
        offer=campaign.offer,
        event=campaign.event,
        call_to_action=campaign.call_to_action,
        tone=campaign.tone,
        brief_links="\n".join(campaign.brief_links),
        **steps_data(
            *({"id": s.pk, "kind": s.kind, "delay_days": s.delay_days, "instruction": s.instruction} for s in steps),
            initial=len(steps),
        ),
    )
    return data | overrides


def error_texts(response) -> list[str]:
    return [
        unescape(re.sub(r"<[^>]+>", "", li))
        for li in re.findall(r'<ul class="errorlist"[^>]*>(.*?)</ul>', response.text, re.S)
    ]


def snapshot(campaign: Campaign) -> tuple:
    campaign = Campaign.objects.select_related("target").get(pk=campaign.pk)
    return (
        [
            getattr(campaign, f)
            for f in ("name", "labels", "min_score", "daily_lead_quota", "lead_sources", "brief_links")
        ],
        campaign.target.titles,
        list(campaign.steps.order_by("order").values_list("pk", "order", "kind", "delay_days", "instruction")),
        sorted(campaign.sending_accounts.values_list("pk", flat=True)),
    )


# Creating


def test_it_shows_the_new_campaign_form_with_accounts_and_sources(client, bob, alice_account, alice):
    SendingAccountFactory(owner=alice, name="Old account", is_active=False)
    response = login(client, bob).get("/campaigns/new/")
    assert response.status_code == 200
    text = unescape(response.text)
    assert "Alice sandbox · Sandbox (simulated) · Alice Rivera" in text
    assert "Old account" not in text  # switched off: not offered
    assert "Apollo people search" in text and "LinkedIn people search (Unipile)" in text
    assert 'value="csv"' not in text
    assert '<option value="connection_note" selected>' in text  # a first step to start from


def test_the_campaign_list_has_a_new_campaign_button(client, bob):
    assert 'href="/campaigns/new/"' in login(client, bob).get("/campaigns/").text


def test_it_creates_a_campaign_where_every_field_lands(client, bob, alice_account, dan_account):
    response = login(client, bob).post("/campaigns/new/", form_data([alice_account, dan_account]))
    campaign = Campaign.objects.get()
    assert response.status_code == 302
    assert response.url == f"/campaigns/{campaign.pk}/"
    target = campaign.target
    assert (campaign.name, campaign.owner, campaign.status) == ("Fintech CFOs, spring", bob, "draft")
    assert target.titles == ["CFO", "VP Finance", "Head of Finance"]
    assert target.seniorities == ["c_suite", "vp"]
    assert target.industries == ["Fintech", "Banking"]
    assert target.locations == ["London", "Berlin"]
    assert target.company_sizes == ["51-200", "201-1000"]
    assert target.keywords == ["forecasting"]
    assert target.exclusions == ["intern", "student"]
    assert target.linkedin_api == "sales_navigator"
    assert target.linkedin_search_url == "https://www.linkedin.com/sales/search/people?query=cfo"
    assert campaign.labels == [
        {"name": "Speaker", "description": "Could speak at the summit"},
        {"name": "Sponsor", "description": "Could sponsor it"},
        {"name": "Other", "description": ""},
    ]
    assert (campaign.min_score, campaign.daily_lead_quota, campaign.lead_goal) == (55, 30, 400)
    assert campaign.lead_sources == ["sandbox", "apollo"]
    assert set(campaign.sending_accounts.all()) == {alice_account, dan_account}
    assert (campaign.offer, campaign.event) == ("A free pass to the Fintech Summit", "Fintech Summit 2027")
    assert (campaign.call_to_action, campaign.tone) == ("Would a 15-minute call work?", "direct, friendly")
    assert campaign.brief_links == ["https://summit.example/agenda", "https://summit.example/speakers"]
    assert list(campaign.steps.values_list("order", "kind", "delay_days", "instruction")) == [
        (1, "connection_note", 0, "Mention the summit"),
        (2, "message", 3, "Ask about speaking"),
    ]
    assert Activity.objects.filter(verb="campaign.created", campaign=campaign, actor=bob).exists()
    page = client.get(response.url)
    assert "Campaign created as a draft" in page.text
    assert ">Start</button>" in page.text


BAD_INPUTS = [
    ({"labels": ""}, "This field is required."),
    ({"labels": "Speaker: one\nspeaker: two"}, "Each label needs its own name: 'speaker' appears twice."),
    ({"min_score": "150"}, "The minimum score is a whole number from 0 to 100."),
    ({"daily_lead_quota": "0"}, "The daily quota is from 1 to 500 new leads."),
    ({"lead_goal": "0"}, "Ensure this value is greater than or equal to 1."),
    ({"brief_links": "https://ok.example\nsummit.example/agenda"}, "'summit.example/agenda' is not a web address"),
    ({"company_sizes": "lots"}, "Company sizes are employee ranges like 51-200: 'lots' is not one."),
    ({"linkedin_search_url": "https://evil.example/?q=cfo"}, "Paste a search from linkedin.com"),
    ({"lead_sources": ["csv"]}, "Select a valid choice. csv is not one of the available choices."),
    (
        steps_data({"kind": "", "delay_days": "", "instruction": ""}, initial=1) | {"steps-0-kind": ""},
        "Choose what this step sends.",
    ),
    (steps_data(), "Add at least one step"),
    (
        steps_data({"kind": "connection_note", "delay_days": "0", "instruction": "", "DELETE": "on"}, initial=1),
        "Add at least one step",
    ),
    (
        steps_data({"kind": "message", "delay_days": "2", "instruction": ""}),
        "Step 1 goes out as soon as a lead is allocated: its delay must be 0 days.",
    ),
]


@pytest.mark.parametrize(("overrides", "message"), BAD_INPUTS)
def test_a_bad_new_campaign_is_explained_and_nothing_is_stored(client, bob, alice_account, overrides, message):
    response = login(client, bob).post("/campaigns/new/", form_data([alice_account], **overrides))
    assert response.status_code == 200
    assert any(message in error for error in error_texts(response)), error_texts(response)
    assert "Nothing was saved" in response.text
    assert not Campaign.objects.exists()
    assert not Activity.objects.exists()
    assert "Fintech CFOs, spring" in response.text  # what was typed is kept


def test_field_and_step_errors_show_together(client, bob):
    data = form_data(min_score="abc", **steps_data({"kind": "", "delay_days": "2", "instruction": ""}, initial=1))
    errors = error_texts(login(client, bob).post("/campaigns/new/", data))
    assert "Enter a whole number." in errors
    assert "Choose what this step sends." in errors
    assert not Campaign.objects.exists()


def test_a_label_error_is_shown_next_to_the_labels(client, bob):
    response = login(client, bob).post("/campaigns/new/", form_data(labels="Speaker: a\nSpeaker: b"))
    labels_block = response.text.split('for="id_labels"', 1)[1].split("</textarea>", 1)[0]
    assert "appears twice" in unescape(labels_block)
    assert 'aria-invalid="true"' in labels_block


# Editing


def test_the_edit_page_shows_the_campaign_as_it_is(client, bob, campaign):
    campaign.brief_links = ["https://summit.example"]
    campaign.save(update_fields=["brief_links"])
    response = login(client, bob).get(f"/campaigns/{campaign.pk}/edit/")
    text = unescape(response.text)
    assert response.status_code == 200
    assert f'value="{campaign.name}"' in text
    assert "Chief Financial Officer\nVP Finance\nHead of Finance" in text
    assert "Speaker: Could speak at our event" in text
    assert "https://summit.example</textarea>" in text
    assert 'name="steps-INITIAL_FORMS" value="2"' in text
    assert '<option value="message" selected>' in text


def test_it_edits_a_campaign(client, bob, campaign, alice_account):
    first, second = campaign.steps.order_by("order")
    data = edit_data(
        campaign,
        name="Renamed",
        titles="Treasurer",
        min_score="80",
        account_ids=[str(alice_account.pk)],
        **steps_data(
            {"id": first.pk, "kind": "connection_note", "delay_days": "0", "instruction": "Be brief"},
            {"id": second.pk, "kind": "message", "delay_days": "5", "instruction": "", "DELETE": "on"},
            {"kind": "email", "delay_days": "7", "instruction": "Last try"},
            initial=2,
        ),
    )
    response = login(client, bob).post(f"/campaigns/{campaign.pk}/edit/", data)
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert (campaign.name, campaign.min_score, campaign.target.titles) == ("Renamed", 80, ["Treasurer"])
    assert list(campaign.sending_accounts.all()) == [alice_account]
    assert list(campaign.steps.values_list("pk", "order", "kind", "delay_days", "instruction"))[0] == (
        first.pk,
        1,
        "connection_note",
        0,
        "Be brief",
    )
    assert list(campaign.steps.values_list("order", "kind", "delay_days")) == [
        (1, "connection_note", 0),
        (2, "email", 7),
    ]
    activity = Activity.objects.get(verb="campaign.updated", campaign=campaign)
    assert activity.payload["fields"] == ["name", "min_score", "titles", "steps", "account_ids"]


def test_saving_an_untouched_edit_form_changes_nothing(client, bob, campaign):
    before = snapshot(campaign)
    response = login(client, bob).post(f"/campaigns/{campaign.pk}/edit/", edit_data(campaign))
    assert response.status_code == 302
    assert snapshot(campaign) == before
    assert not Activity.objects.filter(verb="campaign.updated").exists()


@pytest.mark.parametrize(("overrides", "message"), BAD_INPUTS[:8])
def test_a_bad_edit_is_explained_and_changes_nothing(client, bob, campaign, overrides, message):
    before = snapshot(campaign)
    data = edit_data(campaign, name="Renamed", **overrides)
    response = login(client, bob).post(f"/campaigns/{campaign.pk}/edit/", data)
    assert response.status_code == 200
    assert any(message in error for error in error_texts(response)), error_texts(response)
    assert snapshot(campaign) == before
    assert not Activity.objects.filter(verb="campaign.updated").exists()


def test_a_bad_first_step_delay_in_an_edit_changes_nothing(client, bob, campaign):
    before = snapshot(campaign)
    first, second = campaign.steps.order_by("order")
    data = edit_data(
        campaign,
        **steps_data(
            {"id": first.pk, "kind": "connection_note", "delay_days": "1", "instruction": ""},
            {"id": second.pk, "kind": "message", "delay_days": "3", "instruction": ""},
            initial=2,
        ),
    )
    response = login(client, bob).post(f"/campaigns/{campaign.pk}/edit/", data)
    assert "Step 1 goes out as soon as a lead is allocated: its delay must be 0 days." in error_texts(response)
    assert snapshot(campaign) == before


def test_a_step_that_has_messages_cannot_be_deleted(client, bob, campaign, alice):
    for _ in range(2):
        MessageFactory(lead=LeadFactory(campaign=campaign, owner=alice), campaign=campaign, step=2)
    before = snapshot(campaign)
    first, second = campaign.steps.order_by("order")
    login(client, bob)
    page = client.get(f"/campaigns/{campaign.pk}/edit/")
    assert "2 messages drafted: kept" in page.text
    assert 'name="steps-1-DELETE"' not in page.text  # no box to tick for it
    data = edit_data(
        campaign,
        min_score="99",
        **steps_data(
            {"id": first.pk, "kind": "connection_note", "delay_days": "0", "instruction": ""},
            {"id": second.pk, "kind": "message", "delay_days": "3", "instruction": "", "DELETE": "on"},
            initial=2,
        ),
    )
    response = client.post(f"/campaigns/{campaign.pk}/edit/", data)  # e.g. a form opened before the drafts
    assert response.status_code == 200
    assert (
        "Step 2 (LinkedIn message) cannot be deleted: 2 message(s) were drafted for it. "
        "Change its text or delay instead." in error_texts(response)
    )
    assert snapshot(campaign) == before


def test_a_campaign_with_a_switched_off_account_keeps_it_when_edited(client, bob, campaign, alice_account):
    alice_account.is_active = False
    alice_account.save(update_fields=["is_active"])
    login(client, bob)
    assert "Alice sandbox (switched off)" in client.get(f"/campaigns/{campaign.pk}/edit/").text
    response = client.post(f"/campaigns/{campaign.pk}/edit/", edit_data(campaign, min_score="61"))
    assert response.status_code == 302
    assert alice_account in Campaign.objects.get(pk=campaign.pk).sending_accounts.all()


# Who may


@pytest.mark.parametrize("who", ["alice", "mallory"])
@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/campaigns/new/"),
        ("post", "/campaigns/new/"),
        ("get", "/campaigns/{pk}/"),
        ("get", "/campaigns/{pk}/edit/"),
        ("post", "/campaigns/{pk}/edit/"),
        ("post", "/campaigns/{pk}/status/"),
        ("post", "/campaigns/{pk}/sheet/"),
        ("post", "/campaigns/{pk}/sheet/sync/"),
    ],
)
def test_only_managers_open_the_campaign_pages(client, request, campaign, who, method, url):
    before = snapshot(campaign)
    response = getattr(login(client, request.getfixturevalue(who)), method)(
        url.format(pk=campaign.pk), edit_data(campaign, name="Hijacked") if method == "post" else None
    )
    assert response.status_code == 403
    assert snapshot(campaign) == before
    assert Campaign.objects.count() == 1
    assert not SheetSync.objects.exists()


def test_admins_edit_campaigns_too(client, carol, campaign):
    response = login(client, carol).post(f"/campaigns/{campaign.pk}/edit/", edit_data(campaign, min_score="65"))
    assert response.status_code == 302
    assert Campaign.objects.get(pk=campaign.pk).min_score == 65


def test_the_form_pages_refuse_other_methods(client, bob, campaign):
    login(client, bob)
    assert client.put("/campaigns/new/").status_code == 405
    assert client.delete(f"/campaigns/{campaign.pk}/edit/").status_code == 405


def test_an_unknown_campaign_is_404(client, bob):
    assert login(client, bob).get("/campaigns/999999/edit/").status_code == 404


# Running it


def test_a_campaign_can_be_finished(client, bob, campaign):
    login(client, bob)
    assert 'value="finished"' in client.get(f"/campaigns/{campaign.pk}/").text
    response = client.post(f"/campaigns/{campaign.pk}/status/", {"status": "finished"}, follow=True)
    assert "The campaign is now finished." in response.text
    assert Campaign.objects.get(pk=campaign.pk).status == "finished"
    assert 'value="finished"' not in response.text  # no button for what is already done
    assert "Find leads now" not in response.text


def test_a_draft_shows_start_and_edit(client, bob, campaign):
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.DRAFT)
    text = login(client, bob).get(f"/campaigns/{campaign.pk}/").text
    assert ">Start</button>" in text
    assert f'href="/campaigns/{campaign.pk}/edit/"' in text


# The campaign page: searches, imports, sheet


def run(campaign, **fields) -> SearchRun:
    values = {"source": "sandbox", "status": SearchRun.Status.DONE, "wanted": 25, "found": 40, "stored": 25}
    return SearchRun.objects.create(campaign=campaign, **(values | fields))


def import_job(campaign, user, **fields) -> ImportJob:
    values = {"file_name": "summit-list.csv", "data": b"a,b\n", "status": ImportJob.Status.DONE, "total_rows": 120}
    return ImportJob.objects.create(campaign=campaign, created_by=user, **(values | fields))


def test_the_page_shows_a_running_search_and_polls_while_it_runs(client, bob, campaign):
    run(campaign, status=SearchRun.Status.RUNNING, wanted=25, found=18, stored=12, duplicates=6, pages=2)
    run(campaign, source="apollo", status=SearchRun.Status.FAILED, stored=0, error="Apollo refused the API key")
    response = login(client, bob).get(f"/campaigns/{campaign.pk}/")
    text = response.text
    assert '<progress value="12" max="25">' in text
    assert "12 of 25 new leads · page 2" in text
    assert "Apollo refused the API key" in text
    assert f'hx-get="/campaigns/{campaign.pk}/" hx-trigger="every 2s"' in text


def test_the_page_does_not_poll_when_nothing_runs(client, bob, campaign):
    run(campaign)
    text = login(client, bob).get(f"/campaigns/{campaign.pk}/").text
    assert "every 2s" not in text
    assert "No searches yet" not in text


def test_htmx_polling_gets_only_the_progress_region(client, bob, campaign):
    running = run(campaign, status=SearchRun.Status.RUNNING, stored=3)
    login(client, bob)
    response = client.get(f"/campaigns/{campaign.pk}/", **HTMX)
    assert response.text.lstrip().startswith('<div id="progress"')
    assert "<html" not in response.text
    assert "every 2s" in response.text
    SearchRun.objects.filter(pk=running.pk).update(status=SearchRun.Status.DONE, finished_at=timezone.now())
    done = client.get(f"/campaigns/{campaign.pk}/", **HTMX)
    assert "every 2s" not in done.text  # finished: the region stops asking


def test_the_page_lists_the_campaigns_imports(client, bob, campaign):
    import_job(campaign, bob, created_count=100, merged_count=15, skipped_count=3, error_count=2)
    import_job(campaign, bob, file_name="broken.csv", status=ImportJob.Status.FAILED, failure="Not a CSV file")
    import_job(CampaignFactory(owner=bob), bob, file_name="other-campaign.csv")
    text = login(client, bob).get(f"/campaigns/{campaign.pk}/").text
    assert "summit-list.csv" in text
    assert "<td>100</td><td>15</td><td>3</td><td>2</td>" in text
    assert "Not a CSV file" in text
    assert "other-campaign.csv" not in text


def test_imports_link_to_their_page_once_it_exists(client, bob, campaign):
    job = import_job(campaign, bob)
    text = login(client, bob).get(f"/campaigns/{campaign.pk}/").text
    try:
        url = reverse("leads:import_detail", args=[job.pk])
    except NoReverseMatch:
        assert f">{job.file_name}</a>" not in text
    else:
        assert f'<a href="{url}">{job.file_name}</a>' in text
    try:
        assert reverse("leads:import_new") in text
        assert "Import a CSV" in text
    except NoReverseMatch:
        assert "Import a CSV" not in text


def test_the_page_shows_the_sheet_status(client, bob, campaign, service_account):
    SheetSync.objects.create(
        campaign=campaign,
        spreadsheet=SHEET_KEY,
        status=SheetSync.Status.FAILED,
        last_error="The sheet is not shared with the service account",
        last_synced_at=timezone.now(),
        rows_synced=42,
    )
    text = login(client, bob).get(f"/campaigns/{campaign.pk}/").text
    assert "The sheet is not shared with the service account" in text
    assert "<dt>Rows synced</dt><dd>42</dd>" in text
    assert ">Sync now</button>" in text
    assert f"<strong>{SERVICE_EMAIL}</strong> (Editor)" in text
    assert f'href="https://docs.google.com/spreadsheets/d/{SHEET_KEY}/edit"' in text


def test_a_campaign_without_a_sheet_says_so(client, bob, campaign):
    text = login(client, bob).get(f"/campaigns/{campaign.pk}/").text
    assert "Not set up: the campaign's leads are not mirrored to a sheet." in unescape(text)
    assert ">Sync now</button>" not in text


def test_the_detail_page_has_constant_queries(client, bob, campaign, alice, django_assert_max_num_queries):
    login(client, bob)

    def add(n: int) -> None:
        for i in range(n):
            run(campaign, status=SearchRun.Status.RUNNING if i == 0 else SearchRun.Status.DONE)
            import_job(campaign, SendingAccountFactory().owner)
            SequenceStep.objects.create(campaign=campaign, order=campaign.steps.count() + 1, kind="message")
            campaign.sending_accounts.add(SendingAccountFactory())
            MessageFactory(lead=LeadFactory(campaign=campaign, owner=alice), campaign=campaign)

    add(3)
    SheetSync.objects.create(campaign=campaign, spreadsheet="abc")
    with django_assert_max_num_queries(MAX_DETAIL_QUERIES):
        assert client.get(f"/campaigns/{campaign.pk}/").status_code == 200
    add(6)
    ContentItem.objects.create(title="Proof", url="https://example.com/p", summary="s", facts=["Used by 40 banks"])
    for i in range(4):  # watched competitors, each offering an angle
        Competitor.objects.create(name=f"Rival {i}", linkedin_id=str(100 + i))
    with django_assert_max_num_queries(MAX_DETAIL_QUERIES):
        assert client.get(f"/campaigns/{campaign.pk}/").status_code == 200
    with django_assert_max_num_queries(MAX_POLL_QUERIES):
        client.get(f"/campaigns/{campaign.pk}/", **HTMX)


def test_the_edit_page_has_constant_queries(client, bob, campaign, alice, django_assert_max_num_queries):
    login(client, bob)
    for _ in range(8):
        SendingAccountFactory()
        MessageFactory(lead=LeadFactory(campaign=campaign, owner=alice), campaign=campaign)
    with django_assert_max_num_queries(MAX_EDIT_QUERIES):
        client.get(f"/campaigns/{campaign.pk}/edit/")


# Measured on SQLite. Of the page's 18, 8 are the session, user, roles and the navigation's counts, and
# 3 the counter-move angles (library facts, competitors, their posts: as many with 1 competitor as 50);
# the poll is the session, user, roles, the campaign, its runs, imports and sheet.
MAX_DETAIL_QUERIES = 18
MAX_POLL_QUERIES = 7
MAX_EDIT_QUERIES = 10


def test_the_admin_shows_the_target_profiles_linkedin_fields(client, carol, campaign):
    login(client, carol)
    carol.is_superuser = True
    carol.save(update_fields=["is_superuser"])
    page = client.get(f"/admin/campaigns/targetprofile/{campaign.target_id}/change/")
    assert page.status_code == 200
    assert 'name="linkedin_api"' in page.text
    assert 'name="linkedin_search_url"' in page.text
    assert "LinkedIn search" in page.text
    assert client.get(f"/admin/campaigns/campaign/{campaign.pk}/change/").status_code == 200


# The Google Sheet (leads.sheets)

SHEET_KEY = "1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789"
SERVICE_EMAIL = "leads-sync@salesdept.iam.gserviceaccount.com"


@pytest.fixture
def service_account(settings):
    settings.GOOGLE_SERVICE_ACCOUNT_KEY = (
        f'{{"type": "service_account", "client_email": "{SERVICE_EMAIL}", '
        '"token_uri": "https://oauth2.googleapis.com/token"}'
    )


def sheet_data(**overrides) -> dict:
    data = {
        "sheet-spreadsheet": f"https://docs.google.com/spreadsheets/d/{SHEET_KEY}/edit#gid=0",
        "sheet-worksheet": "Summit leads",
        "sheet-columns": ["email", "first_name", "score"],
        "sheet-enabled": "on",
    }
    return data | overrides


def test_a_manager_sets_up_the_sheet(client, bob, campaign, service_account):
    pytest.importorskip("leads.sheets")
    login(client, bob)
    page = client.get(f"/campaigns/{campaign.pk}/")
    assert SERVICE_EMAIL in page.text
    assert 'name="sheet-columns" value="email"' in page.text
    response = client.post(f"/campaigns/{campaign.pk}/sheet/", sheet_data())
    assert response.status_code == 302
    sync = SheetSync.objects.get(campaign=campaign)
    assert (sync.spreadsheet, sync.worksheet, sync.enabled) == (SHEET_KEY, "Summit leads", True)
    assert sync.columns == ["id", "first_name", "email", "score"]  # the id first, then in the list's order
    assert Activity.objects.filter(verb="campaign.sheet_configured", campaign=campaign, actor=bob).exists()
    page = client.get(response.url)
    assert "Google Sheet settings saved." in page.text
    assert '<input type="checkbox" name="sheet-columns" value="score" id="id_sheet-columns_10" checked>' in page.text


def test_a_bad_sheet_address_is_explained_and_nothing_is_stored(client, bob, campaign, service_account):
    pytest.importorskip("leads.sheets")
    response = login(client, bob).post(
        f"/campaigns/{campaign.pk}/sheet/", sheet_data(**{"sheet-spreadsheet": "my sheet"})
    )
    assert response.status_code == 200
    assert any("Paste the sheet’s address" in e or "Paste the sheet's address" in e for e in error_texts(response))
    assert "my sheet" in response.text  # what was typed is kept
    assert not SheetSync.objects.exists()


def test_sync_now_queues_a_sync_once(client, bob, campaign, service_account, django_capture_on_commit_callbacks):
    pytest.importorskip("leads.sheets")
    SheetSync.objects.create(campaign=campaign, spreadsheet=SHEET_KEY, status=SheetSync.Status.OK)
    login(client, bob)
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(f"/campaigns/{campaign.pk}/sheet/sync/", follow=True)
    assert "The sheet will be synced in a moment." in response.text
    assert len(callbacks) == 1
    assert SheetSync.objects.get(campaign=campaign).status == SheetSync.Status.QUEUED
    assert "every 2s" in response.text  # the page follows the sync
    with django_capture_on_commit_callbacks() as callbacks:
        again = client.post(f"/campaigns/{campaign.pk}/sheet/sync/", follow=True)
    assert "a sync is already on its way" in again.text
    assert callbacks == []


def test_sync_now_without_a_service_account_says_what_is_missing(client, bob, campaign, settings):
    pytest.importorskip("leads.sheets")
    settings.GOOGLE_SERVICE_ACCOUNT_KEY = ""
    SheetSync.objects.create(campaign=campaign, spreadsheet=SHEET_KEY, status=SheetSync.Status.OK)
    response = login(client, bob).post(f"/campaigns/{campaign.pk}/sheet/sync/", follow=True)
    assert "Google Sheets is not set up on this server" in response.text
    assert SheetSync.objects.get(campaign=campaign).status == SheetSync.Status.OK
    assert ">Sync now</button>" not in response.text


def test_it_edits_the_prospect_facing_brief_and_keeps_internal_notes_apart(client, bob, campaign):
    data = edit_data(
        campaign,
        value_points="Meet 400 finance leaders\nA free pass for a colleague",
        proof="Last year 350 CFOs came.",
        faq="How much does it cost? Speaking is free.\nDates: 3 and 4 June",
        internal_notes="Budget holders only",
        labels="Speaker: Could speak | a talk on the main stage\nOther: The rest",
    )
    page = login(client, bob).get(f"/campaigns/{campaign.pk}/edit/").content.decode()
    assert 'name="faq"' in page and 'name="internal_notes"' in page and "never reach them" in page
    response = client.post(f"/campaigns/{campaign.pk}/edit/", data)
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert campaign.value_points == ["Meet 400 finance leaders", "A free pass for a colleague"]
    assert campaign.proof == "Last year 350 CFOs came."
    assert campaign.faq == [
        {"question": "How much does it cost?", "answer": "Speaking is free."},
        {"question": "Dates", "answer": "3 and 4 June"},
    ]
    assert campaign.internal_notes == "Budget holders only"
    assert campaign.labels[0] == {"name": "Speaker", "description": "Could speak", "angle": "a talk on the main stage"}
    edit_page = client.get(f"/campaigns/{campaign.pk}/edit/").content.decode()
    assert "How much does it cost? Speaking is free." in edit_page  # shown back the way it was typed


def test_a_question_without_an_answer_is_refused(client, bob, campaign):
    response = login(client, bob).post(f"/campaigns/{campaign.pk}/edit/", edit_data(campaign, faq="When is it?"))
    assert response.status_code == 200
    assert any("Give an answer to 'When is it?'" in error for error in error_texts(response))
    campaign.refresh_from_db()
    assert campaign.faq == []
