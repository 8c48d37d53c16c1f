"""What the app writes as CSV never runs as a formula when a manager opens it in a spreadsheet."""

import csv
import io

import pytest

from leads.imports import csv_import_create, csv_import_run, csv_import_start
from salesdept.csvsafe import spreadsheet_cell

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("-1+1+cmd|' /C calc'!A0", "'-1+1+cmd|' /C calc'!A0"),  # passed the old check: a digit after the minus
        ("=HYPERLINK(1)", "'=HYPERLINK(1)"),
        ("+33 6 12", "'+33 6 12"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("-12", "-12"),
        ("-3.5", "-3.5"),
        ("Acme", "Acme"),
        (None, ""),
        (7, 7),
    ],
)
def test_it_quotes_what_a_spreadsheet_would_run(value, written):
    assert spreadsheet_cell(value) == written


def test_it_quotes_formulas_in_the_rows_left_out_headers_included(client, alice, settings):
    """A rep's file names its own columns; the report repeats them, so they are cells like any other."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    data = (
        b"First Name,Last Name,Company,=cmd|' /C calc'!A0\r\n"
        b"Jane,Doe,Acme,x\r\n"
        b",Roe,-1+1+cmd|' /C calc'!A0,y\r\n"  # no first name: left out, into the report
    )
    job = csv_import_create(user=alice, file_name="people.csv", data=data, campaign=None)
    csv_import_start(job=job, mapping={"first_name": "First Name", "last_name": "Last Name", "company_name": "Company"})
    csv_import_run(job_id=job.pk)
    client.force_login(alice)

    response = client.get(f"/leads/import/{job.pk}/rows-left-out.csv")

    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][-1] == "'=cmd|' /C calc'!A0"
    assert "'-1+1+cmd|' /C calc'!A0" in rows[1]
