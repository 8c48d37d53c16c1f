from django import forms

from proposals.models import NEED_FIELDS, Offer, Proposal
from proposals.needs import MAX_POINTS


class PointForm(forms.Form):
    field = forms.ChoiceField(label="Need", choices=NEED_FIELDS)
    text = forms.CharField(
        label="What they need", max_length=300, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    quote = forms.CharField(
        label="Their words (quoted exactly)", max_length=600, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    orig = forms.IntegerField(required=False, min_value=0, widget=forms.HiddenInput)

    def clean(self) -> dict:
        data = super().clean()
        text, quote = data.get("text", ""), data.get("quote", "")
        if bool(text) != bool(quote):
            raise forms.ValidationError(
                "A point needs both what they need and their own words it comes from (or leave both empty)."
            )
        return data

    @property
    def is_blank(self) -> bool:
        return not (self.cleaned_data.get("text") or self.cleaned_data.get("quote"))


PointFormSet = forms.formset_factory(
    PointForm, extra=1, can_delete=True, max_num=MAX_POINTS + 5, validate_max=True, absolute_max=MAX_POINTS + 10
)


def point_forms_initial(points: list[dict]) -> list[dict]:
    return [{"field": p["field"], "text": p["text"], "quote": p["quote"], "orig": i} for i, p in enumerate(points)]


def edited_points(formset, *, count: int) -> list[dict]:
    """The rep's points from a valid formset, deleted and blank rows left out; `orig` only when it names a point."""
    points = []
    for form in formset.forms:
        if form in formset.deleted_forms or form.is_blank:
            continue
        orig = form.cleaned_data.get("orig")
        fields = {key: form.cleaned_data[key] for key in ("field", "text", "quote")}
        points.append({**fields, "orig": orig if orig is not None and orig < count else None})
    return points


class CreateProposalForm(forms.Form):
    offer = forms.ModelChoiceField(
        queryset=Offer.objects.filter(is_active=True).order_by("name", "pk"),
        empty_label=None,
        error_messages={"required": "Choose an offer.", "invalid_choice": "Choose one of the offers."},
    )


class ProposalForm(forms.ModelForm):
    class Meta:
        model = Proposal
        fields = ["title", "prospect_name", "company_name", "intro", "timeline", "terms", "closing"]
        labels = {"prospect_name": "Prospect's name", "company_name": "Company", "intro": "Introduction"}
        widgets = {
            "intro": forms.Textarea(attrs={"rows": 5}),
            "timeline": forms.Textarea(attrs={"rows": 3}),
            "terms": forms.Textarea(attrs={"rows": 3}),
            "closing": forms.Textarea(attrs={"rows": 2}),
        }
        error_messages = {
            "title": {"required": "Give the proposal a title."},
            "prospect_name": {"required": "Say who the proposal is for."},
            "intro": {"required": "Write the introduction: the prospect reads it first."},
            "timeline": {"required": "Say how delivery goes: the timeline is part of the offer."},
        }
