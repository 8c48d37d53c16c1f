from decimal import Decimal

from django import template

from reporting.pipeline import money as _money

register = template.Library()


@register.filter
def money(amount: Decimal, currency: str) -> str:
    """`{{ amount|money:currency }}`: "12,000.00 EUR", as the report and the CSVs write it."""
    return _money(Decimal(amount), currency)
