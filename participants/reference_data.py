"""Cohorts 2021–2026 and their schedules and milestones (rules §9, schedules.csv).

Loaded by a data migration, so every database, from a developer's SQLite file to production,
has the same reference data. Written against the models passed in, so the migration can use
its historical models.
"""

import csv
from datetime import UTC, date, datetime
from pathlib import Path

SCHEDULES_CSV = Path(__file__).parent / "data" / "schedules.csv"
PROVISIONAL_COHORTS = {2026}  # decisions §6: 2026 rows are provisional

# start_year: (payments frozen at, mentor funding and detailed evidence types)
COHORTS = {
    2021: (datetime(2024, 6, 18, tzinfo=UTC), False),
    2022: (datetime(2025, 6, 16, tzinfo=UTC), False),
    2023: (None, False),
    2024: (None, False),
    2025: (None, True),
    2026: (None, True),
}


def _date(value: str) -> date | None:
    return date.fromisoformat(value) if value else None


def load(Cohort, Schedule, Milestone) -> None:
    for year, (frozen_at, from_2025) in COHORTS.items():
        Cohort.objects.update_or_create(
            start_year=year,
            defaults={
                "registration_start_date": date(year, 5, 10),
                "academic_year_start_date": date(year, 9, 1),
                "automatic_assignment_period_end_date": date(year + 1, 3, 31),
                "payments_frozen_at": frozen_at,
                "mentor_funding": from_2025,
                "detailed_evidence_types": from_2025,
            },
        )
    with SCHEDULES_CSV.open(newline="") as handle:
        for row in csv.DictReader(handle):
            cohort = int(row["cohort"])
            schedule, _ = Schedule.objects.update_or_create(
                cohort_id=cohort,
                identifier=row["schedule_identifier"],
                defaults={"name": row["schedule_name"], "provisional": cohort in PROVISIONAL_COHORTS},
            )
            Milestone.objects.update_or_create(
                schedule=schedule,
                declaration_type=row["declaration_type"],
                defaults={
                    "start_date": _date(row["start_date"]),
                    "milestone_date": _date(row["milestone_date"]),
                    "payment_date": _date(row["payment_date"]),
                },
            )
