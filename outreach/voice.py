"""How a draft sounds and signs off: the team's settings, a campaign's and a rep's own, merged.

The team's (the admin's "draft" prompt override) is the default. A campaign's brand voice
replaces the team's; its banned phrases are added to the team's. A rep's signature comes first,
then the team's, then the rep's name. Reads only: the settings are written on their own pages.
"""

from collections.abc import Iterable

from campaigns.models import Campaign
from salesdept.llm import Voice
from salesdept.llm.prompts import override_for
from salesdept.models import PromptOverride, RepSignature
from salesdept.people import display_name


def team_voice() -> PromptOverride | None:
    """The team's settings: read once per batch and passed to the functions below."""
    return override_for("draft")


def banned_phrases_for(campaign: Campaign | None, *, team: PromptOverride | None) -> tuple[str, ...]:
    """The team's banned phrases and the campaign's (a post has no campaign), without repeats.

    The one reader of banned phrases: a message's voice carries them to its prompt and its guardrails.
    """
    shared = list(team.banned_phrases) if team else []
    own = list(campaign.banned_phrases) if campaign else []
    return tuple(dict.fromkeys(phrase for phrase in [*shared, *own] if phrase.strip()))


def signatures_of(user_ids: Iterable[int]) -> dict[int, str]:
    """Each rep's own signature (one query for a batch); reps without one are left out."""
    return dict(RepSignature.objects.filter(user_id__in=user_ids).exclude(text="").values_list("user_id", "text"))


def signature_for(rep, *, team: PromptOverride | None, signatures: dict[int, str]) -> str:
    """How `rep`'s messages sign off: their own signature, else the team's, else their name."""
    own = signatures.get(rep.pk, "") if rep is not None else ""
    return own or (team.signature if team else "") or display_name(rep)


def voice_for(*, campaign: Campaign, rep, team: PromptOverride | None, signatures: dict[int, str]) -> Voice:
    """The voice of `campaign`'s messages written for `rep`."""
    return Voice(
        brand_voice=campaign.brand_voice.strip() or (team.brand_voice.strip() if team else ""),
        banned=banned_phrases_for(campaign, team=team),
        signature=signature_for(rep, team=team, signatures=signatures),
    )


def voice_of(*, campaign: Campaign, rep) -> Voice:
    """voice_for, reading the team's settings and the rep's signature itself (one message)."""
    signatures = signatures_of([rep.pk]) if rep is not None else {}
    return voice_for(campaign=campaign, rep=rep, team=team_voice(), signatures=signatures)
