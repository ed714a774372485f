"""Back office for the API layer: the log of failed requests, read-only, found by request id."""

from django.contrib import admin

from api.models import ApiRequestLog
from participants.admin import ReadOnlyAdminMixin


@admin.register(ApiRequestLog)
class ApiRequestLogAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "response_status", "method", "path", "lead_provider", "request_id"]
    list_filter = ["response_status", "method", "lead_provider"]
    list_select_related = ["lead_provider"]
    # Providers quote the X-Request-Id of the failure; staff paste it, or a path or provider name.
    search_fields = ["=request_id", "path", "lead_provider__name"]
    date_hierarchy = "created_at"
    show_full_result_count = False  # the log grows large; counting all of it on every page is wasted work
    fields = [
        "created_at",
        "request_id",
        "lead_provider",
        "method",
        "path",
        "query_string",
        "request_body",
        "response_status",
        "response_body",
    ]
