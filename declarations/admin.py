"""Back office for declarations and their history (design.md §3).

Everything here is read-only: a declaration's state moves only through the services the API
uses (void, payment runs), which also write the state-change history shown here.
"""

from django.contrib import admin

from declarations.models import Declaration, DeclarationAttempt, DeclarationStateChange
from participants.admin import ReadOnlyAdminMixin, ReadOnlyTabularInline, UuidSearchMixin


class DeclarationStateChangeInline(ReadOnlyTabularInline):
    model = DeclarationStateChange
    fields = ("created_at", "from_state", "state", "reason", "actor_kind", "actor_lead_provider", "actor_user")
    readonly_fields = fields
    show_change_link = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor_lead_provider", "actor_user")


class DeclarationAttemptInline(ReadOnlyTabularInline):
    model = DeclarationAttempt
    fields = ("created_at", "lead_provider", "declaration_type", "declaration_date", "evidence_held", "errors")
    readonly_fields = fields
    show_change_link = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("lead_provider")


@admin.register(Declaration)
class DeclarationAdmin(UuidSearchMixin, admin.ModelAdmin):
    list_display = (
        "id",
        "participant",
        "declaration_type",
        "course_identifier",
        "state",
        "lead_provider",
        "cohort",
        "declaration_date",
        "statement",
    )
    list_filter = ("state", "declaration_type", "course_identifier", "cohort", "lead_provider")
    list_select_related = ("participant", "lead_provider", "cohort", "statement__lead_provider")
    search_fields = ("=participant__trn", "participant__email")
    search_help_text = (
        "Declaration id, participant id (current or retired), training record id, statement id, TRN or email."
    )
    uuid_search_fields = (
        "id",
        "participant_id",
        "participant__id_changes__from_participant_id",
        "enrolment_id",
        "statement_id",
        "clawback_statement_id",
    )
    date_hierarchy = "declaration_date"
    ordering = ("-created_at",)
    show_full_result_count = False  # the table is large; the unfiltered count is one more full scan
    fields = (
        "id",
        "participant",
        "enrolment",
        "lead_provider",
        "cohort",
        "course_identifier",
        "declaration_type",
        "declaration_date",
        "evidence_held",
        "state",
        "ineligibility_reason",
        "statement",
        "clawback_statement",
        "delivery_partner",
        "mentor",
        "pupil_premium_uplift",
        "sparsity_uplift",
        "superseded_by",
        "voided_by_user",
        "voided_at",
        "created_at",
        "updated_at",
    )
    readonly_fields = fields
    inlines = (DeclarationStateChangeInline, DeclarationAttemptInline)

    def has_add_permission(self, request):
        return False  # declarations arrive through the API

    def has_change_permission(self, request, obj=None):
        # A declaration is only ever viewed; "change" at list level is what finance actions
        # (void on a provider's behalf) require.
        return obj is None and super().has_change_permission(request)

    def has_delete_permission(self, request, obj=None):
        return False  # money history: a declaration is voided, never deleted


@admin.register(DeclarationStateChange)
class DeclarationStateChangeAdmin(ReadOnlyAdminMixin, UuidSearchMixin, admin.ModelAdmin):
    list_display = ("declaration", "from_state", "state", "reason", "actor_kind", "actor", "created_at")
    list_filter = ("state", "actor_kind", "actor_lead_provider")
    list_select_related = ("declaration", "actor_lead_provider", "actor_user")
    search_fields = ("reason",)
    search_help_text = "Declaration id or participant id, or words of the reason."
    uuid_search_fields = ("declaration_id", "declaration__participant_id")
    date_hierarchy = "created_at"
    ordering = ("-created_at", "-id")
    show_full_result_count = False

    @admin.display(description="Actor")
    def actor(self, obj):
        return obj.actor_lead_provider or obj.actor_user or obj.get_actor_kind_display()


class AttemptOutcomeFilter(admin.SimpleListFilter):
    title = "outcome"
    parameter_name = "outcome"

    def lookups(self, request, model_admin):
        return (("accepted", "Accepted"), ("refused", "Refused"))

    def queryset(self, request, queryset):
        if self.value() == "accepted":
            return queryset.filter(errors__isnull=True)
        if self.value() == "refused":
            return queryset.filter(errors__isnull=False)
        return queryset


@admin.register(DeclarationAttempt)
class DeclarationAttemptAdmin(ReadOnlyAdminMixin, UuidSearchMixin, admin.ModelAdmin):
    list_display = (
        "created_at",
        "lead_provider",
        "participant",
        "course_identifier",
        "declaration_type",
        "declaration_date",
        "accepted",
        "declaration",
    )
    list_filter = (AttemptOutcomeFilter, "lead_provider", "course_identifier", "declaration_type")
    list_select_related = ("lead_provider", "participant", "declaration")
    search_fields = ("=participant__trn",)
    search_help_text = "Participant id, declaration id or TRN."
    uuid_search_fields = ("participant_id", "declaration_id")
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    show_full_result_count = False

    @admin.display(boolean=True, description="Accepted")
    def accepted(self, obj):
        return not obj.errors
