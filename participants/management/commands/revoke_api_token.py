from django.core.management.base import BaseCommand, CommandError

from participants.tokens import api_token_revoke, find_lead_provider


class Command(BaseCommand):
    help = "Revoke a lead provider's API token (the one given with --token), or all of its tokens."

    def add_arguments(self, parser):
        parser.add_argument("lead_provider", help="The lead provider's name (any case) or id.")
        parser.add_argument("--token", help="The token to revoke; without it every active token is revoked.")

    def handle(self, *args, lead_provider, token, **options):
        provider = find_lead_provider(lead_provider)
        if provider is None:
            raise CommandError(f"No lead provider called or with id {lead_provider!r}.")
        revoked = api_token_revoke(lead_provider=provider, raw_token=token)
        if token and not revoked:
            raise CommandError(f"That token is not an active token of {provider.name}.")
        self.stdout.write(f"Revoked {revoked} token(s) of {provider.name}.")
