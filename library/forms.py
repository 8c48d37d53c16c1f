from django import forms

from library.models import ContentItem


def _lines(value: str) -> list[str]:
    return list(dict.fromkeys(line.strip() for line in value.splitlines() if line.strip()))


class LinesField(forms.CharField):
    """A list edited as one entry per line."""

    widget = forms.Textarea(attrs={"rows": 3})

    def prepare_value(self, value):
        return "\n".join(value) if isinstance(value, list) else value

    def to_python(self, value) -> list[str]:
        return _lines(super().to_python(value) or "")


class ContentItemForm(forms.ModelForm):
    url = forms.URLField(label="URL", max_length=500, assume_scheme="https")
    facts = LinesField(
        required=False,
        max_length=5000,
        help_text="Claims about us this item supports, one per line. Posts may state these and nothing else.",
    )
    labels = LinesField(required=False, max_length=1000, help_text="Lead labels it suits, one per line; empty: any.")
    industries = LinesField(required=False, max_length=1000, help_text="Industries it suits, one per line; empty: any.")

    class Meta:
        model = ContentItem
        fields = ["kind", "title", "url", "summary", "facts", "labels", "industries"]
        widgets = {"summary": forms.Textarea(attrs={"rows": 4})}
        labels = {"url": "URL"}

    def clean_url(self) -> str:
        url = self.cleaned_data["url"]
        if not url.lower().startswith(("http://", "https://")):
            raise forms.ValidationError("Give a web address starting with http:// or https://.")
        return url

    def clean_summary(self) -> str:
        summary = self.cleaned_data["summary"].strip()
        if len(summary) > 3000:
            raise forms.ValidationError("Keep the summary under 3,000 characters.")
        return summary
