import re

from django import forms

from outreach.mailbox import SERVER_FIELDS
from outreach.models import InboundMessage, SendingAccount
from salesdept import roles
from salesdept.people import display_name


class InboxFilterForm(forms.Form):
    """The inbox's filters, from the query string. A value that does not parse is dropped from
    `filters()` (the list is not narrowed by it) and its error stays on the form for the page."""

    intent = forms.ChoiceField(
        required=False,
        choices=[("", "Any intent"), *InboundMessage.Intent.choices],
        error_messages={"invalid_choice": "%(value)s is not an intent; showing every intent."},
    )
    look = forms.BooleanField(required=False, label="Needs a look")
    rep = forms.TypedChoiceField(
        required=False,
        coerce=int,
        empty_value=None,
        error_messages={"invalid_choice": "That is not a rep you can filter by; showing every rep."},
    )

    def __init__(self, *args, show_reps: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if show_reps:
            reps = [(str(rep.pk), display_name(rep)) for rep in roles.reps()]
            self.fields["rep"].choices = [("", "Every rep"), *reps]
        else:
            del self.fields["rep"]  # a rep's inbox holds their own leads, whatever the URL says

    def filters(self) -> dict:
        """The valid filters, as keyword arguments for inbox_for."""
        self.is_valid()
        return {
            "intent": self.cleaned_data.get("intent", ""),
            "rep_id": self.cleaned_data.get("rep"),
            "needs_look": self.cleaned_data.get("look", False),
        }


class InboundConfirmForm(forms.Form):
    """What a rep says an unsure reply means."""

    intent = forms.ChoiceField(choices=InboundMessage.Intent.choices)


# A host name or an IPv4 address: nothing a URL, a path or a second command could hide in.
LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
HOST = re.compile(rf"^(?=.{{1,200}}$){LABEL}(?:\.{LABEL})*$")


class MailboxForm(forms.ModelForm):
    """A rep's own mailbox. The password is write-only: never shown again, blank on an edit keeps it,
    unless the servers or the login changed (the stored password is not sent to another server)."""

    password = forms.CharField(
        required=False,
        strip=False,
        max_length=500,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Often an app password. Stored encrypted, never shown again.",
    )

    class Meta:
        model = SendingAccount
        fields = [
            "email_address", "login", "password", "smtp_host", "smtp_port", "smtp_security",
            "imap_host", "imap_port", "imap_ssl",
        ]  # fmt: skip
        labels = {
            "email_address": "From address",
            "login": "Login",
            "smtp_host": "SMTP host",
            "smtp_port": "SMTP port",
            "smtp_security": "SMTP security",
            "imap_host": "IMAP host",
            "imap_port": "IMAP port",
            "imap_ssl": "IMAP over SSL/TLS",
        }
        help_texts = {"login": "The user name for both servers. Blank: the From address."}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for name in ("email_address", "smtp_host", "imap_host"):
            self.fields[name].required = True
        for name in ("smtp_port", "imap_port"):
            self.fields[name].min_value, self.fields[name].max_value = 1, 65535
            self.fields[name].widget.attrs.update(min=1, max=65535)

    def _clean_host(self, name: str) -> str:
        host = self.cleaned_data[name].strip().lower()
        if not HOST.match(host):
            raise forms.ValidationError("A host name such as smtp.example.com, or an IP address.")
        return host

    def clean_smtp_host(self) -> str:
        return self._clean_host("smtp_host")

    def clean_imap_host(self) -> str:
        return self._clean_host("imap_host")

    def clean(self) -> dict:
        data = super().clean()
        moved = self.instance.pk is not None and any(name in SERVER_FIELDS for name in self.changed_data)
        if not data.get("password") and (self.instance.pk is None or moved or not self.instance.credentials):
            why = "the servers or the login changed" if moved else "it is needed to sign in"
            self.add_error("password", f"Enter the password: {why}.")
        return data

    def account(self) -> SendingAccount:
        """The account with the form's values, not saved: the checks run on it before anything is stored."""
        account = self.instance
        if password := self.cleaned_data.get("password"):
            account.credentials = password
        return account
