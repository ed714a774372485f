"""The base of the domain: cohorts, schedules, providers, schools, partnerships and participants.

The original service's tables are simplified where behaviour is preserved; docs/domain.md
lists each simplification and why.
"""

import uuid
from datetime import date

from django.db import models
from django.db.models import Q

from ecf import clock


class Timestamped(models.Model):
    """created_at / updated_at read from the one clock (so the sandbox header moves them too)."""

    created_at = models.DateTimeField(default=clock.now, editable=False)
    updated_at = models.DateTimeField(default=clock.now, editable=False, db_index=True)

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        update_fields = kwargs.get("update_fields")
        if not self._state.adding:
            self.updated_at = clock.now()
            if update_fields is not None and "updated_at" not in update_fields:
                kwargs["update_fields"] = [*update_fields, "updated_at"]
        super().save(*args, **kwargs)


# ---------------------------------------------------------------------------------------
# Vocabulary shared by every app (values are the API's where the API shows them).


class DeclarationType(models.TextChoices):
    """In contractual order (rules §4.2)."""

    STARTED = "started"
    RETAINED_1 = "retained-1"
    RETAINED_2 = "retained-2"
    RETAINED_3 = "retained-3"
    RETAINED_4 = "retained-4"
    COMPLETED = "completed"
    EXTENDED_1 = "extended-1"
    EXTENDED_2 = "extended-2"
    EXTENDED_3 = "extended-3"


class CourseIdentifier(models.TextChoices):
    ECF_INDUCTION = "ecf-induction"
    ECF_MENTOR = "ecf-mentor"


class EnrolmentKind(models.TextChoices):
    ECT = "ect", "Early career teacher"
    MENTOR = "mentor", "Mentor"


COURSE_FOR_KIND = {EnrolmentKind.ECT: CourseIdentifier.ECF_INDUCTION, EnrolmentKind.MENTOR: CourseIdentifier.ECF_MENTOR}
KIND_FOR_COURSE = {course: kind for kind, course in COURSE_FOR_KIND.items()}


class TrainingStatus(models.TextChoices):
    ACTIVE = "active"
    DEFERRED = "deferred"
    WITHDRAWN = "withdrawn"


class InductionStatus(models.TextChoices):
    """School-reported status of a training period (ECF induction record status)."""

    ACTIVE = "active"
    WITHDRAWN = "withdrawn"
    CHANGED = "changed"
    LEAVING = "leaving"
    COMPLETED = "completed"


class EligibilityStatus(models.TextChoices):
    ELIGIBLE = "eligible"
    MATCHED = "matched"
    MANUAL_CHECK = "manual_check"
    INELIGIBLE = "ineligible"


class EligibilityReason(models.TextChoices):
    NONE = "none"
    ACTIVE_FLAGS = "active_flags"
    PREVIOUS_PARTICIPATION = "previous_participation"
    PREVIOUS_INDUCTION = "previous_induction"
    NO_QTS = "no_qts"
    DIFFERENT_TRN = "different_trn"
    DUPLICATE_PROFILE = "duplicate_profile"
    NO_INDUCTION = "no_induction"
    EXEMPT_FROM_INDUCTION = "exempt_from_induction"


class MentorCompletionReason(models.TextChoices):
    COMPLETED_DECLARATION_RECEIVED = "completed_declaration_received"
    COMPLETED_DURING_EARLY_ROLL_OUT = "completed_during_early_roll_out"
    STARTED_NOT_COMPLETED = "started_not_completed"


class InductionProgrammeChoice(models.TextChoices):
    FULL_INDUCTION_PROGRAMME = "full_induction_programme"
    SCHOOL_FUNDED_FIP = "school_funded_fip"
    CORE_INDUCTION_PROGRAMME = "core_induction_programme"
    DESIGN_OUR_OWN = "design_our_own"
    NO_EARLY_CAREER_TEACHERS = "no_early_career_teachers"
    NOT_YET_KNOWN = "not_yet_known"


class TrainingProgramme(models.TextChoices):
    PROVIDER_LED = "provider_led", "Provider led"
    SCHOOL_LED = "school_led", "School led"


class ChallengeReason(models.TextChoices):
    ANOTHER_PROVIDER = "another_provider"
    NOT_CONFIRMED = "not_confirmed"
    DO_NOT_RECOGNISE = "do_not_recognise"
    NO_ECTS = "no_ects"
    MISTAKE = "mistake"


class WithdrawalReason(models.TextChoices):
    LEFT_TEACHING_PROFESSION = "left-teaching-profession"
    MOVED_SCHOOL = "moved-school"
    MENTOR_NO_LONGER_BEING_MENTOR = "mentor-no-longer-being-mentor"
    SWITCHED_TO_SCHOOL_LED = "switched-to-school-led"
    OTHER = "other"
    # The rewrite's contract only (api.md §12): the original's refuses it on input.
    CHANGED_LEAD_PROVIDER = "changed-lead-provider"


class DeferralReason(models.TextChoices):
    BEREAVEMENT = "bereavement"
    LONG_TERM_SICKNESS = "long-term-sickness"
    PARENTAL_LEAVE = "parental-leave"
    CAREER_BREAK = "career-break"
    OTHER = "other"


# ---------------------------------------------------------------------------------------
# Cohorts, schedules and milestones


class Cohort(Timestamped):
    """A funding contract year. The start year is the key everywhere it is used."""

    start_year = models.PositiveSmallIntegerField(primary_key=True)
    registration_start_date = models.DateField()
    academic_year_start_date = models.DateField()
    automatic_assignment_period_end_date = models.DateField(null=True, blank=True)
    payments_frozen_at = models.DateTimeField(null=True, blank=True)
    mentor_funding = models.BooleanField(default=False)
    detailed_evidence_types = models.BooleanField(default=False)

    class Meta:
        ordering = ["start_year"]

    def __str__(self) -> str:
        return str(self.start_year)

    @property
    def payments_frozen(self) -> bool:
        return self.payments_frozen_at is not None and self.payments_frozen_at <= clock.now()


class ScheduleQuerySet(models.QuerySet):
    def for_identifier(self, *, cohort_id: int, identifier: str) -> "ScheduleQuerySet":
        return self.filter(Q(identifier=identifier) | Q(identifier_alias=identifier), cohort_id=cohort_id)


class Schedule(Timestamped):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    cohort = models.ForeignKey(Cohort, on_delete=models.PROTECT, related_name="schedules")
    identifier = models.CharField(max_length=64)
    name = models.CharField(max_length=128)
    identifier_alias = models.CharField(max_length=64, blank=True)
    provisional = models.BooleanField(default=False, help_text="Dates not yet confirmed by DfE (decisions §6).")

    objects = ScheduleQuerySet.as_manager()

    class Meta:
        ordering = ["cohort_id", "identifier"]
        constraints = [models.UniqueConstraint(fields=["cohort", "identifier"], name="schedule_unique_per_cohort")]

    def __str__(self) -> str:
        return f"{self.identifier} ({self.cohort_id})"


class Milestone(models.Model):
    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="milestones")
    declaration_type = models.CharField(max_length=16, choices=DeclarationType.choices)
    start_date = models.DateField()
    milestone_date = models.DateField(null=True, blank=True)
    payment_date = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["schedule_id", "start_date"]
        constraints = [
            models.UniqueConstraint(fields=["schedule", "declaration_type"], name="milestone_unique_per_type"),
            models.CheckConstraint(
                condition=Q(milestone_date__isnull=True) | Q(milestone_date__gte=models.F("start_date")),
                name="milestone_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.schedule} {self.declaration_type}"


# ---------------------------------------------------------------------------------------
# Lead providers, delivery partners and their relationships


class ContractFlavour(models.TextChoices):
    """Which DfE service's v3 contract a provider's client was built against (issue 15)."""

    ORIGINAL = "original", "The original's v3 (Manage training for early career teachers)"
    REWRITE = "rect", "The rewrite's v3 (Register early career teachers)"


class WorkingPattern(models.TextChoices):
    FULL_TIME = "full_time"
    PART_TIME = "part_time"


class LeadProvider(Timestamped):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=255, unique=True)
    vat_chargeable = models.BooleanField(default=True)
    contract_flavour = models.CharField(
        "API v3 contract",
        max_length=8,
        choices=ContractFlavour.choices,
        default=ContractFlavour.ORIGINAL,
        help_text="The v3 contract /api/v3/ speaks to this provider's tokens (v1 and v2 are always the original's).",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ApiToken(models.Model):
    """A lead provider's API token. Only an HMAC digest is stored (api.md §2)."""

    lead_provider = models.ForeignKey(LeadProvider, on_delete=models.CASCADE, related_name="api_tokens")
    digest = models.CharField(max_length=64, unique=True, editable=False)
    label = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(default=clock.now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        # Never any part of the digest: it is the only thing standing in for the secret.
        return f"{self.lead_provider} token {self.label or self.pk}"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class DeliveryPartner(Timestamped):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=255)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ProviderRelationship(Timestamped):
    """ "This delivery partner works with this lead provider in this cohort"."""

    lead_provider = models.ForeignKey(LeadProvider, on_delete=models.CASCADE, related_name="provider_relationships")
    delivery_partner = models.ForeignKey(
        DeliveryPartner, on_delete=models.CASCADE, related_name="provider_relationships"
    )
    cohort = models.ForeignKey(Cohort, on_delete=models.PROTECT, related_name="provider_relationships")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["lead_provider", "delivery_partner", "cohort"], name="provider_relationship_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.lead_provider} – {self.delivery_partner} ({self.cohort_id})"


# ---------------------------------------------------------------------------------------
# Schools


# GIAS establishment types that are never eligible for funding (rules §1.3)...
INELIGIBLE_SCHOOL_TYPE_CODES = (10, 11, 24, 25, 26, 27, 29, 30, 37, 49, 56)
# ...and those of them whose schools may still use school-led materials ("CIP only").
CIP_ONLY_SCHOOL_TYPE_CODES = (10, 11, 30, 37)
OPEN_SCHOOL_STATUS_CODES = (1, 3)  # Open; Open, but proposed to close

_SCHOOL_OPEN = Q(school_status_code__in=OPEN_SCHOOL_STATUS_CODES)
_SCHOOL_IN_ENGLAND = Q(administrative_district_code__istartswith="E") | Q(administrative_district_code="9999")
_SCHOOL_ELIGIBLE_TYPE = ~Q(school_type_code__in=INELIGIBLE_SCHOOL_TYPE_CODES) | Q(section_41_approved=True)
SCHOOL_ELIGIBLE = _SCHOOL_OPEN & _SCHOOL_IN_ENGLAND & _SCHOOL_ELIGIBLE_TYPE
SCHOOL_CIP_ONLY = ~SCHOOL_ELIGIBLE & _SCHOOL_OPEN & Q(school_type_code__in=CIP_ONLY_SCHOOL_TYPE_CODES)


class SchoolQuerySet(models.QuerySet):
    def eligible_for_funding(self) -> "SchoolQuerySet":
        return self.filter(SCHOOL_ELIGIBLE)

    def cip_only(self) -> "SchoolQuerySet":
        return self.filter(SCHOOL_CIP_ONLY)


class School(Timestamped):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    urn = models.CharField(max_length=6, unique=True, help_text="Unique reference number (6 digits, as GIAS).")
    name = models.CharField(max_length=255)
    school_status_code = models.PositiveSmallIntegerField(default=1, help_text="GIAS establishment status code.")
    school_type_code = models.PositiveSmallIntegerField(default=1, help_text="GIAS establishment type code.")
    administrative_district_code = models.CharField(max_length=9, default="E09000001")
    section_41_approved = models.BooleanField(default=False)
    induction_tutor_name = models.CharField(max_length=255, blank=True)
    induction_tutor_email = models.EmailField(blank=True)
    primary_contact_email = models.EmailField(blank=True)
    secondary_contact_email = models.EmailField(blank=True)

    objects = SchoolQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.urn})"

    @property
    def is_open(self) -> bool:
        return self.school_status_code in OPEN_SCHOOL_STATUS_CODES

    @property
    def is_in_england(self) -> bool:
        code = self.administrative_district_code or ""
        return code[:1].upper() == "E" or code == "9999"

    @property
    def is_eligible_for_funding(self) -> bool:
        eligible_type = self.school_type_code not in INELIGIBLE_SCHOOL_TYPE_CODES or self.section_41_approved
        return self.is_open and self.is_in_england and eligible_type

    @property
    def is_cip_only(self) -> bool:
        return not self.is_eligible_for_funding and self.is_open and self.school_type_code in CIP_ONLY_SCHOOL_TYPE_CODES


class SchoolCohort(Timestamped):
    """A school's programme choice and uplift flags for one cohort."""

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="school_cohorts")
    cohort = models.ForeignKey(Cohort, on_delete=models.PROTECT, related_name="school_cohorts")
    induction_programme_choice = models.CharField(
        max_length=32, choices=InductionProgrammeChoice.choices, default=InductionProgrammeChoice.NOT_YET_KNOWN
    )
    pupil_premium_uplift = models.BooleanField(default=False)
    sparsity_uplift = models.BooleanField(default=False)
    expression_of_interest_lead_provider = models.ForeignKey(
        "LeadProvider",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="expressions_of_interest",
        help_text="The provider the school said it expects to train with for this cohort, before any partnership.",
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["school", "cohort"], name="school_cohort_unique")]

    def __str__(self) -> str:
        return f"{self.school} {self.cohort_id}"


# ---------------------------------------------------------------------------------------
# Partnerships

UNCHALLENGED = Q(challenge_reason__isnull=True, challenged_at__isnull=True)


class PartnershipQuerySet(models.QuerySet):
    def unchallenged(self) -> "PartnershipQuerySet":
        return self.filter(UNCHALLENGED)

    def confirmed(self) -> "PartnershipQuerySet":
        """Unchallenged and not a technical relationship record (rules §7.1 P6/P7)."""
        return self.filter(UNCHALLENGED, relationship=False)


class Partnership(Timestamped):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    lead_provider = models.ForeignKey(LeadProvider, on_delete=models.PROTECT, related_name="partnerships")
    delivery_partner = models.ForeignKey(DeliveryPartner, on_delete=models.PROTECT, related_name="partnerships")
    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="partnerships")
    cohort = models.ForeignKey(Cohort, on_delete=models.PROTECT, related_name="partnerships")
    relationship = models.BooleanField(
        default=False, help_text="A technical record that keeps a transferred participant with their provider (§7.5)."
    )
    pending = models.BooleanField(default=False)
    challenge_deadline = models.DateField(null=True, blank=True)
    challenged_at = models.DateTimeField(null=True, blank=True)
    challenge_reason = models.CharField(max_length=32, choices=ChallengeReason.choices, null=True, blank=True)
    report_id = models.UUIDField(default=uuid.uuid4)

    objects = PartnershipQuerySet.as_manager()

    class Meta:
        ordering = ["created_at"]
        constraints = [
            # One confirmed partnership per school and cohort (rules §7.1 P6/P7).
            models.UniqueConstraint(
                fields=["school", "cohort"],
                condition=Q(relationship=False, challenge_reason__isnull=True, challenged_at__isnull=True),
                name="partnership_one_confirmed_per_school_cohort",
            ),
            # A provider's own (non-relationship) partnership with a school for a cohort is reused, never doubled.
            models.UniqueConstraint(
                fields=["lead_provider", "school", "cohort"],
                condition=Q(relationship=False),
                name="partnership_one_per_provider_school_cohort",
            ),
            models.CheckConstraint(
                condition=Q(challenge_reason__isnull=True, challenged_at__isnull=True)
                | Q(challenge_reason__isnull=False, challenged_at__isnull=False),
                name="partnership_challenge_fields_together",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.lead_provider} × {self.school} ({self.cohort_id})"

    @property
    def is_challenged(self) -> bool:
        return self.challenge_reason is not None


# ---------------------------------------------------------------------------------------
# Participants, enrolments and their training history


class Participant(Timestamped):
    """One person. `id` is the API's participant_id.

    `updated_at` is the sync timestamp: every change a provider could see in the person's
    representation moves it, in the same transaction as the change.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    full_name = models.CharField(max_length=255)
    email = models.EmailField()
    trn = models.CharField("TRN", max_length=7, null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["created_at"]
        indexes = [models.Index(fields=["created_at", "id"], name="participant_created_idx")]

    def __str__(self) -> str:
        return f"{self.full_name} ({self.id})"


# Rules §4.10: a mentor on the early-roll-out list completed in the roll-out, on this date.
EARLY_ROLL_OUT_COMPLETION_DATE = date(2021, 4, 19)


class EarlyRollOutMentor(models.Model):
    """Reference data: the TRN of a mentor who completed training during the early roll-out (2020-21),
    as DfE's list gives it. Loaded by `manage.py load_early_roll_out_mentors FILE`, which replaces the
    whole list; such a mentor's completion is 19 April 2021, `completed_during_early_roll_out`."""

    trn = models.CharField("TRN", max_length=7, primary_key=True)
    loaded_at = models.DateTimeField()

    class Meta:
        ordering = ["trn"]
        verbose_name = "early-roll-out mentor"

    def __str__(self) -> str:
        return self.trn


class ParticipantIdChange(models.Model):
    """A merge: `from_participant_id` was retired into `to_participant_id` (rules §1.4).

    `participant` is the record that holds the id now; when that record is merged again the
    history moves with it, so a retired id always resolves to the current person.
    """

    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="id_changes")
    from_participant_id = models.UUIDField(db_index=True)
    to_participant_id = models.UUIDField()
    created_at = models.DateTimeField(default=clock.now, editable=False)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.from_participant_id} → {self.to_participant_id}"


class Enrolment(Timestamped):
    """An ECT or mentor registration of a participant. `id` is the API's training_record_id."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="enrolments")
    kind = models.CharField(max_length=8, choices=EnrolmentKind.choices)
    schedule = models.ForeignKey(Schedule, on_delete=models.PROTECT, related_name="enrolments")
    is_active = models.BooleanField(
        default=True, help_text="Registration-level status (a withdrawn record is inactive)."
    )
    training_status = models.CharField(max_length=16, choices=TrainingStatus.choices, default=TrainingStatus.ACTIVE)
    # Funding eligibility from DfE's TRN checks; no status means no check has run yet.
    eligibility_status = models.CharField(max_length=16, choices=EligibilityStatus.choices, null=True, blank=True)
    eligibility_reason = models.CharField(
        max_length=32, choices=EligibilityReason.choices, default=EligibilityReason.NONE, blank=True
    )
    validation_trn = models.CharField("TRN captured during validation", max_length=7, null=True, blank=True)
    pupil_premium_uplift = models.BooleanField(default=False)
    sparsity_uplift = models.BooleanField(default=False)
    induction_start_date = models.DateField(null=True, blank=True)
    induction_completion_date = models.DateField(null=True, blank=True)
    most_recent_induction_period_end_date = models.DateField(
        null=True, blank=True, help_text="End of the latest induction period an appropriate body recorded (ECTs)."
    )
    working_pattern = models.CharField(max_length=16, choices=WorkingPattern.choices, null=True, blank=True)
    mentor_completion_date = models.DateField(null=True, blank=True)
    mentor_completion_reason = models.CharField(
        max_length=40, choices=MentorCompletionReason.choices, null=True, blank=True
    )
    cohort_changed_after_payments_frozen = models.BooleanField(default=False)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="mentor")
                | Q(mentor_completion_date__isnull=True, mentor_completion_reason__isnull=True),
                name="enrolment_mentor_completion_only_for_mentors",
            ),
            models.CheckConstraint(
                condition=Q(kind="ect") | Q(induction_completion_date__isnull=True),
                name="enrolment_induction_completion_only_for_ects",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.id}"

    @property
    def course_identifier(self) -> str:
        return COURSE_FOR_KIND[self.kind]

    @property
    def is_fundable(self) -> bool:
        return self.eligibility_status == EligibilityStatus.ELIGIBLE


class TrainingPeriod(Timestamped):
    """Where, with whom and on which schedule an enrolment trains (ECF induction record).

    Every change closes the current period and opens a new one, so the history is kept.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    enrolment = models.ForeignKey(Enrolment, on_delete=models.CASCADE, related_name="training_periods")
    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="training_periods")
    cohort = models.ForeignKey(
        Cohort, on_delete=models.PROTECT, related_name="training_periods", help_text="The school cohort's year."
    )
    training_programme = models.CharField(
        max_length=16, choices=TrainingProgramme.choices, default=TrainingProgramme.PROVIDER_LED
    )
    partnership = models.ForeignKey(
        Partnership, on_delete=models.PROTECT, related_name="training_periods", null=True, blank=True
    )
    schedule = models.ForeignKey(Schedule, on_delete=models.PROTECT, related_name="training_periods")
    mentor = models.ForeignKey(
        Enrolment,
        on_delete=models.SET_NULL,
        related_name="mentored_periods",
        null=True,
        blank=True,
        limit_choices_to={"kind": EnrolmentKind.MENTOR},
    )
    email = models.EmailField(blank=True, help_text="Preferred email shown to the provider; the person's otherwise.")
    start_date = models.DateTimeField()
    end_date = models.DateTimeField(null=True, blank=True)
    training_status = models.CharField(max_length=16, choices=TrainingStatus.choices, default=TrainingStatus.ACTIVE)
    induction_status = models.CharField(max_length=16, choices=InductionStatus.choices, default=InductionStatus.ACTIVE)
    school_transfer = models.BooleanField(default=False)

    class Meta:
        ordering = ["created_at"]
        indexes = [models.Index(fields=["partnership", "enrolment"], name="period_partnership_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=models.F("start_date")),
                name="training_period_ends_after_start",
            ),
            models.CheckConstraint(
                condition=Q(training_programme="provider_led") | Q(partnership__isnull=True),
                name="training_period_school_led_has_no_partnership",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.enrolment_id} at {self.school_id} from {self.start_date:%Y-%m-%d}"


class TrainingStatusChange(models.Model):
    """Audit of a provider's withdraw / defer / resume (ECF ParticipantProfileState)."""

    enrolment = models.ForeignKey(Enrolment, on_delete=models.CASCADE, related_name="training_status_changes")
    lead_provider = models.ForeignKey(
        LeadProvider, on_delete=models.PROTECT, related_name="training_status_changes", null=True, blank=True
    )
    training_status = models.CharField(max_length=16, choices=TrainingStatus.choices)
    reason = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=clock.now, editable=False)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.enrolment_id} {self.training_status} {self.reason}"


class ScheduleChange(models.Model):
    """Audit of an enrolment's schedule changes (ECF ParticipantProfileSchedule)."""

    enrolment = models.ForeignKey(Enrolment, on_delete=models.CASCADE, related_name="schedule_changes")
    schedule = models.ForeignKey(Schedule, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=clock.now, editable=False)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.enrolment_id} → {self.schedule_id}"
