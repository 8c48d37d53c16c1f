from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model

from approvals.services import Then
from campaigns.forms import labels_as_text, labels_from_text
from campaigns.models import Campaign, SequenceStep
from salesdept.formfields import ListField
from salesdept.people import display_name
from salesdept.roles import reps
from salesdept.views_helpers import id_param

AGES = [("", "Any age"), ("1", "Waiting over a day"), ("3", "Over 3 days"), ("7", "Over a week")]
FINDINGS = [("", "Any findings"), ("some", "With guardrail warnings"), ("none", "Without warnings")]
ORIGINS = [("", "Any kind of draft"), ("nurture", "Nurturing touches"), ("other", "Not nurturing")]
SORTS = [("score", "Best score first"), ("oldest", "Oldest first"), ("newest", "Newest first")]
STALE = "This selection is out of date; reload the queue."
SNOOZE_DAYS = [(7, "1 week"), (14, "2 weeks"), (30, "1 month"), (90, "3 months")]


def _normalise_newlines(text: str) -> str:
    # Browsers send a textarea's line breaks as CRLF: count and store each as one character.
    return text.replace("\r\n", "\n").replace("\r", "\n")


class DecisionForm(forms.Form):
    # The revision the rep saw: a decision on text that changed since is refused.
    revision = forms.IntegerField(min_value=1, widget=forms.HiddenInput)


class ApproveForm(DecisionForm):
    subject = forms.CharField(required=False, max_length=200)
    body = forms.CharField(required=False, widget=forms.Textarea, strip=False)

    def clean_body(self) -> str:
        return _normalise_newlines(self.cleaned_data["body"])


class RejectForm(DecisionForm):
    reason = forms.CharField(max_length=300, error_messages={"required": "Say why you reject this draft."})
    # Absent (an older form, a suggested answer): the service's default, never a stranded lead.
    then = forms.ChoiceField(required=False, choices=[("", "Reject only"), *Then.choices])
    subject = forms.CharField(required=False, max_length=200)
    text = forms.CharField(required=False, widget=forms.Textarea, strip=False, max_length=10000)

    def clean_text(self) -> str:
        return _normalise_newlines(self.cleaned_data["text"])


class RegenerateForm(DecisionForm):
    instruction = forms.CharField(required=False, max_length=300)


class SnoozeForm(forms.Form):
    days = forms.TypedChoiceField(
        choices=SNOOZE_DAYS,
        coerce=int,
        error_messages={"required": "Say for how long.", "invalid_choice": "Say for how long."},
    )


class BulkApproveForm(forms.Form):
    """The drafts a rep selected, each as `pk:revision`: the text they saw is the text approved."""

    items = forms.MultipleChoiceField(error_messages={"required": "Select the drafts to approve first."})
    confirm = forms.BooleanField(required=False)

    MAX = 100

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["items"].valid_value = lambda value: True  # parsed in clean_items

    def clean_items(self) -> dict[int, int]:
        chosen: dict[int, int] = {}
        for value in self.cleaned_data["items"]:
            pk, _, revision = value.partition(":")
            pk_id, revision_number = id_param(pk), id_param(revision)
            if pk_id is None or revision_number is None:
                raise forms.ValidationError("This selection is out of date; reload the queue.")
            chosen[pk_id] = revision_number
        if len(chosen) > self.MAX:
            raise forms.ValidationError(f"Approve at most {self.MAX} drafts at once.")
        return chosen


class BulkUndoForm(forms.Form):
    """The drafts of the last bulk approval, by id: the ones still approved go back to the queue."""

    items = forms.TypedMultipleChoiceField(
        coerce=int, error_messages={"required": "Nothing to undo.", "invalid_choice": STALE}
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["items"].valid_value = lambda value: str(value).isdigit()

    def clean_items(self) -> list[int]:
        if len(self.cleaned_data["items"]) > BulkApproveForm.MAX:
            raise forms.ValidationError(STALE)
        return self.cleaned_data["items"]


class QueueFilterForm(forms.Form):
    """The queue's filters, from the query string. A value that does not parse is dropped, with a message."""

    campaign = forms.ModelChoiceField(
        queryset=Campaign.objects.order_by("name"), required=False, empty_label="All campaigns"
    )
    label = forms.ChoiceField(required=False)
    kind = forms.ChoiceField(required=False, choices=[("", "Any channel"), *SequenceStep.Kind.choices], label="Channel")
    origin = forms.ChoiceField(required=False, choices=ORIGINS, label="Kind of draft")
    findings = forms.ChoiceField(required=False, choices=FINDINGS, label="Guardrails")
    age = forms.ChoiceField(required=False, choices=AGES)
    score_min = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=100,
        label="Score from",
        widget=forms.NumberInput({"placeholder": "Score from", "class": "score-input"}),
    )
    score_max = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=100,
        label="Score to",
        widget=forms.NumberInput({"placeholder": "to", "class": "score-input"}),
    )
    rep = forms.ModelChoiceField(queryset=get_user_model().objects.none(), required=False, empty_label="Every rep")
    sort = forms.ChoiceField(required=False, choices=SORTS)

    def __init__(self, *args, manager: bool, **kwargs):
        super().__init__(*args, **kwargs)
        labels = sorted(
            {name for labels in Campaign.objects.values_list("labels", flat=True) for name in _names(labels)}
        )
        self.fields["label"].choices = [("", "Any label"), *((name, name) for name in labels)]
        if manager:
            self.fields["rep"].queryset = reps()
            self.fields["rep"].label_from_instance = display_name
        else:
            del self.fields["rep"]

    def filters(self) -> dict:
        """The valid filters; invalid fields are left out (their errors stay on the form)."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {name: value for name, value in data.items() if value not in (None, "") and name != "sort"}

    def chosen_sort(self) -> str:
        self.is_valid()
        return getattr(self, "cleaned_data", {}).get("sort") or "score"


def _names(labels) -> list[str]:
    return (
        [label["name"] for label in labels if isinstance(label, dict) and label.get("name")]
        if isinstance(labels, list)
        else []
    )


class CampaignRequestForm(forms.Form):
    text = forms.CharField(
        label="What campaign do you need?",
        min_length=10,
        max_length=1000,
        widget=forms.Textarea(
            attrs={"rows": 2, "placeholder": "e.g. 40 heads of partnerships at SaaS companies in Berlin"}
        ),
        error_messages={
            "required": "Describe the campaign you need.",
            "min_length": "Say a little more: who, where, how many (at least 10 characters).",
            "max_length": "Keep it under 1,000 characters.",
        },
    )


SENIORITIES = [
    ("owner", "Owner / founder"),
    ("c_suite", "C-suite"),
    ("vp", "VP"),
    ("director", "Director / head of"),
    ("manager", "Manager"),
    ("individual", "Individual contributor"),
]


# A request's target, as a manager edits it before approving: short lists of short words.
TARGET_LIST = {"max_items": 30, "max_item_length": 100}


class ProposalForm(forms.Form):
    """A manager's edit of the LLM's reading of a campaign request."""

    name = forms.CharField(max_length=120, error_messages={"required": "Give the campaign a name."})
    titles = ListField(**TARGET_LIST, help_text="One job title per line")
    seniorities = forms.MultipleChoiceField(required=False, choices=SENIORITIES, widget=forms.CheckboxSelectMultiple)
    industries = ListField(**TARGET_LIST)
    locations = ListField(**TARGET_LIST)
    company_sizes = ListField(**TARGET_LIST, help_text='Ranges like "51-200"')
    keywords = ListField(**TARGET_LIST)
    exclusions = ListField(**TARGET_LIST, help_text="Words that rule out a title or company")
    labels = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
        help_text="One per line: Name: what it means | the angle a message to them leads with (prospects read it)",
        error_messages={"required": "Give at least one label."},
    )
    # What prospects read. The rep's request is for the team: it never becomes the offer by itself.
    offer = forms.CharField(
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What we offer them, in words a prospect may read (the request above is not sent)",
        error_messages={"required": "Write the offer a prospect reads."},
    )
    event = forms.CharField(
        max_length=200, required=False, help_text="The event's public name, if the campaign is about one"
    )
    call_to_action = forms.CharField(
        max_length=300,
        label="Call to action",
        help_text="What a message asks them to do, e.g. “Would a short call next week work?”",
        error_messages={"required": "Say what a message asks the prospect to do."},
    )
    size = forms.IntegerField(
        min_value=1,
        max_value=5000,
        label="Leads wanted",
        error_messages={
            "min_value": "Ask for at least 1 lead.",
            "max_value": "At most 5,000 leads per campaign: split bigger searches.",
        },
    )
    lead_sources = forms.MultipleChoiceField(
        label="Search",
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose where to search."},
    )
    accounts = forms.TypedMultipleChoiceField(
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Whose accounts send: their owners get the leads",
    )

    def __init__(self, *args, accounts, **kwargs):
        from leads.sources.registry import SEARCH_SOURCES

        super().__init__(*args, **kwargs)
        self.fields["lead_sources"].choices = list(SEARCH_SOURCES.items())
        self.fields["accounts"].choices = [
            (a.pk, f"{a.name} ({a.get_channel_display()}, {display_name(a.owner)})") for a in accounts
        ]

    @classmethod
    def initial_from(cls, proposal: dict) -> dict:
        initial = {"lead_sources": [settings.LEAD_SOURCE_DEFAULT], **proposal}
        initial["labels"] = labels_as_text(proposal.get("labels") or [])
        initial.setdefault("offer", proposal.get("angle", ""))
        return initial

    def clean_labels(self) -> list[dict]:
        labels = [
            {**label, "name": label["name"][:50], "description": label["description"][:200]}
            for label in labels_from_text(self.cleaned_data["labels"])
            if label["name"]
        ]
        names = [label["name"].lower() for label in labels]
        if not labels:
            raise forms.ValidationError("Give at least one label.")
        if len(set(names)) != len(names):
            raise forms.ValidationError("Each label needs a different name.")
        return labels

    def clean(self) -> dict:
        cleaned = super().clean()
        if not (cleaned.get("titles") or cleaned.get("keywords") or cleaned.get("industries")):
            self.add_error("titles", "Give at least one title, industry or keyword to search for.")
        return cleaned

    def proposal(self) -> dict:
        data = dict(self.cleaned_data)
        data.pop("accounts")
        return data


class RequestRejectForm(forms.Form):
    note = forms.CharField(
        max_length=300, label="Why not?", error_messages={"required": "Say why, so the rep can ask again better."}
    )
