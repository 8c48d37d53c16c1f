"""The dashboard's filters: a period, a campaign, a rep and the trend's length."""

import datetime as dt
import functools
import zoneinfo
from dataclasses import dataclass
from urllib.parse import urlencode

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator

from salesdept import clock
from salesdept.formfields import DayMonthYearField

DEFAULT_DAYS = 30
MAX_DAYS = 366
# The dashboard's dates are a business's: a year 1 or 9999 would overflow the date arithmetic of the
# comparisons (the period before, the trend), so they are refused like any other bad date.
EARLIEST, LATEST = dt.date(2000, 1, 1), dt.date(2099, 12, 31)
DATE_RANGE = [
    MinValueValidator(EARLIEST, message="Choose a date from 1 Jan 2000."),
    MaxValueValidator(LATEST, message="Choose a date until 31 Dec 2099."),
]
TREND_CHOICES = [("7", "7 days"), ("30", "30 days"), ("90", "90 days")]


@dataclass(frozen=True)
class Filters:
    """What the dashboard shows: always valid, the defaults when the form was not."""

    start: dt.date
    end: dt.date
    campaign_id: int | None = None
    rep_id: int | None = None
    trend_days: int = DEFAULT_DAYS

    @classmethod
    def default(cls) -> "Filters":
        today = clock.today()
        return cls(start=today - dt.timedelta(days=DEFAULT_DAYS - 1), end=today)

    def query(self) -> str:
        """The filters as a query string, for links that keep them (CSV exports)."""
        params = {"from": self.start.isoformat(), "to": self.end.isoformat(), "trend": self.trend_days}
        if self.campaign_id:
            params["campaign"] = self.campaign_id
        if self.rep_id:
            params["rep"] = self.rep_id
        return urlencode(params)


class DashboardFilterForm(forms.Form):
    start = DayMonthYearField(label="From", required=False, validators=DATE_RANGE)
    end = DayMonthYearField(label="To", required=False, validators=DATE_RANGE)
    campaign = forms.TypedChoiceField(label="Campaign", required=False, coerce=int, empty_value=None)
    rep = forms.TypedChoiceField(label="Rep", required=False, coerce=int, empty_value=None)
    trend = forms.TypedChoiceField(label="Trend", choices=TREND_CHOICES, required=False, coerce=int, empty_value=None)

    def __init__(self, data=None, *, campaigns: list[tuple[int, str]], reps: list[tuple[int, str]]) -> None:
        super().__init__(data)
        self.fields["campaign"].choices = [("", "All campaigns"), *campaigns]
        self.fields["rep"].choices = [("", "All reps"), *reps]
        defaults = Filters.default()
        self.initial = {"start": defaults.start, "end": defaults.end, "trend": str(defaults.trend_days)}

    def add_prefix(self, field_name: str) -> str:
        # "from" is a Python keyword, so the fields are start and end; the URL says from and to.
        return {"start": "from", "end": "to"}.get(field_name, field_name)

    def clean(self) -> dict:
        """Fill a missing date (from alone: up to today; to alone: the 30 days before), then check the span."""
        cleaned = super().clean()
        if "start" not in cleaned or "end" not in cleaned:
            return cleaned  # a date that did not parse already has its error
        start, end = cleaned["start"], cleaned["end"]
        today = clock.today()
        if end is None:
            end = max(today, start) if start else today
        if start is None:
            start = end - dt.timedelta(days=DEFAULT_DAYS - 1)
        if end < start:
            self.add_error("end", "The end date must be on or after the start date.")
        elif (end - start).days + 1 > MAX_DAYS:
            self.add_error(
                "end", f"Choose a period of at most {MAX_DAYS} days (this one has {(end - start).days + 1})."
            )
        cleaned["start"], cleaned["end"] = start, end
        return cleaned

    @classmethod
    def showing(
        cls, filters: Filters, *, campaigns: list[tuple[int, str]], reps: list[tuple[int, str]]
    ) -> "DashboardFilterForm":
        """An unbound form filled with the filters in use: dates a person left out appear as applied."""
        form = cls(campaigns=campaigns, reps=reps)
        form.initial = {
            "start": filters.start,
            "end": filters.end,
            "campaign": filters.campaign_id or "",
            "rep": filters.rep_id or "",
            "trend": str(filters.trend_days),
        }
        return form

    def filters(self) -> Filters:
        """The valid filters, or the defaults (last 30 days, everyone) when any field is wrong."""
        defaults = Filters.default()
        if not self.is_bound or not self.is_valid():
            return defaults
        data = self.cleaned_data
        return Filters(
            start=data["start"],
            end=data["end"],
            campaign_id=data["campaign"],
            rep_id=data["rep"],
            trend_days=data["trend"] or DEFAULT_DAYS,
        )


@functools.cache
def _zone_choices() -> list[tuple[str, str]]:
    return [(name, name.replace("_", " ")) for name in sorted(zoneinfo.available_timezones())]


class ReportTimeForm(forms.Form):
    """A manager's daily report: their timezone and the local time it arrives."""

    timezone = forms.ChoiceField(
        label="Your timezone",
        error_messages={"invalid_choice": "Unknown timezone %(value)s: choose one from the list."},
    )
    send_at = forms.TimeField(
        label="Send it at",
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        input_formats=["%H:%M", "%H:%M:%S"],
        error_messages={"invalid": "Enter a time as HH:MM, e.g. 08:30."},
        help_text="Your local time; it stays the same across summer time changes.",
    )
    enabled = forms.BooleanField(label="Email me the daily report", required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["timezone"].choices = _zone_choices()
