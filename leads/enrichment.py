"""Company enrichment: read a company's website front page and keep a short summary for drafting.

The URL comes from prospect data, so the fetch is careful: http(s) only, each hop's host resolved
and refused when it is private, loopback, link-local or reserved (unless ENRICH_ALLOW_PRIVATE, for
tests and local use), the connection made to the address checked, redirects followed by hand
(at most MAX_REDIRECTS, each checked), a timeout on every read and an overall deadline, only HTML,
and at most ENRICH_MAX_BYTES read. The page text goes to the model as data
(salesdept.llm.summarise_company). A failure is kept on the company (summary_error) and never
raised into the pipeline. summary_fetched_at is the last attempt's time.
"""

import datetime as dt
import logging
import time
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urljoin

import requests
from django.conf import settings
from django.db.models import Q

from leads.models import Company
from salesdept import clock, llm
from salesdept.outbound import AddressRefused, PinnedAdapter, checked_address

log = logging.getLogger(__name__)

USER_AGENT = "SalesDepartmentBot/1.0 (reads a company's front page to summarise what it does)"
MAX_REDIRECTS = 3
FRESH_FOR = dt.timedelta(days=30)
RETRY_FAILED_AFTER = dt.timedelta(days=1)
MAX_TEXT_CHARS = 8000  # what the model reads of the page
HTML_TYPES = {"text/html", "application/xhtml+xml"}
CAPTURED = {"title", "h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "blockquote"}
SKIPPED = {"script", "style", "noscript", "template", "svg", "iframe"}


class EnrichError(Exception):
    """Why a front page could not be read; the message is stored on the company."""


@dataclass(frozen=True)
class FetchedPage:
    url: str
    html: str
    truncated: bool


# -- fetching -------------------------------------------------------------------------------------------------
def page_fetch(url: str) -> FetchedPage:
    """The HTML of `url`, within the limits above; EnrichError for anything else."""
    timeout = settings.ENRICH_TIMEOUT_SECONDS
    deadline = time.monotonic() + 3 * timeout  # a slow drip must not hold a worker
    headers = {"User-Agent": USER_AGENT, "Accept": "text/html,application/xhtml+xml"}
    with requests.Session() as session:
        session.trust_env = False  # no proxy from the environment: the address checked is the one reached
        for _ in range(MAX_REDIRECTS + 1):
            try:  # every hop checked, then connected to as checked
                address = checked_address(url, allow_private=settings.ENRICH_ALLOW_PRIVATE)
            except AddressRefused as exc:
                raise EnrichError(str(exc)) from exc
            adapter = PinnedAdapter(address)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            response = session.get(url, headers=headers, timeout=(timeout, timeout), stream=True, allow_redirects=False)
            if not response.is_redirect:
                break
            response.close()
            url = urljoin(url, response.headers["Location"])
        else:
            raise EnrichError(f"More than {MAX_REDIRECTS} redirects.")
        with response:
            if response.status_code >= 400:
                raise EnrichError(f"The site answered HTTP {response.status_code}.")
            content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
            if content_type not in HTML_TYPES:
                raise EnrichError(f"Not a web page ({content_type or 'no content type'}).")
            body, truncated = _read_limited(response, deadline)
    encoding = response.encoding if "charset" in response.headers.get("Content-Type", "").lower() else "utf-8"
    return FetchedPage(url=url, html=body.decode(encoding or "utf-8", errors="replace"), truncated=truncated)


def _read_limited(response: requests.Response, deadline: float) -> tuple[bytes, bool]:
    """At most ENRICH_MAX_BYTES of the body; reading stops there (the rest is never downloaded)."""
    limit, chunks, size = settings.ENRICH_MAX_BYTES, [], 0
    for chunk in response.iter_content(chunk_size=16384):
        chunks.append(chunk)
        size += len(chunk)
        if size >= limit:
            return b"".join(chunks)[:limit], True
        if time.monotonic() > deadline:
            raise EnrichError("The site sent its page too slowly.")
    return b"".join(chunks), False


# -- reading ------------------------------------------------------------------------------------------------
class _TextParser(HTMLParser):
    """Title, meta description, headings, paragraphs and list items; never scripts or styles."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title, self.description = "", ""
        self.blocks: list[str] = []
        self.other: list[str] = []  # visible text outside those tags, for pages built of divs
        self._skip = 0
        self._open: list[str] = []
        self._buffer: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "meta":
            values = dict(attrs)
            name = (values.get("name") or values.get("property") or "").lower()
            if name in ("description", "og:description") and not self.description:
                self.description = " ".join((values.get("content") or "").split())
            return
        if tag in SKIPPED:
            self._skip += 1
        elif tag in CAPTURED:
            self._flush()
            self._open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in SKIPPED:
            self._skip = max(0, self._skip - 1)
        elif tag in CAPTURED and tag in self._open:
            self._flush()
            while self._open and self._open.pop() != tag:
                pass

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if self._open:
            self._buffer.append(data)
        elif text := " ".join(data.split()):
            self.other.append(text)

    def _flush(self) -> None:
        text = " ".join("".join(self._buffer).split())
        self._buffer = []
        if not text:
            return
        if self._open and self._open[-1] == "title":
            self.title = self.title or text
        elif text not in self.blocks:
            self.blocks.append(text)

    def close(self) -> None:
        super().close()
        self._flush()


def visible_text(html: str) -> str:
    parser = _TextParser()
    parser.feed(html)
    parser.close()
    lines = [f"Title: {parser.title}"] if parser.title else []
    if parser.description:
        lines.append(f"Description: {parser.description}")
    body = parser.blocks if sum(map(len, parser.blocks)) >= 200 else parser.blocks + parser.other
    lines += body
    return "\n".join(lines)[:MAX_TEXT_CHARS]


# -- the service -------------------------------------------------------------------------------------------
def company_url(company: Company) -> str:
    if company.website:
        return company.website
    return f"https://{company.domain}" if company.domain else ""


def company_enrich(*, company_id: int) -> bool:
    """Fetch and summarise the company's front page; True when a summary was stored. Never raises."""
    company = Company.objects.filter(pk=company_id).first()
    if company is None:
        return False
    url = company_url(company)
    try:
        if not url:
            raise EnrichError("The company has no website or domain.")
        page = page_fetch(url)
        text = visible_text(page.html)
        if not text.strip():
            raise EnrichError("The front page has no readable text.")
    except (EnrichError, requests.RequestException, ValueError, OSError) as exc:
        error = str(exc) if isinstance(exc, EnrichError) else f"The site could not be read ({type(exc).__name__})."
        log.info("enrichment of company %s failed: %s", company_id, error)
        Company.objects.filter(pk=company_id).update(summary_error=error[:300], summary_fetched_at=clock.now())
        return False
    result = llm.summarise_company(name=company.name, url=page.url, page_text=text)
    Company.objects.filter(pk=company_id).update(
        summary=result.value.summary, summary_fetched_at=clock.now(), summary_error=""
    )
    return True


def companies_enrich_for(lead_ids: list[int]) -> list[int]:
    """Queue enrichment for these leads' companies that have no fresh summary; returns their ids.

    Fresh: summarised in the last 30 days. A failed attempt is tried again after a day, not every run.
    """
    from leads.tasks import company_enrich_task  # tasks build on this module

    now = clock.now()
    fresh = Q(summary_fetched_at__gte=now - FRESH_FOR, summary_error="")
    failed_recently = Q(summary_fetched_at__gte=now - RETRY_FAILED_AFTER) & ~Q(summary_error="")
    ids = list(
        Company.objects.filter(leads__pk__in=lead_ids)
        .exclude(fresh | failed_recently)
        .exclude(website="", domain="")
        .values_list("pk", flat=True)
        .distinct()
        .order_by("pk")
    )
    for company_id in ids:
        company_enrich_task.delay_on_commit(company_id)
    return ids
