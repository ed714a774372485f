from django.core.management.base import BaseCommand

from visibility.services import visibility_rebuild


class Command(BaseCommand):
    help = "Recompute the read model of visibility from the base tables (after a bulk load)."

    def handle(self, *args, **options):
        visibility_rebuild()
        self.stdout.write("visibility: read model rebuilt")
