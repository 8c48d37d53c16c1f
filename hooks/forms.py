from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError

from hooks.models import Event
from salesdept.forms import server_url
from salesdept.outbound import AddressRefused, checked_address


class EndpointForm(forms.Form):
    url = forms.CharField(
        label="URL",
        max_length=500,
        help_text="An https:// address on the internet that accepts POSTs of JSON.",
        widget=forms.URLInput(attrs={"autocomplete": "off", "inputmode": "url"}),
    )
    events = forms.MultipleChoiceField(
        label="Events", choices=Event.choices, widget=forms.CheckboxSelectMultiple, help_text="What it receives."
    )
    description = forms.CharField(label="Description", max_length=200, required=False)

    def clean_url(self) -> str:
        url = server_url(self.cleaned_data["url"])
        try:  # the same rules as each delivery's: refused now rather than failing every send later
            checked_address(url, allow_private=settings.WEBHOOKS_ALLOW_PRIVATE)
        except AddressRefused as exc:
            raise ValidationError(str(exc)) from None
        return url
