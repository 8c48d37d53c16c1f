from django import forms
from django.contrib.auth import get_user_model

from approvals.services import Then
from campaigns.labels import label_names
from campaigns.models import Campaign, SequenceStep
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

    campaign = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
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
        # One statement for two lists: the campaigns to narrow to, and the labels they use. Only the columns
        # shown: a campaign's brief is a dozen JSON fields.
        campaigns = list(Campaign.objects.order_by("name").values_list("pk", "name", "labels"))
        self.fields["campaign"].choices = [("", "All campaigns"), *((pk, name) for pk, name, _ in campaigns)]
        labels = sorted({name for *_, labels in campaigns for name in label_names(labels)})
        self.fields["label"].choices = [("", "Any label"), *((name, name) for name in labels)]
        if manager:
            self.fields["rep"].queryset = reps().only("first_name", "last_name", "email")
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
