"""Cells for the CSV files people open in a spreadsheet."""

# A spreadsheet runs a cell starting with one of these as a formula (=HYPERLINK(...) in a lead's name).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value) -> object:
    """The value as a spreadsheet should read it: text that could run as a formula is quoted, None is empty."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
