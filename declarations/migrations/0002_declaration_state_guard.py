"""The database refuses a declaration state change the rules do not allow (rules §5.2).

declarations/state_machine.py is where changes are made; this trigger makes an illegal move
impossible even for code (or a person at a SQL prompt) that bypasses it. The pairs mirror
state_machine.ALLOWED as it was when this migration was written; tests check the two agree.
"""

from django.db import migrations

ALLOWED_PAIRS = (
    ("submitted", "eligible"),
    ("submitted", "ineligible"),
    ("submitted", "voided"),
    ("eligible", "submitted"),
    ("eligible", "payable"),
    ("eligible", "voided"),
    ("payable", "paid"),
    ("payable", "voided"),
    ("paid", "awaiting_clawback"),
    ("ineligible", "voided"),
    ("awaiting_clawback", "clawed_back"),
)
_MOVES = ", ".join(f"'{old}>{new}'" for old, new in ALLOWED_PAIRS)

POSTGRES_FORWARD = [
    f"""
    CREATE FUNCTION declaration_state_guard() RETURNS trigger AS $$
    BEGIN
        IF NEW.state IS DISTINCT FROM OLD.state AND (OLD.state || '>' || NEW.state) NOT IN ({_MOVES}) THEN
            RAISE EXCEPTION 'illegal declaration state change % -> %', OLD.state, NEW.state
                USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
    END;
    $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER declaration_state_guard BEFORE UPDATE OF state ON declarations_declaration
        FOR EACH ROW EXECUTE FUNCTION declaration_state_guard()
    """,
]
POSTGRES_BACKWARD = [
    "DROP TRIGGER IF EXISTS declaration_state_guard ON declarations_declaration",
    "DROP FUNCTION IF EXISTS declaration_state_guard()",
]
SQLITE_FORWARD = [
    f"""
    CREATE TRIGGER declaration_state_guard BEFORE UPDATE OF state ON declarations_declaration
    WHEN NEW.state IS NOT OLD.state AND (OLD.state || '>' || NEW.state) NOT IN ({_MOVES})
    BEGIN
        SELECT RAISE(ABORT, 'illegal declaration state change');
    END
    """
]
SQLITE_BACKWARD = ["DROP TRIGGER IF EXISTS declaration_state_guard"]


def _run(schema_editor, postgres: list[str], sqlite: list[str]) -> None:
    for statement in postgres if schema_editor.connection.vendor == "postgresql" else sqlite:
        schema_editor.execute(statement, params=None)


def forward(apps, schema_editor):
    _run(schema_editor, POSTGRES_FORWARD, SQLITE_FORWARD)


def backward(apps, schema_editor):
    _run(schema_editor, POSTGRES_BACKWARD, SQLITE_BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("declarations", "0001_initial")]

    operations = [migrations.RunPython(forward, backward)]
