from django import forms


class DecisionForm(forms.Form):
    # The revision the rep saw: a decision on text that changed since is refused.
    revision = forms.IntegerField(min_value=1, widget=forms.HiddenInput)


class ApproveForm(DecisionForm):
    subject = forms.CharField(required=False, max_length=200)
    body = forms.CharField(required=False, widget=forms.Textarea)


class RejectForm(DecisionForm):
    reason = forms.CharField(max_length=300, error_messages={"required": "Say why you reject this draft."})


class RegenerateForm(DecisionForm):
    instruction = forms.CharField(required=False, max_length=300)
