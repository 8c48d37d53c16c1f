import re

from django import forms

from campaigns.models import Campaign
from competitors.models import Competitor

LINKEDIN_ID = re.compile(r"^(?:\d{1,20}|ACo[A-Za-z0-9_-]{1,60})$")
PUBLIC_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_%-]{0,199}$")


class CompetitorForm(forms.ModelForm):
    class Meta:
        model = Competitor
        fields = ["name", "kind", "linkedin_id", "public_identifier", "notes", "is_active"]
        widgets = {"notes": forms.Textarea(attrs={"rows": 3})}
        labels = {"linkedin_id": "LinkedIn id"}

    def clean_linkedin_id(self) -> str:
        value = self.cleaned_data["linkedin_id"].strip()
        if not LINKEDIN_ID.match(value):
            raise forms.ValidationError("LinkedIn's internal id: digits for a company page, ACo… for a person.")
        return value

    def clean_public_identifier(self) -> str:
        value = self.cleaned_data["public_identifier"].strip().strip("/")
        if value and not PUBLIC_ID.match(value):
            raise forms.ValidationError("Only the last part of their LinkedIn address, e.g. acme-payments.")
        return value

    def clean(self):
        data = super().clean()
        kind, linkedin_id = data.get("kind"), data.get("linkedin_id")
        if kind == Competitor.Kind.COMPANY and linkedin_id and not linkedin_id.isdigit():
            self.add_error("linkedin_id", "A company page's LinkedIn id is all digits.")
        if kind == Competitor.Kind.PERSON and linkedin_id and not linkedin_id.startswith("ACo"):
            self.add_error("linkedin_id", "A person's LinkedIn id starts with ACo.")
        return data


class CampaignChoiceForm(forms.Form):
    campaign = forms.ModelChoiceField(queryset=Campaign.objects.none(), empty_label=None)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["campaign"].queryset = Campaign.objects.exclude(status=Campaign.Status.FINISHED).order_by("name")
