"""A synthetic prospect network, deterministic by seed: the default source for demos and tests.

Person number i is a pure function of (seed, i), so searches page through the same people
in the same order on every machine, and a cursor is just the next index.
"""

import random
import re
import unicodedata

from django.conf import settings

from leads.sources.base import Page, Prospect, SearchQuery

NETWORK_SIZE = 5000

FIRST_NAMES = [
    "Amelia",
    "Oliver",
    "Isla",
    "Noah",
    "Freya",
    "Arjun",
    "Sofia",
    "Mateo",
    "Chloé",
    "Lukas",
    "Aisha",
    "Kenji",
    "Maya",
    "Elena",
    "Tomás",
    "Priya",
    "Jonas",
    "Zoe",
    "Ravi",
    "Hannah",
    "Miguel",
    "Ingrid",
    "Omar",
    "Leila",
    "Daniel",
    "Yuki",
    "Grace",
    "Felix",
    "Nadia",
    "Samuel",
]
LAST_NAMES = [
    "Okafor",
    "Lindqvist",
    "Patel",
    "García",
    "Müller",
    "Nakamura",
    "O'Brien",
    "Rossi",
    "Dubois",
    "Kowalski",
    "Haddad",
    "Chen",
    "Fischer",
    "Novak",
    "Silva",
    "Andersen",
    "Moreau",
    "Khan",
    "Brennan",
    "Costa",
    "Weber",
    "Ivanova",
    "Hughes",
    "Tanaka",
    "Mendes",
    "Jansen",
]
COMPANIES = [
    ("Northwind Payments", "northwindpay.com", "Fintech", 180),
    ("Ledgerly", "ledgerly.io", "Fintech", 45),
    ("Brightvault Bank", "brightvault.co.uk", "Banking", 2400),
    ("Cobalt Analytics", "cobalt-analytics.com", "Software", 320),
    ("Helio Health", "heliohealth.eu", "Healthcare", 900),
    ("Quayside Logistics", "quayside.com", "Logistics", 1200),
    ("Fernleaf Capital", "fernleaf.vc", "Venture Capital", 25),
    ("Tessellate AI", "tessellate.ai", "Software", 60),
    ("Marlow & Finch", "marlowfinch.com", "Consulting", 150),
    ("Orbital Retail", "orbitalretail.com", "Retail", 5000),
    ("Kestrel Insurance", "kestrel-ins.com", "Insurance", 700),
    ("Piccolo Pay", "piccolopay.it", "Fintech", 90),
]
ROLES = [
    ("Chief Financial Officer", "c_suite"),
    ("Chief Executive Officer", "c_suite"),
    ("Chief Technology Officer", "c_suite"),
    ("VP Finance", "vp"),
    ("VP Engineering", "vp"),
    ("VP Marketing", "vp"),
    ("Head of Finance", "director"),
    ("Head of Partnerships", "director"),
    ("Director of Operations", "director"),
    ("Finance Manager", "manager"),
    ("Marketing Manager", "manager"),
    ("Software Engineer", "individual"),
    ("Financial Analyst", "individual"),
]
LOCATIONS = [
    ("London, United Kingdom", "Europe/London"),
    ("Manchester, United Kingdom", "Europe/London"),
    ("Berlin, Germany", "Europe/Berlin"),
    ("Paris, France", "Europe/Paris"),
    ("Amsterdam, Netherlands", "Europe/Amsterdam"),
    ("Milan, Italy", "Europe/Rome"),
    ("New York, United States", "America/New_York"),
    ("Lisbon, Portugal", "Europe/Lisbon"),
]
HEADLINE_EXTRAS = [
    "",
    "",
    "",
    " | Keynote speaker",
    " | Author of 'Cash Flow Clarity'",
    " | Podcast host",
    " | Building partnerships",
    " | Ex-McKinsey",
    " | Angel investor",
]
POST_TOPICS = [
    "closing our Series B",
    "what CFOs get wrong about forecasting",
    "hiring a finance team",
    "real-time payments in Europe",
    "speaking at a fintech summit",
    "AI in month-end close",
]


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def person(seed: int, index: int) -> Prospect:
    rng = random.Random(f"{seed}:{index}")
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    company, domain, industry, employees = rng.choice(COMPANIES)
    position, seniority = rng.choice(ROLES)
    location, timezone = rng.choice(LOCATIONS)
    recent_posts = rng.choice([0, 0, 0, 1, 2, 3, 5, 8])
    public_id = f"{_slug(first)}-{_slug(last)}-{index:05d}"
    headline = f"{position} at {company}{rng.choice(HEADLINE_EXTRAS)}"
    posts = [f"Posted about {rng.choice(POST_TOPICS)}" for _ in range(min(recent_posts, 3))]
    email = f"{_slug(first)}.{_slug(last)}{index}@{domain}" if rng.random() < 0.6 else None
    return Prospect(
        provider_id=f"sbx-{seed}-{index:05d}",
        first_name=first,
        last_name=last,
        headline=headline,
        position=position,
        seniority=seniority,
        company_name=company,
        company_domain=domain,
        industry=industry,
        employees=employees,
        location=location,
        timezone=timezone,
        linkedin_url=f"https://www.linkedin.com/in/{public_id}",
        email=email,
        recent_posts=recent_posts,
        raw={"public_identifier": public_id, "headline": headline, "recent_posts": posts, "source": "sandbox"},
    )


def _matches(prospect: Prospect, query: SearchQuery) -> bool:
    """A loose match, as real people search is: any title word, industry or location hit."""
    text = f"{prospect.headline} {prospect.industry} {prospect.location}".lower()
    wanted = [*query.titles, *query.industries, *query.locations, *query.keywords]
    if not wanted:
        return True
    return any(word.lower() in text for term in wanted for word in term.split() if len(word) > 2)


class SandboxSource:
    name = "sandbox"

    def __init__(self, seed: int | None = None) -> None:
        self.seed = settings.SANDBOX_SEED if seed is None else seed

    def search_people(self, *, query: SearchQuery, cursor: str | None, limit: int) -> Page:
        index = int(cursor or 0)
        items: list[Prospect] = []
        while index < NETWORK_SIZE and len(items) < limit:
            prospect = person(self.seed, index)
            index += 1
            if _matches(prospect, query):
                items.append(prospect)
        return Page(items=items, cursor=str(index) if index < NETWORK_SIZE else None)
