"""Back office for participants, schools, providers and reference data (design.md §3).

Lists search by the ids people actually have; history (id changes, training status and schedule
changes) is read-only; API tokens can be listed and revoked, never read or edited.
"""

import uuid

from django.contrib import admin, messages
from django.db.models import Count, Q

from ecf import clock
from participants.models import (
    SCHOOL_CIP_ONLY,
    SCHOOL_ELIGIBLE,
    ApiToken,
    Cohort,
    DeliveryPartner,
    Enrolment,
    LeadProvider,
    Milestone,
    Participant,
    ParticipantIdChange,
    Partnership,
    ProviderRelationship,
    Schedule,
    ScheduleChange,
    School,
    SchoolCohort,
    TrainingPeriod,
    TrainingStatusChange,
)

# ---------------------------------------------------------------------------------------
# Shared building blocks (statements and declarations use them too)


class UuidSearchMixin:
    """A pasted UUID is looked up exactly in `uuid_search_fields`; any other term goes to `search_fields`.

    Staff mostly paste an id from a provider's email. Each UUID field is matched with its own
    indexed lookup instead of one OR across joins, which PostgreSQL cannot answer from indexes.
    """

    uuid_search_fields: tuple[str, ...] = ()

    def get_search_results(self, request, queryset, search_term):
        try:
            value = uuid.UUID(search_term.strip())
        except ValueError:
            return super().get_search_results(request, queryset, search_term)
        matching_pks = set()
        for field in self.uuid_search_fields:
            matching_pks.update(queryset.filter(**{field: value}).values_list("pk", flat=True))
        return queryset.filter(pk__in=matching_pks), False


class ReadOnlyAdminMixin:
    """History is written by services only: it can be listed and viewed, never added, edited or deleted."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyTabularInline(ReadOnlyAdminMixin, admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True


# ---------------------------------------------------------------------------------------
# Cohorts, schedules and milestones


@admin.register(Cohort)
class CohortAdmin(admin.ModelAdmin):
    list_display = (
        "start_year",
        "registration_start_date",
        "academic_year_start_date",
        "automatic_assignment_period_end_date",
        "payments_frozen",
        "payments_frozen_at",
        "mentor_funding",
        "detailed_evidence_types",
    )
    list_filter = ("mentor_funding", "detailed_evidence_types")
    search_fields = ("=start_year",)
    readonly_fields = ("created_at", "updated_at")

    @admin.display(boolean=True, description="Payments frozen")
    def payments_frozen(self, obj):
        return obj.payments_frozen


class MilestoneInline(admin.TabularInline):
    model = Milestone
    extra = 0


@admin.register(Schedule)
class ScheduleAdmin(UuidSearchMixin, admin.ModelAdmin):
    list_display = ("identifier", "name", "cohort", "identifier_alias", "provisional")
    list_filter = ("cohort", "provisional", "identifier")
    search_fields = ("identifier", "identifier_alias", "name")
    uuid_search_fields = ("id",)
    ordering = ("cohort_id", "identifier")
    readonly_fields = ("id", "created_at", "updated_at")
    inlines = (MilestoneInline,)


@admin.register(Milestone)
class MilestoneAdmin(admin.ModelAdmin):
    list_display = ("schedule", "declaration_type", "start_date", "milestone_date", "payment_date")
    list_filter = ("schedule__cohort", "schedule__identifier", "declaration_type")
    list_select_related = ("schedule",)
    search_fields = ("schedule__identifier", "schedule__name")
    ordering = ("schedule__cohort_id", "schedule__identifier", "start_date")


# ---------------------------------------------------------------------------------------
# Lead providers, tokens and delivery partners


@admin.register(LeadProvider)
class LeadProviderAdmin(UuidSearchMixin, admin.ModelAdmin):
    list_display = ("name", "id", "vat_chargeable", "active_tokens", "created_at")
    list_filter = ("vat_chargeable",)
    search_fields = ("name",)
    uuid_search_fields = ("id",)
    readonly_fields = ("id", "created_at", "updated_at")

    def get_queryset(self, request):
        active = Count("api_tokens", filter=Q(api_tokens__revoked_at__isnull=True))
        return super().get_queryset(request).annotate(active_token_count=active)

    @admin.display(description="Active API tokens", ordering="active_token_count")
    def active_tokens(self, obj):
        return obj.active_token_count


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are issued with `manage.py create_api_token`, which prints the secret once.

    The digest is never shown: with the server's key it is all an attacker needs to test guesses
    offline, and no member of staff needs it.
    """

    list_display = ("lead_provider", "label", "active", "created_at", "last_used_at", "revoked_at")
    list_filter = ("lead_provider", ("revoked_at", admin.EmptyFieldListFilter))
    list_select_related = ("lead_provider",)
    search_fields = ("lead_provider__name", "label")
    date_hierarchy = "created_at"
    fields = ("lead_provider", "label", "created_at", "last_used_at", "revoked_at")
    readonly_fields = fields
    actions = ("revoke_tokens",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        # The list needs "change" for the revoke action; a single token is only ever viewed.
        return obj is None and super().has_change_permission(request)

    def has_delete_permission(self, request, obj=None):
        return False  # revoking keeps the record of who had access and when

    @admin.display(boolean=True, description="Active", ordering="revoked_at")
    def active(self, obj):
        return obj.is_active

    @admin.action(description="Revoke selected tokens", permissions=["change"])
    def revoke_tokens(self, request, queryset):
        # participants.tokens revokes by provider or raw secret only; here staff pick rows, and the
        # same clock stamps them.
        revoked = queryset.filter(revoked_at__isnull=True).update(revoked_at=clock.now())
        self.message_user(request, f"Revoked {revoked} token(s).", messages.SUCCESS)


@admin.register(DeliveryPartner)
class DeliveryPartnerAdmin(UuidSearchMixin, admin.ModelAdmin):
    list_display = ("name", "id", "created_at")
    search_fields = ("name",)
    uuid_search_fields = ("id",)
    readonly_fields = ("id", "created_at", "updated_at")


@admin.register(ProviderRelationship)
class ProviderRelationshipAdmin(admin.ModelAdmin):
    list_display = ("lead_provider", "delivery_partner", "cohort", "created_at")
    list_filter = ("cohort", "lead_provider")
    list_select_related = ("lead_provider", "delivery_partner", "cohort")
    search_fields = ("lead_provider__name", "delivery_partner__name")
    autocomplete_fields = ("delivery_partner",)
    ordering = ("lead_provider__name", "cohort_id", "delivery_partner__name")
    readonly_fields = ("created_at", "updated_at")


# ---------------------------------------------------------------------------------------
# Schools and partnerships


class FundingEligibilityFilter(admin.SimpleListFilter):
    """The same rules as School.is_eligible_for_funding / is_cip_only (rules §1.3), in SQL."""

    title = "funding"
    parameter_name = "funding"

    def lookups(self, request, model_admin):
        return (("eligible", "Eligible for funding"), ("cip_only", "CIP only"), ("neither", "Neither"))

    def queryset(self, request, queryset):
        if self.value() == "eligible":
            return queryset.filter(SCHOOL_ELIGIBLE)
        if self.value() == "cip_only":
            return queryset.filter(SCHOOL_CIP_ONLY)
        if self.value() == "neither":
            return queryset.exclude(SCHOOL_ELIGIBLE).exclude(SCHOOL_CIP_ONLY)
        return queryset


class SchoolCohortInline(admin.TabularInline):
    model = SchoolCohort
    extra = 0


@admin.register(School)
class SchoolAdmin(UuidSearchMixin, admin.ModelAdmin):
    list_display = (
        "urn",
        "name",
        "school_status_code",
        "school_type_code",
        "administrative_district_code",
        "section_41_approved",
        "eligible_for_funding",
        "cip_only",
    )
    list_filter = (FundingEligibilityFilter, "school_status_code", "school_type_code", "section_41_approved")
    search_fields = ("=urn", "name")
    search_help_text = "URN, school name or school id."
    uuid_search_fields = ("id",)
    readonly_fields = ("id", "created_at", "updated_at")
    inlines = (SchoolCohortInline,)

    # Both columns read the row's own codes, so they cost no query.
    @admin.display(boolean=True, description="Eligible for funding")
    def eligible_for_funding(self, obj):
        return obj.is_eligible_for_funding

    @admin.display(boolean=True, description="CIP only")
    def cip_only(self, obj):
        return obj.is_cip_only


@admin.register(SchoolCohort)
class SchoolCohortAdmin(admin.ModelAdmin):
    list_display = ("school", "cohort", "induction_programme_choice", "pupil_premium_uplift", "sparsity_uplift")
    list_filter = ("cohort", "induction_programme_choice", "pupil_premium_uplift", "sparsity_uplift")
    list_select_related = ("school", "cohort")
    search_fields = ("=school__urn", "school__name")
    autocomplete_fields = ("school",)
    ordering = ("school__name", "cohort_id")
    readonly_fields = ("created_at", "updated_at")


@admin.register(Partnership)
class PartnershipAdmin(UuidSearchMixin, admin.ModelAdmin):
    list_display = (
        "school",
        "lead_provider",
        "delivery_partner",
        "cohort",
        "relationship",
        "pending",
        "challenge_reason",
        "created_at",
    )
    list_filter = ("cohort", "lead_provider", "relationship", "pending", "challenge_reason")
    list_select_related = ("school", "lead_provider", "delivery_partner", "cohort")
    search_fields = ("=school__urn", "school__name", "lead_provider__name", "delivery_partner__name")
    search_help_text = "URN, school name, provider or delivery partner name, or partnership id."
    uuid_search_fields = ("id", "school_id", "delivery_partner_id", "report_id")
    autocomplete_fields = ("school", "delivery_partner")
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    readonly_fields = ("id", "created_at", "updated_at")


# ---------------------------------------------------------------------------------------
# Participants, enrolments and their history


class EnrolmentInline(admin.TabularInline):
    """A person's training records; each is edited on its own page, with its history."""

    model = Enrolment
    fields = ("id", "kind", "schedule", "training_status", "eligibility_status", "is_active", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("schedule")


class ParticipantIdChangeInline(ReadOnlyTabularInline):
    model = ParticipantIdChange
    fields = ("from_participant_id", "to_participant_id", "created_at")
    readonly_fields = fields
    show_change_link = False


@admin.register(Participant)
class ParticipantAdmin(UuidSearchMixin, admin.ModelAdmin):
    list_display = ("full_name", "id", "trn", "email", "training_records", "created_at", "updated_at")
    search_fields = ("=trn", "email", "full_name")
    search_help_text = "Participant id (current or retired), training record id, declaration id, TRN, email or name."
    uuid_search_fields = ("id", "enrolments__id", "id_changes__from_participant_id", "declarations__id")
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    show_full_result_count = False  # the table is large; the unfiltered count is one more full scan
    readonly_fields = ("id", "created_at", "updated_at")
    inlines = (EnrolmentInline, ParticipantIdChangeInline)

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("enrolments")

    @admin.display(description="Training records")
    def training_records(self, obj):
        return ", ".join(enrolment.get_kind_display() for enrolment in obj.enrolments.all())


class TrainingPeriodInline(ReadOnlyTabularInline):
    model = TrainingPeriod
    fields = (
        "school",
        "cohort",
        "training_programme",
        "partnership",
        "schedule",
        "mentor",
        "start_date",
        "end_date",
        "training_status",
        "induction_status",
        "school_transfer",
    )
    readonly_fields = fields
    fk_name = "enrolment"

    def get_queryset(self, request):
        related = ("school", "cohort", "partnership__lead_provider", "partnership__school", "schedule", "mentor")
        return super().get_queryset(request).select_related(*related)


class TrainingStatusChangeInline(ReadOnlyTabularInline):
    model = TrainingStatusChange
    fields = ("training_status", "reason", "lead_provider", "created_at")
    readonly_fields = fields
    show_change_link = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("lead_provider")


class ScheduleChangeInline(ReadOnlyTabularInline):
    model = ScheduleChange
    fields = ("schedule", "created_at")
    readonly_fields = fields
    show_change_link = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("schedule")


@admin.register(Enrolment)
class EnrolmentAdmin(UuidSearchMixin, admin.ModelAdmin):
    list_display = (
        "id",
        "participant",
        "kind",
        "schedule",
        "training_status",
        "eligibility_status",
        "is_active",
        "created_at",
    )
    list_filter = ("kind", "training_status", "eligibility_status", "is_active", "schedule__cohort")
    list_select_related = ("participant", "schedule")
    search_fields = ("=participant__trn", "=validation_trn", "participant__email")
    search_help_text = "Training record id, participant id (current or retired), TRN or email."
    uuid_search_fields = ("id", "participant_id", "participant__id_changes__from_participant_id")
    autocomplete_fields = ("participant",)
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    show_full_result_count = False
    readonly_fields = ("id", "created_at", "updated_at")
    inlines = (TrainingPeriodInline, TrainingStatusChangeInline, ScheduleChangeInline)


@admin.register(TrainingPeriod)
class TrainingPeriodAdmin(UuidSearchMixin, admin.ModelAdmin):
    list_display = (
        "enrolment",
        "participant_name",
        "school",
        "cohort",
        "training_programme",
        "lead_provider",
        "start_date",
        "end_date",
        "training_status",
        "induction_status",
    )
    list_filter = ("cohort", "training_programme", "training_status", "induction_status", "school_transfer")
    list_select_related = ("enrolment__participant", "school", "cohort", "partnership__lead_provider")
    search_fields = ("=school__urn", "school__name", "=enrolment__participant__trn", "enrolment__participant__email")
    search_help_text = "Training record id, participant id, training period id, URN, school name, TRN or email."
    uuid_search_fields = ("id", "enrolment_id", "enrolment__participant_id")
    autocomplete_fields = ("enrolment", "school")
    raw_id_fields = ("partnership", "mentor")
    date_hierarchy = "start_date"
    ordering = ("-start_date",)
    show_full_result_count = False
    readonly_fields = ("id", "created_at", "updated_at")

    @admin.display(description="Participant", ordering="enrolment__participant__full_name")
    def participant_name(self, obj):
        return obj.enrolment.participant.full_name

    @admin.display(description="Lead provider", ordering="partnership__lead_provider__name")
    def lead_provider(self, obj):
        return obj.partnership.lead_provider if obj.partnership else None


@admin.register(TrainingStatusChange)
class TrainingStatusChangeAdmin(ReadOnlyAdminMixin, UuidSearchMixin, admin.ModelAdmin):
    list_display = ("enrolment", "participant_name", "training_status", "reason", "lead_provider", "created_at")
    list_filter = ("training_status", "lead_provider")
    list_select_related = ("enrolment__participant", "lead_provider")
    search_fields = ("=enrolment__participant__trn", "reason")
    uuid_search_fields = ("enrolment_id", "enrolment__participant_id")
    date_hierarchy = "created_at"
    ordering = ("-created_at",)

    @admin.display(description="Participant", ordering="enrolment__participant__full_name")
    def participant_name(self, obj):
        return obj.enrolment.participant.full_name


@admin.register(ScheduleChange)
class ScheduleChangeAdmin(ReadOnlyAdminMixin, UuidSearchMixin, admin.ModelAdmin):
    list_display = ("enrolment", "participant_name", "schedule", "created_at")
    list_filter = ("schedule__cohort", "schedule__identifier")
    list_select_related = ("enrolment__participant", "schedule")
    search_fields = ("=enrolment__participant__trn",)
    uuid_search_fields = ("enrolment_id", "enrolment__participant_id")
    date_hierarchy = "created_at"
    ordering = ("-created_at",)

    @admin.display(description="Participant", ordering="enrolment__participant__full_name")
    def participant_name(self, obj):
        return obj.enrolment.participant.full_name


@admin.register(ParticipantIdChange)
class ParticipantIdChangeAdmin(ReadOnlyAdminMixin, UuidSearchMixin, admin.ModelAdmin):
    list_display = ("from_participant_id", "to_participant_id", "participant", "created_at")
    list_select_related = ("participant",)
    search_fields = ("=participant__trn",)
    search_help_text = "Retired or current participant id, or TRN."
    uuid_search_fields = ("from_participant_id", "to_participant_id", "participant_id")
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
