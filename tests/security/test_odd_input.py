"""Odd input found by a black-box scan: each got a 500 before; each must get a 4xx, with nothing stored lost."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from leads.models import ImportJob
from salesdept.models import Notification
from tests.conftest import login

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "url",
    [
        "/u/%00/",
        "/leads/?q=%00",
        "/approvals/?q=a%00b",
        "/notifications/?before=%00",
        "/leads/%00/",
    ],
)
def test_it_answers_400_to_a_nul_in_the_address(client, alice, url):
    """PostgreSQL refuses NUL in a string: it must never reach a query."""
    login(client, alice)

    assert client.get(url).status_code == 400


@pytest.mark.parametrize("before", ["²", "١٢", "99999999999999999999999", "-1", "1e3", ""])
def test_it_shows_the_newest_notifications_for_a_before_that_is_no_id(client, alice, before):
    Notification.objects.create(user=alice, text="Lead replied", url="/inbox/")
    login(client, alice)

    response = client.get("/notifications/", {"before": before})

    assert response.status_code == 200
    assert "Lead replied" in response.text


@pytest.mark.parametrize(
    "query",
    [
        {"from": "0001-01-01", "to": "0001-01-05"},
        {"to": "0001-01-05"},
        {"from": "9999-12-31"},
        {"from": "9999-12-25", "to": "9999-12-31"},
    ],
)
@pytest.mark.parametrize("path", ["/dashboard/", "/dashboard/export/funnel.csv"])
def test_it_refuses_dates_out_of_range_on_the_dashboard_and_its_exports(client, bob, path, query):
    login(client, bob)

    response = client.get(path, query)

    assert response.status_code in {200, 400}  # the page with the form's error, or the export refused
    if path == "/dashboard/":
        assert "Choose a date" in response.text


def test_it_refuses_a_bulk_selection_with_digits_int_does_not_read(client, alice):
    login(client, alice)

    response = client.post("/approvals/bulk-approve/", {"items": ["²:1"]})

    assert response.status_code in {200, 302}


def _upload(client, data: bytes):
    return client.post("/leads/import/", {"file": SimpleUploadedFile("people.csv", data, content_type="text/csv")})


def test_it_refuses_a_csv_with_a_field_longer_than_the_csv_module_reads(client, alice, settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    login(client, alice)
    data = b"First Name,Last Name,Company\r\nJane,Doe," + b"x" * 140_000 + b"\r\n"

    response = _upload(client, data)

    assert response.status_code == 200
    assert "Line 2 cannot be read: a value is longer than 131,072 characters" in response.text
    assert not ImportJob.objects.exists()


def test_it_reads_a_utf16_file_with_a_nul_in_the_header(client, alice, settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    login(client, alice)
    data = "First Name,Last\x00Name,Company\r\nJane,Doe,Acme\r\n".encode("utf-16")

    response = _upload(client, data)

    assert response.status_code == 200
    assert "The file holds NUL characters" in response.text
    assert not ImportJob.objects.exists()


def test_it_fails_an_import_whose_later_row_cannot_be_read_with_the_line_and_nothing_stored(alice, settings):
    """The upload checks the first 256 KB; a runaway value further on fails the import with its line, not a crash."""
    from leads.imports import csv_import_create, csv_import_run, csv_import_start
    from leads.models import Lead

    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    good_rows = b"".join(b"Jane%d,Doe,Acme\r\n" % n for n in range(20_000))  # about 320 KB
    data = b"First Name,Last Name,Company\r\n" + good_rows + b'Cyd,"Lee,Gamma\r\n' + b"y" * 140_000 + b"\r\n"
    job = csv_import_create(user=alice, file_name="people.csv", data=data, campaign=None)
    csv_import_start(job=job, mapping={"first_name": "First Name", "last_name": "Last Name", "company_name": "Company"})

    assert csv_import_run(job_id=job.pk)

    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED
    assert job.failure.startswith("Line 20002 cannot be read: a value is longer than 131,072 characters")
    assert not Lead.objects.exists()


def test_it_refuses_a_file_of_60000_columns_before_its_preview(client, alice, settings):
    """0.5 MB of commas once rendered 17 dropdowns of every column: megabytes of HTML, a worker busy for seconds."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    login(client, alice)
    header = ",".join(["First Name", "Last Name", "Company", *(f"c{n}" for n in range(60_000))])
    data = (header + "\r\nJane,Doe,Acme\r\n").encode()

    response = _upload(client, data)

    assert response.status_code == 200
    assert "Row 1 has more than 200 columns, which no lead list needs" in response.text
    assert not ImportJob.objects.exists()


def test_it_previews_a_file_of_200_columns(client, alice, settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    login(client, alice)
    header = ",".join(["First Name", "Last Name", "Company", *(f"c{n}" for n in range(197))])
    response = _upload(client, (header + "\r\nJane,Doe,Acme\r\n").encode())

    assert response.status_code == 302
    assert client.get(response.url).status_code == 200
