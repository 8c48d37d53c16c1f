"""Errors every layer may raise or catch.

DecisionError is the refusal of a person's decision on a message: approvals.services raises it,
and so do the lower layers that take decisions of their own (outreach.reconcile); views from any
app catch it and show its text. It lives here, at the bottom, so no lower app imports a higher one for it.
"""


class DecisionError(Exception):
    """A decision that cannot be taken; the text is shown to the person who tried."""
