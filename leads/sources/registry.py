from leads.sources.base import LeadSource, SourceError


def source_for(name: str) -> LeadSource:
    if name == "sandbox":
        from leads.sources.sandbox import SandboxSource

        return SandboxSource()
    raise SourceError(f"Unknown lead source {name!r}.")
