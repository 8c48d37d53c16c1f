from django import template

from leads import verbs

register = template.Library()


@register.filter
def verb_label(verb: str) -> str:
    """What an Activity verb means to a person reading a lead's timeline (leads.verbs.Verb)."""
    return verbs.verb_label(verb)
