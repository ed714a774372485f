"""Money: contracts with their bands, monthly statements and additional adjustments.

A statement's lines are the declarations that point at it (as the statement that pays them or
as the one that claws them back); see declarations.models.Declaration.
"""

import calendar
import uuid
from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from participants.models import Cohort, LeadProvider, Timestamped

MONEY = {"max_digits": 14, "decimal_places": 2}
DEFAULT_CONTRACT_VERSION = "0.0.1"


class EctContract(Timestamped):
    """An ECT call-off contract for one provider and cohort (finance.md §1.3)."""

    lead_provider = models.ForeignKey(LeadProvider, on_delete=models.PROTECT, related_name="ect_contracts")
    cohort = models.ForeignKey(Cohort, on_delete=models.PROTECT, related_name="ect_contracts")
    version = models.CharField(max_length=32, default=DEFAULT_CONTRACT_VERSION)
    recruitment_target = models.PositiveIntegerField()
    set_up_fee = models.DecimalField(**MONEY, default=Decimal("0"))
    uplift_target = models.DecimalField(max_digits=5, decimal_places=4, default=Decimal("0"), help_text="Display only.")
    uplift_amount = models.DecimalField(
        **MONEY, null=True, blank=True, help_text="£ per uplifted started declaration; empty means no uplift fees."
    )
    monthly_service_fee = models.DecimalField(
        **MONEY, null=True, blank=True, help_text="Overrides the computed service fee when set (0 allowed)."
    )
    vat_rate = models.DecimalField(
        max_digits=5,
        decimal_places=4,
        default=Decimal("0.20"),
        validators=[MinValueValidator(0), MaxValueValidator(1)],
        help_text="Applied when the provider is VAT-chargeable (decisions §12).",
    )

    class Meta:
        verbose_name = "ECT contract"  # not Django's "Ect contract" (issue 17)
        verbose_name_plural = "ECT contracts"
        ordering = ["lead_provider__name", "cohort_id", "version"]
        constraints = [
            models.UniqueConstraint(fields=["lead_provider", "cohort", "version"], name="ect_contract_unique_version")
        ]

    def __str__(self) -> str:
        return f"{self.lead_provider} {self.cohort_id} ECT contract v{self.version}"


class ContractBand(models.Model):
    """A price band of an ECT contract; bands are lettered A, B, C, D by ascending `max`."""

    contract = models.ForeignKey(EctContract, on_delete=models.CASCADE, related_name="bands")
    min = models.PositiveIntegerField(null=True, blank=True)
    max = models.PositiveIntegerField(null=True, blank=True)
    per_participant = models.DecimalField(**MONEY)
    output_payment_percentage = models.PositiveSmallIntegerField(default=60, validators=[MaxValueValidator(100)])
    service_fee_percentage = models.PositiveSmallIntegerField(default=40, validators=[MaxValueValidator(100)])

    class Meta:
        ordering = ["contract_id", "max"]
        constraints = [
            models.CheckConstraint(
                condition=Q(output_payment_percentage__lte=100) & Q(service_fee_percentage__lte=100),
                name="band_percentages_at_most_100",
            ),
            models.CheckConstraint(
                condition=Q(min__isnull=True) | Q(max__isnull=True) | Q(max__gte=models.F("min")),
                name="band_max_not_below_min",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.min or 0}–{self.max or '∞'} at £{self.per_participant}"


class MentorContract(Timestamped):
    """A flat-rate mentor contract (cohorts with mentor funding, finance.md §1.4)."""

    lead_provider = models.ForeignKey(LeadProvider, on_delete=models.PROTECT, related_name="mentor_contracts")
    cohort = models.ForeignKey(Cohort, on_delete=models.PROTECT, related_name="mentor_contracts")
    version = models.CharField(max_length=32, default=DEFAULT_CONTRACT_VERSION)
    recruitment_target = models.PositiveIntegerField(default=0)
    payment_per_participant = models.DecimalField(**MONEY, default=Decimal("1000.00"))

    class Meta:
        ordering = ["lead_provider__name", "cohort_id", "version"]
        constraints = [
            models.UniqueConstraint(
                fields=["lead_provider", "cohort", "version"], name="mentor_contract_unique_version"
            )
        ]

    def __str__(self) -> str:
        return f"{self.lead_provider} {self.cohort_id} mentor contract v{self.version}"


class StatementStatus(models.TextChoices):
    OPEN = "open", "Open"
    PAYABLE = "payable", "Payable"
    PAID = "paid", "Paid"


class StatementQuerySet(models.QuerySet):
    def output(self) -> "StatementQuerySet":
        return self.filter(output_fee=True)

    def next_output_for(self, *, lead_provider_id, cohort_id: int, today) -> "Statement | None":
        """The statement a new declaration or clawback lands on (finance.md §2.2.3)."""
        return (
            self.filter(
                lead_provider_id=lead_provider_id,
                cohort_id=cohort_id,
                output_fee=True,
                status=StatementStatus.OPEN,
                deadline_date__gte=today,
            )
            .order_by("deadline_date", "payment_date", "id")
            .first()
        )


class Statement(Timestamped):
    """A monthly financial statement of one provider for one cohort."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    lead_provider = models.ForeignKey(LeadProvider, on_delete=models.PROTECT, related_name="statements")
    cohort = models.ForeignKey(Cohort, on_delete=models.PROTECT, related_name="statements")
    year = models.PositiveSmallIntegerField(help_text="Payment year.")
    month = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(12)])
    deadline_date = models.DateField(help_text="Milestone cut-off (the API's cut_off_date).")
    payment_date = models.DateField()
    output_fee = models.BooleanField(default=True)
    status = models.CharField(max_length=8, choices=StatementStatus.choices, default=StatementStatus.OPEN)
    marked_as_paid_at = models.DateTimeField(null=True, blank=True)
    ect_contract = models.ForeignKey(
        EctContract, on_delete=models.PROTECT, related_name="statements", null=True, blank=True
    )
    mentor_contract = models.ForeignKey(
        MentorContract, on_delete=models.PROTECT, related_name="statements", null=True, blank=True
    )
    paid_amounts = models.JSONField(
        null=True, blank=True, editable=False, help_text="The calculation as authorised (decisions §15)."
    )

    objects = StatementQuerySet.as_manager()

    class Meta:
        ordering = ["payment_date"]
        constraints = [
            models.UniqueConstraint(fields=["lead_provider", "cohort", "year", "month"], name="statement_unique_month"),
            models.CheckConstraint(condition=Q(month__gte=1, month__lte=12), name="statement_month_valid"),
            models.CheckConstraint(
                condition=Q(payment_date__gte=models.F("deadline_date")), name="statement_paid_after_deadline"
            ),
            models.CheckConstraint(
                condition=~Q(status="paid") | Q(marked_as_paid_at__isnull=False),
                name="statement_paid_has_authorisation_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.lead_provider} {self.name} ({self.cohort_id})"

    @property
    def name(self) -> str:
        """ "January 2025": the payment month."""
        return f"{calendar.month_name[self.month]} {self.year}"

    @property
    def is_paid(self) -> bool:
        return self.status == StatementStatus.PAID

    @property
    def allows_adjustments(self) -> bool:
        return self.output_fee and self.status != StatementStatus.PAID


class Adjustment(Timestamped):
    """A named, signed manual amount on a statement (finance.md §1.5)."""

    statement = models.ForeignKey(Statement, on_delete=models.PROTECT, related_name="adjustments")
    payment_type = models.CharField(max_length=500)
    amount = models.DecimalField(**MONEY)

    class Meta:
        ordering = ["created_at"]
        constraints = [models.CheckConstraint(condition=~Q(amount=0), name="adjustment_amount_not_zero")]

    def __str__(self) -> str:
        return f"{self.payment_type}: £{self.amount}"
