from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from declarations.payments import statement_authorise_payment
from ecf.errors import InvalidAction
from statements.calculation import format_money
from statements.models import Statement


class Command(BaseCommand):
    help = (
        "Authorise a payable output-fee statement for payment: its payable declarations become paid, its "
        "awaiting-clawback ones clawed back, and the amounts are frozen on the statement."
    )

    def add_arguments(self, parser):
        parser.add_argument("statement_id", help="The statement's id (a UUID).")

    def handle(self, *args, statement_id, **options):
        try:
            statement = Statement.objects.select_related("lead_provider").get(pk=statement_id)
        except (Statement.DoesNotExist, ValidationError):
            raise CommandError(f"No statement with id {statement_id!r}.") from None
        try:
            statement = statement_authorise_payment(statement=statement)
        except InvalidAction as refusal:
            raise CommandError(refusal.message) from None
        self.stdout.write(
            f"{statement.lead_provider.name} {statement.name} (cohort {statement.cohort_id}) authorised for "
            f"payment at {statement.marked_as_paid_at:%Y-%m-%d %H:%M:%S %Z}: total "
            f"{format_money(statement.paid_amounts['total'])}."
        )
