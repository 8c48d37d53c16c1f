import datetime as dt

from django import forms
from django.conf import settings

from campaigns.models import Campaign
from leads.csvrows import LEAD_FIELDS, mapping_problems
from leads.imports import too_large_message
from leads.models import Lead
from leads.selectors import NO_OWNER, import_campaigns, lead_filter_campaigns
from salesdept.dates import MAX_AHEAD
from salesdept.formfields import DayMonthYearField
from salesdept.people import display_name
from salesdept.roles import is_manager, reps

SORTS = [("newest", "Newest first"), ("score", "Highest score first")]


def _score_field(label: str) -> forms.IntegerField:
    message = f"{label} must be a whole number from 0 to 100."
    return forms.IntegerField(
        required=False,
        min_value=0,
        max_value=100,
        label=label,
        error_messages={"invalid": message, "min_value": message, "max_value": message},
        widget=forms.NumberInput(attrs={"min": 0, "max": 100, "class": "score-by-hand"}),
    )


class LeadFilterForm(forms.Form):
    """The lead list's filters, from the query string.

    A value that does not parse is left out of `filters()` (the list is not narrowed by it)
    and its error stays on the form for the page to show.
    """

    q = forms.CharField(required=False, max_length=100, label="Search")
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *Lead.Status.choices])
    campaign = forms.TypedChoiceField(
        required=False,
        coerce=int,
        empty_value=None,
        error_messages={"invalid_choice": "That campaign is not one you can filter by."},
    )
    label = forms.CharField(required=False, max_length=50, widget=forms.TextInput(attrs={"list": "lead-labels"}))
    owner = forms.ChoiceField(required=False, error_messages={"invalid_choice": "Pick a rep from the list."})
    min_score = _score_field("Minimum score")
    max_score = _score_field("Maximum score")
    needs_review = forms.BooleanField(required=False, label="Needs review")
    sort = forms.ChoiceField(required=False, choices=SORTS)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        campaigns = list(lead_filter_campaigns(user))
        self.fields["campaign"].choices = [("", "All campaigns"), *((str(c.pk), c.name) for c in campaigns)]
        self.label_suggestions = sorted({name for campaign in campaigns for name in campaign.label_names})
        if is_manager(user):
            self.fields["owner"].choices = [
                ("", "Every rep"),
                (NO_OWNER, "Not allocated"),
                *((str(rep.pk), display_name(rep)) for rep in reps()),
            ]
        else:
            del self.fields["owner"]  # a rep sees only their own leads, whatever the URL says

    def clean(self) -> dict:
        cleaned = super().clean()
        low, high = cleaned.get("min_score"), cleaned.get("max_score")
        if low is not None and high is not None and low > high:
            self.add_error("max_score", "Maximum score must be at least the minimum score.")
        return cleaned

    def filters(self) -> dict:
        """The valid filters, as keyword arguments for lead_list_for."""
        self.is_valid()
        data = self.cleaned_data
        return {
            "search": data.get("q", ""),
            "status": data.get("status", ""),
            "campaign_id": data.get("campaign"),
            "label": data.get("label", "").strip(),
            "owner": data.get("owner") or None,
            "min_score": data.get("min_score"),
            "max_score": data.get("max_score"),
            "needs_review": data.get("needs_review", False),
        }

    def chosen_sort(self) -> str:
        self.is_valid()
        return self.cleaned_data.get("sort") or "newest"


class DoNotContactForm(forms.Form):
    reason = forms.CharField(max_length=200, error_messages={"required": "Say why this person must not be contacted."})


class ScoreOverrideForm(forms.Form):
    score = forms.IntegerField(required=False, min_value=0, max_value=100, help_text="Blank returns to the rule score.")
    reason = forms.CharField(max_length=200, error_messages={"required": "Say why you set this score."})


class ImportUploadForm(forms.Form):
    """A CSV file and the campaign its people join; the file is checked here, nothing is stored yet."""

    file = forms.FileField(
        label="CSV file",
        error_messages={"required": "Choose a CSV file to import.", "empty": "The file is empty."},
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.tsv,text/csv"}),
    )
    campaign = forms.ModelChoiceField(
        queryset=Campaign.objects.none(),
        required=False,
        empty_label="No campaign (store the leads only)",
        help_text="Leads imported into an active campaign are qualified and allocated to its reps.",
        error_messages={"invalid_choice": "That campaign is not active or draft any more: choose another."},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["campaign"].queryset = import_campaigns()

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > settings.CSV_IMPORT_MAX_BYTES:  # before reading it into memory
            raise forms.ValidationError(too_large_message())
        return upload


class ImportMappingForm(forms.Form):
    """One select per lead field, listing the file's columns."""

    def __init__(self, *args, headers: list[str], examples: dict[str, str], **kwargs):
        super().__init__(*args, **kwargs)
        choices = [("", "Not in the file"), *((header, header) for header in headers)]
        for name, label in LEAD_FIELDS.items():
            self.fields[name] = forms.ChoiceField(
                label=label,
                required=False,
                choices=choices,
                error_messages={"invalid_choice": "That column is not in the file."},
            )
        self.examples = examples

    def rows(self) -> list[tuple[forms.BoundField, str]]:
        """Each field's select and an example value from the column chosen for it."""
        return [(self[name], self.examples.get(self[name].value() or "", "")) for name in LEAD_FIELDS]

    def clean(self) -> dict:
        cleaned = super().clean()
        for problem in mapping_problems(cleaned):
            self.add_error(None, problem)
        return cleaned

    def mapping(self) -> dict[str, str]:
        return {name: header for name, header in self.cleaned_data.items() if header}


class SnoozeUntilForm(forms.Form):
    """A rep's correction of the date a snoozed lead wakes on: after today, within a year."""

    until = DayMonthYearField(
        label="Correct the date",
        error_messages={"required": "Pick the date to snooze until.", "invalid": "Pick a date such as 4 Jan 2027."},
    )

    def __init__(self, *args, today: dt.date, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today

    def clean_until(self) -> dt.date:
        until = self.cleaned_data["until"]
        if until <= self.today:
            raise forms.ValidationError(f"Pick a date after today ({self.today:%d %b %Y}).")
        if until > self.today + MAX_AHEAD:
            raise forms.ValidationError("Pick a date within a year; longer is closer to lost than snoozed.")
        return until


class WriteMessageForm(forms.Form):
    """A rep's own message to a lead, on a channel one of their accounts can send."""

    kind = forms.ChoiceField(label="Send as", error_messages={"required": "Choose how to send it."})
    subject = forms.CharField(required=False, max_length=200, help_text="Emails and InMails only")
    body = forms.CharField(
        label="Your message",
        widget=forms.Textarea(attrs={"rows": 6}),
        strip=False,
        max_length=10000,
        error_messages={"required": "Write the message first."},
    )

    def __init__(self, *args, kinds: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = kinds

    def clean_body(self) -> str:
        return self.cleaned_data["body"].replace("\r\n", "\n").replace("\r", "\n")


class TaskForm(forms.Form):
    text = forms.CharField(
        label="Ask for an action",
        max_length=300,
        error_messages={"required": "Say what to do, e.g. “follow up next Tuesday about the pricing PDF”."},
    )


class RelabelForm(forms.Form):
    """One of the lead's campaign's labels: the angle its next draft leads with."""

    label = forms.ChoiceField(
        error_messages={"required": "Pick a label.", "invalid_choice": "Pick one of the campaign's labels."}
    )

    def __init__(self, *args, lead: Lead, **kwargs):
        super().__init__(*args, **kwargs)
        names = lead.campaign.label_names if lead.campaign else []
        self.fields["label"].choices = [(name, name) for name in names]
