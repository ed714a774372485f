"""Back office for contracts, statements and adjustments (design.md §3).

Money a statement has authorised is read-only here: status, the time it was marked as paid and
the amounts paid change only through the payment services. Adjustments can be added, changed or
removed only while their statement takes them (an output-fee statement that is not paid).
"""

from django import forms
from django.contrib import admin

from participants.admin import UuidSearchMixin
from statements.models import (
    Adjustment,
    ContractBand,
    EctContract,
    MentorContract,
    Statement,
    StatementStatus,
)

# ---------------------------------------------------------------------------------------
# Contracts


class ContractBandInline(admin.TabularInline):
    model = ContractBand
    extra = 0


@admin.register(EctContract)
class EctContractAdmin(admin.ModelAdmin):
    list_display = (
        "lead_provider",
        "cohort",
        "version",
        "recruitment_target",
        "set_up_fee",
        "uplift_amount",
        "monthly_service_fee",
        "vat_rate",
    )
    list_filter = ("lead_provider", "cohort")
    list_select_related = ("lead_provider", "cohort")
    search_fields = ("lead_provider__name", "=version")
    readonly_fields = ("created_at", "updated_at")
    inlines = (ContractBandInline,)


@admin.register(ContractBand)
class ContractBandAdmin(admin.ModelAdmin):
    list_display = (
        "contract",
        "min",
        "max",
        "per_participant",
        "output_payment_percentage",
        "service_fee_percentage",
    )
    list_filter = ("contract__lead_provider", "contract__cohort")
    list_select_related = ("contract__lead_provider",)
    search_fields = ("contract__lead_provider__name",)
    ordering = ("contract__lead_provider__name", "contract__cohort_id", "contract__version", "max")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "contract":  # a contract's name reads its provider
            kwargs["queryset"] = EctContract.objects.select_related("lead_provider")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(MentorContract)
class MentorContractAdmin(admin.ModelAdmin):
    list_display = ("lead_provider", "cohort", "version", "recruitment_target", "payment_per_participant")
    list_filter = ("lead_provider", "cohort")
    list_select_related = ("lead_provider", "cohort")
    search_fields = ("lead_provider__name", "=version")
    readonly_fields = ("created_at", "updated_at")


# ---------------------------------------------------------------------------------------
# Statements


class StatementStatusFilter(admin.SimpleListFilter):
    """Defaults to the statements still in play: open or payable, not the years of paid ones."""

    title = "status"
    parameter_name = "status"
    DEFAULT = "unpaid"
    ALL = "all"

    def lookups(self, request, model_admin):
        return (
            (self.DEFAULT, "Open or payable"),
            *StatementStatus.choices,
            (self.ALL, "All"),
        )

    def value(self):
        return super().value() or self.DEFAULT

    def choices(self, changelist):
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request, queryset):
        value = self.value()
        if value == self.ALL:
            return queryset
        if value == self.DEFAULT:
            return queryset.exclude(status=StatementStatus.PAID)
        return queryset.filter(status=value)


class AdjustmentInline(admin.TabularInline):
    """Editable only while the statement takes adjustments (obj is the statement)."""

    model = Adjustment
    fields = ("payment_type", "amount", "created_at")
    readonly_fields = ("created_at",)
    extra = 0

    def has_add_permission(self, request, obj=None):
        return obj is not None and obj.allows_adjustments and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return obj is not None and obj.allows_adjustments and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return obj is not None and obj.allows_adjustments and super().has_delete_permission(request, obj)


@admin.register(Statement)
class StatementAdmin(UuidSearchMixin, admin.ModelAdmin):
    list_display = (
        "lead_provider",
        "cohort",
        "statement_name",
        "deadline_date",
        "payment_date",
        "output_fee",
        "status",
    )
    list_filter = ("lead_provider", "cohort", StatementStatusFilter, "output_fee")
    list_select_related = ("lead_provider", "cohort")
    search_fields = ("lead_provider__name",)
    search_help_text = "Statement id or provider name."
    uuid_search_fields = ("id",)
    date_hierarchy = "payment_date"
    ordering = ("payment_date", "lead_provider__name")
    inlines = (AdjustmentInline,)

    # Authorisation, and what it paid, are the payment services' to write (decisions §15).
    money_fields = ("status", "marked_as_paid_at", "paid_amounts")
    # A statement's identity: declarations and API consumers hold on to it.
    identity_fields = ("id", "lead_provider", "cohort", "year", "month")

    @admin.display(description="Name", ordering="payment_date")
    def statement_name(self, obj):
        return obj.name

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return (*self.money_fields, "created_at", "updated_at")
        if obj.is_paid:
            return [field.name for field in obj._meta.fields]
        return (*self.identity_fields, *self.money_fields, "created_at", "updated_at")

    def has_delete_permission(self, request, obj=None):
        return not (obj is not None and obj.is_paid) and super().has_delete_permission(request, obj)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        # Contract names read their provider; load it with the choices rather than once per option.
        if db_field.name == "ect_contract":
            kwargs["queryset"] = EctContract.objects.select_related("lead_provider")
        elif db_field.name == "mentor_contract":
            kwargs["queryset"] = MentorContract.objects.select_related("lead_provider")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        if obj is not None:
            # Only the statement's own provider and cohort's contracts can price it.
            for name in ("ect_contract", "mentor_contract"):
                if name in form.base_fields:
                    field = form.base_fields[name]
                    field.queryset = field.queryset.filter(
                        lead_provider_id=obj.lead_provider_id, cohort_id=obj.cohort_id
                    )
        return form


# ---------------------------------------------------------------------------------------
# Adjustments


class AdjustmentForm(forms.ModelForm):
    class Meta:
        model = Adjustment
        fields = ("statement", "payment_type", "amount")

    def clean_statement(self):
        statement = self.cleaned_data["statement"]
        if statement is not None and not statement.allows_adjustments:
            raise forms.ValidationError("Adjustments can only be made on an output statement that is not paid.")
        return statement


@admin.register(Adjustment)
class AdjustmentAdmin(UuidSearchMixin, admin.ModelAdmin):
    form = AdjustmentForm
    list_display = ("payment_type", "amount", "statement", "created_at")
    list_filter = ("statement__lead_provider", "statement__cohort", "statement__status")
    list_select_related = ("statement__lead_provider",)
    search_fields = ("payment_type", "statement__lead_provider__name")
    search_help_text = "Statement id, payment type or provider name."
    uuid_search_fields = ("statement_id",)
    autocomplete_fields = ("statement",)
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    readonly_fields = ("created_at", "updated_at")

    def _statement_allows(self, obj) -> bool:
        return obj is None or obj.statement.allows_adjustments

    def has_change_permission(self, request, obj=None):
        return self._statement_allows(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._statement_allows(obj) and super().has_delete_permission(request, obj)
