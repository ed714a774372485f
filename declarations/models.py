"""Declarations: a provider's evidence that a participant reached a milestone, and what it is paid.

A declaration points at the statement that pays it (`statement`) and, once a paid declaration is
voided, at the statement that claws it back (`clawback_statement`). Those two links are the
statement's lines: the money and the API read one truth. The state of a line follows from the
declaration's state (see `statement_line_state`), so it cannot drift from it.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from ecf import clock
from participants.models import (
    Cohort,
    CourseIdentifier,
    DeclarationType,
    DeliveryPartner,
    Enrolment,
    LeadProvider,
    Participant,
    Timestamped,
)
from statements.models import Statement


class DeclarationState(models.TextChoices):
    SUBMITTED = "submitted"
    ELIGIBLE = "eligible"
    PAYABLE = "payable"
    PAID = "paid"
    VOIDED = "voided"
    INELIGIBLE = "ineligible"
    AWAITING_CLAWBACK = "awaiting_clawback", "Awaiting clawback"
    CLAWED_BACK = "clawed_back", "Clawed back"


BILLABLE_STATES = (DeclarationState.ELIGIBLE, DeclarationState.PAYABLE, DeclarationState.PAID)
REFUNDABLE_STATES = (DeclarationState.AWAITING_CLAWBACK, DeclarationState.CLAWED_BACK)
# States that hold a participant's "slot" for a declaration type (rules §4.6).
SLOT_HOLDING_STATES = (DeclarationState.SUBMITTED, *BILLABLE_STATES)


class EvidenceHeld(models.TextChoices):
    TRAINING_EVENT_ATTENDED = "training-event-attended"
    SELF_STUDY_MATERIAL_COMPLETED = "self-study-material-completed"
    MATERIALS_ENGAGED_WITH_OFFLINE = "materials-engaged-with-offline"
    SEVENTY_FIVE_PERCENT_ENGAGEMENT_MET = "75-percent-engagement-met"
    SEVENTY_FIVE_PERCENT_ENGAGEMENT_MET_REDUCED_INDUCTION = "75-percent-engagement-met-reduced-induction"
    ONE_TERM_INDUCTION = "one-term-induction"
    OTHER = "other"


class IneligibilityReason(models.TextChoices):
    DUPLICATE = "duplicate"


class DeclarationQuerySet(models.QuerySet):
    def billable(self) -> "DeclarationQuerySet":
        return self.filter(state__in=BILLABLE_STATES)

    def holding_slot(self) -> "DeclarationQuerySet":
        return self.filter(state__in=SLOT_HOLDING_STATES)


class Declaration(Timestamped):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    enrolment = models.ForeignKey(Enrolment, on_delete=models.PROTECT, related_name="declarations")
    participant = models.ForeignKey(
        Participant, on_delete=models.PROTECT, related_name="declarations", help_text="Moves with merges."
    )
    lead_provider = models.ForeignKey(
        LeadProvider, on_delete=models.PROTECT, related_name="declarations", help_text="The provider that submitted it."
    )
    cohort = models.ForeignKey(
        Cohort, on_delete=models.PROTECT, related_name="declarations", help_text="Schedule cohort at submission."
    )
    course_identifier = models.CharField(max_length=16, choices=CourseIdentifier.choices)
    declaration_type = models.CharField(max_length=16, choices=DeclarationType.choices)
    declaration_date = models.DateTimeField()
    state = models.CharField(max_length=20, choices=DeclarationState.choices, default=DeclarationState.SUBMITTED)
    ineligibility_reason = models.CharField(max_length=16, choices=IneligibilityReason.choices, null=True, blank=True)
    evidence_held = models.CharField(max_length=48, choices=EvidenceHeld.choices, null=True, blank=True)
    delivery_partner = models.ForeignKey(
        DeliveryPartner, on_delete=models.PROTECT, related_name="declarations", null=True, blank=True
    )
    mentor = models.ForeignKey(
        Participant,
        on_delete=models.PROTECT,
        related_name="mentee_declarations",
        null=True,
        blank=True,
        help_text="The ECT's mentor at the declaration date.",
    )
    pupil_premium_uplift = models.BooleanField(default=False)
    sparsity_uplift = models.BooleanField(default=False)
    superseded_by = models.ForeignKey(
        "self", on_delete=models.PROTECT, related_name="superseded", null=True, blank=True
    )
    statement = models.ForeignKey(
        Statement, on_delete=models.PROTECT, related_name="declarations", null=True, blank=True
    )
    clawback_statement = models.ForeignKey(
        Statement, on_delete=models.PROTECT, related_name="clawback_declarations", null=True, blank=True
    )
    voided_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    voided_at = models.DateTimeField(null=True, blank=True)

    objects = DeclarationQuerySet.as_manager()

    class Meta:
        ordering = ["created_at"]
        indexes = [
            models.Index(fields=["lead_provider", "created_at"], name="declaration_provider_created"),
            models.Index(fields=["statement", "declaration_type"], name="declaration_statement_type"),
            models.Index(fields=["clawback_statement", "declaration_type"], name="declaration_clawback_type"),
        ]
        constraints = [
            # Money's first line of defence: one participant, one paid-for event (rules §4.6).
            models.UniqueConstraint(
                fields=["participant", "course_identifier", "declaration_type"],
                condition=Q(state__in=["submitted", "eligible", "payable", "paid"]),
                name="declaration_one_slot_per_participant_course_type",
            ),
            # A declaration that is, or was, being paid sits on a statement; a submitted one never does.
            models.CheckConstraint(
                condition=~Q(state__in=["eligible", "payable", "paid", "awaiting_clawback", "clawed_back"])
                | Q(statement__isnull=False),
                name="declaration_billable_has_statement",
            ),
            models.CheckConstraint(
                condition=~Q(state="submitted") | Q(statement__isnull=True),
                name="declaration_submitted_has_no_statement",
            ),
            # A clawback statement exactly when the money is being, or has been, taken back.
            models.CheckConstraint(
                condition=(Q(state__in=["awaiting_clawback", "clawed_back"]) & Q(clawback_statement__isnull=False))
                | (~Q(state__in=["awaiting_clawback", "clawed_back"]) & Q(clawback_statement__isnull=True)),
                name="declaration_clawback_statement_iff_refundable",
            ),
            # An ineligible declaration that is later voided keeps the reason it was ineligible for.
            models.CheckConstraint(
                condition=Q(state__in=["ineligible", "voided"]) | Q(ineligibility_reason__isnull=True),
                name="declaration_reason_only_when_ineligible",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.declaration_type} {self.course_identifier} ({self.state}) {self.id}"

    def statement_line_state(self, statement_id) -> str | None:
        """The state of this declaration's line on a statement (finance.md §1.2)."""
        if self.clawback_statement_id == statement_id:
            return self.state
        if self.statement_id == statement_id:
            return DeclarationState.PAID if self.state in REFUNDABLE_STATES else self.state
        return None

    @property
    def billable_statement_id(self):
        """The API's statement_id: only while the declaration is billable or being clawed back."""
        if self.state in (*BILLABLE_STATES, *REFUNDABLE_STATES):
            return self.statement_id
        return None


class ActorKind(models.TextChoices):
    LEAD_PROVIDER = "lead_provider", "Lead provider"
    FINANCE_USER = "finance_user", "Finance user"
    PAYMENT_RUN = "payment_run", "Payment run"
    SYSTEM = "system", "System"


class DeclarationStateChange(models.Model):
    """Append-only history: every state a declaration has been in, when, why and who caused it."""

    declaration = models.ForeignKey(Declaration, on_delete=models.CASCADE, related_name="state_changes")
    from_state = models.CharField(max_length=20, choices=DeclarationState.choices, blank=True)
    state = models.CharField(max_length=20, choices=DeclarationState.choices)
    reason = models.CharField(max_length=255, blank=True)
    actor_kind = models.CharField(max_length=16, choices=ActorKind.choices)
    actor_lead_provider = models.ForeignKey(
        LeadProvider, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    created_at = models.DateTimeField(default=clock.now, editable=False)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.from_state or '∅'} → {self.state}"


class DeclarationAttempt(models.Model):
    """Every POST of a declaration for a known participant, accepted or refused (rules §4.9)."""

    lead_provider = models.ForeignKey(LeadProvider, on_delete=models.PROTECT, related_name="declaration_attempts")
    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="declaration_attempts")
    course_identifier = models.CharField(max_length=64, blank=True)
    declaration_type = models.CharField(max_length=64, blank=True)
    declaration_date = models.CharField(max_length=64, blank=True, help_text="As sent.")
    evidence_held = models.CharField(max_length=64, blank=True)
    declaration = models.ForeignKey(
        Declaration, on_delete=models.SET_NULL, related_name="attempts", null=True, blank=True
    )
    errors = models.JSONField(null=True, blank=True, help_text="The refusal sent back, if refused.")
    created_at = models.DateTimeField(default=clock.now, editable=False)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.lead_provider} {self.declaration_type} for {self.participant_id}"
