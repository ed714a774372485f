"""The read model of visibility (issue 19): what each lead provider sees, one row per provider and
record, with the columns the lists sort and filter on, so that a page is an index range scan.

Every row is derived from the base tables (participants, enrolments, training periods,
partnerships, declarations) by `visibility.services.visibility_refresh`, which the services that
change visibility or a listed column call in their own transaction; `visibility_rebuild`
recomputes everything (the sandbox seed, the migration that backfills).

`xid` is the writing transaction's id on PostgreSQL (set by a trigger, `pg_current_xact_id()`), a
counter on SQLite: the change cursor (api.cursor) returns the rows changed since a poll's snapshot.
Ids are plain columns, not foreign keys: the rows follow the base tables through the refresh, and
a merge or a deletion must never be blocked by them.
"""

from django.db import models


class ParticipantVisibility(models.Model):
    """A person the provider sees (at least one enrolment with a visible training period)."""

    lead_provider_id = models.UUIDField()
    participant_id = models.UUIDField()
    created_at = models.DateTimeField(help_text="The person's.")
    updated_at = models.DateTimeField(help_text="The person's sync timestamp.")
    max_cohort = models.IntegerField(
        default=0, help_text="The latest cohort of the person's records: the lists' default cohort filter, in the row."
    )
    xid = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["participant_id", "lead_provider_id"], name="participant_visibility_key")
        ]
        indexes = [
            models.Index(fields=["lead_provider_id", "created_at", "participant_id"], name="pvis_created"),
            models.Index(fields=["lead_provider_id", "updated_at", "participant_id"], name="pvis_updated"),
            models.Index(fields=["lead_provider_id", "xid"], name="pvis_xid"),
        ]

    def __str__(self):
        return f"{self.lead_provider_id} sees participant {self.participant_id}"


class TrainingRecordVisibility(models.Model):
    """An enrolment the provider sees, through its latest visible training period (rules §2.1)."""

    lead_provider_id = models.UUIDField()
    enrolment_id = models.UUIDField()
    participant_id = models.UUIDField()
    period_id = models.UUIDField(help_text="The provider's latest period of the enrolment.")
    cohort_id = models.IntegerField(help_text="That period's schedule cohort (filter[cohort]).")
    training_status = models.CharField(max_length=16, help_text="That period's.")
    person_created_at = models.DateTimeField()
    person_updated_at = models.DateTimeField()
    enrolment_created_at = models.DateTimeField()
    xid = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["enrolment_id", "lead_provider_id"], name="record_visibility_key")
        ]
        indexes = [
            models.Index(fields=["participant_id", "lead_provider_id"], name="rvis_person"),
            models.Index(
                fields=[
                    "lead_provider_id",
                    "person_created_at",
                    "participant_id",
                    "enrolment_created_at",
                    "enrolment_id",
                ],
                name="rvis_created",
            ),
            models.Index(
                fields=[
                    "lead_provider_id",
                    "person_updated_at",
                    "participant_id",
                    "enrolment_created_at",
                    "enrolment_id",
                ],
                name="rvis_updated",
            ),
        ]

    def __str__(self):
        return f"{self.lead_provider_id} sees enrolment {self.enrolment_id}"


class DeclarationVisibility(models.Model):
    """A declaration the provider may read (rules §4.11 sets 1-3; `in_v1` when in sets 1-2)."""

    lead_provider_id = models.UUIDField()
    declaration_id = models.UUIDField()
    participant_id = models.UUIDField()
    cohort_id = models.IntegerField()
    delivery_partner_id = models.UUIDField(null=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    in_v1 = models.BooleanField(help_text="Shown by v1/v2 too (not only as a leaver's old declaration).")
    xid = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["declaration_id", "lead_provider_id"], name="declaration_visibility_key")
        ]
        indexes = [
            models.Index(fields=["participant_id"], name="dvis_person"),
            models.Index(fields=["lead_provider_id", "created_at", "declaration_id"], name="dvis_created"),
            models.Index(fields=["lead_provider_id", "updated_at"], name="dvis_updated"),
            models.Index(fields=["lead_provider_id", "xid"], name="dvis_xid"),
        ]

    def __str__(self):
        return f"{self.lead_provider_id} sees declaration {self.declaration_id}"
