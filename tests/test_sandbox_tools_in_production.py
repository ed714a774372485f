"""Issue 12.7: seed_sandbox and load_scenario refuse ECF_ENV=production with a clear message and write nothing."""

import io
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import connection

from ecf import clock
from tests import served

FUNDABLE_ECT = Path(__file__).resolve().parent.parent / "docs" / "scenarios" / "fundable_ect.yaml"


def row_counts() -> dict[str, int]:
    return {model._meta.label: model.objects.count() for model in apps.get_models()}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("command", "args", "why"),
    [
        (
            "seed_sandbox",
            ["--participants", "5"],
            "it creates a superuser with a published password and fixed tokens for the providers",
        ),
        ("load_scenario", [str(FUNDABLE_ECT)], "it creates and rewrites participants, declarations and their history"),
    ],
)
def test_the_sandbox_tools_refuse_production_and_write_nothing(settings, lead_provider, command, args, why):
    settings.ECF_ENV = "production"
    before = row_counts()

    with pytest.raises(CommandError) as refused:
        call_command(command, *args)

    assert str(refused.value) == (
        f"{command} refuses to run with ECF_ENV=production: {why}. Nothing was written. "
        "Run it on a development or sandbox deployment."
    )
    assert row_counts() == before


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_seed_sandbox_under_real_production_settings_exits_with_the_message():
    if connection.vendor != "postgresql":
        pytest.skip("production settings need PostgreSQL here")
    before = row_counts()

    result = subprocess.run(
        [sys.executable, "manage.py", "seed_sandbox", "--participants", "5"],
        cwd=served.ROOT,
        env=served.production_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 1
    assert "seed_sandbox refuses to run with ECF_ENV=production" in result.stderr
    assert row_counts() == before


@pytest.mark.django_db
@pytest.mark.parametrize("environment", ["development", "test"])
def test_outside_production_the_tools_still_run(settings, environment):
    settings.ECF_ENV = environment
    output = io.StringIO()

    with clock.frozen(datetime(2026, 11, 29, 12, 0, tzinfo=UTC)):
        call_command("load_scenario", str(FUNDABLE_ECT), stdout=output)

    assert output.getvalue().startswith(f"Loaded scenario {FUNDABLE_ECT}:")
