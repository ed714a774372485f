import csv
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from ecf.errors import ServiceValidationError
from participants.services import early_roll_out_mentors_replace


class Command(BaseCommand):
    help = (
        "Replace the list of mentors who completed during the early roll-out (reference data, rules §4.10) "
        "with the TRNs in FILE: a CSV whose first column is the TRN (a header row 'trn' is skipped). "
        "Mentors whose standing changes get their completion date and reason brought up to date. "
        "An invalid file changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)

    def handle(self, *args, file: Path, **options):
        try:
            with file.open(newline="", encoding="utf-8-sig") as handle:
                rows = [row for row in csv.reader(handle) if row and row[0].strip()]
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error.strerror}") from None
        trns = [row[0].strip() for row in rows]
        if trns and trns[0].lower() == "trn":
            trns = trns[1:]
        try:
            refreshed = early_roll_out_mentors_replace(trns=trns)
        except ServiceValidationError as refusal:
            raise CommandError("; ".join(detail for _, detail in refusal.errors)) from None
        self.stdout.write(
            f"Early-roll-out list: {len(set(trns))} TRNs; {refreshed} mentor enrolments brought up to date."
        )
