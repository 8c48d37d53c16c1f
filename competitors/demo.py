"""The demo's competitor watch: two sandbox competitors, a week of their posts read, and its summary."""

from competitors.models import Competitor
from competitors.services import competitors_read, competitors_summarise
from library.models import ContentItem
from salesdept import clock

DEMO_COMPETITORS = [
    ("Ledgerline", Competitor.Kind.COMPANY, "90017", "ledgerline"),
    ("Dana Whitfield (Ledgerline CEO)", Competitor.Kind.PERSON, "ACoDemoDana", "dana-whitfield"),
]
DEMO_FACT_ITEM = {
    "url": "https://example.com/case-studies/brightvault",
    "title": "Case study: Brightvault Bank",
    "summary": "How Brightvault Bank's finance team forecasts cash across its accounts every morning.",
    "facts": ["Brightvault Bank forecasts cash across 14 bank accounts every morning", "Set up in two weeks"],
    "kind": ContentItem.Kind.CASE_STUDY,
}


def competitors_seed_demo(*, manager) -> str:
    """Watch the demo competitors and read them once (the sandbox simulates their last two weeks)."""
    for name, kind, linkedin_id, public in DEMO_COMPETITORS:
        Competitor.objects.get_or_create(
            kind=kind,
            linkedin_id=linkedin_id,
            defaults={"name": name, "public_identifier": public, "created_by": manager},
        )
    if not ContentItem.objects.filter(is_active=True).exclude(facts=[]).exists():  # an angle needs one fact
        ContentItem.objects.get_or_create(url=DEMO_FACT_ITEM["url"], defaults=DEMO_FACT_ITEM)
    now = clock.now()
    run = competitors_read(now=now)
    summaries = competitors_summarise(now=now)
    return f"Read {run.read} competitors ({run.stored} new posts), {summaries} weekly summaries written."
