"""The `finance` group: what DfE finance staff may do in the back office, and nothing more."""

from django.contrib.auth.models import Group, Permission
from django.db import transaction

FINANCE_GROUP = "finance"

# Finance staff read every record they need to explain a statement...
_VIEW_APPS = ("participants", "statements", "declarations")
# ...and change only money: adjustments, statement authorisation, voids on a provider's behalf.
_WRITE_PERMISSIONS = (
    "statements.add_adjustment",
    "statements.change_adjustment",
    "statements.delete_adjustment",
    "statements.change_statement",
    "declarations.change_declaration",
)
# Tokens are secrets of the providers, not finance records.
_NOT_VIEWABLE = ("participants.view_apitoken",)


def finance_permissions() -> list[Permission]:
    view = Permission.objects.filter(content_type__app_label__in=_VIEW_APPS, codename__startswith="view_")
    wanted = {f"{p.content_type.app_label}.{p.codename}" for p in view.select_related("content_type")}
    wanted = (wanted | set(_WRITE_PERMISSIONS)) - set(_NOT_VIEWABLE)
    by_name = {
        f"{p.content_type.app_label}.{p.codename}": p
        for p in Permission.objects.filter(content_type__app_label__in=_VIEW_APPS).select_related("content_type")
    }
    return [by_name[name] for name in sorted(wanted) if name in by_name]


@transaction.atomic
def ensure_finance_group() -> Group:
    """Create or correct the finance group so it holds exactly the finance permissions."""
    group, _ = Group.objects.get_or_create(name=FINANCE_GROUP)
    group.permissions.set(finance_permissions())
    return group


def is_finance_user(user) -> bool:
    """May open the finance back office (statement pages, payment, voids on a provider's behalf):
    an active staff member of the finance group, or a superuser."""
    if not (user.is_authenticated and user.is_active and user.is_staff):
        return False
    return user.is_superuser or user.groups.filter(name=FINANCE_GROUP).exists()
