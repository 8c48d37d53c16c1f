from django import template

register = template.Library()

# What each Activity verb means to a person reading a lead's timeline.
LABELS = {
    "lead.found": "Found by a lead search",
    "lead.qualified": "Qualified",
    "lead.disqualified": "Disqualified",
    "lead.allocated": "Allocated to a rep",
    "lead.do_not_contact": "Marked do-not-contact",
    "lead.score_overridden": "Score set by hand",
    "lead.snoozed": "Snoozed",
    "lead.woken": "Back from snooze",
    "lead.away": "Out of office: the sequence waits until they are back",
    "lead.referred": "Referred to us by another lead",
    "lead.unreachable": "No channel can reach this person",
    "lead.imported": "Imported from a CSV file",
    "lead.merged": "Seen again in another source: details merged",
    "lead.rescored": "Score updated from engagement",
    "lead.meeting": "Meeting booked",
    "lead.email_revealed": "Email address looked up",
    "message.drafted": "Draft written",
    "message.approved": "Draft approved",
    "message.rejected": "Draft rejected",
    "message.approval_undone": "Approval undone: back in the queue",
    "message.regenerating": "Draft sent back for rewriting",
    "message.cancelled": "Message cancelled",
    "message.sending": "Sending started",
    "message.sent": "Message sent",
    "message.unknown": "Send outcome unknown: check before resending",
    "message.marked_sent": "Checked by hand: it was sent",
    "message.resend_approved": "Checked by hand: not sent, approved again",
    "message.given_up": "Given up: will not be sent",
    "message.rate_limited": "Provider rate limit: send postponed",
    "message.transient": "Temporary provider error: send postponed",
    "message.account_disconnected": "Sending account disconnected",
    "message.account_restricted": "Sending account restricted by the provider",
    "message.held": "Held: this person was contacted recently",
    "message.rerouted": "Drafted for another channel: the first could not reach them",
    "message.duplicate": "Provider says already sent",
    "message.not_connected": "Recipient not reachable on this channel",
    "message.fatal": "Send failed",
    "invite.accepted": "Invitation accepted",
    "invite.withdrawn": "Invitation withdrawn: pending too long",
    "email.bounced": "Email bounced: address marked",
    "lead.unsubscribed": "Unsubscribed by email link",
    "reply.received": "Reply received",
    "reply.analysed": "Reply analysed",
    "reply.positive": "Positive reply",
    "reply.referral": "Referred us to someone else",
    "reply.referral_known": "Referred us to someone we already know",
    "reply.answer_suggested": "Answer to the reply suggested",
}


@register.filter
def verb_label(verb: str) -> str:
    return LABELS.get(verb, verb.replace(".", ": ").replace("_", " ").capitalize())
