"""What a campaign tells the model and the templates: its prospect-facing brief.

Only fields written for prospects go in (campaigns.models.PROSPECT_FACING_FIELDS): the
campaign's name, targeting, request and internal notes stay out, so no prompt or template can
repeat them. Drafting, reply answers, qualification and nurturing all read it from here.
"""

from campaigns.models import Campaign
from salesdept import llm
from salesdept.people import display_name


def campaign_brief(*, campaign: Campaign, sender_name: str = "", label: str = "") -> llm.Brief:
    """The campaign's prospect-facing brief; with `label`, steered by that label's angle.

    Only fields written for prospects go in: the campaign's name, targeting, request and
    internal notes stay out, so no prompt or template can repeat them.
    """
    angle = next((item.get("angle", "") for item in campaign.labels if item.get("name") == label), "") if label else ""
    return llm.Brief(
        labels=campaign.labels,
        offer=campaign.offer,
        event=campaign.event,
        value_points=list(campaign.value_points),
        proof=campaign.proof,
        call_to_action=campaign.call_to_action,
        faq=list(campaign.faq),
        tone=campaign.tone,
        links=campaign.brief_links,
        sender_name=sender_name or display_name(campaign.owner),
        label=label,
        angle=angle,
    )
