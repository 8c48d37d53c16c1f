"""The campaign forms, and a rep's campaign request with the manager's edit of its proposal.

They parse what was typed; campaigns.services and campaigns.requests decide what is allowed.
"""

from django import forms
from django.conf import settings

from campaigns.labels import label_errors, labels_as_text, labels_from_text
from campaigns.models import Campaign, SequenceStep, TargetProfile
from campaigns.services import (
    BRAND_VOICE_MAX,
    CAMPAIGN_FIELDS,
    MAX_DELAY_DAYS,
    MAX_STEPS,
    TARGET_FIELDS,
    TARGET_LIST_FIELDS,
)
from outreach.models import SendingAccount
from salesdept.formfields import LinesField, ListField
from salesdept.people import display_name


class LabelsField(forms.CharField):
    """One label per line as "Name: description | angle"."""

    widget = forms.Textarea(attrs={"rows": 4})

    def to_python(self, value) -> list[dict]:
        return labels_from_text(super().to_python(value))

    def prepare_value(self, value):
        return labels_as_text(value) if isinstance(value, list) else value


def faq_from_text(text: str) -> list[dict]:
    """One question and its answer per line: "How much is it? From £450." or "Dates: 3-4 June"."""
    faq = []
    for line in text.splitlines():
        if not line.strip():
            continue
        if "?" in line:
            question, _, answer = line.partition("?")
            question += "?"
        else:
            question, _, answer = line.partition(":")
        faq.append({"question": question.strip(), "answer": answer.strip()})
    return faq


def faq_as_text(faq: list[dict]) -> str:
    return "\n".join(
        f"{item['question']} {item['answer']}"
        if item["question"].endswith("?")
        else f"{item['question']}: {item['answer']}"
        for item in faq
    )


class FaqField(forms.CharField):
    widget = forms.Textarea(attrs={"rows": 4})

    def to_python(self, value) -> list[dict]:
        return faq_from_text(super().to_python(value))

    def prepare_value(self, value):
        return faq_as_text(value) if isinstance(value, list) else value


def _account_label(account: SendingAccount) -> str:
    owner = display_name(account.owner)
    off = "" if account.is_active else " (switched off)"
    return f"{account.name}{off} · {account.get_channel_display()} · {owner}"


class CampaignForm(forms.Form):
    name = forms.CharField(max_length=200)

    titles = ListField(required=False, help_text="Job titles to look for, one per line or comma-separated.")
    seniorities = ListField(required=False, help_text="e.g. c_suite, vp, director, manager")
    industries = ListField(required=False)
    locations = ListField(required=False, help_text="Cities, regions or countries.")
    company_sizes = ListField(required=False, help_text="Employee ranges, e.g. 51-200, 201-1000.")
    keywords = ListField(required=False)
    exclusions = ListField(required=False, help_text="Words that disqualify a title or company.")
    linkedin_api = forms.ChoiceField(
        label="LinkedIn search",
        choices=TargetProfile._meta.get_field("linkedin_api").choices,
        widget=forms.RadioSelect,
        initial="classic",
        help_text="Which people search the LinkedIn (Unipile) source uses.",
    )
    linkedin_search_url = forms.CharField(
        label="LinkedIn search URL",
        required=False,
        max_length=2000,
        help_text="Optional: a search pasted from LinkedIn; it replaces the filters above for that source.",
    )

    labels = LabelsField(
        label="Classification labels",
        help_text=(
            "One per line, as Name: description | angle. Each lead gets one of these; the description "
            "guides that choice, the angle is what a message to such a lead leads with (prospects read it)."
        ),
    )
    min_score = forms.IntegerField(
        label="Minimum score",
        widget=forms.NumberInput(attrs={"min": 0, "max": 100}),
        help_text="0–100: leads below it are not qualified.",
    )
    daily_lead_quota = forms.IntegerField(
        label="Daily new-lead quota",
        widget=forms.NumberInput(attrs={"min": 1, "max": 500}),
        help_text="1–500 new leads a day.",
    )
    lead_goal = forms.IntegerField(
        label="Lead goal",
        required=False,
        min_value=1,
        widget=forms.NumberInput(attrs={"min": 1}),
        help_text="Stop searching once the campaign has this many leads. Blank: no limit.",
    )
    lead_sources = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Where to search. CSV files are imported from the campaign page.",
    )
    account_ids = forms.TypedMultipleChoiceField(
        label="Sending accounts",
        required=False,
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        help_text="Their owners become the campaign's reps.",
    )

    offer = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What we offer, in words a prospect may read.",
    )
    event = forms.CharField(required=False, max_length=200, help_text="The event's public name, if any.")
    value_points = LinesField(
        label="Value points", required=False, help_text="What is in it for the prospect, one per line."
    )
    proof = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Facts a prospect may be told: past speakers, attendance, results.",
    )
    call_to_action = forms.CharField(required=False, max_length=300)
    faq = FaqField(
        label="Answers to common questions",
        required=False,
        help_text="One per line: the question, then its answer, e.g. “How much is it? Tickets are £450.” "
        "Replies asking about pricing, dates, place or agenda are answered from these.",
    )
    tone = forms.CharField(required=False, max_length=100, help_text="Blank: warm, concise, professional.")
    brief_links = LinesField(
        label="Allowed links",
        required=False,
        help_text="One per line, starting with https://. Drafts may contain these links and no others.",
    )
    internal_notes = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="For the team only. Never written into a message: a draft that repeats it is blocked.",
    )

    brand_voice = forms.CharField(
        label="Brand voice",
        required=False,
        max_length=BRAND_VOICE_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="How this campaign's messages sound, told to the writer (prospects never read it). "
        "It replaces the team's brand voice for this campaign; blank: the team's.",
    )
    banned_phrases = LinesField(
        label="Banned phrases",
        required=False,
        help_text="One per line: words its drafts must never contain. They are added to the team's list; "
        "a draft that contains one cannot be approved until it is taken out.",
    )

    def __init__(self, *args, accounts, **kwargs):
        from leads.sources.registry import SEARCH_SOURCES

        super().__init__(*args, **kwargs)
        self.fields["lead_sources"].choices = list(SEARCH_SOURCES.items())
        self.fields["account_ids"].choices = [(account.pk, _account_label(account)) for account in accounts]

    @classmethod
    def initial_for(cls, campaign: Campaign) -> dict:
        target = campaign.target
        return {
            **{name: getattr(target, name) for name in TARGET_FIELDS},
            **{name: getattr(campaign, name) for name in CAMPAIGN_FIELDS},
            "account_ids": [account.pk for account in campaign.sending_accounts.all()],
        }

    def service_fields(self) -> dict:
        """The cleaned data as campaign_create's and campaign_update's keyword arguments (steps aside)."""
        data = dict(self.cleaned_data)
        data["target"] = {name: data.pop(name) for name in TARGET_FIELDS}
        return data

    # The blocks the template lays out, in order.
    def target_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in (*TARGET_LIST_FIELDS, "linkedin_api", "linkedin_search_url")]

    def brief_fields(self) -> list[forms.BoundField]:
        return [
            self[name]
            for name in ("offer", "event", "value_points", "proof", "call_to_action", "faq", "tone", "brief_links")
        ]

    def internal_fields(self) -> list[forms.BoundField]:
        return [self["internal_notes"]]

    def voice_fields(self) -> list[forms.BoundField]:
        return [self["brand_voice"], self["banned_phrases"]]


class StepForm(forms.Form):
    id = forms.IntegerField(required=False, widget=forms.HiddenInput)
    kind = forms.ChoiceField(
        label="Message",
        choices=[("", "Choose…"), *SequenceStep.Kind.choices],
        error_messages={"required": "Choose what this step sends."},
    )
    delay_days = forms.IntegerField(
        label="Days after the previous step",
        widget=forms.NumberInput(attrs={"min": 0, "max": MAX_DELAY_DAYS, "class": "days"}),
        error_messages={"required": "How many days after the previous step?"},
    )
    instruction = forms.CharField(
        label="Instruction for the writer",
        required=False,
        max_length=300,
        widget=forms.TextInput(attrs={"placeholder": "e.g. mention their recent post"}),
    )


StepFormSet = forms.formset_factory(StepForm, extra=1, can_delete=True, max_num=MAX_STEPS, absolute_max=MAX_STEPS + 5)


def steps_of(formset) -> list[dict]:
    """The steps the manager kept, in the order shown: blank extra rows and deleted rows left out."""
    return [
        {name: form.cleaned_data[name] for name in ("id", "kind", "delay_days", "instruction")}
        for form in formset.forms
        if form.cleaned_data and not form.cleaned_data.get("DELETE")
    ]


FIRST_STEP = {"kind": SequenceStep.Kind.CONNECTION_NOTE, "delay_days": 0}


def step_formset(data=None, *, steps: list[SequenceStep] = ()) -> StepFormSet:
    """The sequence's rows: the stored steps (each knowing its `message_count`), or a first step, and a blank row."""
    initial = [
        {"id": step.pk, "kind": step.kind, "delay_days": step.delay_days, "instruction": step.instruction}
        for step in steps
    ]
    formset = StepFormSet(data, prefix="steps", initial=initial or [FIRST_STEP])
    counts = {step.pk: getattr(step, "message_count", 0) for step in steps}
    for form in formset.forms:
        form.message_count = counts.get(form.initial.get("id"), 0)
    return formset


class SheetSyncForm(forms.Form):
    spreadsheet = forms.CharField(
        label="Spreadsheet URL or key",
        max_length=300,
        help_text="Share the sheet (Editor) with the service account's address shown here.",
    )
    worksheet = forms.CharField(label="Worksheet (tab) name", max_length=100, initial="Leads")
    columns = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="In the sheet in this order. None ticked: the default set.",
    )
    enabled = forms.BooleanField(label="Sync every hour", required=False, initial=True)

    def __init__(self, *args, columns: dict[str, str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["columns"].choices = list(columns.items())
        self.order = list(columns)

    def clean_columns(self) -> list[str]:
        chosen = set(self.cleaned_data["columns"])
        return [name for name in self.order if name in chosen]


# Campaign requests: a rep asks in plain words, a manager edits the proposal and decides.


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
        labels = labels_from_text(self.cleaned_data["labels"])
        if errors := label_errors(labels):
            raise forms.ValidationError(errors)
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
