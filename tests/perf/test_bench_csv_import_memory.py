"""`make bench`: the peak memory of a 50 MB CSV import, at upload (web) and in the worker.

Each measurement runs in its own Python process, which reports its own peak resident size
(`ru_maxrss`): an honest figure, with nothing left over from the test process. The process's size
once Django is loaded (the baseline) is reported too, so the figure the import adds can be read.
The web figure includes the uploaded file's bytes, as the view holds them (`upload.read()`).
"""

import csv
import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.db import connection

from campaigns.models import Campaign
from leads.models import ImportJob, Lead, Suppression
from leads.suppression import suppression_hash
from tests.factories import CampaignFactory, CompanyFactory, UserFactory

pytestmark = [pytest.mark.bench, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
FILE_BYTES = 50_000_000  # under the 50 MiB upload limit
KNOWN, SUPPRESSED = 1_000, 500
TARGET_WEB_MB, TARGET_WORKER_MB = 150, 300  # above the baseline
HEADER = ["First Name", "Last Name", "Title", "Company", "Email", "Person Linkedin Url", "Location", "Website"]
FIRST = ["Ana", "Jürgen", "Chloé", "Mohammed", "Sofia", "Liam", "Aarav", "Zoë", "Mateo", "Ingrid"]
LAST = ["Lopez", "Müller", "Dubois", "Haddad", "Rossi", "O'Brien", "Sharma", "van Dijk", "García", "Nilsen"]
ASCII = ["ana", "juergen", "chloe", "mohammed", "sofia", "liam", "aarav", "zoe", "mateo", "ingrid"]
TITLES = ["Head of Finance", "VP Sales, EMEA", "Chief Financial Officer", "Procurement Lead", "Founder & CEO"]
PLACES = ["Berlin, Germany", "Paris, Île-de-France, France", "London, United Kingdom", "Austin, Texas, USA"]

CHILD = """
import json, os, resource, sys
import django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "salesdept.settings")
django.setup()
from campaigns.models import Campaign
from leads.imports import csv_import_create, csv_import_run
from leads.models import ImportJob
from django.contrib.auth import get_user_model

def rss():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

what, arg, user_id, campaign_id = sys.argv[1:5]
get_user_model().objects.get(pk=user_id)  # connected, models loaded: the baseline
baseline = rss()
if what == "upload":
    with open(arg, "rb") as upload:
        data = upload.read()
    user = get_user_model().objects.get(pk=user_id)
    job = csv_import_create(user=user, file_name="bench.csv", data=data, campaign=Campaign.objects.get(pk=campaign_id))
    job_id = job.pk
else:
    job_id = int(arg)
    assert csv_import_run(job_id=job_id)
print(json.dumps({"job": job_id, "baseline": baseline, "peak": rss()}))
"""


def _row(i: int) -> list[str]:
    firm = i % 20_000
    first, last = FIRST[i % 10], LAST[(i // 10) % 10]
    row = [
        f"{first}{i}",
        last,
        TITLES[i % 5],
        f"Firm {firm} GmbH",
        f"{ASCII[i % 10]}.{i}@firm{firm}.example",
        f"https://www.linkedin.com/in/{first.lower()}-{last.lower().replace(' ', '')}-{i}",
        PLACES[i % 4],
        f"https://www.firm{firm}.example",
    ]
    if i % 50 == 7:  # 2% bad
        row[4] = "not an email"
    return row


def _write_file(path: Path) -> int:
    """A 50 MB export with 1% of people repeated later in the file; the number of rows."""
    rows = 0
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file, lineterminator="\r\n")
        writer.writerow(HEADER)
        i = 0
        while file.tell() < FILE_BYTES - 2_000:
            writer.writerow(_row(i))
            rows += 1
            if i % 100 == 3:
                writer.writerow(_row(i)[:4] + ["", _row(i)[5], "", ""])
                rows += 1
            i += 1
    return rows


def _child(*args: object) -> dict:
    url = urlsplit(os.environ["DATABASE_URL"])
    test_db = urlunsplit(url._replace(path="/" + connection.settings_dict["NAME"]))
    env = {**os.environ, "DATABASE_URL": test_db}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, *map(str, args)],
        env=env,
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_bench_import_memory_50mb(bench_result, tmp_path):
    rep = UserFactory(username="bench-memory@example.com", role="Sales rep")
    campaign = CampaignFactory(owner=rep, status=Campaign.Status.DRAFT)
    company = CompanyFactory(name="Known Co", domain="known.example")
    Lead.objects.bulk_create(
        Lead(
            first_name=f"Known{i}",
            company=company,
            linkedin_url=_row(i * 97 + 1)[5],
            source="bench",
            owner=rep,
        )
        for i in range(KNOWN)
    )
    Suppression.objects.bulk_create(
        Suppression(kind="email", value_hash=suppression_hash("email", email), reason="manual")
        for email in {_row(i * 89 + 2)[4] for i in range(SUPPRESSED)} - {"not an email"}
    )
    path = tmp_path / "bench.csv"
    rows = _write_file(path)
    size = path.stat().st_size
    mb = 1024 * 1024

    web = _child("upload", path, rep.pk, campaign.pk)
    ImportJob.objects.filter(pk=web["job"]).update(status=ImportJob.Status.QUEUED)
    worker = _child("run", web["job"], rep.pk, campaign.pk)

    job = ImportJob.objects.get(pk=web["job"])
    assert job.status == "done", job.failure
    assert job.total_rows == rows
    web_mb, worker_mb = (web["peak"] - web["baseline"]) / mb, (worker["peak"] - worker["baseline"]) / mb
    print(
        f"\nCSV import of {rows:,} rows ({size / 1e6:.1f} MB): peak resident size above the process's"
        f" {web['baseline'] / mb:.0f} MB baseline"
        f"\n  upload (web): {web_mb:,.0f} MB (peak {web['peak'] / mb:,.0f} MB)"
        f"\n  import (worker): {worker_mb:,.0f} MB (peak {worker['peak'] / mb:,.0f} MB)"
        f"\n  created {job.created_count:,}, merged {job.merged_count:,}, skipped {job.skipped_count:,},"
        f" errors {job.error_count:,}"
    )
    note = f"{size / 1e6:.0f} MB file, {rows:,} rows"
    bench_result("CSV import memory, upload (web)", web_mb, "MB", TARGET_WEB_MB, note=note)
    bench_result("CSV import memory, worker", worker_mb, "MB", TARGET_WORKER_MB, note=note)
    assert web_mb < TARGET_WEB_MB and worker_mb < TARGET_WORKER_MB
