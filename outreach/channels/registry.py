from outreach.channels.base import Channel


def channel_for(channel: str) -> Channel:
    """The adapter for a SendingAccount.channel value."""
    match channel:
        case "sandbox":
            from outreach.channels.sandbox import SandboxChannel

            return SandboxChannel()
        case "unipile":
            from outreach.channels.unipile import UnipileChannel

            return UnipileChannel()
        case "email":
            from outreach.channels.email import EmailChannel

            return EmailChannel()
    raise ValueError(f"No channel is called {channel!r}.")
