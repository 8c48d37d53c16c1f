"""Nurturing: once a week, one useful touch for each connected, met or won person nobody wrote to lately.

Who: a person whose LinkedIn invitation was accepted, or with whom a meeting was booked or a deal
won, with no message sent to them and no reply from them in NURTURE_QUIET_DAYS days, whose rep
has not turned nurturing off, who is not do-not-contact, suppressed, lost or snoozed, and whose
contact budget (outreach.sending: one per person across campaigns) allows a touch now.

What, in this order: congratulate on a new role read from their profile (leads.intent), share the
best-fitting active library item they were never offered (fit: the item's labels and industries
against the lead's label and company industry; an item that names neither suits anyone), or,
after a meeting, check in. A connected person with no fitting item gets nothing: never an item
that does not fit.

How: a Nurture row and its OutreachMessage (step 0, outside the sequence) are claimed in one
transaction; unique constraints make a second worker's or a second run's insert fail. The text
is written later by the drafting task (outreach.services.messages_fill hands nurture messages
here): the model in the campaign's voice, or the offline template; then the draft guardrails,
and a library check (every fact it says it used is one of the item's, every number it quotes is
in the item, the news or the profile). It lands in the approval queue like any draft.
"""

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.template import Context

from campaigns.kinds import kind_rules
from campaigns.models import Campaign
from campaigns.selectors import campaign_request_texts
from leads.models import Lead
from leads.services import activity_record
from leads.sources.base import ActivityKind
from leads.suppression import is_suppressed
from library.models import ContentItem, Nurture
from outreach.guardrails import LINK, check_message, finding
from outreach.models import InboundMessage, OutreachMessage, SendingAccount
from outreach.sending import contact_budget_wait
from outreach.voice import signatures_of, team_voice, voice_for
from presence.guardrails import fact_key, library_facts, numbers_of
from salesdept.db import one_to_one
from salesdept.llm import Draft, Voice
from salesdept.llm.gateway import Request, Result, batch_size, run_many
from salesdept.llm.grounding import ungrounded_numbers
from salesdept.llm.prompts import DATA_RULE, ENGINE, as_data
from salesdept.people import display_name

S = Lead.Status
Status, Kind = OutreachMessage.Status, OutreachMessage.Kind
Reason = Nurture.Reason
PROMPT_VERSION = "nurture-v1"
NURTURE_STEP = 0  # outside the campaign's sequence, as a rep's own message
# Statuses a nurturing touch may go to: in a conversation or past it, never closed, lost or asleep.
NURTURABLE = (S.CONTACTED, S.REPLIED, S.INTERESTED, S.MEETING, S.WON)
MET = (S.MEETING, S.WON)
OPEN = (Status.GENERATING, Status.PENDING_APPROVAL, Status.APPROVED, Status.SENDING)
# A message that may have gone counts as a touch (as in the contact budget).
TOUCHED = (Status.SENT, Status.SENDING, Status.UNKNOWN)
NEWS_FRESH = dt.timedelta(days=90)  # a new role older than this is not news any more
RUN_LIMIT = 2000  # people looked at per run; the next hourly run of the week carries on

SYSTEM = (
    "You write one short, personal nurturing message from a B2B sales rep to someone they already know "
    "(a LinkedIn connection, or someone they met). It is not a sales pitch: one useful touch. Plain text, "
    "no markdown. Greet the person by their first name exactly as given, and sign off as told. Say nothing "
    "about us or our work that is not in the library item's summary or facts; state a fact word for word "
    "and list every fact you state in facts_used. The only link allowed is the library item's URL, once. "
    f"No placeholders. {DATA_RULE}"
)
INSTRUCTIONS = ENGINE.from_string(
    "Channel: {{ kind_label }} (at most {{ limit }} characters in the body{% if needs_subject %}, with a subject "
    "under 120 characters{% else %}, subject empty{% endif %}).\n"
    "The touch: {{ purpose }}\n"
    "Tone: {{ tone }}.{% if brand_voice %}\nBrand voice: {{ brand_voice }}{% endif %}\n"
    "Sign off as: {{ signature }}\n"
    "{% if banned %}Never write: {{ banned }}.\n{% endif %}"
    "{% if instruction %}The rep asks:\n<data>{{ instruction_json }}</data>\n{% endif %}"
    "{% if item_json %}\nLibrary item to share:\n<data>{{ item_json }}</data>\n{% endif %}"
    "{% if news_json %}\nNews from their LinkedIn profile:\n<data>{{ news_json }}</data>\n{% endif %}"
    "\nThe person:\n<data>{{ lead_json }}</data>\n"
    "\nAnswer with JSON: greeting_name, subject, body, facts_used."
)
PURPOSES = {
    Reason.SHARE: "share the library item with a line on why it may be useful to them.",
    Reason.CONGRATULATE: "congratulate them on the new role in the news below; ask for nothing.",
    Reason.CHECK_IN: "check in some weeks after your meeting: how are things going, and is there anything you "
    "can help with. No new claims.",
}


# Who is due ---------------------------------------------------------------------------------------


def week_of(now: dt.datetime) -> dt.date:
    """Monday (UTC) of the week `now` is in: the key of one weekly run."""
    day = now.astimezone(dt.UTC).date()
    return day - dt.timedelta(days=day.weekday())


def nurtures_due(now: dt.datetime) -> bool:
    """From the configured weekday and hour (UTC) to the end of that week: a missed hour is caught up."""
    utc = now.astimezone(dt.UTC)
    return (utc.weekday(), utc.hour) >= (settings.NURTURE_WEEKDAY, settings.NURTURE_HOUR)


def nurture_candidates(*, now: dt.datetime, week: dt.date):
    """People a touch may be suggested to this week, before the per-person checks (suppression, budget, fit)."""
    since = now - dt.timedelta(days=settings.NURTURE_QUIET_DAYS)
    connected = OutreachMessage.objects.filter(lead=OuterRef("pk"), accepted_at__isnull=False)
    sent = OutreachMessage.objects.filter(lead=OuterRef("pk")).filter(
        Q(status=Status.SENT, sent_at__gte=since) | Q(status__in=TOUCHED[1:], sending_started_at__gte=since)
    )
    heard = InboundMessage.objects.filter(lead=OuterRef("pk"), received_at__gte=since)
    open_nurture = Nurture.objects.filter(lead=OuterRef("pk"), message__status__in=OPEN)
    this_week = Nurture.objects.filter(lead=OuterRef("pk"), week=week)
    return (
        Lead.objects.filter(
            status__in=NURTURABLE,
            nurture_off=False,
            owner__isnull=False,
            owner__is_active=True,
            campaign__status=Campaign.Status.ACTIVE,  # a message of a stopped campaign is never sent
        )
        .filter(Q(status__in=MET) | Exists(connected))
        .exclude(Exists(sent) | Exists(heard) | Exists(open_nurture) | Exists(this_week))
        .annotate(connected=Exists(connected))
        .select_related("company", "owner", "campaign")
        .prefetch_related("campaign__sending_accounts")
        .order_by("pk")
    )


def item_fit(item: ContentItem, *, label: str, industry: str) -> int | None:
    """How specifically `item` suits a person (2: label and industry named, 0: suits anyone), None: it does not."""
    labels = {str(x).strip().casefold() for x in item.labels if str(x).strip()}
    industries = {str(x).strip().casefold() for x in item.industries if str(x).strip()}
    if labels and label.strip().casefold() not in labels:
        return None
    if industries and industry.strip().casefold() not in industries:
        return None
    return int(bool(labels)) + int(bool(industries))


def best_item(items: list[ContentItem], *, lead: Lead, shared: set[int]) -> ContentItem | None:
    """The active item that fits the person most specifically and was never suggested to them; newest first."""
    industry = lead.company.industry if lead.company else ""
    fitting = [
        (fit, item.pk, item)
        for item in items
        if item.is_active
        and item.pk not in shared
        and (fit := item_fit(item, label=lead.label, industry=industry)) is not None
    ]
    return max(fitting, key=lambda row: row[:2])[2] if fitting else None


def job_news(lead: Lead, *, now: dt.datetime, congratulated: set[str]) -> dict | None:
    """The newest new role in the person's LinkedIn activity, if recent and not congratulated on yet."""
    for entry in lead.activity or []:
        if not isinstance(entry, dict) or entry.get("kind") != ActivityKind.JOB_CHANGE:
            continue
        try:
            at = dt.datetime.fromisoformat(str(entry.get("at", "")).replace("Z", "+00:00"))
        except ValueError:
            continue
        if at.tzinfo is None or now - at > NEWS_FRESH or at > now:
            continue
        if entry["at"] in congratulated:
            continue
        return {"at": entry["at"], "text": str(entry.get("text", ""))[:300], "url": str(entry.get("url", ""))}
    return None


@dataclass(frozen=True)
class Touch:
    reason: str
    item: ContentItem | None = None
    news: dict | None = None


def touch_for(lead: Lead, *, now: dt.datetime, items: list[ContentItem], history: list[Nurture]) -> Touch | None:
    """The one touch worth suggesting, or None (a connection with nothing fitting to share gets nothing)."""
    congratulated = {n.news.get("at", "") for n in history if n.reason == Reason.CONGRATULATE}
    if news := job_news(lead, now=now, congratulated=congratulated):
        return Touch(Reason.CONGRATULATE, news=news)
    shared = {n.item_id for n in history if n.item_id}
    if item := best_item(items, lead=lead, shared=shared):
        return Touch(Reason.SHARE, item=item)
    if lead.status in MET:
        return Touch(Reason.CHECK_IN)
    return None


def _account(campaign: Campaign, owner, kind: str) -> SendingAccount | None:
    """The owner's active account on the campaign that can send `kind`, else the campaign's first one."""
    able = sorted(
        (a for a in campaign.sending_accounts.all() if a.is_active and a.channel in SendingAccount.channels_for(kind)),
        key=lambda a: a.pk,
    )
    return next((a for a in able if a.owner_id == owner.pk), able[0] if able else None)


def channel_for(lead: Lead) -> tuple[str, SendingAccount] | None:
    """A LinkedIn message to a connection, else an email to a working address; None: no way to reach them."""
    connected = getattr(lead, "connected", False) and lead.provider_id
    if connected and (account := _account(lead.campaign, lead.owner, Kind.MESSAGE)):
        return Kind.MESSAGE, account
    mailable = lead.email and lead.email_bounced_at is None
    if mailable and (account := _account(lead.campaign, lead.owner, Kind.EMAIL)):
        return Kind.EMAIL, account
    return None


# The weekly run -----------------------------------------------------------------------------------


def nurtures_suggest_due(*, now: dt.datetime) -> list[int]:
    """The hourly tick: this week's suggestions once the configured weekday and hour have come."""
    return nurtures_suggest_week(now=now) if nurtures_due(now) else []


def nurtures_suggest_week(*, now: dt.datetime) -> list[int]:
    """Suggest this week's touches not suggested yet; returns the new messages' ids (drafted in the background).

    Running it again the same week finds everyone done (one Nurture per person and week).
    """
    week = week_of(now)
    leads = list(nurture_candidates(now=now, week=week)[:RUN_LIMIT])
    if not leads:
        return []
    items = list(ContentItem.objects.filter(is_active=True).order_by("pk"))
    history: dict[int, list[Nurture]] = {}
    earlier = Nurture.objects.filter(lead__in=[lead.pk for lead in leads]).only("lead_id", "item_id", "reason", "news")
    for row in earlier:
        history.setdefault(row.lead_id, []).append(row)
    created = []
    for lead in leads:
        if message := _suggest_one(lead=lead, now=now, week=week, items=items, history=history.get(lead.pk, [])):
            created.append(message.pk)
    if created:
        from outreach.tasks import messages_fill_task  # messages_fill hands nurture messages to nurtures_fill

        size = batch_size(calls_per_item=1)
        for start in range(0, len(created), size):
            messages_fill_task.delay_on_commit(created[start : start + size])
    return created


def _suggest_one(
    *, lead: Lead, now: dt.datetime, week: dt.date, items: list[ContentItem], history: list[Nurture]
) -> OutreachMessage | None:
    if is_suppressed(lead):
        return None
    if contact_budget_wait(lead_id=lead.pk, now=now) is not None:
        return None  # the person's contact budget says not now: next week's run asks again
    touch = touch_for(lead, now=now, items=items, history=history)
    if touch is None:
        return None
    way = channel_for(lead)
    if way is None:
        return None
    kind, account = way
    try:
        return _claim(lead=lead, touch=touch, kind=kind, account=account, week=week)
    except IntegrityError:
        return None  # another worker suggested to this person this week, or this item, first


@transaction.atomic
def _claim(*, lead: Lead, touch: Touch, kind: str, account: SendingAccount, week: dt.date) -> OutreachMessage:
    """The message row in `generating` and its Nurture, together or not at all."""
    message = OutreachMessage.objects.create(
        lead=lead,
        campaign=lead.campaign,
        account=account,
        step=NURTURE_STEP,
        kind=kind,
        status=Status.GENERATING,
    )
    nurture = Nurture.objects.create(
        lead=lead, message=message, reason=touch.reason, item=touch.item, news=touch.news or {}, week=week
    )
    activity_record(
        verb="nurture.suggested",
        lead=lead,
        message=message,
        reason=nurture.get_reason_display(),
        item=touch.item.title if touch.item else "",
    )
    return message


# Writing the text ---------------------------------------------------------------------------------


def nurture_of(message: OutreachMessage) -> Nurture | None:
    """The message's Nurture (select_related("nurture") first, or this is a query), None for any other message."""
    return one_to_one(message, "nurture")


def _lead_data(lead: Lead) -> dict:
    company = lead.company
    return {
        "first_name": lead.first_name,
        "last_name": lead.last_name,
        "position": lead.position,
        "company": company.name if company else "",
        "industry": company.industry if company else "",
    }


def _item_data(item: ContentItem | None) -> dict | None:
    if item is None:
        return None
    return {
        "kind": item.get_kind_display(),
        "title": item.title,
        "url": item.url,
        "summary": item.summary,
        "facts": library_facts(item),
    }


def _request(message: OutreachMessage, nurture: Nurture, voice: Voice) -> Request[Draft]:
    rules = kind_rules(message.kind)
    signature = voice.signature or display_name(message.lead.owner)
    item = nurture.item
    facts = {fact_key(fact) for fact in library_facts(item)}

    def check(answer: Draft) -> None:
        if len(answer.body) > rules.limit:
            raise ValueError(f"the body has {len(answer.body)} characters; at most {rules.limit} are allowed")
        if rules.needs_subject and not answer.subject.strip():
            raise ValueError("a subject is required")
        if unknown := [fact for fact in answer.facts_used if fact_key(fact) not in facts]:
            raise ValueError(f"facts_used must be facts of the library item, word for word: {unknown}")

    text = INSTRUCTIONS.render(
        Context(
            {
                "kind_label": rules.prompt_label,
                "limit": rules.limit,
                "needs_subject": rules.needs_subject,
                "purpose": PURPOSES[nurture.reason],
                "tone": message.campaign.tone,
                "brand_voice": voice.brand_voice,
                "signature": signature,
                "banned": "; ".join(voice.banned),
                "instruction": message.instruction,
                "instruction_json": as_data(message.instruction),
                "item_json": as_data(_item_data(item)) if item else "",
                "news_json": as_data(nurture.news) if nurture.news else "",
                "lead_json": as_data(_lead_data(message.lead)),
            }
        )
    )
    return Request(
        purpose="nurture",
        schema=Draft,
        messages=[{"role": "system", "content": SYSTEM}, {"role": "user", "content": text}],
        prompt_version=PROMPT_VERSION,
        fallback=lambda: template_touch(message=message, nurture=nurture, signature=signature),
        check=check,
        max_tokens=700,
        lead_id=message.lead_id,
        campaign_id=message.campaign_id,
        use_cache=message.revision == 1,  # a regenerate wants a new text
    )


def template_touch(*, message: OutreachMessage, nurture: Nurture, signature: str) -> Draft:
    """The offline writer: the item's own title, summary and URL, or a plain congratulation or check-in."""
    lead, item = message.lead, nurture.item
    greeting = f"Hi {lead.first_name},"
    if nurture.reason == Reason.SHARE and item is not None:
        subject = item.title[:120]
        summary = " ".join(item.summary.split())
        lines = [f"I thought of you when I read our {item.get_kind_display().lower()} “{item.title}”.", summary]
        middle = "\n\n".join([*lines, item.url, "No need to reply; I hope it is useful."])
        facts = []
    elif nurture.reason == Reason.CONGRATULATE:
        subject = "Congratulations on the new role"
        middle = "I saw the news of your new role: congratulations, and all the best with it."
        facts = []
    else:
        subject = "Checking in"
        middle = (
            "It has been a few weeks since we met, so I wanted to check in: how are things going on your side? "
            "If anything has come up where I can help, I am glad to talk."
        )
        facts = []
    body = f"{greeting}\n\n{middle}\n\nBest,\n{signature}"
    return Draft(
        greeting_name=lead.first_name,
        subject=subject if kind_rules(message.kind).needs_subject else "",
        body=body[: kind_rules(message.kind).limit],
        facts_used=facts,
    )


def library_findings(*, message: OutreachMessage, nurture: Nurture, subject: str, body: str, facts_used) -> list[dict]:
    """A claim about us must be the item's: every fact the writer says it used, every number it quotes.

    Numbers may also come from the person's news and profile (their new title, their company).
    Links are left out of the number check: an item's URL may carry digits.
    """
    item = nurture.item
    facts = library_facts(item)
    known = {fact_key(fact) for fact in facts}
    findings = []
    for claim in facts_used or []:
        if fact_key(claim) not in known:
            findings.append(finding("unsupported_claim", f"Not a fact of the library item: {claim}", blocking=True))
    lead = message.lead
    sources = [*facts, item.summary if item else "", item.title if item else ""]
    sources += [nurture.news.get("text", ""), lead.position, lead.headline, lead.company.name if lead.company else ""]
    text = LINK.sub(" ", f"{subject}\n{body}")
    for number in ungrounded_numbers(text, numbers_of(sources)):
        findings.append(
            finding("unsupported_claim", f"{number} is not in the library item nor the profile.", blocking=True)
        )
    return findings


def nurtures_fill(*, message_ids: list[int]) -> list[OutreachMessage]:
    """Write the text of nurture messages in `generating`, check it, and queue it for approval."""
    messages = list(
        OutreachMessage.objects.select_related(
            "lead__company", "lead__owner", "campaign__owner", "campaign__target", "account", "nurture__item"
        )
        .filter(pk__in=message_ids, status=Status.GENERATING, nurture__isnull=False)
        .order_by("pk")
    )
    if not messages:
        return []
    team, signatures = team_voice(), signatures_of({m.lead.owner_id for m in messages})
    voices = [voice_for(campaign=m.campaign, rep=m.lead.owner, team=team, signatures=signatures) for m in messages]
    answers = run_many([_request(m, m.nurture, v) for m, v in zip(messages, voices, strict=True)])
    requests = campaign_request_texts(campaign_ids={m.campaign_id for m in messages})  # once for the batch
    from outreach.services import drafts_record

    drafted = []
    for message, voice, result in zip(messages, voices, answers, strict=True):
        findings = nurture_findings(message=message, voice=voice, result=result, requests=requests[message.campaign_id])
        drafted.append((message, result, findings))
    return drafts_record(drafted)


def nurture_findings(
    *, message: OutreachMessage, voice: Voice, result: Result[Draft], requests: list[str] | None = None
) -> list[dict]:
    """The guardrails every draft passes, and the library check; a model failure is said beside the draft."""
    draft, nurture = result.value, message.nurture
    findings = check_message(
        message=message,
        subject=draft.subject,
        body=draft.body,
        for_model=not result.from_template,
        voice=voice,
        requests=requests,
        links=[nurture.item.url] if nurture is not None and nurture.item is not None else [],
    )
    findings += library_findings(
        message=message, nurture=nurture, subject=draft.subject, body=draft.body, facts_used=draft.facts_used
    )
    if result.from_template and message.instruction:
        message_text = f"The offline template cannot follow the instruction {message.instruction!r}."
        findings.append({"code": "instruction_ignored", "blocking": False, "message": message_text})
    if result.call.error:
        findings.append({"code": "llm_fallback", "message": result.call.error, "blocking": False})
    return findings
