from allauth.account.adapter import DefaultAccountAdapter


class ClosedSignupAdapter(DefaultAccountAdapter):
    """Accounts are created by admins; nobody signs up from the street."""

    def is_open_for_signup(self, request) -> bool:
        return False
