from django import forms

from leads.models import Lead


class LeadFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=100, label="Search")
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *Lead.Status.choices])


class DoNotContactForm(forms.Form):
    reason = forms.CharField(max_length=200, error_messages={"required": "Say why this person must not be contacted."})
