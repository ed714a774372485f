from django.core.management.base import BaseCommand, CommandError

from sandbox.production_guard import refuse_in_production
from sandbox.report import ProgressBar, format_report
from sandbox.world import DEFAULT_PARTICIPANTS, DEFAULT_SEED
from sandbox.writer import SandboxConflict, sandbox_seed


class Command(BaseCommand):
    help = (
        "Build, or top up, the deterministic sandbox: seven lead providers with fixed tokens, schools, "
        "partnerships, contracts, statements, participants and declarations in every state, and the "
        "admin/finance logins. Running it again adds only what is missing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="Same seed, same data and ids.")
        parser.add_argument(
            "--participants",
            type=int,
            default=DEFAULT_PARTICIPANTS,
            help="How many participants (about one school per 40, at least 300 schools).",
        )
        parser.add_argument(
            "--base-url",
            default="http://localhost:8000",
            help="Where the service will answer, for the links printed at the end (make run passes its PORT).",
        )

    def handle(self, *args, seed, participants, base_url, **options):
        refuse_in_production(
            "seed_sandbox", "it creates a superuser with a published password and fixed tokens for the providers"
        )
        if participants < 0:
            raise CommandError("--participants must be 0 or more.")
        progress = ProgressBar(
            lambda text: self.stderr.write(text, style_func=str, ending=""), interactive=self.stderr.isatty()
        )
        try:
            report = sandbox_seed(seed=seed, participants=participants, progress=progress)
        except SandboxConflict as error:
            raise CommandError(str(error)) from error
        self.stdout.write(format_report(report, base_url=base_url.rstrip("/")))
