from django.core.management.base import BaseCommand, CommandError

from participants.tokens import api_token_create, find_lead_provider


class Command(BaseCommand):
    help = "Issue an API token for a lead provider and print it once (only a digest is stored)."

    def add_arguments(self, parser):
        parser.add_argument("lead_provider", help="The lead provider's name (any case) or id.")
        parser.add_argument("--label", default="", help="A note to recognise the token by, e.g. 'staging'.")

    def handle(self, *args, lead_provider, label, **options):
        provider = find_lead_provider(lead_provider)
        if provider is None:
            raise CommandError(f"No lead provider called or with id {lead_provider!r}.")
        raw = api_token_create(lead_provider=provider, label=label)
        self.stderr.write(f"Token for {provider.name} (shown once; store it now):")
        self.stdout.write(raw)
