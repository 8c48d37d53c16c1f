"""The rule score, 0-100, with a breakdown a rep can read: every point has a reason."""

from dataclasses import dataclass

from campaigns.models import TargetProfile

SENIORITY_POINTS = {"c_suite": 20, "vp": 16, "director": 12, "manager": 6, "individual": 0}
# Rank words: seniority scores them, so they alone never make a title "close".
RANK_WORDS = {"head", "chief", "officer", "director", "manager", "senior", "lead", "principal", "vp"}


@dataclass(frozen=True)
class Scored:
    score: int
    breakdown: list[dict]


def _factor(name: str, points: int, maximum: int, reason: str) -> dict:
    return {"factor": name, "points": points, "max": maximum, "reason": reason}


STOP_WORDS = {"of", "and", "the", "at", "for", "in", "&"}


def _words(text: str) -> set[str]:
    return {word for word in text.lower().replace(",", " ").split() if word not in STOP_WORDS}


def _in_size_range(employees: int | None, ranges: list[str]) -> bool:
    for size in ranges:
        low, _, high = size.partition("-")
        try:
            if employees is not None and int(low) <= employees <= int(high or 10**9):
                return True
        except ValueError:
            continue
    return False


def score_lead(
    *,
    position: str,
    seniority: str,
    industry: str,
    employees: int | None,
    location: str,
    headline: str,
    company: str,
    recent_posts: int,
    target: TargetProfile,
    engaged: str = "",
) -> Scored:
    haystack = f"{headline} {company}".lower()
    if excluded := [word for word in target.exclusions if word.lower() in haystack]:
        return Scored(0, [_factor("exclusion", 0, 100, f"Excluded by {excluded[0]!r}")])

    factors = []
    title_hits = [t for t in target.titles if _words(t) and _words(t) <= _words(position)]
    partial = [t for t in target.titles if (_words(t) & _words(position)) - RANK_WORDS]
    if title_hits:
        factors.append(_factor("title", 30, 30, f"Title matches {title_hits[0]!r}"))
    elif partial:
        factors.append(_factor("title", 15, 30, f"Title close to {partial[0]!r}"))
    else:
        factors.append(_factor("title", 0, 30, "Title not in the target profile"))

    if target.seniorities:
        hit = seniority in target.seniorities
        factors.append(_factor("seniority", 20 if hit else 0, 20, f"Seniority {seniority or 'unknown'}"))
    else:
        factors.append(
            _factor("seniority", SENIORITY_POINTS.get(seniority, 0), 20, f"Seniority {seniority or 'unknown'}")
        )

    industry_hit = any(i.lower() == industry.lower() for i in target.industries)
    factors.append(_factor("industry", 20 if industry_hit else 0, 20, f"Industry {industry or 'unknown'}"))

    size_hit = _in_size_range(employees, target.company_sizes)
    factors.append(_factor("company_size", 10 if size_hit else 0, 10, f"{employees or 'Unknown'} employees"))

    location_hit = any(place.lower() in location.lower() for place in target.locations)
    factors.append(_factor("location", 10 if location_hit else 0, 10, location or "Location unknown"))

    intent = min(10, recent_posts * 3)
    factors.append(_factor("intent", intent, 10, f"{recent_posts} recent posts"))
    if engaged:  # they came to us: reacted to or commented on one of our posts (presence.engagement)
        factors.append(_factor("engaged_post", 10, 10, engaged))
    return Scored(min(100, sum(f["points"] for f in factors)), factors)


@dataclass(frozen=True)
class Signals:
    """What a lead has done since we found them: the daily rescore reads these."""

    accepted: bool = False  # accepted a connection invitation
    replies: int = 0
    positive: bool = False  # a reply that was interested or asked for information
    unanswered: int = 0  # our messages sent since their last reply (all of them, with no reply)
    topic_posts: list[str] | None = None  # target keywords their recent posts mention


def engagement(signals: Signals) -> list[dict]:
    """Points for what the person did: a reply says more than any profile field."""
    if signals.positive:
        points, reason = 20, "Replied with interest"
    elif signals.replies:
        points, reason = 10, f"Replied {signals.replies} time{'s' if signals.replies > 1 else ''}"
    elif signals.accepted:
        points, reason = 10, "Accepted the invitation"
    else:
        points, reason = 0, "No response yet"
    if signals.unanswered > 1:  # the first unanswered touch says little; each further one says more
        fade = min(15, 5 * (signals.unanswered - 1))
        points -= fade
        reason += f"; {signals.unanswered} messages unanswered"
    factors = [_factor("engagement", points, 20, reason)]
    if signals.topic_posts:
        factors.append(_factor("topic", 5, 5, f"Posts about {signals.topic_posts[0]}"))
    return factors


def rescored(base: Scored, signals: Signals) -> Scored:
    """The rule score with engagement and intent added, kept within 0-100."""
    if base.breakdown and base.breakdown[0]["factor"] == "exclusion":
        return base
    kept = [factor for factor in base.breakdown if factor["factor"] not in ("engagement", "topic")]
    factors = kept + engagement(signals)
    return Scored(max(0, min(100, sum(f["points"] for f in factors))), factors)
