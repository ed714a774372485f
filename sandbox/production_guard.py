"""The sandbox tools never run against production (issue 12.7).

`seed_sandbox` creates a superuser with a published password and fixed, guessable tokens for
existing providers; `load_scenario` can rewrite declaration history. Under `ECF_ENV=production`
both stop before they touch the database.
"""

from django.conf import settings
from django.core.management.base import CommandError


def refuse_in_production(command: str, why: str) -> None:
    if settings.ECF_ENV == "production":
        raise CommandError(
            f"{command} refuses to run with ECF_ENV=production: {why}. Nothing was written. "
            "Run it on a development or sandbox deployment."
        )
