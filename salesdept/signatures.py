"""A rep's own signature, set on their profile page: its form and its one write.

outreach.voice reads it when drafting (blank falls back to the team's signature, then the name).
"""

from django import forms
from django.db import transaction

from salesdept.models import RepSignature

SIGNATURE_MAX = RepSignature._meta.get_field("text").max_length


class SignatureForm(forms.Form):
    text = forms.CharField(
        label="Signature",
        required=False,
        max_length=SIGNATURE_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="How drafts to your leads sign off, e.g. “Alice Rivera, Partnerships at Summit”. "
        "Blank: the team's signature, else your name.",
    )

    def clean_text(self) -> str:
        text = "\n".join(line.strip() for line in self.cleaned_data["text"].splitlines() if line.strip())
        if any(ch in text for ch in "[]{}<>"):
            # The guardrails read brackets as an unfilled placeholder: every draft would be held.
            raise forms.ValidationError("Leave out brackets [ ] { } < >: drafts would read them as a placeholder.")
        return text


@transaction.atomic
def signature_set(*, user, text: str) -> RepSignature:
    signature, _ = RepSignature.objects.update_or_create(user=user, defaults={"text": text})
    return signature


def signature_of(user) -> str:
    return RepSignature.objects.filter(user=user).values_list("text", flat=True).first() or ""
