"""The first admin's checklist on an empty install: what a team needs before it can work.

Computed from the data on every look, never stored: an item ticks itself when it is done, and the
home page stops opening on the checklist once every item is.
"""

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db.models import Q
from django.urls import reverse

from campaigns.models import Campaign
from outreach.models import SendingAccount
from salesdept.roles import ROLES
from salesdept.teamconfig import llm_config


@dataclass(frozen=True)
class Item:
    title: str
    text: str
    url: str
    link: str
    done: bool


def model_configured() -> bool:
    """A model server is set, on /settings/ or in the environment: a key, or an OpenAI-compatible server's URL."""
    config = llm_config()
    return bool(config.api_key or config.base_url)


def _team_invited() -> bool:
    """Someone besides the first admin holds a role: the team can sign in and work."""
    people = get_user_model().objects.filter(Q(groups__name__in=ROLES) | Q(is_superuser=True), is_active=True)
    return people.distinct().count() > 1


def checklist() -> list[Item]:
    return [
        Item(
            "Invite the team",
            "Add each rep and manager with their email address, and give them a role (group).",
            reverse("admin:auth_user_add"),
            "Add a person",
            _team_invited(),
        ),
        Item(
            "Connect accounts",
            "Each rep connects the mailbox (and LinkedIn) they send from, on their profile page.",
            reverse("profile"),
            "Your profile",
            SendingAccount.objects.filter(is_active=True).exists(),
        ),
        Item(
            "Set the model",
            "The model server's key or address: until then drafts come from plain templates.",
            reverse("team_settings"),
            "Settings",
            model_configured(),
        ),
        Item(
            "Create a campaign",
            "Who to look for, what to offer, and the sequence of steps.",
            reverse("campaigns:new"),
            "New campaign",
            Campaign.objects.exists(),
        ),
    ]


def checklist_done() -> bool:
    return all(item.done for item in checklist())
