from django import forms

from leads.models import Lead


class LeadFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=100, label="Search")
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *Lead.Status.choices])


class DoNotContactForm(forms.Form):
    reason = forms.CharField(max_length=200, error_messages={"required": "Say why this person must not be contacted."})


class ScoreOverrideForm(forms.Form):
    score = forms.IntegerField(required=False, min_value=0, max_value=100, help_text="Blank returns to the rule score.")
    reason = forms.CharField(max_length=200, error_messages={"required": "Say why you set this score."})
