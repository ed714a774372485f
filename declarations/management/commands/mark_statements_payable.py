from django.core.management.base import BaseCommand

from declarations.models import DeclarationState
from declarations.payments import statements_mark_payable


class Command(BaseCommand):
    help = (
        "Make every open output-fee statement whose milestone cut-off date has passed payable, with its "
        "eligible declarations (the daily payment run; it catches up missed days and is safe to rerun)."
    )

    def handle(self, *args, **options):
        moved = statements_mark_payable()
        if not moved:
            self.stdout.write("No open output-fee statements past their cut-off date: nothing to do.")
        for statement in moved:
            payable = statement.declarations.filter(state=DeclarationState.PAYABLE).count()
            self.stdout.write(
                f"{statement.lead_provider.name} {statement.name} (cohort {statement.cohort_id}, cut-off "
                f"{statement.deadline_date}) is payable: {payable} declaration(s) now payable. [{statement.pk}]"
            )
