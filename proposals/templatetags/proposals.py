from django import template

from proposals.models import NEED_FIELDS
from proposals.selectors import lead_needs_section

register = template.Library()


@register.inclusion_tag("proposals/_lead_section.html", takes_context=True)
def needs_and_proposals(context, lead) -> dict:
    """The lead page's "Needs and proposals" card: the latest summary and every proposal."""
    return {**lead_needs_section(lead), "csrf_token": context.get("csrf_token"), "request": context.get("request")}


@register.filter
def need_label(field: str) -> str:
    return dict(NEED_FIELDS).get(field, field)
