from outreach.channels.base import Channel


def channel_for(channel: str) -> Channel:
    if channel == "sandbox":
        from outreach.channels.sandbox import SandboxChannel

        return SandboxChannel()
    raise NotImplementedError(f"The {channel!r} channel is not built yet; use the sandbox channel.")
