"""Weekly LinkedIn post suggestions for the company page and for each rep who opted in.

Each suggestion is written from one active library item (its summary and facts are the only
claims it may make), the themes of the week's replies (their intents, and their words with the
writer's name taken out: a post never quotes a prospect) and the active campaigns' public
briefs, in the team's brand voice. The model writes it when one is configured; otherwise the
offline template does, and the post says so (`generated_by="template"`). Either way it lands in
the approval queue with the guardrails' findings; nothing is published without a person.
"""

import datetime as dt
import logging
from collections import Counter

from django.conf import settings
from django.db import IntegrityError, transaction
from pydantic import Field

from campaigns.models import Campaign
from leads.services import activity_record
from library.models import ContentItem
from outreach.models import InboundMessage, SendingAccount
from outreach.voice import banned_phrases_for, team_voice
from presence.guardrails import POST_LIMIT, library_facts, post_findings
from presence.models import Post, PostingOptIn
from salesdept.llm import gateway
from salesdept.llm.gateway import Request
from salesdept.llm.prompts import DATA_RULE, ENGINE, as_data
from salesdept.llm.schemas import Answer

log = logging.getLogger(__name__)
THEME_DAYS = 14
THEME_SNIPPETS = 5
PROMPT_VERSION = "post-v1"
LINKEDIN_CHANNELS = (SendingAccount.Channel.UNIPILE, SendingAccount.Channel.SANDBOX)
SYSTEM = (
    "You write LinkedIn posts for a B2B company and its sales reps; a person approves every post before it "
    "is published. Plain text, no markdown, no hashtag walls, at most {limit} characters. Make claims about "
    "us only from the library item's summary and facts, word for word where you state a fact, and list every "
    "fact you state in facts_used. No links in the text (the item's URL is attached as a card). Never name or "
    "quote a prospect or customer who wrote to us: reply themes tell you what people ask about, nothing more. "
    f"{DATA_RULE}"
)
INSTRUCTIONS = ENGINE.from_string(
    "Author: {{ author }}.{% if brand_voice %}\nBrand voice: {{ brand_voice }}{% endif %}\n"
    "{% if banned %}Never write: {{ banned }}.\n{% endif %}"
    "\nLibrary item:\n<data>{{ item_json }}</data>\n"
    "\nWhat prospects asked about in recent replies:\n<data>{{ themes_json }}</data>\n"
    "\nOur campaigns' public briefs:\n<data>{{ briefs_json }}</data>\n"
    "\nAnswer with JSON: text, facts_used."
)
INTENT_THEMES = {
    "requesting_info": "details and pricing",
    "interested": "how teams get started",
    "not_now": "timing and planning ahead",
    "not_interested": "whether it is worth the change",
    "referral": "who in a team owns the decision",
}


class PostDraft(Answer):
    text: str = Field(min_length=1, max_length=POST_LIMIT)
    facts_used: list[str]


def week_start(now: dt.datetime) -> dt.date:
    day = now.astimezone(dt.UTC).date()
    return day - dt.timedelta(days=day.weekday())


def suggestions_due(now: dt.datetime) -> bool:
    """From the configured weekday and hour (UTC) to the end of that week: a missed hour is caught up."""
    utc = now.astimezone(dt.UTC)
    return (utc.weekday(), utc.hour) >= (settings.POSTS_SUGGEST_WEEKDAY, settings.POSTS_SUGGEST_HOUR)


def _authors() -> list[tuple[str, object, SendingAccount, str]]:
    """(author kind, rep, publishing account, organisation id) for the company page and each opted-in rep."""
    authors = []
    company = SendingAccount.objects.filter(
        pk=settings.POSTS_COMPANY_ACCOUNT_ID, is_active=True, channel__in=LINKEDIN_CHANNELS
    ).first()
    if company is not None and settings.POSTS_COMPANY_ORGANIZATION_ID:
        authors.append((Post.Author.COMPANY, company.owner, company, settings.POSTS_COMPANY_ORGANIZATION_ID))
    opted = PostingOptIn.objects.filter(suggest_posts=True, user__is_active=True).select_related("user")
    for choice in opted.order_by("user_id"):
        account = (
            SendingAccount.objects.filter(owner=choice.user, is_active=True, channel__in=LINKEDIN_CHANNELS)
            .order_by("-channel", "pk")  # a real LinkedIn account before a sandbox one
            .first()
        )
        if account is not None:
            authors.append((Post.Author.REP, choice.user, account, ""))
    return authors


def reply_themes(now: dt.datetime) -> dict:
    """What recent replies were about: intent counts and a few texts with their writers' names taken out."""
    recent = InboundMessage.objects.filter(received_at__gte=now - dt.timedelta(days=THEME_DAYS)).select_related("lead")
    counts = Counter(m.intent for m in recent if m.intent in INTENT_THEMES)
    snippets = []
    for message in recent.exclude(intent__in=["unsubscribe", "out_of_office", ""])[:THEME_SNIPPETS]:
        snippets.append(_anonymised(message.text, message.lead)[:300])
    return {"topics": [INTENT_THEMES[i] for i, _ in counts.most_common(3)], "snippets": snippets}


def _anonymised(text: str, lead) -> str:
    for name in (lead.full_name, lead.first_name, lead.last_name, getattr(lead.company, "name", "")):
        if name and name.strip():
            text = text.replace(name, "someone")
    return text


def replier_names(now: dt.datetime) -> tuple[str, ...]:
    """Names a post must not contain: the people whose replies fed the themes."""
    leads = InboundMessage.objects.filter(received_at__gte=now - dt.timedelta(days=THEME_DAYS)).values_list(
        "lead__first_name", "lead__last_name"
    )
    return tuple(dict.fromkeys(f"{first} {last}".strip() for first, last in leads if first and last))


def campaign_briefs() -> list[dict]:
    """Only the prospect-facing parts of active campaigns' briefs (DESIGN §10): never names or targeting."""
    briefs = []
    for c in Campaign.objects.filter(status=Campaign.Status.ACTIVE).order_by("pk")[:5]:
        brief = {"offer": c.offer, "event": c.event, "value_points": c.value_points}
        briefs.append({k: v for k, v in brief.items() if v})
    return [b for b in briefs if b]


def _publish_at(account: SendingAccount, week: dt.date, slot: int, now: dt.datetime) -> dt.datetime:
    """Slots spread over the working week, an hour into the account's working day."""
    day = week + dt.timedelta(days=(slot * 5) // max(1, settings.POSTS_PER_WEEK))
    start = dt.datetime.combine(day, account.work_start, tzinfo=account.tz) + dt.timedelta(hours=1)
    return max(start, now + dt.timedelta(hours=1))


def posts_suggest_due(*, now: dt.datetime) -> list[Post]:
    """The weekly run: suggestions for every author and slot of this week not suggested yet."""
    return posts_suggest_week(now=now) if suggestions_due(now) else []


def posts_suggest_week(*, now: dt.datetime) -> list[Post]:
    """This week's suggestions not made yet, whatever the day (the demo seeds a week with it)."""
    items = list(ContentItem.objects.filter(is_active=True).order_by("pk"))
    if not items:
        log.info("post suggestions: the content library has no active item")
        return []
    week = week_start(now)
    themes, names, briefs, team = reply_themes(now), replier_names(now), campaign_briefs(), team_voice()
    made = []
    for author, rep, account, organisation in _authors():
        for slot in range(settings.POSTS_PER_WEEK):
            key = f"{week.isoformat()}:{author}:{rep.pk if author == Post.Author.REP else 0}:{slot}"
            if Post.objects.filter(suggestion_key=key).exists():
                continue
            # Rotate through the library: each slot and week gets another item.
            item = items[(week.toordinal() // 7 + slot + (rep.pk if author == Post.Author.REP else 0)) % len(items)]
            post = post_suggest(
                key=key,
                author=author,
                rep=rep,
                account=account,
                organisation=organisation,
                item=item,
                week=week,
                publish_at=_publish_at(account, week, slot, now),
                themes=themes,
                names=names,
                briefs=briefs,
                team=team,
            )
            if post is not None:
                made.append(post)
    return made


def post_suggest(
    *, key, author, rep, account, organisation, item, week, publish_at, themes, names, briefs, team
) -> Post | None:
    brand_voice = team.brand_voice.strip() if team else ""
    banned = banned_phrases_for(None, team=team)
    result = gateway.run(
        _request(
            author=author, rep=rep, item=item, themes=themes, briefs=briefs, brand_voice=brand_voice, banned=banned
        )
    )
    draft = result.value
    findings = post_findings(text=draft.text, item=item, banned=banned, facts_used=draft.facts_used, names=names)
    try:
        with transaction.atomic():
            post = Post.objects.create(
                author=author,
                rep=rep,
                account=account,
                as_organization=organisation,
                text=draft.text,
                content_item=item,
                link=item.url,
                generated_by=result.generated_by,
                llm_call=result.call,
                guardrail_findings=findings,
                suggestion_key=key,
                week=week,
                publish_at=publish_at,
            )
            activity_record(verb="post.suggested", post=post.pk, author=author, template=result.from_template)
    except IntegrityError:
        return None  # another run of the weekly job made this one first
    return post


def _request(*, author, rep, item, themes, briefs, brand_voice, banned) -> Request[PostDraft]:
    who = "the company page" if author == Post.Author.COMPANY else f"sales rep {rep.get_full_name() or rep}"
    item_data = {"kind": item.kind, "title": item.title, "summary": item.summary, "facts": library_facts(item)}
    instructions = INSTRUCTIONS.render(
        _context(
            author=who,
            brand_voice=brand_voice,
            banned=", ".join(banned),
            item_json=as_data(item_data),
            themes_json=as_data(themes),
            briefs_json=as_data(briefs),
        )
    )
    facts = {" ".join(f.casefold().split()) for f in library_facts(item)}

    def check(answer: PostDraft) -> None:
        unknown = [f for f in answer.facts_used if " ".join(f.casefold().split()) not in facts]
        if unknown:
            raise ValueError(f"facts_used must be facts of the library item, word for word: {unknown}")

    return Request(
        purpose="post",
        schema=PostDraft,
        messages=[
            {"role": "system", "content": SYSTEM.format(limit=POST_LIMIT)},
            {"role": "user", "content": instructions},
        ],
        prompt_version=PROMPT_VERSION,
        fallback=lambda: template_post(author=author, item=item, themes=themes, brand_voice=brand_voice),
        check=check,
        max_tokens=900,
    )


def _context(**values):
    from django.template import Context

    return Context(values)


def template_post(*, author: str, item: ContentItem, themes: dict, brand_voice: str) -> PostDraft:
    """The offline writer: the item's own words, a reply theme as the hook, and its first fact."""
    facts = library_facts(item)
    topic = themes["topics"][0] if themes.get("topics") else ""
    hook = f"A question we hear a lot lately: {topic}." if topic else f"New on our side: {item.title}."
    we = "we" if author == Post.Author.COMPANY else "our team"
    lines = [hook, "", item.summary.strip()]
    if facts:
        lines += ["", f"One thing {we} can point to: {facts[0]}"]
    lines += ["", f"More in our {item.get_kind_display().lower()}: {item.title}."]
    return PostDraft(text="\n".join(lines)[:POST_LIMIT], facts_used=facts[:1])
