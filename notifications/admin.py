from django.contrib import admin

from notifications.models import OutboxEmail


@admin.register(OutboxEmail)
class OutboxEmailAdmin(admin.ModelAdmin):
    """What the service has told people, and what it still has to: read-only, written by the services."""

    list_display = ("subject", "to", "state", "due_at", "sent_at", "attempts")
    list_filter = ("state", "kind")
    search_fields = ("to", "subject", "reference")
    date_hierarchy = "created_at"
    readonly_fields = [field.name for field in OutboxEmail._meta.fields]
    fields = (
        "kind",
        "reference",
        "to",
        "subject",
        "body",
        "state",
        "created_at",
        "due_at",
        "next_attempt_at",
        "attempts",
        "last_error",
        "sent_at",
    )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
