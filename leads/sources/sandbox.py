"""A synthetic prospect network, deterministic by seed: the default source for demos and tests.

Person number i is a pure function of (seed, i), so searches page through the same people
in the same order on every machine, and a cursor is just the next index.
"""

import datetime as dt
import random
import re
import unicodedata

from django.conf import settings

from leads.sources.base import ActivityItem, ActivityKind, Page, Prospect, SearchQuery

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


# -- the people's own activity, simulated -------------------------------------------------------------------------
# What a sandbox person did on a given day is a pure function of (seed, person, day): the same on every machine,
# and a demo left running for a week sees new posts, comments and job changes arrive day by day.

ACTIVITY_DAYS = 30
SANDBOX_COMPETITORS = ["Ledgerline", "Quantfold"]  # fictitious: whose posts sandbox people engage with
NEED_POSTS = [
    "We are rethinking our forecasting process this quarter. What has worked for your team?",
    "Month-end close still takes us nine days. Looking for ideas to get it under five.",
    "Evaluating real-time payments providers for next year: who should we talk to?",
    "Hiring a finance team from scratch is harder than it looks. Lessons so far.",
    "AI in month-end close: hype or help? Curious what other CFOs see.",
]
NEED_COMMENTS = [
    "Agree: forecasting is where we lose the most time.",
    "We moved to real-time payments last year and never looked back.",
    "Month-end close is our bottleneck too.",
    "Great points on finance automation.",
]
OUR_POSTS = ["Five lessons from running a finance summit", "What real-time finance means for CFOs in 2027"]
# (what, chance per day for a person of average activity): at most one thing a day.
DAILY_ODDS = [("post", 0.05), ("comment", 0.04), ("ours", 0.025), ("competitor", 0.025), ("job_change", 0.004)]
BUSYNESS = [0.0, 0.5, 1.0, 1.0, 2.0, 3.0]  # some people never post; some post every few days


def _thing(kind: str, rng: random.Random, at: str, number: int) -> ActivityItem:
    if kind == "post":
        return ActivityItem(kind=ActivityKind.POST, at=at, text=rng.choice(NEED_POSTS), post_id=f"sbx-post-{number}")
    if kind == "comment":
        return ActivityItem(
            kind=ActivityKind.COMMENT, at=at, text=rng.choice(NEED_COMMENTS), post_id=f"sbx-post-{number}"
        )
    if kind == "ours":
        title = rng.choice(OUR_POSTS)
        return ActivityItem(kind=ActivityKind.REACTION, at=at, text=title, post_id=f"sbx-ours-{number}", about="ours")
    if kind == "competitor":
        who = rng.choice(SANDBOX_COMPETITORS)
        return ActivityItem(
            kind=ActivityKind.REACTION, at=at, post_id=f"sbx-{who.lower()}-{number}", about="competitor", who=who
        )
    return ActivityItem(kind=ActivityKind.JOB_CHANGE, at=at, text="Started a new role")


def activity(seed: int, person_id: str, now: dt.datetime, days: int = ACTIVITY_DAYS) -> list[ActivityItem]:
    """What this person did on LinkedIn in the `days` up to `now`, newest first."""
    busy = random.Random(f"{seed}:{person_id}:busy").choice(BUSYNESS)
    today = now.astimezone(dt.UTC).date()
    items = []
    for back in range(days):
        day = today - dt.timedelta(days=back)
        rng = random.Random(f"{seed}:{person_id}:{day.isoformat()}")
        at = dt.datetime.combine(day, dt.time(7), dt.UTC) + dt.timedelta(minutes=rng.randrange(600))
        roll, edge = rng.random(), 0.0
        for kind, odds in DAILY_ODDS:
            edge += odds * busy
            if roll < edge:
                if at <= now:  # later today has not happened yet
                    items.append(_thing(kind, rng, at.isoformat(), day.toordinal()))
                break
    return items


class SandboxActivity:
    """The activity reader of sandbox people: simulated, one profile view a read, like a visit would be."""

    views = 1

    def __init__(self, seed: int | None = None) -> None:
        self.seed = settings.SANDBOX_SEED if seed is None else seed

    def views_for(self, lead) -> int:
        return self.views

    def read(self, *, account, lead, now: dt.datetime) -> list[ActivityItem]:
        return activity(self.seed, lead.provider_id or lead.linkedin_url or str(lead.pk), now)


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
