"""The import pages: upload → preview and mapping → progress → done, their checks and who sees what."""

import csv
import io
import re
from html import unescape

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from campaigns.models import Campaign
from leads.imports import csv_import_run
from leads.models import ImportJob, Lead
from tests.conftest import login
from tests.factories import CampaignFactory

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}
GOOD = (
    b"First Name,Last Name,Company,Email,Person Linkedin Url\r\n"
    b"Jane,Doe,Acme,jane@acme.example,https://www.linkedin.com/in/jane-doe\r\n"
    b"Bob,,Beta,not-an-email,\r\n"
    b"Cyd,Lee,Gamma,cyd@gamma.example,\r\n"
)


@pytest.fixture(autouse=True)
def _own_cache(settings):
    """Progress lives in the cache: keep it from other test processes that clear the shared file cache."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


def upload(client, data: bytes = GOOD, *, name: str = "people.csv", campaign=None):
    return client.post(
        "/leads/import/",
        {"file": SimpleUploadedFile(name, data, content_type="text/csv"), "campaign": campaign.pk if campaign else ""},
    )


def selected(response, field: str) -> str:
    """The option chosen in a mapping select."""
    select = re.search(rf'<select name="{field}"[^>]*>(.*?)</select>', response.text, re.S).group(1)
    found = re.search(r'<option value="([^"]*)" selected>', select)
    return unescape(found.group(1)) if found else ""


def mapping_post(**fields) -> dict:
    return {"first_name": "First Name", "last_name": "Last Name", "company_name": "Company", **fields}


def test_it_walks_from_upload_to_done(client, alice):
    campaign = CampaignFactory(status=Campaign.Status.DRAFT, name="Spring summit")
    login(client, alice)
    response = upload(client, campaign=campaign)
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response.url == f"/leads/import/{job.pk}/"
    assert (job.created_by, job.campaign, job.status) == (alice, campaign, "uploaded")

    preview = client.get(response.url)
    assert preview.status_code == 200
    assert "The first 3 rows as read" in preview.text and "jane@acme.example" in preview.text
    assert "read as UTF-8, columns separated by commas" in preview.text
    assert '<tr><td class="muted">2</td><td title="Jane">Jane</td>' in preview.text  # the file's row numbers
    assert selected(preview, "first_name") == "First Name"
    assert selected(preview, "linkedin_url") == "Person Linkedin Url"
    assert selected(preview, "headline") == ""

    mapping = mapping_post(email="Email", linkedin_url="Person Linkedin Url")
    started = client.post(f"/leads/import/{job.pk}/", mapping)
    assert started.status_code == 302
    job.refresh_from_db()
    assert job.status == "queued" and job.mapping == mapping
    waiting = client.get(f"/leads/import/{job.pk}/")
    assert "Waiting for a worker to start the import" in waiting.text
    assert "<progress" not in waiting.text  # no counts before it starts
    assert f'hx-get="/leads/import/{job.pk}/progress/" hx-trigger="every 1s"' in waiting.text

    csv_import_run(job_id=job.pk)  # what the worker does

    done = client.get(f"/leads/import/{job.pk}/progress/", **HTMX)
    assert done.text.lstrip().startswith('<section id="import-progress"')
    assert "hx-trigger" not in done.text  # polling stops
    assert "Import finished" in done.text
    facts = dict(re.findall(r"<dt>([^<]*)</dt><dd>([^<]*)</dd>", done.text))
    assert facts["New leads"] == "2" and facts["Left out: rows with problems"] == "1"
    assert facts["Rows read"] == "3 of 3"
    assert f'href="/leads/import/{job.pk}/rows-left-out.csv"' in done.text
    assert set(Lead.objects.values_list("first_name", flat=True)) == {"Jane", "Cyd"}

    report = client.get(f"/leads/import/{job.pk}/rows-left-out.csv")
    assert report["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in report["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(report.content.decode("utf-8-sig"))))
    assert [(row["Row"], row["Column"], row["Problem"], row["First Name"]) for row in rows] == [
        ("3", "Email", "“not-an-email” is not a valid email address", "Bob")
    ]


def test_the_progress_page_shows_live_counts_while_running(client, alice):
    from leads.imports import Progress

    login(client, alice)
    upload(client)
    job = ImportJob.objects.get()
    ImportJob.objects.filter(pk=job.pk).update(status="running")
    Progress(job_id=job.pk, phase="checking", total=3000, processed=1000, errors=4).publish()
    page = client.get(f"/leads/import/{job.pk}/progress/")
    assert page.status_code == 200 and "<h1>Import of people.csv</h1>" in page.text  # the whole page
    assert "Checking rows…" in page.text
    assert '<progress value="1000" max="3000"' in page.text
    assert "1,000 of 3,000" in page.text
    assert 'hx-trigger="every 1s"' in page.text


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The file is empty."),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "This looks like a spreadsheet or binary file"),
        (b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00", "export it as CSV"),
        (b"First Name,Company\r\n", "The file has a header row but no people under it."),
        (b"Colour,Size\r\nred,9\r\n", "None of the columns look like lead details"),
    ],
    ids=["empty", "png", "xlsx", "header-only", "no-columns"],
)
def test_a_file_it_cannot_import_is_refused_on_the_form(client, alice, data, message):
    response = upload(login(client, alice), data)
    assert response.status_code == 200
    assert message in unescape(response.text)
    assert "Nothing was imported" in response.text
    assert not ImportJob.objects.exists()


def test_a_file_over_the_limit_is_refused_before_it_is_read(client, alice, settings):
    settings.CSV_IMPORT_MAX_BYTES = 50
    response = upload(login(client, alice))
    assert "The file is larger than 50 bytes" in response.text
    assert not ImportJob.objects.exists()


def test_no_file_is_refused(client, alice):
    response = login(client, alice).post("/leads/import/", {"campaign": ""})
    assert response.status_code == 200 and "Choose a CSV file to import." in response.text


def test_only_active_and_draft_campaigns_are_offered(client, alice):
    active = CampaignFactory(name="Live one", status=Campaign.Status.ACTIVE)
    paused = CampaignFactory(name="Stopped one", status=Campaign.Status.PAUSED)
    page = login(client, alice).get("/leads/import/")
    assert "Live one" in page.text and "Stopped one" not in page.text
    response = upload(client, campaign=paused)
    assert response.status_code == 200 and "not active or draft any more" in response.text
    assert upload(client, campaign=active).status_code == 302


def test_a_mapping_without_a_name_is_refused(client, alice):
    login(client, alice)
    upload(client)
    job = ImportJob.objects.get()
    response = client.post(f"/leads/import/{job.pk}/", {"company_name": "Company"})
    assert response.status_code == 200
    assert "Choose the column with the first name (or the full name)." in response.text
    job.refresh_from_db()
    assert job.status == "uploaded"


def test_a_mapping_to_a_column_not_in_the_file_is_refused(client, alice):
    login(client, alice)
    upload(client)
    job = ImportJob.objects.get()
    response = client.post(f"/leads/import/{job.pk}/", mapping_post(email="Phone"))
    assert response.status_code == 200 and "That column is not in the file." in unescape(response.text)


def test_starting_twice_queues_once(client, alice):
    login(client, alice)
    upload(client)
    job = ImportJob.objects.get()
    client.post(f"/leads/import/{job.pk}/", mapping_post())
    again = client.post(f"/leads/import/{job.pk}/", mapping_post(email="Email"), follow=True)
    job.refresh_from_db()
    assert job.status == "queued" and "email" not in job.mapping
    assert "Waiting for a worker" in again.text


def test_another_rep_cannot_see_your_import(client, alice, dan):
    login(client, alice)
    upload(client)
    job = ImportJob.objects.get()
    client.post(f"/leads/import/{job.pk}/", mapping_post())
    csv_import_run(job_id=job.pk)
    login(client, dan)
    for url in (
        f"/leads/import/{job.pk}/",
        f"/leads/import/{job.pk}/progress/",
        f"/leads/import/{job.pk}/rows-left-out.csv",
    ):
        assert client.get(url).status_code == 404
    assert client.post(f"/leads/import/{job.pk}/", mapping_post()).status_code == 404
    assert "people.csv" not in client.get("/leads/import/").text


def test_a_manager_sees_every_import(client, alice, bob):
    login(client, alice)
    upload(client)
    job = ImportJob.objects.get()
    login(client, bob)
    assert client.get(f"/leads/import/{job.pk}/").status_code == 200
    page = client.get("/leads/import/")
    assert "people.csv" in page.text and "Alice Rivera" in page.text


def test_someone_without_a_role_cannot_import(client, mallory):
    login(client, mallory)
    assert client.get("/leads/import/").status_code == 403
    assert upload(client).status_code == 403
    assert not ImportJob.objects.exists()


def test_the_pages_refuse_other_methods(client, alice):
    login(client, alice)
    upload(client)
    job = ImportJob.objects.get()
    assert client.put("/leads/import/").status_code == 405
    assert client.post(f"/leads/import/{job.pk}/progress/").status_code == 405
    assert client.post(f"/leads/import/{job.pk}/rows-left-out.csv").status_code == 405


def test_an_import_without_problem_rows_has_no_report(client, alice):
    login(client, alice)
    upload(client, GOOD.replace(b"not-an-email", b"bob@beta.example"))
    job = ImportJob.objects.get()
    client.post(f"/leads/import/{job.pk}/", mapping_post(email="Email"))
    csv_import_run(job_id=job.pk)
    assert "rows-left-out.csv" not in client.get(f"/leads/import/{job.pk}/").text
    assert client.get(f"/leads/import/{job.pk}/rows-left-out.csv").status_code == 404


def test_a_failed_import_says_why(client, alice):
    login(client, alice)
    upload(client)
    job = ImportJob.objects.get()
    ImportJob.objects.filter(pk=job.pk).update(status="failed", failure="Some of these people were stored by someone")
    page = client.get(f"/leads/import/{job.pk}/")
    assert "The import failed: nothing was imported" in page.text
    assert "Some of these people were stored by someone" in page.text
    assert 'hx-trigger="every 1s"' not in page.text


def test_the_import_is_reachable_from_the_navigation(client, alice):
    page = login(client, alice).get("/leads/")
    assert '<a href="/leads/import/" >Import</a>' in page.text
