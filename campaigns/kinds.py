"""Every message kind's rules in one table, beside SequenceStep.Kind: what a prompt calls it, its
length limit, whether it has a subject, the daily counter its sends take, where it goes when its
recipient cannot be reached its way, and which accounts can send it (providers.md §1.9, §2.2).

Counter kinds and channels are the values of outreach's SendCounter.Kind and
SendingAccount.Channel, written out: outreach's models import this app's.
"""

from dataclasses import dataclass

from campaigns.models import SequenceStep

Kind = SequenceStep.Kind
LINKEDIN = ("unipile", "sandbox")  # the sandbox simulates every kind


@dataclass(frozen=True)
class MessageKind:
    prompt_label: str
    limit: int  # characters in the body
    needs_subject: bool
    counter: str
    reroutes: tuple[str, ...]
    channels: tuple[str, ...]


KINDS: dict[str, MessageKind] = {
    Kind.CONNECTION_NOTE: MessageKind(
        "LinkedIn connection request note", 300, False, "invite", reroutes=(Kind.EMAIL,), channels=LINKEDIN
    ),
    Kind.MESSAGE: MessageKind(
        "LinkedIn message", 8000, False, "message", reroutes=(Kind.CONNECTION_NOTE, Kind.EMAIL), channels=LINKEDIN
    ),
    Kind.INMAIL: MessageKind(
        "LinkedIn InMail", 1900, True, "inmail", reroutes=(Kind.CONNECTION_NOTE, Kind.EMAIL), channels=LINKEDIN
    ),
    Kind.EMAIL: MessageKind(
        "email", 10000, True, "email", reroutes=(Kind.CONNECTION_NOTE,), channels=("email", "sandbox")
    ),
}


def kind_rules(kind: str) -> MessageKind:
    """The rules of a kind; an unknown kind is a LinkedIn message (the most permissive limits but email's)."""
    return KINDS.get(kind, KINDS[Kind.MESSAGE])
