"""Back office for declarations and their history (design.md §3).

Everything here is read-only: a declaration's state moves only through the services the API
uses (void, payment runs), which also write the state-change history shown here. A finance user
voids a declaration on a provider's behalf through the API's own service, with a reason, and
finds a person, with their training history and declarations, by any id they have.
"""

from functools import update_wrapper

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from declarations.back_office import VOIDABLE_STATES, find_participants, participant_records
from declarations.models import Declaration, DeclarationAttempt, DeclarationState, DeclarationStateChange
from declarations.services import declaration_void
from declarations.state_machine import Actor
from ecf import clock
from ecf.errors import InvalidAction
from participants.admin import ReadOnlyAdminMixin, ReadOnlyTabularInline, UuidSearchMixin
from statements.models import Statement
from statements.permissions import is_finance_user

S = DeclarationState
REASON_MAX_LENGTH = DeclarationStateChange._meta.get_field("reason").max_length


class VoidForm(forms.Form):
    reason = forms.CharField(
        label="Why is the declaration being voided?",
        help_text="Kept in the declaration's history, with your name.",
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        error_messages={
            "required": "Enter why the declaration is being voided",
            "max_length": f"The reason must be {REASON_MAX_LENGTH} characters or fewer",
        },
    )


class FinanceViews:
    """The finance user's declaration views: find a person, void on a provider's behalf."""

    def finance_urls(self) -> list:
        return [
            path(
                "participant-search/",
                self._finance_view(self.participant_search_view),
                name="declarations_declaration_participant_search",
            ),
            path(
                "<uuid:declaration_id>/void/",
                self._finance_view(self.void_view, "declarations.change_declaration"),
                name="declarations_declaration_void",
            ),
        ]

    def _finance_view(self, function, permission: str | None = None):
        def inner(request, *args, **kwargs):
            if not is_finance_user(request.user) or (permission and not request.user.has_perm(permission)):
                raise PermissionDenied
            return function(request, *args, **kwargs)

        return self.admin_site.admin_view(update_wrapper(inner, function))

    def _render(self, request, template: str, title: str, **context):
        return TemplateResponse(
            request,
            f"admin/declarations/declaration/{template}",
            {**self.admin_site.each_context(request), "opts": self.model._meta, "title": title, **context},
        )

    def participant_search_view(self, request):
        result = find_participants(request.GET.get("q", ""))
        return self._render(
            request,
            "participant_search.html",
            "Find a participant or declaration",
            result=result,
            records=participant_records(result.participants),
        )

    def void_view(self, request, declaration_id):
        declaration = get_object_or_404(
            Declaration.objects.select_related("participant", "lead_provider", "statement", "clawback_statement"),
            pk=declaration_id,
        )
        form = VoidForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                declaration = declaration_void(
                    declaration=declaration, actor=Actor.finance_user(request.user), reason=form.cleaned_data["reason"]
                )
            except InvalidAction as refusal:
                form.add_error(None, refusal.message)
            else:
                messages.success(request, self._void_outcome(declaration))
                return redirect(reverse("admin:declarations_declaration_change", args=[declaration.pk]))
        return self._render(
            request,
            "void.html",
            "Void a declaration on the provider's behalf",
            declaration=declaration,
            form=form,
            voidable=declaration.state in VOIDABLE_STATES,
            clawback_statement=self._next_statement(declaration) if declaration.state == S.PAID else None,
        )

    @staticmethod
    def _next_statement(declaration: Declaration) -> Statement | None:
        """Where a paid declaration's clawback would land (finance.md §2.3), to say so before voiding."""
        return Statement.objects.next_output_for(
            lead_provider_id=declaration.lead_provider_id, cohort_id=declaration.cohort_id, today=clock.today()
        )

    @staticmethod
    def _void_outcome(declaration: Declaration) -> str:
        if declaration.state == S.AWAITING_CLAWBACK:
            statement = Statement.objects.select_related("lead_provider").get(pk=declaration.clawback_statement_id)
            return (
                f"The declaration was paid, so it is now awaiting clawback on the {statement.name} statement "
                f"({statement.cohort_id} cohort)."
            )
        return "The declaration has been voided."


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
class DeclarationAdmin(FinanceViews, UuidSearchMixin, admin.ModelAdmin):
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

    def get_urls(self):
        return [*self.finance_urls(), *super().get_urls()]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "can_void": is_finance_user(request.user)}
        return super().change_view(request, object_id, form_url, extra_context)

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
