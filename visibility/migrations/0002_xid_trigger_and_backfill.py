"""PostgreSQL stamps each read-model row with the id of the transaction that wrote it (the change
cursor compares it with a poll's snapshot, api/cursor.py); then the read model is backfilled from
the base tables of an existing database."""

from django.db import migrations

TABLES = ("visibility_participantvisibility", "visibility_trainingrecordvisibility", "visibility_declarationvisibility")

FUNCTION = """
CREATE OR REPLACE FUNCTION visibility_stamp_xid() RETURNS trigger AS $$
BEGIN
    NEW.xid := pg_current_xact_id()::text::bigint;
    RETURN NEW;
END $$ LANGUAGE plpgsql;
"""


def stamp_with_transaction_ids(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return  # SQLite: the refresh writes a counter (visibility.services._next_stamp)
    schema_editor.execute(FUNCTION)
    for table in TABLES:
        schema_editor.execute(
            f"CREATE TRIGGER {table}_xid BEFORE INSERT OR UPDATE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION visibility_stamp_xid()"
        )


def unstamp(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_xid ON {table}")
    schema_editor.execute("DROP FUNCTION IF EXISTS visibility_stamp_xid()")


def backfill(apps, schema_editor):
    # The service, not historical models: the read model is a function of today's base tables and
    # visibility rules, and an empty database costs three queries.
    from visibility.services import visibility_rebuild  # noqa: PLC0415

    visibility_rebuild()


class Migration(migrations.Migration):
    dependencies = [("visibility", "0001_read_model")]

    operations = [
        migrations.RunPython(stamp_with_transaction_ids, unstamp),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
