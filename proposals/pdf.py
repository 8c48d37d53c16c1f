"""A proposal as a PDF: an HTML template rendered by WeasyPrint, with nothing fetched from anywhere.

The template is data-only (no images, no remote fonts or stylesheets); the URL fetcher refuses every
URL, so a link typed into a text field can never make the server call out.
"""

from decimal import Decimal
from pathlib import Path

from django.template.loader import render_to_string
from weasyprint import CSS, HTML

from proposals.models import NEED_FIELDS, Proposal

TEMPLATE = "proposals/proposal_pdf.html"
STYLESHEET = Path(__file__).resolve().parent / "proposal_pdf.css"


class FetchRefused(ValueError):
    pass


def _no_fetch(url: str, *args, **kwargs):
    raise FetchRefused(f"A proposal's PDF fetches nothing: {url}")


def proposal_context(proposal: Proposal) -> dict:
    needs = [
        (label, [point for point in proposal.needs_points if point["field"] == field]) for field, label in NEED_FIELDS
    ]
    packages = [
        {
            **package,
            "included_lines": [line.strip() for line in package["included"].splitlines() if line.strip()],
            "price_text": f"{Decimal(package['price']):,.2f} {package['currency']}",
        }
        for package in proposal.packages
    ]
    return {"proposal": proposal, "needs": [(label, points) for label, points in needs if points], "packages": packages}


def proposal_pdf(proposal: Proposal) -> bytes:
    html = render_to_string(TEMPLATE, proposal_context(proposal))
    style = CSS(string=STYLESHEET.read_text(), url_fetcher=_no_fetch)
    return HTML(string=html, url_fetcher=_no_fetch, base_url=None).write_pdf(stylesheets=[style])
