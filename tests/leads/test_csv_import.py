"""The CSV import service: files broken the way real exports are, column guesses, checks, merges, rollback."""

import csv
import datetime as dt
import io
import math

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campaigns.models import Campaign
from leads import imports
from leads.csvread import ImportFileError
from leads.csvrows import guess_mapping
from leads.dedupe import name_key
from leads.imports import csv_import_create, csv_import_run, csv_import_start
from leads.models import Activity, Company, Enrolment, ImportJob, Lead, Suppression
from leads.suppression import suppression_add
from tests.factories import CampaignFactory, CompanyFactory, LeadFactory

pytestmark = pytest.mark.django_db
HEADER = ["First Name", "Last Name", "Company", "Email", "LinkedIn URL", "Title"]


def csv_file(*rows: list[str], delimiter: str = ",", encoding: str = "utf-8", newline: str = "\r\n") -> bytes:
    """Rows as a spreadsheet app writes them."""
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator=newline).writerows(rows)
    return buffer.getvalue().encode(encoding)


def person(i: int, **overrides) -> list[str]:
    values = {
        "first": f"Ana{i}",
        "last": "Lopez",
        "company": f"Firm {i}",
        "email": f"ana{i}@firm{i}.example",
        "url": f"https://www.linkedin.com/in/ana-{i}",
        "title": "CFO",
    }
    values.update(overrides)
    return list(values.values())


def run(user, data: bytes, *, campaign=None, mapping: dict | None = None) -> ImportJob:
    """Upload, confirm the guessed (or given) mapping, and run the import as the worker would."""
    job = csv_import_create(user=user, file_name="people.csv", data=data, campaign=campaign)
    assert csv_import_start(job=job, mapping=mapping or job.mapping)
    csv_import_run(job_id=job.pk)
    job.refresh_from_db()
    return job


def report_rows(job: ImportJob) -> list[dict]:
    return list(csv.DictReader(io.StringIO(job.error_report)))


# Files as real exports write them


def test_it_reads_utf8_with_a_bom(alice):
    job = run(alice, b"\xef\xbb\xbf" + csv_file(HEADER, person(1, first="Zoë")))
    assert job.status == "done" and job.encoding == "utf-8-sig"
    assert job.headers[0] == "First Name"
    assert Lead.objects.get().first_name == "Zoë"


def test_it_reads_semicolons_with_commas_inside_values(alice):
    job = run(alice, csv_file(HEADER, person(1, company="Acme, Inc"), person(2), delimiter=";"))
    assert job.delimiter == ";"
    assert job.created_count == 2
    assert Company.objects.filter(name="Acme, Inc").exists()


def test_it_reads_windows_1252(alice):
    data = csv_file(HEADER, person(1, first="Renée", last="Müller", company="O’Brien Café"), encoding="cp1252")
    job = run(alice, data)
    assert job.encoding == "cp1252"
    lead = Lead.objects.select_related("company").get()
    assert (lead.first_name, lead.last_name, lead.company.name) == ("Renée", "Müller", "O’Brien Café")


def test_it_reads_utf16_from_excel(alice):
    job = run(alice, csv_file(HEADER, person(1, first="Łucja"), delimiter="\t", encoding="utf-16"))
    assert (job.encoding, job.delimiter) == ("utf-16", "\t")
    assert Lead.objects.get().first_name == "Łucja"


def test_it_unwraps_a_row_written_as_one_quoted_field(alice):
    data = (
        b'First Name,Last Name,Company,Email\r\n"Jane,Doe,Acme,jane@acme.example"\r\nBob,Ray,Beta,bob@beta.example\r\n'
    )
    job = run(alice, data)
    assert job.created_count == 2 and job.error_count == 0
    jane = Lead.objects.get(first_name="Jane")
    assert (jane.last_name, jane.company.name, jane.email) == ("Doe", "Acme", "jane@acme.example")


def test_it_keeps_commas_and_newlines_inside_quoted_fields(alice):
    data = (
        b"First Name,Last Name,Company,Headline\r\n"
        b'Jane,Doe,"Acme, Inc","Finance lead\r\nbuilding teams, boards"\r\n'
        b"Bob,Ray,Beta,Ops\r\n"
    )
    job = run(alice, data)
    assert job.created_count == 2
    jane = Lead.objects.get(first_name="Jane")
    assert jane.headline == "Finance lead\r\nbuilding teams, boards"
    assert jane.company.name == "Acme, Inc"
    # Rows are numbered as a spreadsheet shows them: Bob is on row 3 though the file has 4 lines.
    assert Lead.objects.get(first_name="Bob").source_ref == f"import:{job.pk}:3"


def test_it_reads_mixed_line_endings(alice):
    data = b"First Name,Last Name,Company\r\nJane,Doe,Acme\rBob,Ray,Beta\nCyd,Lee,Gamma\r\n"
    job = run(alice, data)
    assert job.created_count == 3
    assert set(Lead.objects.values_list("first_name", flat=True)) == {"Jane", "Bob", "Cyd"}


def test_it_skips_a_note_above_the_header_as_linkedin_connections_exports_write_it(alice):
    data = (
        b"Notes:\r\n"
        b'"When exporting your connection data, you may notice that some of the email addresses are missing."\r\n'
        b"\r\n"
        b"First Name,Last Name,URL,Email Address,Company,Position,Connected On\r\n"
        b"Jane,Doe,https://www.linkedin.com/in/janedoe,,Acme,CFO,01 Jan 2026\r\n"
    )
    job = run(alice, data)
    assert job.created_count == 1
    assert Lead.objects.get().linkedin_url == "https://www.linkedin.com/in/janedoe"


def test_it_splits_a_full_name_column(alice):
    job = run(alice, csv_file(["Full Name", "Company"], ["Jane Ann Doe", "Acme"], ["Ray, Bob", "Beta"]))
    assert job.mapping == {"full_name": "Full Name", "company_name": "Company"}
    assert set(Lead.objects.values_list("first_name", "last_name")) == {("Jane", "Ann Doe"), ("Bob", "Ray")}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The file is empty."),
        (b"  \r\n\r\n", "The file is empty."),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "export it as CSV"),
        (b"PK\x03\x04\x14\x00\x06\x00[Content_Types].xml", "export it as CSV"),  # an .xlsx renamed .csv
        (b"First Name,Company\x00\x00\r\nJane,Acme\r\n", "export it as CSV"),
        (b"First Name,Last Name,Company,Email\r\n", "a header row but no people"),
        (b"First Name,Last Name,Company,Email\r\n,,,\r\n", "a header row but no people"),
        (b"Colour,Size\r\nred,9\r\n", "None of the columns look like lead details"),
    ],
    ids=["empty", "blank-lines", "png", "xlsx", "nul-bytes", "header-only", "header-and-blank-row", "no-columns"],
)
def test_it_refuses_a_file_it_cannot_import(alice, data, message):
    with pytest.raises(ImportFileError, match=message):
        csv_import_create(user=alice, file_name="people.csv", data=data, campaign=None)
    assert not ImportJob.objects.exists()


def test_it_refuses_a_file_over_the_size_limit(alice, settings):
    settings.CSV_IMPORT_MAX_BYTES = 100
    with pytest.raises(ImportFileError, match="larger than 100 bytes"):
        csv_import_create(
            user=alice, file_name="people.csv", data=csv_file(HEADER, *map(person, range(5))), campaign=None
        )


# Guessing the columns


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (  # Apollo
            [
                "First Name",
                "Last Name",
                "Title",
                "Company",
                "Company Name for Emails",
                "Email",
                "Email Status",
                "Seniority",
                "Departments",
                "Person Linkedin Url",
                "Website",
                "Company Linkedin Url",
                "City",
                "State",
                "Country",
                "# Employees",
                "Industry",
            ],
            {
                "first_name": "First Name",
                "last_name": "Last Name",
                "position": "Title",
                "company_name": "Company",
                "email": "Email",
                "seniority": "Seniority",
                "linkedin_url": "Person Linkedin Url",
                "company_domain": "Website",
                "city": "City",
                "state": "State",
                "country": "Country",
                "employees": "# Employees",
                "industry": "Industry",
            },
        ),
        (  # HubSpot
            [
                "Record ID",
                "First Name",
                "Last Name",
                "Email",
                "Company Name",
                "Job Title",
                "LinkedIn URL",
                "Phone Number",
                "Website URL",
                "Industry",
                "Time Zone",
            ],
            {
                "first_name": "First Name",
                "last_name": "Last Name",
                "email": "Email",
                "company_name": "Company Name",
                "position": "Job Title",
                "linkedin_url": "LinkedIn URL",
                "company_domain": "Website URL",
                "industry": "Industry",
                "timezone": "Time Zone",
            },
        ),
        (  # Sales Navigator lead list, through an export tool
            [
                "First Name",
                "Last Name",
                "Job Title",
                "Company Name",
                "Linkedin URL",
                "Sales Navigator URL",
                "Location",
                "Company Website",
                "Company Headcount",
                "Headline",
            ],
            {
                "first_name": "First Name",
                "last_name": "Last Name",
                "position": "Job Title",
                "company_name": "Company Name",
                "linkedin_url": "Linkedin URL",
                "location": "Location",
                "company_domain": "Company Website",
                "employees": "Company Headcount",
                "headline": "Headline",
            },
        ),
        (  # Sales Navigator search, scraped (camelCase keys)
            ["profileUrl", "fullName", "firstName", "lastName", "companyName", "title", "location", "industry"],
            {
                "linkedin_url": "profileUrl",
                "full_name": "fullName",
                "first_name": "firstName",
                "last_name": "lastName",
                "company_name": "companyName",
                "position": "title",
                "location": "location",
                "industry": "industry",
            },
        ),
        (  # LinkedIn's own connections export
            ["First Name", "Last Name", "URL", "Email Address", "Company", "Position", "Connected On"],
            {
                "first_name": "First Name",
                "last_name": "Last Name",
                "linkedin_url": "URL",
                "email": "Email Address",
                "company_name": "Company",
                "position": "Position",
            },
        ),
        (  # a plain sheet, lower case with underscores
            ["first_name", "last_name", "company", "email"],
            {"first_name": "first_name", "last_name": "last_name", "company_name": "company", "email": "email"},
        ),
        (["Name", "Organisation", "E-mail"], {"full_name": "Name", "company_name": "Organisation", "email": "E-mail"}),
    ],
    ids=["apollo", "hubspot", "sales-navigator", "sales-navigator-scraped", "linkedin-connections", "plain", "name"],
)
def test_it_guesses_the_columns_of_common_exports(headers, expected):
    assert guess_mapping(headers) == expected


# Checking rows


def test_it_leaves_bad_rows_out_and_reports_why(alice):
    data = csv_file(
        [*HEADER, "Employees"],
        [*person(1), "250"],
        [*person(2, first=""), "10"],
        [*person(3, email="not-an-email"), "10"],
        [*person(4, url="https://example.com/in/ana"), "10"],
        [*person(5), "a few"],
        [*person(6, first="X" * 101), "10"],
        [*person(7, company="", email="", url=""), "10"],
        [*person(8), "51-200"],
    )
    job = run(alice, data)
    assert (job.created_count, job.error_count, job.total_rows) == (2, 6, 8)
    problems = {int(row["Row"]): (row["Column"], row["Problem"]) for row in report_rows(job)}
    assert problems == {
        3: ("First Name", "No first name"),
        4: ("Email", "“not-an-email” is not a valid email address"),
        5: ("LinkedIn URL", "“https://example.com/in/ana” is not a LinkedIn profile URL (linkedin.com/in/…)"),
        6: ("Employees", "“a few” is not a number of employees (like 250 or 51-200)"),
        7: ("First Name", "Longer than 100 characters: too long to store"),
        8: ("", "Needs a company, an email or a LinkedIn URL to tell who this is"),
    }
    row = next(row for row in report_rows(job) if row["Row"] == "4")
    assert row["Email"] == "not-an-email" and row["First Name"] == "Ana3"  # the row's values, as read
    assert sorted(Company.objects.values_list("employees", flat=True)) == [51, 250]


def test_it_cuts_a_long_headline_but_not_a_name(alice):
    data = csv_file(["First Name", "Company", "Headline"], ["Jane", "Acme", "h" * 400])
    job = run(alice, data)
    assert job.created_count == 1
    assert len(Lead.objects.get().headline) == 300


def test_it_normalises_linkedin_urls_and_emails(alice):
    data = csv_file(HEADER, person(1, url="uk.linkedin.com/in/Ana-1/?trk=x", email=" Ana1@Firm.Example "))
    run(alice, data)
    lead = Lead.objects.get()
    assert (lead.linkedin_url, lead.email) == ("https://www.linkedin.com/in/ana-1", "ana1@firm.example")


def test_a_row_with_more_values_than_columns_is_reported(alice):
    data = b"First Name,Last Name,Company\r\nJane,Doe,Acme, Inc\r\nBob,Ray,Beta,\r\n"
    job = run(alice, data)
    assert job.created_count == 1  # Bob's trailing comma is harmless
    assert "has 4 values but the header has 3 columns" in report_rows(job)[0]["Problem"]


# Storing


def test_a_new_lead_carries_its_source_row_and_history(alice):
    campaign = CampaignFactory(status=Campaign.Status.DRAFT)
    job = run(alice, csv_file(HEADER, person(1, first="Jane", last="Doe", company="Acme Ltd")), campaign=campaign)
    lead = Lead.objects.get()
    assert (lead.source, lead.source_ref, lead.status, lead.campaign) == ("csv", f"import:{job.pk}:2", "new", campaign)
    assert lead.name_key == name_key("Jane", "Doe", "Acme Ltd") == "jane doe|acme"
    assert lead.raw_profile["First Name"] == "Jane" and lead.raw_profile["Title"] == "CFO"
    assert lead.owner is None  # the campaign's allocation gives it to a rep
    activity = Activity.objects.get(lead=lead)
    assert (activity.verb, activity.actor, activity.campaign) == ("lead.imported", alice, campaign)
    assert activity.payload["import"] == job.pk


def test_without_a_campaign_the_importer_owns_the_leads(alice):
    run(alice, csv_file(HEADER, person(1)))
    lead = Lead.objects.get()
    assert (lead.campaign, lead.owner) == (None, alice)


def test_duplicate_rows_in_the_file_merge_into_the_first(alice):
    data = csv_file(
        HEADER,
        person(1, title=""),
        person(1, email="other@firm1.example"),  # same LinkedIn URL
        person(2),
        person(2, url="", title="CEO"),  # same email
        person(3, email="", url="", company="Zed Ltd"),
        person(3, email="", url="", company="Zed"),  # same name at the same company
    )
    job = run(alice, data)
    assert (job.created_count, job.merged_count) == (3, 3)
    first = Lead.objects.get(first_name="Ana1")
    assert first.position == "CFO"  # filled from the duplicate
    assert first.email == "ana1@firm1.example"  # not overwritten


def test_a_known_person_is_merged_not_moved(alice, dan):
    other = CampaignFactory()
    known = LeadFactory(
        first_name="Ana1",
        linkedin_url="https://www.linkedin.com/in/ana-1",
        email=None,
        position="",
        owner=dan,
        campaign=other,
        status=Lead.Status.CONTACTED,
    )
    target = CampaignFactory(status=Campaign.Status.DRAFT)
    job = run(alice, csv_file(HEADER, person(1, title="VP Finance", last="Other")), campaign=target)
    assert (job.created_count, job.merged_count) == (0, 1)
    known.refresh_from_db()
    assert (known.owner, known.campaign, known.status) == (dan, other, "contacted")
    assert (known.email, known.position) == ("ana1@firm1.example", "VP Finance")  # blanks filled
    assert known.last_name == "Park"  # never overwritten
    merged = Activity.objects.get(lead=known, verb="lead.merged")
    assert merged.payload == {"source": "csv", "import": job.pk, "fields": ["email", "position"], "row": 2}


def test_a_merge_does_not_take_an_address_another_lead_holds(alice):
    LeadFactory(first_name="Ana1", linkedin_url="https://www.linkedin.com/in/ana-1", email=None)
    holder = LeadFactory(first_name="Someone", email="ana1@firm1.example")
    job = run(alice, csv_file(HEADER, person(1)))
    assert (job.status, job.merged_count) == ("done", 1)
    assert Lead.objects.get(email="ana1@firm1.example") == holder


def test_an_unowned_lead_without_a_campaign_joins_the_import_campaign(alice):
    loose = LeadFactory(
        first_name="Ana1", linkedin_url="https://www.linkedin.com/in/ana-1", campaign=None, owner=None, status="new"
    )
    target = CampaignFactory(status=Campaign.Status.DRAFT)
    run(alice, csv_file(HEADER, person(1)), campaign=target)
    loose.refresh_from_db()
    assert loose.campaign == target


def test_companies_are_reused_by_domain_or_by_name(alice):
    by_domain = CompanyFactory(name="Acme Holdings", domain="acme.example")
    by_name = CompanyFactory(name="Beta", domain="")
    data = csv_file(
        ["First Name", "Last Name", "Company", "Website"],
        ["Jane", "Doe", "Acme", "https://www.acme.example/about"],
        ["Bob", "Ray", "Beta", ""],
        ["Cyd", "Lee", "Gamma", "gamma.example"],
        ["Dee", "Kay", "Gamma", "gamma.example"],
    )
    run(alice, data)
    companies = dict(Lead.objects.values_list("first_name", "company_id"))
    assert companies["Jane"] == by_domain.pk and companies["Bob"] == by_name.pk
    assert companies["Cyd"] == companies["Dee"] == Company.objects.get(domain="gamma.example").pk


def test_suppressed_people_are_left_out_with_the_reason(alice):
    suppression_add(kind=Suppression.Kind.EMAIL, value="ana1@firm1.example", reason="unsubscribe")
    suppression_add(kind=Suppression.Kind.LINKEDIN, value="linkedin.com/in/ana-2/", reason="objection")
    suppression_add(kind=Suppression.Kind.EMAIL_DOMAIN, value="firm3.example", reason="manual")
    job = run(alice, csv_file(HEADER, person(1), person(2), person(3), person(4)))
    assert (job.created_count, job.skipped_count) == (1, 3)
    assert Lead.objects.get().first_name == "Ana4"
    assert {row["Row"]: row["Problem"] for row in report_rows(job)} == {
        "2": "On the do-not-contact list: not imported",
        "3": "On the do-not-contact list: not imported",
        "4": "On the do-not-contact list: not imported",
    }


def test_new_leads_of_an_active_campaign_are_qualified_in_chunks_then_allocated(
    alice, django_capture_on_commit_callbacks, monkeypatch
):
    from campaigns import tasks as campaign_tasks
    from leads import tasks as lead_tasks
    from salesdept.celery import app

    chunks, allocations = [], []
    monkeypatch.setattr(lead_tasks, "leads_qualify", lambda lead_ids: chunks.append(lead_ids) or [])
    monkeypatch.setattr(campaign_tasks, "campaign_allocate", lambda campaign_id: allocations.append(campaign_id) or [])
    campaign = CampaignFactory(status=Campaign.Status.ACTIVE)
    data = csv_file(HEADER, *(person(i) for i in range(450)))
    job = csv_import_create(user=alice, file_name="people.csv", data=data, campaign=campaign)
    csv_import_start(job=job, mapping=job.mapping)

    before, app.conf.task_always_eager = app.conf.task_always_eager, True  # queued tasks run here
    try:
        with django_capture_on_commit_callbacks(execute=True):
            csv_import_run(job_id=job.pk)
    finally:
        app.conf.task_always_eager = before

    assert [len(chunk) for chunk in chunks] == [200, 200, 50]  # small messages, shared by the workers
    assert sorted(sum(chunks, [])) == sorted(Lead.objects.values_list("pk", flat=True))
    assert allocations == [campaign.pk] * 3


def test_a_draft_campaign_queues_no_qualification(alice, django_capture_on_commit_callbacks):
    campaign = CampaignFactory(status=Campaign.Status.DRAFT)
    job = csv_import_create(user=alice, file_name="people.csv", data=csv_file(HEADER, person(1)), campaign=campaign)
    csv_import_start(job=job, mapping=job.mapping)
    with django_capture_on_commit_callbacks() as callbacks:
        csv_import_run(job_id=job.pk)
    assert callbacks == []


# Failures store nothing


def test_a_crash_while_writing_stores_nothing(alice, monkeypatch):
    LeadFactory(first_name="Ana1", linkedin_url="https://www.linkedin.com/in/ana-1", position="")
    companies = Company.objects.count()

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(Lead.objects, "bulk_update", broken)  # after the new leads were inserted
    job = run(alice, csv_file(HEADER, person(1), person(2), person(3)))
    assert job.status == "failed"
    assert "nothing was imported" in job.failure
    assert (job.created_count, job.merged_count) == (0, 0)
    assert Lead.objects.count() == 1 and Company.objects.count() == companies
    assert not Activity.objects.exists()


def test_a_person_stored_meanwhile_fails_the_import_cleanly(alice, monkeypatch):
    """A search stores the same person between the lookup and the insert: the unique URL stops it."""
    LeadFactory(first_name="Ana2", linkedin_url="https://www.linkedin.com/in/ana-2")
    monkeypatch.setattr(imports, "_existing_leads", lambda people: {})
    job = run(alice, csv_file(HEADER, person(1), person(2)))
    assert job.status == "failed"
    assert "stored by someone else while the import ran" in job.failure
    assert Lead.objects.count() == 1


def test_a_job_runs_once(alice):
    job = run(alice, csv_file(HEADER, person(1)))
    assert csv_import_run(job_id=job.pk) is False
    assert Lead.objects.count() == 1


# Progress and cost


def test_progress_is_visible_while_the_write_transaction_is_open(alice, monkeypatch, settings):
    # Its own cache: other test processes clear the shared file cache.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    seen = []
    original = imports.bulk_insert

    def spy(objs):
        job = ImportJob.objects.get()
        seen.append((job.status, imports.import_progress(job)))
        return original(objs)

    monkeypatch.setattr(imports, "bulk_insert", spy)
    run(alice, csv_file(HEADER, *(person(i) for i in range(3))))
    status, progress = seen[0]
    assert status == "running"
    assert (progress["phase"], progress["phase_label"], progress["total"], progress["processed"]) == (
        "saving",
        "Saving leads",
        3,
        3,
    )
    assert cache.get(imports._progress_key(ImportJob.objects.get().pk)) is None  # cleared once it ended


def _inserts_per_1000_rows() -> int:
    """Statements that write 1,000 new leads, their companies and their activities.

    On PostgreSQL: an id reservation and a COPY for leads and for activities, one INSERT for the
    companies, one for their enrolments in the campaign, one for the merge's activity. SQLite
    splits each bulk insert under 999 parameters.
    """
    limit = connection.features.max_query_params
    if not limit:
        return 7
    models = (Lead, Activity, Company, Enrolment)
    return sum(math.ceil(1000 / (limit // len(model._meta.concrete_fields))) for model in models)


def _is_insert(sql: str) -> bool:
    return sql.startswith(("INSERT", "COPY", "SELECT nextval"))


def test_import_queries_do_not_grow_with_rows(alice, django_assert_max_num_queries):
    campaign = CampaignFactory(status=Campaign.Status.DRAFT)
    known = LeadFactory(first_name="Ana5", linkedin_url="https://www.linkedin.com/in/ana-5", email=None)

    def queued(rows: int) -> ImportJob:
        """An import of `rows` people, one of them known, ready to run."""
        Lead.objects.filter(source="csv").delete()
        Lead.objects.filter(pk=known.pk).update(email=None)  # so each run merges something into it
        data = csv_file(HEADER, *(person(i) for i in range(rows)))
        job = csv_import_create(user=alice, file_name="people.csv", data=data, campaign=campaign)
        csv_import_start(job=job, mapping=job.mapping)
        return job

    def other_queries(rows: int) -> int:
        job = queued(rows)
        with CaptureQueriesContext(connection) as captured:
            csv_import_run(job_id=job.pk)
        assert ImportJob.objects.get(pk=job.pk).status == "done"
        return sum(not _is_insert(query["sql"]) for query in captured)

    other_queries(10)  # the first import of the day creates the day's count row; later ones add to it
    assert other_queries(1000) == other_queries(100)
    job = queued(1000)
    with django_assert_max_num_queries(12 + _inserts_per_1000_rows()):
        csv_import_run(job_id=job.pk)
    assert Lead.objects.filter(source="csv").count() == 999


def test_an_import_whose_worker_died_ends_as_failed(alice):
    from leads.imports import STALE_AFTER, imports_fail_stale

    job = csv_import_create(user=alice, file_name="people.csv", data=csv_file(HEADER, person(1)), campaign=None)
    long_ago = timezone.now() - STALE_AFTER - dt.timedelta(minutes=1)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.RUNNING, started_at=long_ago)
    running = csv_import_create(user=alice, file_name="other.csv", data=csv_file(HEADER, person(2)), campaign=None)
    ImportJob.objects.filter(pk=running.pk).update(status=ImportJob.Status.RUNNING, started_at=timezone.now())

    assert imports_fail_stale() == 1

    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED and "Upload the file again" in job.failure
    assert ImportJob.objects.get(pk=running.pk).status == ImportJob.Status.RUNNING  # still at work
