"""A large file is read, checked and written in chunks: memory follows what is kept of each person
(its checked fields and dedupe keys), not the file and its rows. tracemalloc counts every Python
allocation, so the figures do not depend on the machine or on what else runs."""

import csv
import io
import tracemalloc

import pytest

from leads import csvread, imports
from leads.imports import csv_import_create, csv_import_run, csv_import_start, import_inspect
from leads.models import ImportJob, Lead

pytestmark = pytest.mark.django_db
HEADER = ["First Name", "Last Name", "Title", "Company", "Email", "Person Linkedin Url", "Location", "Website"]
FILE_BYTES = 1_000_000


def _file() -> tuple[bytes, int, int]:
    """An export of about 1 MB with 1% of its people repeated later; its people and its repeats."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADER)
    people = repeats = 0
    while buffer.tell() < FILE_BYTES:
        i, firm = people, people % 2_000
        row = [
            f"Chloé{i}",
            "Dubois",
            "Head of Finance",
            f"Firm {firm}",
            f"chloe.{i}@firm{firm}.example",
            f"https://www.linkedin.com/in/chloe-dubois-{i}",
            "Paris, Île-de-France, France",
            f"https://www.firm{firm}.example",
        ]
        writer.writerow(row)
        if i % 100 == 3:
            writer.writerow([*row[:4], "", row[5], "", ""])
            repeats += 1
        people += 1
    return buffer.getvalue().encode("utf-8"), people, repeats


def _peak(work) -> int:
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _import(user, data: bytes) -> None:
    job = csv_import_create(user=user, file_name="small.csv", data=data, campaign=None)
    assert csv_import_start(job=job, mapping=job.mapping)
    csv_import_run(job_id=job.pk)


def test_it_checks_an_upload_without_holding_its_text(alice, monkeypatch):
    # Its first part read as text, the rest decoded a chunk at a time: both as small as this file is.
    monkeypatch.setattr(csvread, "PREVIEW_BYTES", 64 * 1024)
    monkeypatch.setattr(csvread, "CHUNK", 64 * 1024)
    data, _, _ = _file()
    peak = _peak(lambda: import_inspect(data))
    assert peak < len(data) // 2  # the whole file as text is as large as the file, a copy as well


def test_it_imports_a_large_file_in_a_small_multiple_of_its_size(alice, monkeypatch):
    # Chunks and batches as small as the file is, against a real file's 50 MB.
    monkeypatch.setattr(imports, "BATCH", 100)
    monkeypatch.setattr(csvread, "CHUNK", 64 * 1024)
    monkeypatch.setattr(imports.StoredFile, "CHUNK", 64 * 1024)
    _import(alice, b"First Name,Company\r\nAna,Acme\r\n")  # modules a first import loads are not the file's
    data, people, repeats = _file()
    job = csv_import_create(user=alice, file_name="big.csv", data=data, campaign=None)
    assert csv_import_start(job=job, mapping=job.mapping)

    peak = _peak(lambda: csv_import_run(job_id=job.pk))

    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE, job.failure
    assert job.created_count == people == Lead.objects.filter(source_ref__startswith=f"import:{job.pk}:").count()
    assert job.merged_count == repeats
    # Rows this short are the worst case: what is kept of a person (its checked values, dedupe
    # keys) is about 4 times its row, 6 with the companies and batches. Holding the text and
    # every row as read took 18.
    assert peak < 8 * len(data), f"{peak / len(data):.1f} times the file"
