"""The leads list as CSV: what the page shows, every page of it, safe to open in a spreadsheet."""

import csv
import io

import pytest

from leads.models import Lead
from tests.conftest import login
from tests.factories import CampaignFactory, CompanyFactory, LeadFactory

pytestmark = pytest.mark.django_db


def rows(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response.streaming  # never built whole in memory
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="leads-')
    text = b"".join(response.streaming_content).decode()
    assert text.startswith("\ufeff")  # Excel reads it as UTF-8
    return list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))


def test_it_exports_the_filtered_list_a_rep_sees_and_no_one_elses(client, alice, dan, campaign):
    LeadFactory(campaign=campaign, owner=alice, first_name="Jonas", last_name="Tanaka", status=Lead.Status.INTERESTED)
    LeadFactory(campaign=campaign, owner=alice, first_name="Jonas", last_name="Berg", status=Lead.Status.NEW)
    LeadFactory(campaign=campaign, owner=dan, first_name="Jonas", last_name="Dans", status=Lead.Status.INTERESTED)
    table = rows(login(client, alice).get("/leads/export.csv", {"q": "jonas", "status": "interested"}))
    assert table[0][:3] == ["Name", "Email", "LinkedIn"]
    assert [row[0] for row in table[1:]] == ["Jonas Tanaka"]
    assert table[1][6] == "Alice Rivera"  # the owner by name, as on the page
    assert table[1][9] == "Interested"


def test_it_exports_every_page_in_the_pages_order(client, bob, alice, campaign):
    for score in range(60):
        LeadFactory(campaign=campaign, owner=alice, first_name=f"P{score:02}", score=score)
    table = rows(login(client, bob).get("/leads/export.csv", {"sort": "score"}))
    assert len(table) == 61  # the page shows 50; the file holds them all
    assert [row[0].split()[0] for row in table[1:4]] == ["P59", "P58", "P57"]


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_it_quotes_cells_a_spreadsheet_would_run_as_formulas(client, alice, campaign, start):
    evil = f'{start}HYPERLINK("http://evil.example","x")'
    LeadFactory(campaign=campaign, owner=alice, first_name="Eve", position=evil, company=CompanyFactory(name=evil))
    table = rows(login(client, alice).get("/leads/export.csv"))
    assert table[1][3] == table[1][4] == "'" + evil


def test_its_query_count_does_not_grow_with_the_leads(client, bob, alice, dan, campaign, django_assert_max_num_queries):
    other = CampaignFactory(owner=bob, name="Other")
    login(client, bob)

    def export() -> int:
        with django_assert_max_num_queries(8):
            return len(rows(client.get("/leads/export.csv")))

    LeadFactory(campaign=campaign, owner=alice, company=CompanyFactory())
    assert export() == 2
    for i in range(30):
        LeadFactory(campaign=other if i % 2 else campaign, owner=dan if i % 3 else alice, company=CompanyFactory())
    assert export() == 32


def test_the_list_links_to_the_export_with_its_filters(client, alice, campaign):
    LeadFactory(campaign=campaign, owner=alice)
    page = login(client, alice).get("/leads/", {"q": "jonas", "status": "new"}).text
    assert 'href="/leads/export.csv?q=jonas&amp;status=new" download>Download CSV</a>' in page
    fragment = client.get("/leads/", {"status": "won"}, HTTP_HX_REQUEST="true").text
    assert 'href="/leads/export.csv?status=won"' in fragment  # the htmx swap carries the new filters
