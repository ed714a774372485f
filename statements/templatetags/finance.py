"""Template helpers of the finance back office."""

from django import template

from statements.permissions import is_finance_user

register = template.Library()


@register.filter
def finance_user(user) -> bool:
    """{% if request.user|finance_user %}: may open the finance views."""
    return is_finance_user(user)
