from django import template

from salesdept.people import display_name as _display_name

register = template.Library()


@register.filter
def display_name(user) -> str:
    """`{{ lead.owner|display_name|default:"Not allocated" }}`: the same name everywhere."""
    return _display_name(user)
