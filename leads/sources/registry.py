from leads.sources.base import LeadSource, SourceError


def source_for(name: str, *, campaign=None) -> LeadSource:
    """The adapter called `name`, set up for `campaign` (a source may search through its accounts)."""
    if name == "sandbox":
        from leads.sources.sandbox import SandboxSource

        return SandboxSource()
    raise SourceError(f"Unknown lead source {name!r}.")
