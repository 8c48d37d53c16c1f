import datetime as dt

from django import forms

from campaigns.models import Campaign
from presence.guardrails import POST_LIMIT
from presence.models import PostingOptIn
from salesdept import clock
from salesdept.formfields import DayMonthYearField

MAX_AHEAD = dt.timedelta(days=365)


class DecideForm(forms.Form):
    revision = forms.IntegerField(min_value=1, widget=forms.HiddenInput)


class PostEditForm(forms.Form):
    text = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 10}),
        max_length=POST_LIMIT,
        strip=False,
        help_text=f"Plain text, at most {POST_LIMIT:,} characters: LinkedIn's limit.",
    )
    publish_on = DayMonthYearField(label="Publish on")
    publish_time = forms.TimeField(
        label="at", widget=forms.TimeInput(format="%H:%M", attrs={"size": 5}), help_text="In the account's time zone."
    )
    campaign = forms.ModelChoiceField(
        queryset=Campaign.objects.none(),
        required=False,
        empty_label="None: engagement is shown, nobody becomes a lead",
        label="People who engage become leads of",
    )
    revision = forms.IntegerField(min_value=1, widget=forms.HiddenInput)

    def __init__(self, *args, tz: dt.tzinfo, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.tz = tz
        self.fields["campaign"].queryset = Campaign.objects.exclude(status=Campaign.Status.FINISHED).order_by("name")

    def clean_text(self) -> str:
        text = self.cleaned_data["text"].replace("\r\n", "\n").strip()
        if not text:
            raise forms.ValidationError("Write the post's text.")
        return text

    def clean(self) -> dict:
        data = super().clean()
        if data.get("publish_on") and data.get("publish_time"):
            now = clock.now()
            if not now - dt.timedelta(days=1) <= self.publish_at() <= now + MAX_AHEAD:
                self.add_error("publish_on", "Choose a time from today up to a year ahead.")
        return data

    def publish_at(self) -> dt.datetime:
        data = self.cleaned_data
        return dt.datetime.combine(data["publish_on"], data["publish_time"], tzinfo=self.tz)


class SettleForm(forms.Form):
    published = forms.TypedChoiceField(
        choices=[("yes", "It is on LinkedIn"), ("no", "It is not on LinkedIn")],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
        label="What did you find?",
    )


class PostingOptInForm(forms.ModelForm):
    class Meta:
        model = PostingOptIn
        fields = ["suggest_posts"]
        labels = {"suggest_posts": "Suggest LinkedIn posts for my own profile each week"}
