import re
from urllib.parse import urlsplit

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError

from salesdept.teamconfig import Saved

ACTIONS = [("test", "Test"), ("save", "Save")]
MODEL_NAME = re.compile(r"^[\w.:/@+-]+$", re.ASCII)  # gpt-4o-mini, llama3.1:8b, org/model@rev
PURPOSE_LABELS = {
    "qualify": "Qualifying leads",
    "draft": "Drafting messages",
    "fact_check": "Checking a draft's facts",
    "analyse_reply": "Reading replies",
    "insights": "Daily report insights",
    "propose_campaign": "Reading campaign requests",
    "summarise_company": "Summarising company websites",
    "read_task": "Reading a rep's task",
}


def server_url(value: str, *, default_scheme: str = "") -> str:
    """An http(s) URL of a server a manager points us at, or ValidationError.

    Only http and https: the value becomes the target of our requests (no file:, no gopher:), and a
    user:password@ part would be a secret shown again on the page.
    """
    value = value.strip()
    if default_scheme and "://" not in value:
        value = f"{default_scheme}://{value}"
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 (reading it checks it: "host:99999" raises)
    except ValueError as exc:
        raise ValidationError("Enter a URL such as https://api.example.com/v1.") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError("Enter an http:// or https:// URL with a host name.")
    if parts.username or parts.password or any(c.isspace() or ord(c) < 32 for c in value):
        raise ValidationError("Enter the URL without spaces or a user name and password in it.")
    return value.rstrip("/")


class ModelServerForm(forms.Form):
    """The team's model server. Blank fields use the server's environment; the key is never shown again."""

    api_key = forms.CharField(
        label="API key",
        required=False,
        max_length=500,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Leave blank to keep the saved key.",
    )
    forget_api_key = forms.BooleanField(label="Forget the saved key (use the server's environment)", required=False)
    base_url = forms.CharField(label="Base URL", required=False, max_length=500)
    model = forms.CharField(label="Default model", required=False, max_length=200)
    daily_budget_usd = forms.DecimalField(
        label="Daily budget (USD)", required=False, min_value=0, max_value=1_000_000, max_digits=9, decimal_places=2
    )
    action = forms.ChoiceField(choices=ACTIONS, error_messages={"required": "Choose Test or Save."})

    def __init__(self, *args, saved: Saved, **kwargs) -> None:
        kwargs.setdefault("auto_id", "model-%s")  # ids unique on a page of several sections
        super().__init__(*args, **kwargs)
        self.saved = saved
        # Blank uses the environment: say what that is (none of these is a secret).
        self.fields["base_url"].help_text = f"Blank: {settings.LLM_BASE_URL or 'OpenAI (https://api.openai.com/v1)'}."
        self.fields["model"].help_text = f"Blank: {settings.LLM_MODEL}."
        self.fields["daily_budget_usd"].help_text = f"Blank: {settings.LLM_DAILY_BUDGET_USD:g}."
        for purpose in settings.LLM_PURPOSES:
            self.fields[f"model_{purpose}"] = forms.CharField(
                label=PURPOSE_LABELS.get(purpose, purpose), required=False, max_length=200
            )
        if not self.is_bound:
            self.initial = {
                "base_url": saved.llm_base_url,
                "model": saved.llm_model,
                "daily_budget_usd": saved.llm_daily_budget_usd,
                **{f"model_{p}": m for p, m in saved.llm_models.items()},
            }

    @property
    def purpose_fields(self) -> list[forms.BoundField]:
        return [self[f"model_{purpose}"] for purpose in settings.LLM_PURPOSES]

    def clean_base_url(self) -> str:
        value = self.cleaned_data["base_url"]
        return server_url(value) if value.strip() else ""

    def _clean_model(self, name: str) -> str:
        value = self.cleaned_data[name].strip()
        if value and not MODEL_NAME.match(value):
            raise ValidationError("A model name has letters, digits and . : / @ + - _ only.")
        return value

    def clean(self) -> dict:
        data = super().clean()
        for name in ["model", *(f"model_{p}" for p in settings.LLM_PURPOSES)]:
            if name in data:
                try:
                    data[name] = self._clean_model(name)
                except ValidationError as error:
                    self.add_error(name, error)
        return data

    def values(self) -> dict:
        """The TeamConfig fields this form sets; the key only when one was entered or forgotten."""
        data = self.cleaned_data
        values = {
            "llm_base_url": data["base_url"],
            "llm_model": data["model"],
            "llm_models": {p: data[f"model_{p}"] for p in settings.LLM_PURPOSES if data[f"model_{p}"]},
            "llm_daily_budget_usd": data["daily_budget_usd"],
        }
        if data["api_key"] or data["forget_api_key"]:
            values["llm_api_key"] = "" if data["forget_api_key"] else data["api_key"]
        return values


class UnipileForm(forms.Form):
    """The team's Unipile tenant. Blank fields use the server's environment; the key is never shown again."""

    dsn = forms.CharField(
        label="DSN", required=False, max_length=500, help_text="As Unipile's dashboard shows it: apiN.unipile.com:PORT"
    )
    unipile_key = forms.CharField(
        label="API key",
        required=False,
        max_length=500,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Leave blank to keep the saved key.",
    )
    forget_unipile_key = forms.BooleanField(label="Forget the saved key (use the server's environment)", required=False)
    action = forms.ChoiceField(choices=ACTIONS, error_messages={"required": "Choose Test or Save."})

    def __init__(self, *args, saved: Saved, **kwargs) -> None:
        kwargs.setdefault("auto_id", "unipile-%s")
        super().__init__(*args, **kwargs)
        self.saved = saved
        self.fields["dsn"].help_text = f"{self.fields['dsn'].help_text}. Blank: {settings.UNIPILE_DSN or 'none set'}."
        if not self.is_bound:
            self.initial = {"dsn": saved.unipile_dsn}

    def clean_dsn(self) -> str:
        value = self.cleaned_data["dsn"]
        return server_url(value, default_scheme="https") if value.strip() else ""

    def values(self) -> dict:
        data = self.cleaned_data
        values = {"unipile_dsn": data["dsn"]}
        if data["unipile_key"] or data["forget_unipile_key"]:
            values["unipile_api_key"] = "" if data["forget_unipile_key"] else data["unipile_key"]
        return values


class ApiTokenForm(forms.Form):
    """A new personal API token: a name to recognise it by, its scope and, if wanted, its last day."""

    name = forms.CharField(
        max_length=100, help_text="What uses it, e.g. “n8n” or “warehouse sync”.",
        error_messages={"required": "Name the token after what will use it."},
    )  # fmt: skip
    read_only = forms.BooleanField(required=False, label="Read-only (it can list and read, never change)")
    expires_on = forms.DateField(
        required=False, label="Last day it works (optional)", widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Blank: until you revoke it.",
    )  # fmt: skip

    def clean_expires_on(self):
        from salesdept import clock

        day = self.cleaned_data["expires_on"]
        if day is not None and day < clock.today():
            raise ValidationError("Choose today or a later day: a token that has already expired is of no use.")
        return day
