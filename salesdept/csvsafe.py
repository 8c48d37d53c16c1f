"""Every CSV the app writes goes through here: a cell a spreadsheet would run as a formula is written as text.

Spreadsheets run a cell that starts with = + - @ (and, in some, tab or carriage return): a lead's
company "=HYPERLINK(...)" or "-1+1+cmd|' /C calc'!A0" would run on the manager's machine who opens
a rep's export (OWASP "CSV injection"). Such a cell gets a leading apostrophe, which spreadsheets
hide. A plain number ("-12", "-3.5") stays a number.
"""

import re
from collections.abc import Iterable

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"-?\d+(\.\d+)?")


def spreadsheet_cell(value: object) -> object:
    """The value as a spreadsheet should read it: None is empty, formula-looking text is quoted."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def spreadsheet_row(values: Iterable[object]) -> list[object]:
    """A row (headers included: they come from people's files too) with every cell made safe."""
    return [spreadsheet_cell(value) for value in values]
