"""Every timeline verb: what it reads as on a lead's timeline and which count it feeds.

An Activity's verb is stored as its plain value ("lead.found"), so the registry changes nothing
stored. `activity_record` refuses a verb that is not here: a mistyped verb fails in tests
rather than quietly dropping out of the timeline's words and the dashboard's counts.
"""

from django.db import models


class Verb(models.TextChoices):
    # Leads: found, qualified, worked, closed.
    LEAD_FOUND = "lead.found", "Found by a lead search"
    LEAD_IMPORTED = "lead.imported", "Imported from a CSV file"
    LEAD_REFERRED = "lead.referred", "Referred to us by another lead"
    LEAD_MERGED = "lead.merged", "Seen again in another source: details merged"
    LEAD_QUALIFIED = "lead.qualified", "Qualified"
    LEAD_DISQUALIFIED = "lead.disqualified", "Disqualified"
    LEAD_ALLOCATED = "lead.allocated", "Allocated to a rep"
    LEAD_ENROLLED = "lead.enrolled", "Added to another campaign"
    LEAD_CONTACTED = "lead.contacted", "First message sent: contacted"
    LEAD_REPLIED = "lead.replied", "Replied"
    LEAD_INTERESTED = "lead.interested", "Interested"
    LEAD_MEETING = "lead.meeting", "Meeting booked"
    LEAD_WON = "lead.won", "Won"
    LEAD_LOST = "lead.lost", "Lost"
    LEAD_DO_NOT_CONTACT = "lead.do_not_contact", "Marked do-not-contact"
    LEAD_SNOOZED = "lead.snoozed", "Snoozed"
    LEAD_WOKEN = "lead.woken", "Back from snooze"
    LEAD_AWAY = "lead.away", "Out of office: the sequence waits until they are back"
    LEAD_UNSUBSCRIBED = "lead.unsubscribed", "Unsubscribed by email link"
    LEAD_UNREACHABLE = "lead.unreachable", "No channel can reach this person"
    LEAD_SCORE_OVERRIDDEN = "lead.score_overridden", "Score set by hand"
    LEAD_RELABELLED = "lead.relabelled", "Label changed by hand"
    LEAD_REQUALIFIED = "lead.requalified", "Qualification run again"
    LEAD_RESCORED = "lead.rescored", "Score updated from engagement"
    LEAD_ACTIVITY_READ = "lead.activity_read", "LinkedIn activity read (posts, comments, reactions)"
    LEAD_EMAIL_REVEALED = "lead.email_revealed", "Email address looked up"
    LEAD_ENGAGED_COMPETITOR = "lead.engaged_competitor", "Engaged with a competitor's post"
    # Messages: drafted, decided, sent, and what the channel answered.
    MESSAGE_DRAFTED = "message.drafted", "Draft written"
    MESSAGE_APPROVED = "message.approved", "Draft approved"
    MESSAGE_REJECTED = "message.rejected", "Draft rejected"
    MESSAGE_WRITTEN = "message.written", "Message written by the rep"
    MESSAGE_APPROVAL_UNDONE = "message.approval_undone", "Approval undone: back in the queue"
    MESSAGE_REGENERATING = "message.regenerating", "Draft sent back for rewriting"
    MESSAGE_DRAFT_LOST = "message.draft_lost", "Drafting stopped (its worker died): back with the rep"
    MESSAGE_CANCELLED = "message.cancelled", "Message cancelled"
    MESSAGE_HELD = "message.held", "Held: this person was contacted recently"
    MESSAGE_SENDING = "message.sending", "Sending started"
    MESSAGE_SENT = "message.sent", "Message sent"
    MESSAGE_UNKNOWN = "message.unknown", "Send outcome unknown: check before resending"
    MESSAGE_MARKED_SENT = "message.marked_sent", "Checked by hand: it was sent"
    MESSAGE_RESEND_APPROVED = "message.resend_approved", "Checked by hand: not sent, approved again"
    MESSAGE_GIVEN_UP = "message.given_up", "Given up: will not be sent"
    MESSAGE_REROUTED = "message.rerouted", "Drafted for another channel: the first could not reach them"
    # One per outreach.channels.base.ChannelError: the verb is f"message.{error.value}".
    MESSAGE_RATE_LIMITED = "message.rate_limited", "Provider rate limit: send postponed"
    MESSAGE_DUPLICATE = "message.duplicate", "Provider says already sent"
    MESSAGE_NOT_CONNECTED = "message.not_connected", "Recipient not reachable on this channel"
    MESSAGE_ACCOUNT_DISCONNECTED = "message.account_disconnected", "Sending account disconnected"
    MESSAGE_ACCOUNT_RESTRICTED = "message.account_restricted", "Sending account restricted by the provider"
    MESSAGE_TRANSIENT = "message.transient", "Temporary provider error: send postponed"
    MESSAGE_PROFILE_VIEWS_USED = (
        "message.profile_views_used",
        "Profile views used up today: the person's LinkedIn id is read tomorrow",
    )
    MESSAGE_FATAL = "message.fatal", "Send failed"
    INVITE_ACCEPTED = "invite.accepted", "Invitation accepted"
    INVITE_WITHDRAWN = "invite.withdrawn", "Invitation withdrawn: pending too long"
    EMAIL_BOUNCED = "email.bounced", "Email bounced: address marked"
    # Replies.
    REPLY_RECEIVED = "reply.received", "Reply received"
    REPLY_ANALYSED = "reply.analysed", "Reply analysed"
    REPLY_POSITIVE = "reply.positive", "Positive reply"
    REPLY_REFERRAL = "reply.referral", "Referred us to someone else"
    REPLY_REFERRAL_KNOWN = "reply.referral_known", "Referred us to someone we already know"
    REPLY_ANSWER_SUGGESTED = "reply.answer_suggested", "Answer to the reply suggested"
    REPLY_OPT_OUT = "reply.opt_out", "Asked in a reply not to be contacted"
    REPLY_NEEDS_LOOK = "reply.needs_look", "Reply's reading was unsure: waits for a person"
    REPLY_CONFIRMED = "reply.confirmed", "Reply's intent confirmed by a person"
    # A rep's tasks on a lead: added, drafted when due, closed.
    TASK_ADDED = "task.added", "Task added"
    TASK_DRAFTED = "task.drafted", "Task due: draft written for approval"
    TASK_NOT_DRAFTED = "task.not_drafted", "Task due: no draft could be written"
    TASK_DONE = "task.done", "Task done"
    TASK_CANCELLED = "task.cancelled", "Task cancelled"
    # Nurturing: a weekly touch for a connected, met or won contact, and the rep's switch for it.
    NURTURE_SUGGESTED = "nurture.suggested", "Nurturing touch suggested for approval"
    NURTURE_OFF = "nurture.off", "Nurturing turned off"
    NURTURE_ON = "nurture.on", "Nurturing turned back on"
    # Needs and proposals (proposals): what the prospect needs, in their own words, and what we offer them.
    NEEDS_DRAFTED = "needs.drafted", "Needs summary drafted from the conversation"
    NEEDS_EDITED = "needs.edited", "Needs summary edited by the rep"
    PROPOSAL_CREATED = "proposal.created", "Proposal created"
    PROPOSAL_EDITED = "proposal.edited", "Proposal edited"
    PROPOSAL_QUEUED = "proposal.queued", "Proposal put in the approval queue"
    PROPOSAL_SENT = "proposal.sent", "Proposal sent"
    # Campaigns: one verb per status a campaign is moved to (f"campaign.{status}"), and its events.
    CAMPAIGN_CREATED = "campaign.created", "Campaign created"
    CAMPAIGN_UPDATED = "campaign.updated", "Campaign changed"
    CAMPAIGN_ACTIVE = "campaign.active", "Campaign started"
    CAMPAIGN_PAUSED = "campaign.paused", "Campaign paused"
    CAMPAIGN_FINISHED = "campaign.finished", "Campaign finished"
    CAMPAIGN_SEARCH_STARTED = "campaign.search_started", "Lead search started"
    CAMPAIGN_SEARCH_FAILED = "campaign.search_failed", "Lead search failed"
    CAMPAIGN_REQUESTED = "campaign.requested", "Campaign requested"
    CAMPAIGN_REQUEST_APPROVED = "campaign.request_approved", "Campaign request approved"
    CAMPAIGN_REQUEST_REJECTED = "campaign.request_rejected", "Campaign request rejected"
    CAMPAIGN_SHEET_CONFIGURED = "campaign.sheet_configured", "Google Sheet set up"
    CAMPAIGN_SHEET_SYNC_REQUESTED = "campaign.sheet_sync_requested", "Google Sheet sync asked for"
    CAMPAIGN_SHEET_SYNC_FAILED = "campaign.sheet_sync_failed", "Google Sheet sync failed"
    # Posts on LinkedIn (presence): suggested, decided, published; and people who engaged with one.
    POST_SUGGESTED = "post.suggested", "Post suggested"
    POST_EDITED = "post.edited", "Post edited"
    POST_APPROVED = "post.approved", "Post approved"
    POST_REJECTED = "post.rejected", "Post rejected"
    POST_SENDING = "post.sending", "Publishing started"
    POST_PUBLISHED = "post.published", "Post published"
    POST_UNKNOWN = "post.unknown", "Publish outcome unknown: check before publishing again"
    POST_FAILED = "post.failed", "Post could not be published"
    POST_POSTPONED = "post.postponed", "Post postponed: daily cap, provider limit or a passing error"
    LEAD_ENGAGED = "lead.engaged", "Engaged with our post"
    CAMPAIGN_ANGLE_ADDED = "campaign.angle_added", "Counter-move angle added to the brief"
    # Deals: opened from a conversation, moved through the team's stages, closed won or lost.
    DEAL_OPENED = "deal.opened", "Deal opened"
    DEAL_STAGE_CHANGED = "deal.stage_changed", "Deal moved to another stage"
    DEAL_UPDATED = "deal.updated", "Deal details changed"
    # Sending accounts, reports, privacy.
    ACCOUNT_PAUSED = "account.paused", "Sending account paused"
    ACCOUNT_RESUMED = "account.resumed", "Sending account resumed"
    ACCOUNT_CONNECTED = "account.connected", "LinkedIn account connected"
    ACCOUNT_RECONNECTED = "account.reconnected", "LinkedIn account reconnected"
    ACCOUNT_MAILBOX_CONNECTED = "account.mailbox_connected", "Mailbox connected: sending and reading checked"
    REPORT_RESENT = "report.resent", "Daily report sent again"
    PRIVACY_EXPORTED = "privacy.exported", "Personal data exported"
    PRIVACY_ERASED = "privacy.erased", "Personal data erased"
    PRIVACY_CRM_ERASED = "privacy.crm_erased", "Erasure sent to the connected CRMs"


# The funnel stage (reporting.models.STAGES) each milestone verb counts toward, once per lead,
# and the send errors counted as events ("send_error"). Verbs not here are not counted.
SEND_ERROR = "send_error"
STAGE = {
    Verb.LEAD_FOUND: "found",
    Verb.LEAD_IMPORTED: "found",
    Verb.LEAD_REFERRED: "found",
    Verb.LEAD_QUALIFIED: "qualified",
    Verb.MESSAGE_DRAFTED: "drafted",
    Verb.MESSAGE_WRITTEN: "drafted",  # a rep's own text is a draft by hand: the funnel never skips a stage
    Verb.MESSAGE_APPROVED: "approved",
    Verb.MESSAGE_SENT: "sent",
    Verb.MESSAGE_MARKED_SENT: "sent",
    Verb.INVITE_ACCEPTED: "accepted",
    Verb.REPLY_RECEIVED: "replied",
    Verb.REPLY_POSITIVE: "positive",
    Verb.LEAD_MEETING: "meeting",
    Verb.LEAD_WON: "won",  # a deal closed won (deals.services.deal_move closes the lead with it)
    # A send the provider refused or could not confirm: the error rate's numerator. A duplicate
    # is not one (the message did go out).
    Verb.MESSAGE_FATAL: SEND_ERROR,
    Verb.MESSAGE_TRANSIENT: SEND_ERROR,
    Verb.MESSAGE_RATE_LIMITED: SEND_ERROR,
    Verb.MESSAGE_ACCOUNT_DISCONNECTED: SEND_ERROR,
    Verb.MESSAGE_ACCOUNT_RESTRICTED: SEND_ERROR,
    Verb.MESSAGE_NOT_CONNECTED: SEND_ERROR,
    Verb.MESSAGE_UNKNOWN: SEND_ERROR,
}
# Plain strings: Activity.verb is compared and grouped by its stored value.
FUNNEL_STAGE_OF: dict[str, str] = {verb.value: stage for verb, stage in STAGE.items() if stage != SEND_ERROR}
# Verbs that take back the stage an earlier event of the same message reached: an approval undone
# before any send was never an approval. The lead leaves that stage, unless another of its messages
# still stands there.
TAKES_BACK: dict[str, str] = {Verb.MESSAGE_APPROVAL_UNDONE.value: "approved"}
SEND_ERRORS: frozenset[str] = frozenset(verb.value for verb, stage in STAGE.items() if stage == SEND_ERROR)


def verb_checked(verb: str) -> Verb:
    """The registered verb, or a ValueError naming the unknown one."""
    try:
        return Verb(verb)
    except ValueError:
        raise ValueError(f"{verb!r} is not a timeline verb: add it to leads.verbs.Verb") from None


def verb_label(verb: str) -> str:
    """What a verb reads as; an old or unknown stored verb still reads as words."""
    try:
        return Verb(verb).label
    except ValueError:
        return verb.replace(".", ": ").replace("_", " ").capitalize()
