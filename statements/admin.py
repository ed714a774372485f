"""Back office for contracts, statements and adjustments (design.md §3), and the finance
statement page (finance.md §4): the whole calculation of one statement, its adjustments,
authorisation for payment, voided declarations and assurance report.

Money a statement has authorised is read-only here: status, the time it was marked as paid and
the amounts paid change only through the payment services. Adjustments can be added, changed or
removed only while their statement takes them (an output-fee statement that is not paid).

The statement page's views are the finance group's (statements.permissions.is_finance_user).
Like the API, the admin is a presentation layer on top of the three domain apps: it calls the
payment services of `declarations` and reads its back-office selectors.
"""

import calendar
from functools import update_wrapper

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from declarations.back_office import (
    VOIDED_TITLES,
    assurance_csv_lines,
    assurance_filename,
    statement_clawback_lines,
    statement_voided_declarations,
)
from declarations.payments import authorisation_refusals, statement_authorise_payment
from ecf import clock
from ecf.errors import InvalidAction, ServiceValidationError
from ecf.spreadsheet import spreadsheet_csv_lines
from participants.admin import UuidSearchMixin
from participants.models import Cohort, CourseIdentifier, LeadProvider
from statements import services
from statements.calculation import SPLIT, format_money, statement_figures
from statements.models import (
    Adjustment,
    ContractBand,
    EctContract,
    MentorContract,
    Statement,
    StatementStatus,
)
from statements.permissions import is_finance_user
from statements.selectors import earlier_statements_shaping_bands
from statements.statement_page import clawback_line_rows, page_context, statement_csv_filename, statement_csv_rows

# ---------------------------------------------------------------------------------------
# Money is written by the finance group only (issue 12.6)


class FinanceWritesOnlyMixin:
    """Adding, changing or deleting a money record needs the finance group (or a superuser) on top
    of the model permission: a permission given to a support user in passing never moves money."""

    def has_add_permission(self, request, *args, **kwargs):
        return is_finance_user(request.user) and super().has_add_permission(request, *args, **kwargs)

    def has_change_permission(self, request, obj=None):
        return is_finance_user(request.user) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return is_finance_user(request.user) and super().has_delete_permission(request, obj)


# ---------------------------------------------------------------------------------------
# Contracts


class ContractBandInline(FinanceWritesOnlyMixin, admin.TabularInline):
    model = ContractBand
    extra = 0


@admin.register(EctContract)
class EctContractAdmin(FinanceWritesOnlyMixin, admin.ModelAdmin):
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
class ContractBandAdmin(FinanceWritesOnlyMixin, admin.ModelAdmin):
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
class MentorContractAdmin(FinanceWritesOnlyMixin, admin.ModelAdmin):
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


class ServiceCheckedAdjustmentForm(forms.ModelForm):
    """Name and amount checked by the adjustments service: the rules and words of the statement page."""

    payment_type = forms.CharField(required=False, max_length=1000)
    amount = forms.CharField(required=False, max_length=40)

    class Meta:
        model = Adjustment
        fields = ("payment_type", "amount")

    def clean(self):
        cleaned = super().clean()
        try:
            cleaned["payment_type"], cleaned["amount"] = services._validated(
                cleaned.get("payment_type"), cleaned.get("amount")
            )
        except ServiceValidationError as error:
            for name, message in error.errors:
                self.add_error(name if name in self.fields else None, message)
        return cleaned


def adjustment_save(*, statement: Statement, adjustment: Adjustment) -> Adjustment:
    """Write an adjustment from an admin form through the services (they lock the statement, so an
    adjustment cannot slip in while the statement is being authorised)."""
    if adjustment.pk is None:
        return services.adjustment_create(
            statement=statement, payment_type=adjustment.payment_type, amount=adjustment.amount
        )
    return services.adjustment_update(
        adjustment=adjustment, payment_type=adjustment.payment_type, amount=adjustment.amount
    )


class AdjustmentInline(FinanceWritesOnlyMixin, admin.TabularInline):
    """Editable only while the statement takes adjustments (obj is the statement)."""

    model = Adjustment
    form = ServiceCheckedAdjustmentForm
    fields = ("payment_type", "amount", "created_at")
    readonly_fields = ("created_at",)
    extra = 0

    def has_add_permission(self, request, obj=None):
        return obj is not None and obj.allows_adjustments and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return obj is not None and obj.allows_adjustments and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return obj is not None and obj.allows_adjustments and super().has_delete_permission(request, obj)


# ---------------------------------------------------------------------------------------
# The finance statement page (finance.md §4)

TEMPLATES = "admin/statements/statement/"
CONFIRM_CHECKS_ERROR = (
    "Confirm all necessary assurance checks have been done before authorising this statement for payment"
)
AUTHORISED_MESSAGE = "Statement authorisation processed successfully"
ANOTHER_ERROR = "Select yes if you need to add another adjustment"
NO_STATEMENT_ERROR = "There is no statement for that lead provider, cohort and month"
VOIDED_COURSES = {"ect": CourseIdentifier.ECF_INDUCTION.value, "mentor": CourseIdentifier.ECF_MENTOR.value}


def _month_key(year: int, month: int) -> str:
    return f"{year}-{month:02d}"


class StatementChoiceForm(forms.Form):
    """Provider, cohort and statement month (finance.md §4.1); only the provider is required."""

    lead_provider = forms.ModelChoiceField(
        LeadProvider.objects.order_by("name"), label="Lead provider", empty_label="Choose a lead provider"
    )
    cohort = forms.ModelChoiceField(
        Cohort.objects.order_by("start_year"), label="Cohort", required=False, empty_label="Any cohort"
    )
    statement = forms.ChoiceField(label="Statement", required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        months = Statement.objects.order_by("year", "month").values_list("year", "month").distinct()
        self.fields["statement"].choices = [("", "Current statement")] + [
            (_month_key(year, month), f"{calendar.month_name[month]} {year}") for year, month in months
        ]

    def chosen_statement(self) -> Statement | None:
        """The month asked for, or the provider's current statement: the earliest deadline still to
        come, else its latest one (finance.md §4.1). Output-fee statements first when a month has both."""
        data = self.cleaned_data
        statements = Statement.objects.filter(lead_provider=data["lead_provider"])
        if data.get("cohort"):
            statements = statements.filter(cohort=data["cohort"])
        if data.get("statement"):
            year, month = (int(part) for part in data["statement"].split("-"))
            return statements.filter(year=year, month=month).order_by("-output_fee", "-cohort_id").first()
        upcoming = statements.filter(deadline_date__gte=clock.today()).order_by("deadline_date", "-output_fee")
        return upcoming.first() or statements.order_by("-payment_date", "-output_fee").first()


class AuthoriseForm(forms.Form):
    checks_done = forms.BooleanField(
        label="Yes, I'm ready to authorise this for payment", error_messages={"required": CONFIRM_CHECKS_ERROR}
    )


class AdjustmentAnswersForm(forms.Form):
    """The two answers of an adjustment; the service validates them (finance.md §1.5, §4.7)."""

    payment_type = forms.CharField(label="What is the name of the adjustment?", required=False, max_length=1000)
    amount = forms.CharField(
        label="How much is the payment?",
        required=False,
        max_length=40,
        help_text="In pounds and pence. Use a minus sign for money taken back, for example -150.00.",
    )

    def service_errors(self, error: ServiceValidationError) -> list[str]:
        """Show each of the service's errors on its field; the others (the statement's) are returned."""
        others = []
        for name, message in error.errors:
            if name in self.fields:
                self.add_error(name, message)
            else:
                others.append(message)
        return others


class AnotherAdjustmentForm(forms.Form):
    another = forms.ChoiceField(
        label="Do you need to add another adjustment?",
        choices=(("yes", "Yes"), ("no", "No")),
        widget=forms.RadioSelect,
        error_messages={"required": ANOTHER_ERROR},
    )


class StatementPageViews:
    """The finance statement page and its flows, as views of the Statement admin."""

    def finance_urls(self) -> list:
        def view(function, permission=None):
            return self._finance_view(function, permission)

        def name(suffix: str) -> str:
            return f"statements_statement_{suffix}"

        page = "<uuid:statement_id>/statement/"
        adjustment = page + "adjustments/<int:adjustment_id>/"
        return [
            path("choose/", view(self.choose_view), name=name("choose")),
            path(page, view(self.statement_view), name=name("page")),
            path(page + "voided/", view(self.voided_view), name=name("voided")),
            path(page + "declarations.csv", view(self.assurance_csv_view), name=name("assurance_csv")),
            path(page + "statement.csv", view(self.statement_csv_view), name=name("statement_csv")),
            path(page + "print/", view(self.print_view), name=name("print")),
            path(page + "authorise/", view(self.authorise_view, "statements.change_statement"), name=name("authorise")),
            path(page + "adjustments/", view(self.adjustments_view), name=name("adjustments")),
            path(
                page + "adjustments/add/",
                view(self.adjustment_add_view, "statements.add_adjustment"),
                name=name("adjustment_add"),
            ),
            path(
                page + "adjustments/another/",
                view(self.adjustment_another_view, "statements.add_adjustment"),
                name=name("adjustment_another"),
            ),
            path(
                adjustment + "change/",
                view(self.adjustment_change_view, "statements.change_adjustment"),
                name=name("adjustment_change"),
            ),
            path(
                adjustment + "remove/",
                view(self.adjustment_remove_view, "statements.delete_adjustment"),
                name=name("adjustment_remove"),
            ),
        ]

    def _finance_view(self, function, permission: str | None):
        """The admin's login and staff checks, then: finance users only (and the named permission)."""

        def inner(request, *args, **kwargs):
            if not is_finance_user(request.user) or (permission and not request.user.has_perm(permission)):
                raise PermissionDenied
            return function(request, *args, **kwargs)

        return self.admin_site.admin_view(update_wrapper(inner, function))

    # --- helpers -------------------------------------------------------------------------

    @staticmethod
    def _statement(statement_id) -> Statement:
        return get_object_or_404(Statement.objects.select_related("lead_provider", "cohort"), pk=statement_id)

    @staticmethod
    def page_url(statement: Statement) -> str:
        return reverse("admin:statements_statement_page", args=[statement.pk])

    def _render(self, request, template: str, statement: Statement | None, title: str, **context):
        return TemplateResponse(
            request,
            TEMPLATES + template,
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": title,
                "statement": statement,
                "statement_url": self.page_url(statement) if statement else None,
                **context,
            },
        )

    @staticmethod
    def _editable(statement: Statement) -> bool:
        return statement.allows_adjustments and statement.marked_as_paid_at is None

    def _refuse_unless_editable(self, request, statement: Statement):
        """None when the statement takes adjustments, else a redirect to its page with the reason."""
        if self._editable(statement):
            return None
        message = services.PAID_MESSAGE if statement.output_fee else services.NOT_OUTPUT_MESSAGE
        messages.error(request, message)
        return redirect(self.page_url(statement))

    # --- choosing and showing a statement -----------------------------------------------------

    def choose_view(self, request):
        form = StatementChoiceForm(request.GET or None)
        if form.is_bound and form.is_valid():
            statement = form.chosen_statement()
            if statement is not None:
                return redirect(self.page_url(statement))
            form.add_error(None, NO_STATEMENT_ERROR)
        return self._render(request, "finance_choose.html", None, "View financial statements", form=form)

    def statement_view(self, request, statement_id):
        statement = self._statement(statement_id)
        figures = statement_figures(statement)
        refusals = []
        if statement.output_fee and statement.marked_as_paid_at is None:
            refusals = authorisation_refusals(statement)
        chooser = StatementChoiceForm(
            initial={
                "lead_provider": statement.lead_provider_id,
                "cohort": statement.cohort_id,
                "statement": _month_key(statement.year, statement.month),
            }
        )
        return self._render(
            request,
            "finance_statement.html",
            statement,
            statement.name,
            chooser=chooser,
            refusals=refusals,
            can_authorise=statement.output_fee and statement.marked_as_paid_at is None and not refusals,
            editable=self._editable(statement),
            **self._statement_context(statement, figures),
        )

    def print_view(self, request, statement_id):
        """The statement a provider receives: totals, the tables and the contract on one printable
        page, with the admin's look; the browser's print dialog saves it as a PDF."""
        statement = self._statement(statement_id)
        figures = statement_figures(statement)
        return self._render(
            request,
            "finance_statement_print.html",
            statement,
            statement.name,
            printable=True,
            is_nav_sidebar_enabled=False,  # the page is the document: nothing beside it
            **self._statement_context(statement, figures),
        )

    @staticmethod
    def _statement_context(statement: Statement, figures: dict) -> dict:
        population = (CourseIdentifier.ECF_INDUCTION.value,)
        if figures["layout"] != SPLIT:
            population = (*population, CourseIdentifier.ECF_MENTOR.value)
        return {
            **page_context(statement, figures),
            "earlier_statements": earlier_statements_shaping_bands(statement, courses=population),
            "clawback_lines": clawback_line_rows(statement_clawback_lines(statement, figures)),
        }

    def statement_csv_view(self, request, statement_id):
        statement = self._statement(statement_id)
        rows = statement_csv_rows(statement, statement_figures(statement))
        response = StreamingHttpResponse(spreadsheet_csv_lines(rows), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{statement_csv_filename(statement)}"'
        return response

    def voided_view(self, request, statement_id):
        statement = self._statement(statement_id)
        course = VOIDED_COURSES.get(request.GET.get("course", ""))
        declarations = statement_voided_declarations(statement, course=course).select_related("participant")
        return self._render(request, "finance_voided.html", statement, VOIDED_TITLES[course], declarations=declarations)

    def assurance_csv_view(self, request, statement_id):
        statement = self._statement(statement_id)
        response = StreamingHttpResponse(
            assurance_csv_lines(statement, statement_figures(statement)), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="{assurance_filename(statement)}"'
        return response

    # --- authorisation for payment (finance.md §2.5, decisions §14) ---------------------------

    def authorise_view(self, request, statement_id):
        statement = self._statement(statement_id)
        refusals = authorisation_refusals(statement)
        if refusals:
            messages.error(request, f"{statement.name} cannot be authorised for payment. {' '.join(refusals)}")
            return redirect(self.page_url(statement))
        form = AuthoriseForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                statement_authorise_payment(statement=statement, user=request.user)
            except InvalidAction as refusal:
                messages.error(request, refusal.message)
            else:
                messages.success(request, AUTHORISED_MESSAGE)
            return redirect(self.page_url(statement))
        return self._render(
            request,
            "finance_authorise.html",
            statement,
            f"Check {statement.name} statement details before authorising for payment",
            form=form,
            total=format_money(statement_figures(statement)["total"]),
        )

    # --- additional adjustments (finance.md §4.7) ---------------------------------------------

    def adjustments_view(self, request, statement_id):
        statement = self._statement(statement_id)
        adjustments = statement.adjustments.order_by("created_at", "pk")
        rows = [(a, format_money(a.amount)) for a in adjustments]
        return self._render(
            request,
            "finance_adjustments.html",
            statement,
            "Change or remove an adjustment",
            rows=rows,
            editable=self._editable(statement),
        )

    def adjustment_add_view(self, request, statement_id):
        statement = self._statement(statement_id)
        return self._adjustment_flow(request, statement, None)

    def adjustment_change_view(self, request, statement_id, adjustment_id):
        statement = self._statement(statement_id)
        adjustment = get_object_or_404(Adjustment, pk=adjustment_id, statement=statement)
        return self._adjustment_flow(request, statement, adjustment)

    def _adjustment_flow(self, request, statement: Statement, adjustment: Adjustment | None):
        """Answers → check them → confirm, each step validated by the services, none writing but the last."""
        refused = self._refuse_unless_editable(request, statement)
        if refused:
            return refused
        title = "Add an adjustment" if adjustment is None else f"Change the '{adjustment.payment_type}' adjustment"
        if request.method != "POST":
            initial = (
                {} if adjustment is None else {"payment_type": adjustment.payment_type, "amount": adjustment.amount}
            )
            return self._adjustment_form(request, statement, title, AdjustmentAnswersForm(initial=initial))
        form = AdjustmentAnswersForm(request.POST)
        form.is_valid()
        answers = form.cleaned_data
        step = request.POST.get("step")
        if step == "edit":  # "Change" on the check page: back to the answers, as given
            return self._adjustment_form(request, statement, title, AdjustmentAnswersForm(initial=answers))
        try:
            if step == "confirm":
                self._save_adjustment(statement, adjustment, answers)
            else:
                payment_type, amount = services._validated(answers["payment_type"], answers["amount"])
        except ServiceValidationError as error:
            statement_errors = form.service_errors(error)
            if statement_errors:  # e.g. paid in the meantime: nothing to correct on this form
                for message in statement_errors:
                    messages.error(request, message)
                return redirect(self.page_url(statement))
            return self._adjustment_form(request, statement, title, form)
        if step == "confirm":
            if adjustment is None:
                return redirect(reverse("admin:statements_statement_adjustment_another", args=[statement.pk]))
            messages.success(request, "Adjustment changed")
            return redirect(self.page_url(statement))
        return self._render(
            request,
            "finance_adjustment_check.html",
            statement,
            "Check your answers",
            payment_type=payment_type,
            amount=amount,
            amount_shown=format_money(amount),
            form_url=request.path,
        )

    @staticmethod
    def _save_adjustment(statement: Statement, adjustment: Adjustment | None, answers: dict) -> Adjustment:
        if adjustment is None:
            return services.adjustment_create(
                statement=statement, payment_type=answers["payment_type"], amount=answers["amount"]
            )
        return services.adjustment_update(
            adjustment=adjustment, payment_type=answers["payment_type"], amount=answers["amount"]
        )

    def _adjustment_form(self, request, statement, title, form):
        return self._render(request, "finance_adjustment_form.html", statement, title, form=form)

    def adjustment_another_view(self, request, statement_id):
        statement = self._statement(statement_id)
        form = AnotherAdjustmentForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            if form.cleaned_data["another"] == "yes":
                return redirect(reverse("admin:statements_statement_adjustment_add", args=[statement.pk]))
            messages.success(request, "Adjustment added")
            return redirect(self.page_url(statement))
        return self._render(request, "finance_adjustment_another.html", statement, "Adjustment added", form=form)

    def adjustment_remove_view(self, request, statement_id, adjustment_id):
        statement = self._statement(statement_id)
        adjustment = get_object_or_404(Adjustment, pk=adjustment_id, statement=statement)
        refused = self._refuse_unless_editable(request, statement)
        if refused:
            return refused
        if request.method == "POST":
            try:
                services.adjustment_delete(adjustment=adjustment)
            except ServiceValidationError as error:
                for _, message in error.errors:
                    messages.error(request, message)
            else:
                messages.success(request, f"The '{adjustment.payment_type}' adjustment has been removed")
            return redirect(self.page_url(statement))
        return self._render(
            request,
            "finance_adjustment_remove.html",
            statement,
            f"Are you sure you want to remove the '{adjustment.payment_type}' adjustment?",
            adjustment=adjustment,
            amount_shown=format_money(adjustment.amount),
        )


@admin.register(Statement)
class StatementAdmin(FinanceWritesOnlyMixin, StatementPageViews, UuidSearchMixin, admin.ModelAdmin):
    list_display = (
        "lead_provider",
        "cohort",
        "statement_name",
        "deadline_date",
        "payment_date",
        "output_fee",
        "status",
        "statement_page",
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

    @admin.display(description="Statement")
    def statement_page(self, obj):
        return format_html('<a href="{}">View</a>', self.page_url(obj))

    def get_urls(self):
        return [*self.finance_urls(), *super().get_urls()]

    def save_formset(self, request, form, formset, change):
        if formset.model is not Adjustment:
            return super().save_formset(request, form, formset, change)
        formset.save(commit=False)
        for adjustment in formset.deleted_objects:
            services.adjustment_delete(adjustment=adjustment)
        for adjustment in [*(changed for changed, _ in formset.changed_objects), *formset.new_objects]:
            adjustment_save(statement=form.instance, adjustment=adjustment)
        return None

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return (*self.money_fields, "created_at", "updated_at")
        if obj.is_paid or not request.user.is_superuser:
            # Finance staff add adjustments and authorise through the statement page; the calendar
            # (dates, output fee, contracts) is set up by administrators, not changed in passing.
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


class AdjustmentForm(ServiceCheckedAdjustmentForm):
    class Meta:
        model = Adjustment
        fields = ("statement", "payment_type", "amount")

    def clean_statement(self):
        statement = self.cleaned_data["statement"]
        if statement is not None and not statement.allows_adjustments:
            raise forms.ValidationError("Adjustments can only be made on an output statement that is not paid.")
        return statement


@admin.register(Adjustment)
class AdjustmentAdmin(FinanceWritesOnlyMixin, UuidSearchMixin, admin.ModelAdmin):
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

    def get_readonly_fields(self, request, obj=None):
        # An adjustment belongs to its statement: moving it would change two statements' totals.
        return (*self.readonly_fields, "statement") if obj is not None else self.readonly_fields

    def save_model(self, request, obj, form, change):
        saved = adjustment_save(statement=obj.statement, adjustment=obj)
        obj.pk, obj.payment_type, obj.amount = saved.pk, saved.payment_type, saved.amount

    def delete_model(self, request, obj):
        services.adjustment_delete(adjustment=obj)

    def delete_queryset(self, request, queryset):
        for adjustment in queryset.select_related("statement"):
            try:
                services.adjustment_delete(adjustment=adjustment)
            except ServiceValidationError as refusal:  # a paid statement's: kept
                kept = f"'{adjustment.payment_type}' was kept: {refusal.errors[0][1]}"
                self.message_user(request, kept, messages.ERROR)

    def has_change_permission(self, request, obj=None):
        return self._statement_allows(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._statement_allows(obj) and super().has_delete_permission(request, obj)
