from django.contrib import admin

from jobs.models import JobRun


@admin.register(JobRun)
class JobRunAdmin(admin.ModelAdmin):
    """The runner's history, for support staff: read-only (only `run_jobs` writes it)."""

    list_display = ("name", "started_at", "finished_at", "succeeded", "summary")
    list_filter = ("name", "succeeded")
    date_hierarchy = "started_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
