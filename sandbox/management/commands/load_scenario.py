from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from sandbox.production_guard import refuse_in_production
from sandbox.scenario_schema import ScenarioError, scenario_read
from sandbox.scenario_writer import scenario_load


class Command(BaseCommand):
    help = (
        "Load a scenario (JSON or YAML, format in docs/scenarios.md) in one transaction. "
        "An invalid file writes nothing; loading the same file again changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="The scenario file, e.g. docs/scenarios/fundable_ect.yaml.")

    def handle(self, *args, file, **options):
        refuse_in_production("load_scenario", "it creates and rewrites participants, declarations and their history")
        try:
            summary = scenario_load(data=scenario_read(Path(file)))
        except ScenarioError as error:
            problems = "\n".join(f"  {line}" for line in error.errors)
            raise CommandError(
                f"Scenario {file} not loaded, nothing was written ({len(error.errors)} error(s)):\n{problems}"
            ) from None
        self.stdout.write(f"Loaded scenario {file}:")
        self.stdout.write("\n".join(summary.lines()))
