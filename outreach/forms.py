from django import forms

from outreach.models import InboundMessage
from salesdept import roles
from salesdept.people import display_name


class InboxFilterForm(forms.Form):
    """The inbox's filters, from the query string. A value that does not parse is dropped from
    `filters()` (the list is not narrowed by it) and its error stays on the form for the page."""

    intent = forms.ChoiceField(
        required=False,
        choices=[("", "Any intent"), *InboundMessage.Intent.choices],
        error_messages={"invalid_choice": "%(value)s is not an intent; showing every intent."},
    )
    look = forms.BooleanField(required=False, label="Needs a look")
    rep = forms.TypedChoiceField(
        required=False,
        coerce=int,
        empty_value=None,
        error_messages={"invalid_choice": "That is not a rep you can filter by; showing every rep."},
    )

    def __init__(self, *args, show_reps: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if show_reps:
            reps = [(str(rep.pk), display_name(rep)) for rep in roles.reps()]
            self.fields["rep"].choices = [("", "Every rep"), *reps]
        else:
            del self.fields["rep"]  # a rep's inbox holds their own leads, whatever the URL says

    def filters(self) -> dict:
        """The valid filters, as keyword arguments for inbox_for."""
        self.is_valid()
        return {
            "intent": self.cleaned_data.get("intent", ""),
            "rep_id": self.cleaned_data.get("rep"),
            "needs_look": self.cleaned_data.get("look", False),
        }


class InboundConfirmForm(forms.Form):
    """What a rep says an unsure reply means."""

    intent = forms.ChoiceField(choices=InboundMessage.Intent.choices)
