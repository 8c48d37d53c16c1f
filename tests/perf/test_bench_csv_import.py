"""`make bench`: a 100,000-row CSV import through the real service, on PostgreSQL.

The file is what a large export looks like: about 2% of rows are bad (no name, a bad email, a bad
LinkedIn URL), about 1% repeat an earlier person, 1,000 people are already known (merged) and 500
are on the do-not-contact list. The figure covers upload checks, reading, checking, dedupe and the
one write transaction. Run it on PostgreSQL:
`DATABASE_URL=postgres://postgres@127.0.0.1:5432/salesdept_bench_csv make bench`.
"""

import csv
import io
import time

import pytest

from campaigns.models import Campaign
from leads.imports import csv_import_create, csv_import_run, csv_import_start
from leads.models import Activity, Lead, Suppression
from leads.suppression import suppression_hash
from tests.factories import CampaignFactory, CompanyFactory, UserFactory

pytestmark = [pytest.mark.bench, pytest.mark.postgres, pytest.mark.django_db]
ROWS, KNOWN, SUPPRESSED = 100_000, 1_000, 500
TARGET_SECONDS = 60
HEADER = ["First Name", "Last Name", "Title", "Company", "Email", "Person Linkedin Url", "City", "Country", "Website"]


def _row(i: int) -> list[str]:
    row = [
        f"Ana{i}",
        f"Lopez{i % 997}",
        "Head of Finance",
        f"Firm {i % 20_000}",
        f"ana{i}@firm{i % 20_000}.example",
        f"https://www.linkedin.com/in/ana-bench-{i}",
        "Berlin",
        "Germany",
        f"https://www.firm{i % 20_000}.example",
    ]
    if i % 50 == 7:  # 2% bad, three ways
        bad = (i // 50) % 3
        if bad == 0:
            row[0] = ""
        elif bad == 1:
            row[4] = "not an email"
        else:
            row[5] = "https://example.com/ana"
    return row


def _file() -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADER)
    for i in range(ROWS):
        writer.writerow(_row(i))
        if i % 100 == 3:  # 1% duplicates, later in the file
            writer.writerow(_row(i)[:4] + ["", _row(i)[5], "", "", ""])
    return buffer.getvalue().encode("utf-8")


def test_bench_import_100k_rows(bench_result):
    rep = UserFactory(username="bench-importer@example.com", role="Sales rep")
    campaign = CampaignFactory(owner=rep, status=Campaign.Status.DRAFT)
    company = CompanyFactory(name="Known Co", domain="known.example")
    Lead.objects.bulk_create(
        Lead(
            first_name=f"Known{i}",
            company=company,
            linkedin_url=f"https://www.linkedin.com/in/ana-bench-{i * 97 + 1}",
            source="bench",
            owner=rep,
        )
        for i in range(KNOWN)
    )
    Suppression.objects.bulk_create(
        Suppression(
            kind="email",
            value_hash=suppression_hash("email", f"ana{i * 89 + 2}@firm{(i * 89 + 2) % 20_000}.example"),
            reason="manual",
        )
        for i in range(SUPPRESSED)
    )
    data = _file()

    started = time.perf_counter()
    job = csv_import_create(user=rep, file_name="bench.csv", data=data, campaign=campaign)
    assert csv_import_start(job=job, mapping=job.mapping)
    csv_import_run(job_id=job.pk)
    seconds = time.perf_counter() - started

    job.refresh_from_db()
    assert job.status == "done", job.failure
    assert job.total_rows == ROWS + ROWS // 100
    assert job.error_count > ROWS // 60 and job.merged_count > ROWS // 100 + KNOWN // 2
    assert Lead.objects.filter(source="csv").count() == job.created_count
    assert Activity.objects.filter(verb="lead.imported").count() == job.created_count
    rows_per_second = job.total_rows / seconds
    print(
        f"\nCSV import of {job.total_rows:,} rows ({len(data) / 1e6:.1f} MB): {seconds:.1f} s,"
        f" {rows_per_second:,.0f} rows/s"
        f"\n  created {job.created_count:,}, merged {job.merged_count:,}, skipped {job.skipped_count:,},"
        f" errors {job.error_count:,}"
        f"\n  target {TARGET_SECONDS} s: {'pass' if seconds < TARGET_SECONDS else 'FAIL'}"
    )
    bench_result(
        f"CSV import, {job.total_rows:,} rows", seconds, "s", TARGET_SECONDS, note=f"{rows_per_second:,.0f} rows/s"
    )
    assert seconds < TARGET_SECONDS
