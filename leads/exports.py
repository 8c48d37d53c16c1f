"""The leads list as a CSV file: the rows the rep sees on the page, every page of them."""

import csv
from collections.abc import Iterator

from django.db.models import QuerySet
from django.utils import timezone

from leads.models import Lead
from salesdept.csvsafe import spreadsheet_row
from salesdept.people import display_name

HEADERS = [
    "Name",
    "Email",
    "LinkedIn",
    "Position",
    "Company",
    "Campaign",
    "Owner",
    "Label",
    "Score",
    "Status",
    "Created",
]
CHUNK = 500  # rows fetched per round trip: memory stays flat however long the list


class _Line:
    """csv.writer writes to this and gets the line back, so each row can be streamed as it is made."""

    def write(self, line: str) -> str:
        return line


def _row(lead: Lead) -> list:
    return [
        lead.full_name,
        lead.email,
        lead.linkedin_url,
        lead.position,
        lead.company.name if lead.company else "",
        lead.campaign.name if lead.campaign else "",
        display_name(lead.owner),
        lead.label,
        lead.effective_score,
        lead.get_status_display(),
        timezone.localtime(lead.created_at).isoformat(timespec="minutes"),
    ]


def lead_csv_lines(leads: QuerySet[Lead]) -> Iterator[str]:
    """A BOM (Excel then reads UTF-8), the header, then one line per lead; cells never run as formulas."""
    writer = csv.writer(_Line())
    yield "\ufeff" + writer.writerow(HEADERS)
    for lead in leads.iterator(chunk_size=CHUNK):
        yield writer.writerow(spreadsheet_row(_row(lead)))
