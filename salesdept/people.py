"""How a person of the team is named: one rule for pages, CSV exports, sheets and signatures."""


def display_name(user) -> str:
    """The user's full name, else their email (every account has one); empty for no user."""
    if user is None:
        return ""
    return user.get_full_name() or user.email
