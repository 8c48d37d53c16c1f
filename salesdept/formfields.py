"""Form fields shared by the apps' forms."""

import datetime as dt

from django import forms

from salesdept.dates import typed_date

# The app writes dates as "5 Nov 2026" everywhere. A native <input type="date"> is not used on purpose:
# Chromium lays it out in the browser's locale, not the page's (mm/dd/yyyy on an en-US browser, whatever
# lang says), so "05/11/2026" on screen could mean 5 November or May 11. A text field showing the date
# the way every page writes it cannot be misread, and it accepts what people type: "5 Nov 2026",
# "5 November 2026", "2026-11-05", or "5/11/2026", which is read day first as the app writes dates.
DISPLAY_FORMAT = "%-d %b %Y"


class DayMonthYearField(forms.DateField):
    """A date typed as text, shown as "5 Nov 2026"; the error names the formats it takes."""

    widget = forms.TextInput

    def __init__(self, **kwargs):
        kwargs.setdefault("error_messages", {}).setdefault("invalid", "Type a date such as 5 Nov 2026.")
        super().__init__(**kwargs)

    def widget_attrs(self, widget) -> dict:
        return {**super().widget_attrs(widget), "placeholder": "e.g. 5 Nov 2026", "autocomplete": "off", "size": 12}

    def prepare_value(self, value):
        return f"{value:{DISPLAY_FORMAT}}" if isinstance(value, dt.date) else value

    def to_python(self, value) -> dt.date | None:
        if value in self.empty_values:
            return None
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        parsed = typed_date(str(value))
        if parsed is None:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return parsed


class ListField(forms.CharField):
    """A list edited as text: one item per line or comma; blanks and repeats dropped, order kept.

    `max_items` and `max_item_length` bound what one field may hold; unbound by default, where a
    service decides what is allowed.
    """

    widget = forms.Textarea(attrs={"rows": 3})

    def __init__(self, *, max_items: int | None = None, max_item_length: int | None = None, **kwargs):
        self.max_items, self.max_item_length = max_items, max_item_length
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", 5000)
        super().__init__(**kwargs)

    def split(self, text: str) -> list[str]:
        return [item for line in text.splitlines() for item in line.split(",")]

    def to_python(self, value) -> list[str]:
        items = (item.strip() for item in self.split(super().to_python(value)))
        return list(dict.fromkeys(item for item in items if item))

    def run_validators(self, value) -> None:  # the text's validators do not apply to the list
        pass

    def validate(self, value: list[str]) -> None:
        if self.required and not value:
            raise forms.ValidationError(self.error_messages["required"], code="required")
        if self.max_items is not None and len(value) > self.max_items:
            raise forms.ValidationError(f"At most {self.max_items} entries.")
        if self.max_item_length is not None and any(len(item) > self.max_item_length for item in value):
            raise forms.ValidationError(f"Each entry must be under {self.max_item_length} characters.")

    def prepare_value(self, value):
        return "\n".join(value) if isinstance(value, list | tuple) else value


class LinesField(ListField):
    """One item per line: an item may contain commas (a sentence, a phrase, a link)."""

    def split(self, text: str) -> list[str]:
        return text.splitlines()
