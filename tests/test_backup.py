"""The backup and restore commands of docs/deployment.md work: a `pg_dump --format=custom` of the
live database restored with `pg_restore` into a new database holds the same rows."""

import shutil
import subprocess

import psycopg
import pytest
from django.db import connection
from psycopg.conninfo import make_conninfo

from declarations.models import Declaration
from participants.models import Participant
from tests.factories import DeclarationFactory


def conninfo(**overrides: str) -> str:
    """A libpq connection string for the test database, as pg_dump and pg_restore take it."""
    params = {
        key: value
        for key, value in connection.get_connection_params().items()
        if key in ("host", "port", "user", "password", "dbname")
    }
    return make_conninfo(**{**params, **overrides})


TABLES = ["declarations_declaration", "declarations_declarationstatechange", "participants_participant"]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_nightly_dump_restores_into_a_new_database_with_the_same_rows(tmp_path):
    if connection.vendor != "postgresql" or not shutil.which("pg_dump") or not shutil.which("pg_restore"):
        pytest.skip("needs PostgreSQL and its client tools (pg_dump, pg_restore)")
    DeclarationFactory(eligible=True)
    DeclarationFactory(paid=True)
    restored_name = f"{connection.settings_dict['NAME']}_restored"
    live, restored = conninfo(), conninfo(dbname=restored_name)
    dump = tmp_path / "ecf.dump"

    subprocess.run(["pg_dump", "--format=custom", "--no-owner", f"--file={dump}", live], check=True, timeout=120)
    listing = subprocess.run(["pg_restore", "--list", str(dump)], check=True, capture_output=True, text=True)
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{restored_name}"')
    try:
        subprocess.run(["pg_restore", "--no-owner", f"--dbname={restored}", str(dump)], check=True, timeout=120)
        with psycopg.connect(restored) as copy:
            counts = [copy.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in TABLES]
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{restored_name}" WITH (FORCE)')

    assert "TABLE DATA public declarations_declaration" in listing.stdout
    assert counts[0] == Declaration.objects.count() == 2
    assert counts[2] == Participant.objects.count()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {TABLES[1]}")
        assert counts[1] == cursor.fetchone()[0] > 0
