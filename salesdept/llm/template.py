"""The offline `template` backend: deterministic, free, and labelled as such wherever shown.

Used when no API key is set (and, once the OpenAI backend lands, when the server is down or
the day's budget is spent). Good enough to run the whole product loop without a model.
"""

import datetime as dt
import hashlib
import re

from campaigns.kinds import kind_rules
from campaigns.labels import label_names
from salesdept.dates import read_due_date, read_return_date
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
    TaskReading,
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
    names = label_names(brief.labels) or ["Other"]
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
    # A lead without title or company still needs a line: an empty one fails the schema.
    line = line.strip() or lead.headline.strip() or "No title or company on record"
    if lead.industry:
        line += f" ({lead.industry})"
    if lead.recent_posts:
        line += f"; active lately: {lead.recent_posts[0][0].lower()}{lead.recent_posts[0][1:]}"
    return line[:300]


# Drafting without a model. Every sentence comes from the lead's facts or the brief's
# prospect-facing fields; the wording varies by lead (seeded by its id) so a batch of drafts
# does not read as one message sent fifty times. The same lead always gets the same draft.


def _pick(options: tuple[str, ...], *, seed: int, salt: str) -> str:
    digest = hashlib.sha256(f"{seed}:{salt}".encode()).digest()
    return options[int.from_bytes(digest[:4], "big") % len(options)]


def _sentence(text: str) -> str:
    text = " ".join(text.split()).rstrip()
    return text if not text or text[-1] in ".!?" else f"{text}."


def _hook(lead: LeadFacts, *, seed: int) -> str:
    if lead.recent_posts:
        topic = _sentence(re.sub(r"^Posted about ", "", lead.recent_posts[0]))
        options = (
            f"I enjoyed your recent post about {topic}",
            f"Your recent post about {topic[:-1]} stayed with me.",
            f"I read your recent post about {topic}",
        )
    elif lead.company:
        options = (
            f"Your work as {lead.position} at {lead.company} caught my eye.",
            f"I came across your work as {lead.position} at {lead.company}.",
            f"I came across your profile as {lead.position} at {lead.company}.",
        )
    else:
        options = (f"Your work as {lead.position} caught my eye.", f"I came across your work as {lead.position}.")
    return _pick(options, seed=seed, salt="hook")


def _topic(brief: Brief, *, seed: int) -> str:
    """Why we write, from the brief's own words; empty when it gives neither an event nor an offer."""
    parts = []
    if brief.event:
        parts.append(
            _pick(
                (
                    f"I'm reaching out about {brief.event}.",
                    f"I'm writing about {brief.event}.",
                    f"It's about {brief.event}.",
                ),
                seed=seed,
                salt="event",
            )
        )
    if brief.angle:
        angle = _sentence(brief.angle)
        parts.append(
            _pick(
                (f"What I have in mind for you: {angle}", f"Why I thought of you: {angle}", f"The idea: {angle}"),
                seed=seed,
                salt="angle",
            )
        )
    return " ".join(parts)


def _question(lead: LeadFacts, *, seed: int) -> str:
    """An honest opener for a brief that says nothing to offer yet: ask, invent no topic."""
    where = f" at {lead.company}" if lead.company else ""
    return _pick(
        (
            f"What are you focused on{where} this year?",
            f"What is on your plate{where} at the moment?",
            f"Would you be open to a short exchange about your work{where}?",
        ),
        seed=seed,
        salt="question",
    )


def _sign_off(brief: Brief, *, seed: int) -> str:
    return (
        f"{_pick(('Best,', 'Kind regards,', 'Thanks,', 'All the best,'), seed=seed, salt='sign')}\n{brief.sender_name}"
    )


def _connection_note(lead: LeadFacts, brief: Brief, *, seed: int) -> str:
    first, hook = lead.first_name, _hook(lead, seed=seed)
    topic = _topic(brief, seed=seed) or _question(lead, seed=seed)
    close = _pick(
        ("Would be glad to connect.", "Happy to connect.", "Glad to connect if you are."), seed=seed, salt="c"
    )
    for parts in ([hook, topic, close], [topic, close], [hook, close], [close]):
        body = " ".join([f"Hi {first},", *parts])
        if len(body) + len(brief.sender_name) < 290:
            return f"{body}\n{brief.sender_name}"
    return f"Hi {first}, glad to connect.\n{brief.sender_name}"[:300]


def _message(lead: LeadFacts, brief: Brief, *, seed: int) -> str:
    hook, topic = _hook(lead, seed=seed), _topic(brief, seed=seed)
    offer = _sentence(brief.offer)
    if topic or offer:
        opening = " ".join(part for part in (hook, topic) if part)
        if _pick(("hook first", "topic first"), seed=seed, salt="order") == "topic first" and topic:
            opening = f"{topic} {hook}"
        paragraphs = [opening, *([offer] if offer else [])]
    else:
        paragraphs = [f"{hook} {_question(lead, seed=seed)}"]
    if brief.value_points:
        points = brief.value_points[:3]
        if _pick(("list", "inline"), seed=seed, salt="points") == "list":
            paragraphs.append("\n".join(["What you would get:", *(f"- {_sentence(p)[:-1]}" for p in points)]))
        else:
            paragraphs.append(" ".join(_sentence(point) for point in points))
    if brief.proof:
        paragraphs.append(_sentence(brief.proof))
    if topic or offer:
        paragraphs.append(brief.call_to_action or "Would a short call next week work?")
    return "\n\n".join([f"Hi {lead.first_name},", *paragraphs, _sign_off(brief, seed=seed)])


def _follow_up(lead: LeadFacts, brief: Brief, *, seed: int) -> str:
    about = f" about {brief.event}" if brief.event else ""
    opening = _pick(
        (
            f"A quick follow-up on my note{about}.",
            f"Following up on my earlier message{about}, in case it got buried.",
            f"Just bringing my last note{about} back to the top of your inbox.",
        ),
        seed=seed,
        salt="follow",
    )
    ask = brief.call_to_action or "Would a short call next week work?"
    return f"Hi {lead.first_name},\n\n{opening} {ask}\n\n{_sign_off(brief, seed=seed)}"


def _subject(lead: LeadFacts, brief: Brief, *, seed: int) -> str:
    company = lead.company or "you"
    if brief.event:
        options = (
            f"{brief.event} and {company}",
            f"{brief.event}: an idea for {company}",
            f"{lead.first_name}, {brief.event}",
        )
    else:
        options = (
            f"A question for {lead.first_name}",
            f"An idea for {company}",
            f"{lead.first_name}, a quick question",
        )
    subject = _pick(options, seed=seed, salt="subject")
    return f"{subject[:1].upper()}{subject[1:]}"[:200]


def draft(*, lead: LeadFacts, brief: Brief, kind: str, step: int, instruction: str = "", seed: int = 0) -> Draft:
    """A draft from the lead's facts and the brief's prospect-facing fields only; `seed` (the
    lead's id) picks among wordings."""
    if kind == "connection_note":
        return Draft(
            greeting_name=lead.first_name, subject="", body=_connection_note(lead, brief, seed=seed), facts_used=[]
        )
    body = _follow_up(lead, brief, seed=seed) if step > 1 else _message(lead, brief, seed=seed)
    subject = _subject(lead, brief, seed=seed) if kind_rules(kind).needs_subject else ""
    return Draft(greeting_name=lead.first_name, subject=subject, body=body, facts_used=[])


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
        suggested_reply=suggested_reply(
            intent=intent, first_name=first_name, referral=referral, brief=brief, text=text
        ),
    )


# What a question asks about, read from its words; a campaign's FAQ entry answers a topic when
# its question is about that topic too. "Details" is the catch-all behind the specific ones.
QUESTION_TOPICS: dict[str, tuple[str, ...]] = {
    "pricing": ("price", "pricing", "prices", "cost", "costs", "how much", "fee", "fees", "budget", "rate", "rates"),
    "dates": ("when", "date", "dates", "what day", "which day", "timing", "how long"),
    "location": ("where", "venue", "location", "city", "address"),
    "agenda": ("agenda", "programme", "program", "schedule", "speakers", "line-up", "lineup", "sessions"),
    "details": ("details", "more info", "more information", "brochure", "deck", "overview", "tell me more"),
}
TOPIC_NAMES = {
    "pricing": "the pricing",
    "dates": "the dates",
    "location": "the location",
    "agenda": "the agenda",
    "details": "the details",
}


def question_topics(text: str) -> list[str]:
    lowered = text.lower()
    found = [
        topic
        for topic, words in QUESTION_TOPICS.items()
        if any(re.search(rf"\b{re.escape(word)}\b", lowered) for word in words)
    ]
    specific = [topic for topic in found if topic != "details"]
    return specific or found


def faq_answer(faq: list[dict], topic: str) -> str:
    """The FAQ's answer on `topic`, or "" when the campaign has none."""
    for item in faq:
        if topic in question_topics(item.get("question", "")) and item.get("answer", "").strip():
            return _sentence(item["answer"])
    return ""


def _answer_questions(text: str, brief: Brief | None) -> str:
    """Answers from the campaign's FAQ; for what it does not answer, an offer to send the details."""
    topics = question_topics(text) or ["details"]
    faq = brief.faq if brief else []
    answers = [answer for topic in topics if (answer := faq_answer(faq, topic))]
    missing = [TOPIC_NAMES[topic] for topic in topics if not faq_answer(faq, topic)]
    parts = ["Thank you for asking.", *dict.fromkeys(answers)]
    if missing == ["the details"] and brief and brief.offer.strip():
        parts.append(f"In short: {_sentence(brief.offer)}")
    if missing:
        also = " as well" if answers else ""
        parts.append(f"I'd be glad to send you {' and '.join(missing)}{also}.")
    return " ".join(parts)


def suggested_reply(
    *, intent: str, first_name: str, referral: str = "", brief: Brief | None = None, text: str = ""
) -> str:
    """A short answer that promises nothing the brief does not say; empty where none is warranted.

    A question is answered from the campaign's FAQ, else with an offer to send the details:
    never with text the brief does not hold for prospects.
    """
    call_to_action = (brief.call_to_action if brief else "") or "Would a short call next week work for you?"
    match intent:
        case "interested":
            middle = f"Thank you for getting back to me, glad to hear it. {call_to_action}"
        case "requesting_info":
            middle = f"{_answer_questions(text, brief)} {call_to_action}"
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
    questions.append("What do we offer them? Write the offer and call to action a prospect reads.")
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
        # The request is the rep's note to the team, not words for a prospect: the manager writes the offer.
        angle="We would like to introduce ourselves and hear what matters to you.",
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


def read_task(*, text: str, now: dt.datetime, tz: dt.tzinfo, date_order: str = "DMY") -> TaskReading:
    """The offline reader: the date the words name (today when none), and the words without it."""
    reading = read_due_date(text, now=now, tz=tz, order=date_order)
    return TaskReading(due_on=reading.date, instruction=reading.rest[:300])
