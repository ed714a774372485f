"""Back office for participants, schools, providers and reference data (design.md §3).

Lists search by the ids people actually have; history (id changes, training status and schedule
changes) is read-only; API tokens can be listed and revoked, never read or edited.

What a provider sees of participants, training records, training periods and partnerships is
read-only here: every change it could see must move the sync timestamps in the same transaction
(`updated_since` you can trust, issue 5), which only the services do. Such changes are made on
small pages that call those services (merge, change email, leave or join a school, assign a mentor,
record a TRN check, challenge a partnership), linked from each record's page. Schools, school
cohorts, delivery partners and provider relationships keep their forms, but saving them goes
through the services too.
"""

import uuid
from functools import update_wrapper

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe

from ecf import clock
from ecf.errors import InvalidAction, ServiceValidationError
from participants import selectors, services
from participants.models import (
    SCHOOL_CIP_ONLY,
    SCHOOL_ELIGIBLE,
    ApiToken,
    ChallengeReason,
    Cohort,
    DeliveryPartner,
    EarlyRollOutMentor,
    EligibilityReason,
    EligibilityStatus,
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

READ_ONLY_HELP = (
    "Read-only: a provider sees this record, and every change it could see must move its sync timestamp "
    "(updated_since) in the same transaction. Change it only through the actions below, which do that."
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


class ServicePagesMixin:
    """Small pages that change a record only through a service, linked from the record's page.

    `service_pages` lists (url slug, view method name, title). Each view takes (request, obj) and
    usually ends in `service_page(...)`. The record itself is view-only (has_change_permission is
    False for an object) while the model's change permission, checked at list level, opens the pages.
    """

    service_pages: tuple[tuple[str, str, str], ...] = ()

    def get_urls(self):
        opts = self.model._meta
        pages = [
            path(
                f"<path:object_id>/{slug}/",
                self.admin_site.admin_view(self._service_view(getattr(self, method))),
                name=f"{opts.app_label}_{opts.model_name}_{slug.replace('-', '_')}",
            )
            for slug, method, _ in self.service_pages
        ]
        return [*pages, *super().get_urls()]

    def _service_view(self, view):
        def inner(request, object_id):
            if not self.has_change_permission(request):
                raise PermissionDenied
            obj = self.get_object(request, unquote(object_id))
            if obj is None:
                raise Http404
            return view(request, obj)

        return update_wrapper(inner, view)

    def has_change_permission(self, request, obj=None):
        # The list level keeps "change" (it opens the service pages); a record is only ever viewed.
        return obj is None and super().has_change_permission(request)

    def has_add_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Actions")
    def service_links(self, obj):
        opts = self.model._meta
        links = [
            (reverse(f"admin:{opts.app_label}_{opts.model_name}_{slug.replace('-', '_')}", args=[obj.pk]), title)
            for slug, _, title in self.service_pages
        ]
        return format_html_join(mark_safe("<br>"), '<a href="{}">{}</a>', links)

    def get_fieldsets(self, request, obj=None):
        """The action links only for staff who may use them."""
        fieldsets = super().get_fieldsets(request, obj)
        if self.has_change_permission(request):
            return fieldsets
        return [
            (name, {**options, "fields": [f for f in options["fields"] if f != "service_links"]})
            for name, options in fieldsets
        ]

    def service_page(self, request, obj, *, form, title, run, summary=(), explanation="", submit="Save"):
        """GET shows the form; a valid POST runs `run(cleaned_data)`, which returns the message to show.
        The service's refusals become the form's errors, in its words."""
        if run is not None and request.method == "POST" and form.is_bound and form.is_valid():
            try:
                message = run(form.cleaned_data)
            except ServiceValidationError as refusal:
                for name, text in refusal.errors:
                    form.add_error(name if name in form.fields else None, text)
            except InvalidAction as refusal:
                form.add_error(None, refusal.message)
            else:
                self.message_user(request, message, messages.SUCCESS)
                opts = self.model._meta
                return redirect(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": obj,
            "title": title,
            "form": form,
            "summary": summary,
            "explanation": explanation,
            "submit": submit,
        }
        return TemplateResponse(request, "admin/participants/service_form.html", context)


def _posted(request):
    return request.POST if request.method == "POST" else None


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
    list_display = ("name", "id", "contract_flavour", "vat_chargeable", "active_tokens", "created_at")
    list_filter = ("contract_flavour", "vat_chargeable")
    search_fields = ("name",)
    uuid_search_fields = ("id",)
    readonly_fields = ("id", "created_at", "updated_at")

    def get_queryset(self, request):
        active = Count("api_tokens", filter=Q(api_tokens__revoked_at__isnull=True))
        return super().get_queryset(request).annotate(active_token_count=active)

    @admin.display(description="Active API tokens", ordering="active_token_count")
    def active_tokens(self, obj):
        return obj.active_token_count

    def save_model(self, request, obj, form, change):
        if not change:
            obj.save()
            return
        # Declarations and transfers show the provider's name: the service brings them back into syncs.
        saved = services.lead_provider_update(lead_provider=obj, name=obj.name)
        if "vat_chargeable" in form.changed_data:  # money only, shown to no provider
            LeadProvider.objects.filter(pk=obj.pk).update(vat_chargeable=obj.vat_chargeable)
        if "contract_flavour" in form.changed_data:
            services.lead_provider_set_contract_flavour(lead_provider=obj, contract_flavour=obj.contract_flavour)
        obj.updated_at = saved.updated_at


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

    def save_model(self, request, obj, form, change):
        if not change:
            obj.save()  # a new delivery partner works with no provider yet: nobody sees it
            return
        saved = services.delivery_partner_update(delivery_partner=obj, name=obj.name)
        obj.name, obj.updated_at = saved.name, saved.updated_at


@admin.register(ProviderRelationship)
class ProviderRelationshipAdmin(admin.ModelAdmin):
    """Added and removed through the services, which touch the delivery partner (its `cohort` list
    changes for the provider); a relationship is never edited, only removed and added."""

    list_display = ("lead_provider", "delivery_partner", "cohort", "created_at")
    list_filter = ("cohort", "lead_provider")
    list_select_related = ("lead_provider", "delivery_partner", "cohort")
    search_fields = ("lead_provider__name", "delivery_partner__name")
    autocomplete_fields = ("delivery_partner",)
    ordering = ("lead_provider__name", "cohort_id", "delivery_partner__name")
    readonly_fields = ("created_at", "updated_at")

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request)

    def save_model(self, request, obj, form, change):
        saved = services.provider_relationship_create(
            lead_provider=obj.lead_provider, delivery_partner=obj.delivery_partner, cohort=obj.cohort
        )
        obj.pk, obj.created_at, obj.updated_at = saved.pk, saved.created_at, saved.updated_at

    def delete_model(self, request, obj):
        services.provider_relationship_delete(relationship=obj)

    def delete_queryset(self, request, queryset):
        for relationship in queryset:
            services.provider_relationship_delete(relationship=relationship)


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


class SchoolCohortInline(ReadOnlyTabularInline):
    """Each school cohort is changed on its own page, through the service (schools sync)."""

    model = SchoolCohort
    fields = ("cohort", "induction_programme_choice", "pupil_premium_uplift", "sparsity_uplift", "updated_at")
    readonly_fields = fields


class SchoolForm(forms.ModelForm):
    class Meta:
        model = School
        fields = (
            "urn",
            "name",
            "school_status_code",
            "school_type_code",
            "administrative_district_code",
            "section_41_approved",
            "induction_tutor_name",
            "induction_tutor_email",
            "primary_contact_email",
            "secondary_contact_email",
        )

    def clean_urn(self):
        urn = self.cleaned_data["urn"]
        if not (len(urn) == 6 and urn.isascii() and urn.isdigit()):
            raise forms.ValidationError(services.URN_INVALID)
        return urn


@admin.register(School)
class SchoolAdmin(UuidSearchMixin, admin.ModelAdmin):
    """Changes are saved through `school_update`, which moves the school's sync timestamp and, for a
    URN, that of everyone who trains or trained there."""

    form = SchoolForm
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

    def has_delete_permission(self, request, obj=None):
        return False  # training periods and partnerships keep pointing at it

    def save_model(self, request, obj, form, change):
        if not change:
            obj.save()
            return
        fields = {
            name: form.cleaned_data[name] for name in form.changed_data if name in services.SCHOOL_UPDATABLE_FIELDS
        }
        saved = services.school_update(school=obj, **fields)
        obj.updated_at = saved.updated_at


@admin.register(SchoolCohort)
class SchoolCohortAdmin(admin.ModelAdmin):
    """Saved through `school_cohort_update` (the schools sync reads the school cohort's timestamp)."""

    list_display = ("school", "cohort", "induction_programme_choice", "pupil_premium_uplift", "sparsity_uplift")
    list_filter = ("cohort", "induction_programme_choice", "pupil_premium_uplift", "sparsity_uplift")
    list_select_related = ("school", "cohort")
    search_fields = ("=school__urn", "school__name")
    autocomplete_fields = ("school",)
    ordering = ("school__name", "cohort_id")
    readonly_fields = ("created_at", "updated_at")

    def get_readonly_fields(self, request, obj=None):
        # A school cohort is one school's choice for one cohort: it is never moved to another.
        return (*self.readonly_fields, "school", "cohort") if obj is not None else self.readonly_fields

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        fields = {name: getattr(obj, name) for name in services.SCHOOL_COHORT_UPDATABLE_FIELDS}
        saved = services.school_cohort_update(school=obj.school, cohort=obj.cohort, **fields)
        obj.pk, obj.created_at, obj.updated_at = saved.pk, saved.created_at, saved.updated_at


class ChallengeForm(forms.Form):
    reason = forms.ChoiceField(label="Why does the school challenge it?", choices=ChallengeReason.choices)


@admin.register(Partnership)
class PartnershipAdmin(ServicePagesMixin, UuidSearchMixin, admin.ModelAdmin):
    """Partnerships are reported by providers through the API; here they are read, and challenged on
    a school's behalf (rules §7.4)."""

    service_pages = (("challenge", "challenge_view", "Challenge on the school's behalf"),)
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
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    fieldsets = (
        (
            None,
            {
                "description": READ_ONLY_HELP,
                "fields": (
                    "id",
                    "lead_provider",
                    "delivery_partner",
                    "school",
                    "cohort",
                    "relationship",
                    "pending",
                    "challenge_deadline",
                    "challenged_at",
                    "challenge_reason",
                    "report_id",
                    "created_at",
                    "updated_at",
                    "service_links",
                ),
            },
        ),
    )
    readonly_fields = ("id", "created_at", "updated_at", "service_links")

    def challenge_view(self, request, partnership):
        def run(data):
            services.partnership_challenge(partnership=partnership, reason=data["reason"])
            return "The partnership has been challenged: its participants are no longer shown to the provider."

        return self.service_page(
            request,
            partnership,
            form=ChallengeForm(_posted(request)),
            title="Challenge a partnership",
            run=run,
            summary=[
                ("School", partnership.school),
                ("Lead provider", partnership.lead_provider),
                ("Delivery partner", partnership.delivery_partner),
                ("Cohort", partnership.cohort_id),
            ],
            explanation="The provider will see the partnership as challenged and can no longer see or act on "
            "the participants it trains through it, until it confirms the partnership again.",
            submit="Challenge partnership",
        )


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


class MergeForm(forms.Form):
    target_id = forms.UUIDField(
        label="Participant id to keep",
        help_text="The record this one is merged into. This record's id is retired: it keeps resolving to "
        "the one kept, which providers see in participant_id_changes.",
    )
    confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, participant: Participant, **kwargs):
        super().__init__(*args, **kwargs)
        self.participant = participant

    def clean_target_id(self):
        target = Participant.objects.filter(pk=self.cleaned_data["target_id"]).first()
        if target is None:
            raise forms.ValidationError("No participant has this id.")
        if target.pk == self.participant.pk:
            raise forms.ValidationError("A participant cannot be merged into itself.")
        self.cleaned_data["target"] = target
        return target.pk


class EmailForm(forms.Form):
    email = forms.EmailField(label="New email address")


class DetailsForm(forms.Form):
    full_name = forms.CharField(label="Full name", max_length=255)
    trn = forms.CharField(label="TRN", max_length=7, required=False, help_text="7 digits; empty if unknown.")


def _person_summary(person: Participant, prefix: str = "") -> list[tuple[str, object]]:
    records = ", ".join(f"{e.get_kind_display()} {e.pk}" for e in person.enrolments.order_by("created_at")) or "none"
    return [
        (f"{prefix}Name", person.full_name),
        (f"{prefix}Participant id", person.pk),
        (f"{prefix}TRN", person.trn or "-"),
        (f"{prefix}Email", person.email),
        (f"{prefix}Training records", records),
        (f"{prefix}Declarations", person.declarations.count()),
    ]


@admin.register(Participant)
class ParticipantAdmin(ServicePagesMixin, UuidSearchMixin, admin.ModelAdmin):
    service_pages = (
        ("merge", "merge_view", "Merge into another participant"),
        ("email", "email_view", "Change email address"),
        ("details", "details_view", "Correct name or TRN"),
    )
    list_display = ("full_name", "id", "trn", "email", "training_records", "created_at", "updated_at")
    search_fields = ("=trn", "email", "full_name")
    search_help_text = "Participant id (current or retired), training record id, declaration id, TRN, email or name."
    uuid_search_fields = ("id", "enrolments__id", "id_changes__from_participant_id", "declarations__id")
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    show_full_result_count = False  # the table is large; the unfiltered count is one more full scan
    fieldsets = (
        (
            None,
            {
                "description": READ_ONLY_HELP,
                "fields": ("id", "full_name", "trn", "email", "created_at", "updated_at", "service_links"),
            },
        ),
    )
    readonly_fields = ("id", "created_at", "updated_at", "service_links")
    inlines = (EnrolmentInline, ParticipantIdChangeInline)

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("enrolments")

    @admin.display(description="Training records")
    def training_records(self, obj):
        return ", ".join(enrolment.get_kind_display() for enrolment in obj.enrolments.all())

    def merge_view(self, request, participant):
        """Rules §1.4: two steps, so staff see both records before anything moves."""
        form = MergeForm(_posted(request), participant=participant)
        summary = _person_summary(participant, "Retired: ")
        if not (form.is_bound and form.is_valid()):
            return self.service_page(
                request,
                participant,
                form=form,
                title="Merge into another participant",
                run=None,
                summary=summary,
                submit="Continue",
            )
        target = form.cleaned_data["target"]
        if not form.cleaned_data["confirmed"]:
            confirm = MergeForm(initial={"target_id": target.pk, "confirmed": True}, participant=participant)
            confirm.fields["target_id"].widget = forms.HiddenInput()
            return self.service_page(
                request,
                participant,
                form=confirm,
                title="Confirm the merge",
                run=None,
                summary=[*summary, *_person_summary(target, "Kept: ")],
                explanation="This record's training records, declarations and id history move to the kept "
                "record, and this record is deleted. Providers see the kept record, with the retired id in "
                "participant_id_changes. A merge cannot be undone.",
                submit="Merge",
            )

        def run(data):
            services.participant_merge(from_participant=participant, to_participant=target)
            return f"{participant.full_name} ({participant.pk}) was merged into {target.full_name}."

        response = self.service_page(
            request, participant, form=form, title="Confirm the merge", run=run, summary=summary, submit="Merge"
        )
        if response.status_code == 302:  # the retired record is gone: show the one kept
            return redirect(reverse("admin:participants_participant_change", args=[target.pk]))
        return response

    def details_view(self, request, participant):
        def run(data):
            services.participant_correct_details(participant=participant, full_name=data["full_name"], trn=data["trn"])
            return "The details have been corrected."

        return self.service_page(
            request,
            participant,
            form=DetailsForm(_posted(request), initial={"full_name": participant.full_name, "trn": participant.trn}),
            title="Correct name or TRN",
            run=run,
            summary=[("Participant id", participant.pk)],
        )

    def email_view(self, request, participant):
        def run(data):
            services.participant_change_email(participant=participant, email=data["email"])
            return "The email address has been changed."

        return self.service_page(
            request,
            participant,
            form=EmailForm(_posted(request), initial={"email": participant.email}),
            title="Change email address",
            run=run,
            summary=[("Name", participant.full_name), ("Current email", participant.email)],
            explanation="Training records that show this address to their provider show the new one.",
        )


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


class LeaveSchoolForm(forms.Form):
    end_date = forms.DateField(label="Leaving date", help_text="YYYY-MM-DD, as the school reported it.")


class JoinSchoolForm(forms.Form):
    school_urn = forms.CharField(label="URN of the new school", max_length=6)
    start_date = forms.DateField(label="Joining date", help_text="YYYY-MM-DD, as the new school reported it.")
    lead_provider = forms.ModelChoiceField(
        LeadProvider.objects.all(),
        required=False,
        empty_label="Keep the current lead provider and delivery partner",
        help_text="Another provider must have a confirmed partnership with the new school for the cohort.",
    )
    mentor_id = forms.UUIDField(label="Mentor's training record id", required=False)

    def clean_school_urn(self):
        school = School.objects.filter(urn=self.cleaned_data["school_urn"].strip()).first()
        if school is None:
            raise forms.ValidationError("No school has this URN.")
        self.cleaned_data["school"] = school
        return school.urn

    def clean_mentor_id(self):
        return _mentor_enrolment(self.cleaned_data["mentor_id"])


class MentorForm(forms.Form):
    mentor_id = forms.UUIDField(
        label="Mentor's training record id", required=False, help_text="Leave empty to remove the mentor."
    )

    def clean_mentor_id(self):
        return _mentor_enrolment(self.cleaned_data["mentor_id"])


class EligibilityForm(forms.Form):
    status = forms.ChoiceField(label="Eligibility status", choices=EligibilityStatus.choices)
    reason = forms.ChoiceField(label="Reason", choices=EligibilityReason.choices, initial=EligibilityReason.NONE)


def _mentor_enrolment(training_record_id) -> Enrolment | None:
    if training_record_id is None:
        return None
    mentor = Enrolment.objects.filter(pk=training_record_id).first()
    if mentor is None:
        raise forms.ValidationError("No training record has this id.")
    return mentor


@admin.register(Enrolment)
class EnrolmentAdmin(ServicePagesMixin, UuidSearchMixin, admin.ModelAdmin):
    service_pages = (
        ("leave-school", "leave_school_view", "Record leaving the school"),
        ("join-school", "join_school_view", "Record joining a new school"),
        ("mentor", "mentor_view", "Assign a mentor"),
        ("email", "email_view", "Change the preferred email"),
        ("eligibility", "eligibility_view", "Record the TRN check (funding eligibility)"),
    )
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
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    show_full_result_count = False
    fieldsets = (
        (
            None,
            {
                "description": READ_ONLY_HELP,
                "fields": (
                    "id",
                    "participant",
                    "kind",
                    "schedule",
                    "is_active",
                    "training_status",
                    "eligibility_status",
                    "eligibility_reason",
                    "validation_trn",
                    "pupil_premium_uplift",
                    "sparsity_uplift",
                    "induction_start_date",
                    "induction_completion_date",
                    "mentor_completion_date",
                    "mentor_completion_reason",
                    "cohort_changed_after_payments_frozen",
                    "created_at",
                    "updated_at",
                    "service_links",
                ),
            },
        ),
    )
    readonly_fields = ("id", "created_at", "updated_at", "service_links")
    inlines = (TrainingPeriodInline, TrainingStatusChangeInline, ScheduleChangeInline)

    def _summary(self, enrolment: Enrolment) -> list[tuple[str, object]]:
        current = (
            TrainingPeriod.objects.filter(enrolment=enrolment)
            .select_related("school", "partnership__lead_provider", "mentor__participant")
            .order_by(*selectors.LATEST_FIRST)
            .first()
        )
        rows = [("Participant", enrolment.participant), ("Training record", enrolment)]
        if current is not None:
            provider = current.partnership.lead_provider if current.partnership else "none (school-led)"
            rows += [
                ("School now", current.school),
                ("Lead provider now", provider),
                ("Since", f"{current.start_date:%Y-%m-%d}"),
                ("Leaving on", f"{current.end_date:%Y-%m-%d}" if current.end_date else "-"),
                ("Mentor now", current.mentor.participant if current.mentor else "-"),
                ("Preferred email", current.email or enrolment.participant.email),
            ]
        return rows

    def leave_school_view(self, request, enrolment):
        def run(data):
            services.participant_leave_school(enrolment=enrolment, end_date=data["end_date"])
            return f"Recorded: leaving on {data['end_date']:%Y-%m-%d}."

        return self.service_page(
            request,
            enrolment,
            form=LeaveSchoolForm(_posted(request)),
            title="Record leaving the school",
            run=run,
            summary=self._summary(enrolment),
            explanation="The provider sees the participant as leaving, then left after that date, and a transfer "
            "with no joining school until the new school registers them.",
        )

    def join_school_view(self, request, enrolment):
        def run(data):
            period = services.participant_join_school(
                enrolment=enrolment,
                school=data["school"],
                start_date=data["start_date"],
                lead_provider=data["lead_provider"],
                mentor=data["mentor_id"],
            )
            provider = period.partnership.lead_provider.name
            return f"Recorded: joining {data['school']} on {data['start_date']:%Y-%m-%d}, with {provider}."

        return self.service_page(
            request,
            enrolment,
            form=JoinSchoolForm(_posted(request)),
            title="Record joining a new school",
            run=run,
            summary=self._summary(enrolment),
            explanation="If the old school has not reported the leaver, the participant leaves it on the joining "
            "date. Keeping the provider at a school it has no partnership with makes a relationship partnership "
            "so the provider keeps seeing the participant.",
        )

    def mentor_view(self, request, enrolment):
        def run(data):
            services.training_period_assign_mentor(enrolment=enrolment, mentor=data["mentor_id"])
            return "The mentor has been recorded." if data["mentor_id"] else "The mentor has been removed."

        return self.service_page(
            request,
            enrolment,
            form=MentorForm(_posted(request)),
            title="Assign a mentor",
            run=run,
            summary=self._summary(enrolment),
            explanation="Only an early career teacher has a mentor; the mentor is given by their mentor training "
            "record id.",
        )

    def email_view(self, request, enrolment):
        def run(data):
            services.training_period_change_email(enrolment=enrolment, email=data["email"])
            return "The preferred email has been changed."

        return self.service_page(
            request,
            enrolment,
            form=EmailForm(_posted(request)),
            title="Change the preferred email",
            run=run,
            summary=self._summary(enrolment),
            explanation="The email the provider is shown for this training record only.",
        )

    def eligibility_view(self, request, enrolment):
        # declarations imports participants: import on use, never at module level.
        from declarations.services import enrolment_set_eligibility

        def run(data):
            moved = enrolment_set_eligibility(enrolment=enrolment, status=data["status"], reason=data["reason"])
            return f"Eligibility recorded; {len(moved)} submitted declaration(s) became eligible for payment."

        return self.service_page(
            request,
            enrolment,
            form=EligibilityForm(
                _posted(request),
                initial={"status": enrolment.eligibility_status, "reason": enrolment.eligibility_reason},
            ),
            title="Record the TRN check",
            run=run,
            summary=[
                *self._summary(enrolment),
                ("Eligibility now", enrolment.get_eligibility_status_display() or "not checked"),
            ],
            explanation="When the participant becomes eligible, their submitted declarations become eligible and "
            "go on their provider's next output statement.",
        )


@admin.register(TrainingPeriod)
class TrainingPeriodAdmin(ReadOnlyAdminMixin, UuidSearchMixin, admin.ModelAdmin):
    """Written only by the services (actions, transfers, mentors, emails): see the training record's
    page for the changes staff can make."""

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


@admin.register(EarlyRollOutMentor)
class EarlyRollOutMentorAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Reference data, replaced whole by `manage.py load_early_roll_out_mentors FILE`."""

    list_display = ("trn", "loaded_at")
    search_fields = ("=trn",)
