"""The rule score, 0-100, with a breakdown a rep can read: every point has a reason."""

import datetime as dt
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
    topic_posts: list[str] | None = None  # target keywords their recent posts (as the search saw them) mention
    # Their LinkedIn activity as leads.intent stores it (dicts of leads.sources.base.ActivityItem), newest first;
    # None when it was never read.
    activity: list[dict] | None = None
    keywords: list[str] | None = None  # the campaign target's keywords: a post about one is a need
    now: dt.datetime | None = None  # recency is measured from here


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
    return [_factor("engagement", points, 20, reason)]


# -- intent from activity -----------------------------------------------------------------------------------------
INTENT_DAYS = 90  # older activity says nothing about what they need now
TOPIC_MAX, ACTIVITY_MAX = 10, 15
# What each kind of activity is worth when fresh: engaging with us is the warmest, a new role opens a buying window
# (a new leader reviews suppliers), engaging with a competitor shows the need and a comparison under way.
KIND_POINTS = {"ours": 10, "job_change": 8, "competitor": 6}


def _age_days(item: dict, now: dt.datetime | None) -> int | None:
    try:
        at = dt.datetime.fromisoformat(str(item.get("at") or ""))
    except ValueError:
        return None
    if now is None or at.tzinfo is None:
        return None
    return max(0, (now - at).days)


def _fresh(points: int, age: int | None) -> int:
    """Full points within two weeks, fewer up to a month, a little up to INTENT_DAYS; undated counts as a month."""
    if age is None:
        age = 30
    if age <= 14:
        return points
    if age <= 30:
        return round(points * 0.6)
    return round(points * 0.3) if age <= INTENT_DAYS else 0


def _ago(age: int | None) -> str:
    if age is None:
        return "lately"
    if age == 0:
        return "today"
    if age < 14:
        return f"{age} day{'s' if age > 1 else ''} ago"
    return f"{age // 7} weeks ago"


def _kind_of(item: dict) -> str:
    if item.get("kind") == "job_change":
        return "job_change"
    if item.get("about") in ("ours", "competitor") and item.get("kind") in ("comment", "reaction"):
        return str(item["about"])
    return ""


def _kind_reason(kind: str, item: dict, age: int | None) -> str:
    if kind == "job_change":
        return f"Changed jobs {_ago(age)}"
    if kind == "ours":
        return f"Engaged with our post {_ago(age)}"
    return f"Engaged with {item.get('who') or 'a competitor'}'s post {_ago(age)}"


def _topic(signals: Signals) -> dict | None:
    """The freshest post or comment on one of the campaign's keywords: they are writing about the need."""
    now, best = signals.now, None
    for item in signals.activity or []:
        if item.get("kind") not in ("post", "comment"):
            continue
        text = str(item.get("text") or "").lower()
        keyword = next((k for k in signals.keywords or [] if k.strip() and k.lower() in text), None)
        age = _age_days(item, now)
        points = _fresh(TOPIC_MAX, age)
        if keyword and points and (best is None or points > best[0]):
            verb = "Posted about" if item["kind"] == "post" else "Commented on"
            best = (points, f"{verb} {keyword} {_ago(age)}")
    if best:
        return _factor("topic", best[0], TOPIC_MAX, best[1])
    if signals.topic_posts:  # only what the search saw, undated
        return _factor("topic", 5, TOPIC_MAX, f"Posts about {signals.topic_posts[0]}")
    return None


def _activity(signals: Signals) -> dict | None:
    """A new role and engagement with us or a competitor, each counted once at its freshest."""
    if signals.activity is None:
        return None
    found: dict[str, tuple[int, str]] = {}
    for item in signals.activity:
        kind = _kind_of(item)
        if not kind:
            continue
        age = _age_days(item, signals.now)
        points = _fresh(KIND_POINTS[kind], age)
        if points and points > found.get(kind, (0, ""))[0]:
            found[kind] = (points, _kind_reason(kind, item, age))
    if not found:
        return _factor("activity", 0, ACTIVITY_MAX, "No job change or engagement with us or a competitor lately")
    ranked = sorted(found.values(), key=lambda pair: -pair[0])
    points = min(ACTIVITY_MAX, sum(p for p, _ in ranked))
    reasons = [ranked[0][1]] + [reason[0].lower() + reason[1:] for _, reason in ranked[1:]]
    return _factor("activity", points, ACTIVITY_MAX, "; ".join(reasons))


def intent(signals: Signals) -> list[dict]:
    """Points for what their LinkedIn activity says: posting about a need, a new role, engaging with us or others."""
    return [factor for factor in (_topic(signals), _activity(signals)) if factor]


def rescored(base: Scored, signals: Signals) -> Scored:
    """The rule score with engagement and intent added, kept within 0-100."""
    if base.breakdown and base.breakdown[0]["factor"] == "exclusion":
        return base
    kept = [factor for factor in base.breakdown if factor["factor"] not in ("engagement", "topic", "activity")]
    factors = kept + engagement(signals) + intent(signals)
    return Scored(max(0, min(100, sum(f["points"] for f in factors))), factors)
