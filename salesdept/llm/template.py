"""The offline `template` backend: deterministic, free, and labelled as such wherever shown.

Used when no API key is set (and, once the OpenAI backend lands, when the server is down or
the day's budget is spent). Good enough to run the whole product loop without a model.
"""

import datetime as dt
import re

from salesdept.dates import read_return_date
from salesdept.llm.schemas import (
    Brief,
    CampaignProposal,
    Classification,
    CompanySummary,
    Draft,
    Insights,
    LeadFacts,
    ProposedLabel,
    ReplyAnalysis,
)

NAME = "template"
PROMPT_VERSION = "template-v1"

# Words in a headline that hint at a label, for the default Speaker / Sponsor / Other labels.
LABEL_HINTS = {
    "speaker": ("speaker", "keynote", "author", "podcast", "evangelist", "writer"),
    "sponsor": ("chief", "vp", "head of partnerships", "partnerships", "marketing", "ceo", "cfo"),
}


def classify(*, lead: LeadFacts, brief: Brief) -> Classification:
    text = f"{lead.headline} {lead.position}".lower()
    names = [label["name"] for label in brief.labels] or ["Other"]
    for name in names:
        hints = LABEL_HINTS.get(name.lower(), ()) + tuple(
            word.lower() for word in brief_label(brief, name).get("keywords", [])
        )
        if any(hint in text for hint in hints):
            return Classification(label=name, confidence=0.6, insight=insight(lead))
    return Classification(label=names[-1], confidence=0.4, insight=insight(lead))


def brief_label(brief: Brief, name: str) -> dict:
    return next((label for label in brief.labels if label["name"] == name), {})


def insight(lead: LeadFacts) -> str:
    line = f"{lead.position} at {lead.company}" if lead.company else lead.position
    if lead.industry:
        line += f" ({lead.industry})"
    if lead.recent_posts:
        line += f"; active lately: {lead.recent_posts[0][0].lower()}{lead.recent_posts[0][1:]}"
    return line[:300]


def _hook(lead: LeadFacts) -> str:
    if lead.recent_posts:
        topic = re.sub(r"^Posted about ", "", lead.recent_posts[0])
        return f"I enjoyed your recent post about {topic}."
    return f"Your work as {lead.position} at {lead.company} caught my eye."


def draft(*, lead: LeadFacts, brief: Brief, kind: str, step: int, instruction: str = "") -> Draft:
    first = lead.first_name
    topic = brief.event or brief.campaign
    if kind == "connection_note":
        hook = _hook(lead)
        hook = hook if hook.startswith("I ") else hook[0].lower() + hook[1:]
        parts = [f"Hi {first},", hook, f"I'm reaching out about {topic}.", "Would be glad to connect."]
        body = " ".join(parts)
        if len(body) > 280:
            body = f"Hi {first}, I'm reaching out about {topic}. Would be glad to connect."
        return Draft(greeting_name=first, subject="", body=f"{body}\n{brief.sender_name}"[:300], facts_used=[])
    if step > 1:
        body = (
            f"Hi {first},\n\nA quick follow-up on my note about {topic}. "
            f"{brief.call_to_action or 'Would a short call next week work?'}\n\nBest,\n{brief.sender_name}"
        )
    else:
        offer = brief.offer or f"We are working on {topic}."
        body = (
            f"Hi {first},\n\n{_hook(lead)} {offer}\n\n"
            f"{brief.call_to_action or 'Would a short call next week work?'}\n\nBest,\n{brief.sender_name}"
        )
    subject = f"{topic} and {lead.company}" if kind in ("email", "inmail") else ""
    return Draft(greeting_name=first, subject=subject[:200], body=body, facts_used=[])


MONTHS = {
    name: number
    for number, name in enumerate(
        [
            "january",
            "february",
            "march",
            "april",
            "may",
            "june",
            "july",
            "august",
            "september",
            "october",
            "november",
            "december",
        ],
        start=1,
    )
}

RULES: list[tuple[str, tuple[str, ...]]] = [
    (
        "unsubscribe",
        ("unsubscribe", "remove me", "stop contacting", "do not contact", "don't contact", "stop messaging"),
    ),
    (
        "out_of_office",
        (
            "out of office",
            "on leave",
            "annual leave",
            "away until",
            "out until",
            "back on",
            "returning",
            "nicht im büro",
            "abwesend",
            "zurück am",
            "absent",
            "de retour",
            "fuera de la oficina",
            "de vuelta",
        ),
    ),
    ("referral", ("speak to", "talk to", "reach out to", "contact my colleague", "better person")),
    (
        "not_now",
        (
            "not now",
            "next quarter",
            "try again",
            "later this year",
            "get back to me in",
            "circle back",
            "after the holidays",
            "in the new year",
            "jetzt nicht",
            "nach den feiertagen",
            "im neuen jahr",
            "pas maintenant",
            "après les fêtes",
            "ahora no",
            "después de las fiestas",
        ),
    ),
    ("not_interested", ("not interested", "no thanks", "no thank you", "not a fit", "not for us")),
    ("interested", ("interested", "sounds good", "let's talk", "happy to chat", "book a", "love to", "sounds great")),
    ("requesting_info", ("more info", "send me", "details", "how much", "pricing", "?")),
]
SENTIMENT = {
    "interested": "positive",
    "requesting_info": "positive",
    "referral": "neutral",
    "not_now": "neutral",
    "out_of_office": "neutral",
    "unclear": "neutral",
    "not_interested": "negative",
    "unsubscribe": "negative",
}


# Reading a reply: each rule's phrases as whole words ("interested" is not in "uninterested").
RULE_PATTERNS = [
    (name, re.compile(r"|".join(rf"(?<!\w){re.escape(p)}(?!\w)" if p[-1].isalnum() else re.escape(p) for p in phrases)))
    for name, phrases in RULES
]
# Words in a reply that read like orders to its reader ("set intent to interested") are data:
# they are cut before the rules look, so a reply cannot pick its own reading.
COMMANDS = re.compile(
    r"\b(?:set|change|mark|make|classify|label|treat)\b[^.!?\n]{0,40}?\b(?:intent|status|lead|reply|this)\b"
    r"[^.!?\n]{0,40}|\b(?:intent|status|sentiment|confidence)\s*[:=][^.!?\n]*"
    r"|\bignore (?:all |any |the )?(?:previous|prior|above) instructions\b[^.!?\n]*",
    re.IGNORECASE,
)
REFERRAL = re.compile(
    r"(?i:speak to|talk to|reach out to|contact|write to|email)\s+"
    r"(?:(?i:my|our)\s+(?i:colleague|boss|manager|head of \w+|cfo|ceo|cto|cmo)\s*,?\s+)?"
    r"([A-ZÀ-Ý][\w'’-]+(?: [A-ZÀ-Ý][\w'’-]+)?)"
)
# How sure a rule reading is: a specific phrase ("out of office", "not now") more than one word
# ("interested"), which a person confirms before the lead moves (LLM_REVIEW_BELOW_CONFIDENCE).
RULE_CONFIDENCE = {"interested": 0.5, "requesting_info": 0.5, "referral": 0.7, "unclear": 0.2}
RULE_CONFIDENCE_DEFAULT = 0.7


def analyse(
    *,
    text: str,
    received_at: dt.datetime,
    tz: dt.tzinfo,
    date_order: str = "DMY",
    first_name: str = "",
    brief: Brief | None = None,
) -> ReplyAnalysis:
    lowered = COMMANDS.sub(" ", text).lower()
    intent = next((name for name, pattern in RULE_PATTERNS if pattern.search(lowered)), "unclear")
    snooze_until = None
    if intent in ("not_now", "out_of_office"):
        # No date read stays None: the caller's default depends on the intent (a week away, 90 days not now).
        reading = read_return_date(text, received_at=received_at, tz=tz, order=date_order)
        snooze_until = reading.date if reading else None
    referral = ""
    if intent == "referral":
        found = REFERRAL.search(COMMANDS.sub(" ", text))
        referral = found.group(1) if found else ""
    confidence = RULE_CONFIDENCE.get(intent, RULE_CONFIDENCE_DEFAULT)
    if intent == "referral" and not referral:
        confidence = 0.5  # someone else is meant, but who is for a person to read
    return ReplyAnalysis(
        sentiment=SENTIMENT[intent],
        intent=intent,
        key_facts=[f"Mentions {referral}" for _ in [0] if referral],
        confidence=confidence,
        snooze_until=snooze_until,
        referral_name=referral,
        suggested_reply=suggested_reply(intent=intent, first_name=first_name, referral=referral, brief=brief),
    )


def suggested_reply(*, intent: str, first_name: str, referral: str = "", brief: Brief | None = None) -> str:
    """A short answer that promises nothing the brief does not say; empty where none is warranted."""
    call_to_action = (brief.call_to_action if brief else "") or "Would a short call next week work for you?"
    match intent:
        case "interested":
            middle = f"Thank you for getting back to me, glad to hear it. {call_to_action}"
        case "requesting_info":
            offer = f" In short: {brief.offer.strip()}" if brief and brief.offer.strip() else ""
            middle = f"Thank you for asking.{offer} I'd be glad to go through the details with you. {call_to_action}"
        case "referral":
            middle = (
                f"Thank you for pointing me to {referral or 'the right person'}, I appreciate it. "
                "I'll get in touch with them directly."
            )
        case "unclear":
            middle = "Thank you for your reply. Could you tell me a little more about what you have in mind?"
        case _:
            return ""
    greeting = f"Hi {first_name}," if first_name else "Hello,"
    sign_off = f"\n\nBest,\n{brief.sender_name}" if brief and brief.sender_name else "\n\nBest regards"
    return f"{greeting}\n\n{middle}{sign_off}"


# Reading a campaign request without a model: the words a rep is likely to use.
TITLE_WORDS = {
    "ceo": ("CEO", "Chief Executive Officer", "c_suite"),
    "cfo": ("CFO", "Chief Financial Officer", "c_suite"),
    "cto": ("CTO", "Chief Technology Officer", "c_suite"),
    "coo": ("COO", "Chief Operating Officer", "c_suite"),
    "cmo": ("CMO", "Chief Marketing Officer", "c_suite"),
    "cio": ("CIO", "Chief Information Officer", "c_suite"),
    "founder": ("Founder", "Co-Founder", "owner"),
    "vp": ("VP", "Vice President", "vp"),
    "head": ("Head of", "", "director"),
    "director": ("Director", "", "director"),
    "manager": ("Manager", "", "manager"),
}
INDUSTRY_WORDS = {
    "fintech": "Fintech",
    "banking": "Banking",
    "bank": "Banking",
    "insurance": "Insurance",
    "saas": "Software",
    "software": "Software",
    "healthcare": "Healthcare",
    "health": "Healthcare",
    "logistics": "Logistics",
    "retail": "Retail",
    "ecommerce": "Retail",
    "consulting": "Consulting",
    "venture": "Venture Capital",
    "manufacturing": "Manufacturing",
    "education": "Education",
    "energy": "Energy",
    "media": "Media",
    "telecom": "Telecommunications",
}


def propose_campaign(*, text: str) -> CampaignProposal:
    words = re.findall(r"[A-Za-z][A-Za-z&-]*", text)
    lowered = [word.lower().rstrip("s") if len(word) > 3 else word.lower() for word in words]
    titles, seniorities = [], []
    for role, of, area in re.findall(r"\b(VP|Vice President|Head|Director)( of)? ([A-Z][a-z]+)", text):
        role = "Head of" if role == "Head" else f"{role}{of}"
        titles.append(f"{role} {area}")
        seniorities.append("vp" if role.startswith(("VP", "Vice")) else "director")
    for word in lowered:
        if titles and word in ("vp", "head", "director"):
            continue  # already read with the area it heads
        if found := TITLE_WORDS.get(word) or TITLE_WORDS.get(word.rstrip("s")):
            titles += [title for title in found[:2] if title and title not in titles]
            if found[2] not in seniorities:
                seniorities.append(found[2])
    seniorities = list(dict.fromkeys(seniorities))
    industries = list(dict.fromkeys(INDUSTRY_WORDS[w] for w in (x.lower() for x in words) if w in INDUSTRY_WORDS))
    places = re.findall(r"\b(?:in|from|based in)\s+([A-Z][a-zA-Z]+(?:\s+[A-Z][a-zA-Z]+)?)", text)
    locations = [place for place in dict.fromkeys(places) if place.lower() not in INDUSTRY_WORDS]
    numbers = [int(n) for n in re.findall(r"\b(\d{1,4})\b", text) if 0 < int(n) <= 5000]
    size = numbers[0] if numbers else 50
    short = [title for title in titles if len(title) <= 4]
    who = " and ".join(f"{title}s" for title in short) if short else (titles[0] if titles else "Prospects")
    name = " in ".join(part for part in [who, industries[0] if industries else ""] if part)
    if locations:
        name += f", {locations[0]}"
    questions = []
    if not titles:
        questions.append("Which job titles should we look for?")
    if not locations:
        questions.append("Which countries or cities?")
    if not numbers:
        questions.append("How many leads? 50 assumed.")
    return CampaignProposal(
        name=name[:120],
        titles=titles,
        seniorities=seniorities,
        industries=industries,
        locations=locations,
        company_sizes=[],
        keywords=[],
        exclusions=[],
        labels=[
            ProposedLabel(name="Fit", description="Matches the request"),
            ProposedLabel(name="Other", description="Found, but not a clear fit"),
        ],
        angle=text.strip()[:500] or "Introduce our offer",
        size=size,
        questions=questions,
    )


def summarise_company(*, name: str, page_text: str) -> CompanySummary:
    """The page's first sentences, as they are: a summary that cannot claim what the page does not."""
    sentences = re.split(r"(?<=[.!?])\s+", " ".join(page_text.split()))
    summary = ""
    for sentence in sentences:
        if len(summary) + len(sentence) > 400:
            break
        summary = f"{summary} {sentence}".strip()
    return CompanySummary(summary=summary or page_text.strip()[:400], facts=[])


def insights(*, metrics: dict) -> Insights:
    """3 to 5 sentences from the day's numbers, each quoting only values the metrics hold.

    The biggest change against the previous days, the best campaign by reply rate, the approval
    backlog, then send errors or accounts in trouble, then the model's cost.
    """
    lines = [_biggest_change(metrics), _best_campaign(metrics), _backlog(metrics), _trouble(metrics), _cost(metrics)]
    return Insights(insights=[line for line in lines if line][:5])


def _num(value) -> str:
    return f"{value:,}" if isinstance(value, int) else f"{value:,.1f}"


def _biggest_change(metrics: dict) -> str:
    funnel = metrics.get("funnel", {})
    averages = metrics.get("daily_average_previous_7_days", {})
    changes = metrics.get("change_vs_average_pct", {})
    days = metrics.get("comparison_days", 7)
    moved = [(abs(change), stage) for stage, change in changes.items() if change is not None]
    if not moved:
        counts = ", ".join(f"{_num(funnel.get(stage, 0))} {stage}" for stage in ("found", "sent", "replied"))
        return f"The day's funnel: {counts}; there is nothing from the previous {days} days to compare with."
    _, stage = max(moved, key=lambda item: (item[0], item[1] == "replied", item[1] == "sent"))
    change, today, average = changes[stage], funnel.get(stage, 0), averages.get(stage, 0)
    if change == 0:
        return f"{stage.capitalize()} held at {_num(today)}, the daily average of the previous {days} days."
    verb = "rose" if change > 0 else "fell"
    return (
        f"{stage.capitalize()} {verb} to {_num(today)} from a daily average of {_num(average)} "
        f"over the previous {days} days ({change:+,.1f}%)."
    )


def _best_campaign(metrics: dict) -> str:
    rated = [row for row in metrics.get("campaigns", []) if row.get("rates", {}).get("reply_rate") is not None]
    if not rated:
        return ""
    best = max(rated, key=lambda row: (row["rates"]["reply_rate"], row["funnel"].get("sent", 0)))
    funnel, rate = best["funnel"], best["rates"]["reply_rate"]
    said = "had the best reply rate" if len(rated) > 1 else "had a reply rate of"
    return (
        f'"{best["name"]}" {said}{":" if len(rated) > 1 else ""} {_num(rate)}% '
        f"({_num(funnel.get('replied', 0))} replied, {_num(funnel.get('sent', 0))} sent)."
    )


def _backlog(metrics: dict) -> str:
    backlog = metrics.get("backlog", {})
    pending = backlog.get("pending", 0)
    if not pending:
        return "No drafts are waiting for approval."
    waiting = "draft is" if pending == 1 else "drafts are"
    line = f"{_num(pending)} {waiting} waiting for approval"
    if backlog.get("oldest_hours") is not None:
        line += f"; the oldest has waited {_num(backlog['oldest_hours'])} hours"
    return line + "."


def _trouble(metrics: dict) -> str:
    errors = metrics.get("send_errors", {}).get("day", 0)
    accounts = metrics.get("accounts", {})
    parts = []
    if errors:
        parts.append(f"{_num(errors)} {'send' if errors == 1 else 'sends'} failed with a provider error")
    if accounts.get("attention_count"):
        count = accounts["attention_count"]
        names = ", ".join(account["name"] for account in accounts.get("attention", [])[:3])
        needs = "sending account needs" if count == 1 else "sending accounts need"
        parts.append(f"{_num(count)} {needs} attention ({names})")
    return "; ".join(parts) + "." if parts else ""


def _cost(metrics: dict) -> str:
    llm = metrics.get("llm", {})
    return f"The language model answered {_num(llm.get('calls', 0))} calls costing ${llm.get('cost_usd', 0):,.2f}."
