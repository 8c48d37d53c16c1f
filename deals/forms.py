"""The deal forms: the lead page's "Open a deal", the deal page's edit, and the move on each card."""

from decimal import Decimal

from django import forms
from django.conf import settings

from deals.currencies import currency_checked
from deals.models import DealStage
from salesdept.roles import is_manager, reps
from salesdept.templatetags.people import display_name


class DealFieldsForm(forms.Form):
    value = forms.DecimalField(
        min_value=Decimal(0), max_digits=12, decimal_places=2, required=False,
        error_messages={"invalid": "Give the value as a number, e.g. 12000 or 12000.50."},
    )  # fmt: skip
    currency = forms.CharField(max_length=10, error_messages={"required": "Give the currency, e.g. EUR."})
    expected_close = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": "Give the expected close as a date, e.g. 2027-03-31."},
    )  # fmt: skip
    next_step = forms.CharField(max_length=300, required=False)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {"currency": settings.DEALS_DEFAULT_CURRENCY})
        super().__init__(*args, **kwargs)

    def clean_value(self) -> Decimal:
        return self.cleaned_data["value"] or Decimal(0)

    def clean_currency(self) -> str:
        try:
            return currency_checked(self.cleaned_data["currency"])
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean_next_step(self) -> str:
        return self.cleaned_data["next_step"].strip()


class DealMoveForm(forms.Form):
    """Where to, from the stage the rep saw (`seen`): a move from a stage the deal left meanwhile is refused."""

    stage = forms.ModelChoiceField(
        queryset=DealStage.objects.filter(is_active=True),
        error_messages={"required": "Pick the stage to move to.", "invalid_choice": "That stage takes no deals."},
    )
    seen = forms.ModelChoiceField(queryset=DealStage.objects.all(), required=False)
    reason = forms.CharField(max_length=300, required=False)

    def clean(self) -> dict:
        cleaned = super().clean()
        stage, reason = cleaned.get("stage"), cleaned.get("reason", "").strip()
        if stage is not None and stage.outcome == DealStage.Outcome.LOST and not reason:
            self.add_error("reason", "Say why the deal was lost: the reason is counted in the report.")
        cleaned["reason"] = reason
        return cleaned


class BoardFilterForm(forms.Form):
    """The board's filters, from the query string; a value that does not parse narrows nothing."""

    owner = forms.TypedChoiceField(
        required=False, coerce=int, empty_value=None, error_messages={"invalid_choice": "Pick a rep from the list."}
    )
    campaign = forms.TypedChoiceField(
        required=False, coerce=int, empty_value=None,
        error_messages={"invalid_choice": "That campaign is not one you can filter by."},
    )  # fmt: skip

    def __init__(self, *args, user, campaigns, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["campaign"].choices = [("", "All campaigns"), *((str(c.pk), c.name) for c in campaigns)]
        if is_manager(user):
            self.fields["owner"].choices = [("", "Every rep"), *((str(rep.pk), display_name(rep)) for rep in reps())]
        else:
            del self.fields["owner"]  # a rep sees their own deals, whatever the URL says

    def filters(self) -> dict:
        self.is_valid()
        return {"owner": self.cleaned_data.get("owner"), "campaign_id": self.cleaned_data.get("campaign")}
