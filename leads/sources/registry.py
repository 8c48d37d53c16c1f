from leads.sources.base import LeadSource, SourceError

# The sources a campaign can search, with the label a manager picks them by. CSV is not one:
# it is an upload (leads.ImportJob), not a search.
SEARCH_SOURCES: dict[str, str] = {
    "sandbox": "Sandbox (synthetic prospects, for trying things out)",
    "unipile": "LinkedIn people search (Unipile)",
    "apollo": "Apollo people search",
}


def source_for(name: str, *, campaign=None) -> LeadSource:
    """The adapter called `name`, set up for `campaign` (a source may search through its accounts)."""
    if name == "sandbox":
        from leads.sources.sandbox import SandboxSource

        return SandboxSource()
    if name == "unipile":
        from leads.sources.unipile import UnipileSource

        return UnipileSource(campaign=campaign)
    if name == "apollo":
        from leads.sources.apollo import ApolloSource

        return ApolloSource(campaign=campaign)
    raise SourceError(f"Unknown lead source {name!r}.")
