"""Financial history is append-only in the database itself (issue 13.5).

Migration 0002 guards state changes only; this one guards what was paid:

* A declaration that is, or is becoming, paid (paid, awaiting_clawback, clawed_back) keeps its
  statement and everything its amount was calculated from (enrolment, provider, cohort, course,
  type, declaration date, uplift flags). Its clawback statement may be set once (voiding a paid
  declaration), never moved or removed. Its participant and mentor may change: a participant
  merge moves declarations to the surviving record (participants.services.participant_merge), and
  neither is part of any amount. It cannot be deleted.
* Its state history (declarations_declarationstatechange) only grows: no row of a paid
  declaration's history is updated or deleted.
* A paid statement keeps its status, authorisation time, frozen figures, provider, cohort and
  fee type, and cannot be deleted.

INSERTs are never refused (the sandbox seeder bulk-inserts paid history), and TRUNCATE fires no
row triggers (test teardown). The refusal is a check_violation (an IntegrityError in Django).
"""

from django.db import migrations

PAID_STATES = "('paid', 'awaiting_clawback', 'clawed_back')"
# What a paid declaration's amount is calculated from, and the statement it was paid on.
FROZEN_DECLARATION_COLUMNS = (
    "statement_id",
    "enrolment_id",
    "lead_provider_id",
    "cohort_id",
    "course_identifier",
    "declaration_type",
    "declaration_date",
    "pupil_premium_uplift",
    "sparsity_uplift",
)
FROZEN_STATEMENT_COLUMNS = ("status", "marked_as_paid_at", "paid_amounts", "lead_provider_id", "cohort_id", "output_fee")


def _changed(columns, *, distinct="IS DISTINCT FROM") -> str:
    return " OR ".join(f"NEW.{column} {distinct} OLD.{column}" for column in columns)


_DECLARATION_CHANGED = _changed(FROZEN_DECLARATION_COLUMNS)
_CLAWBACK_MOVED = "(OLD.clawback_statement_id IS NOT NULL AND NEW.clawback_statement_id IS DISTINCT FROM OLD.clawback_statement_id)"
_STATEMENT_CHANGED = _changed(FROZEN_STATEMENT_COLUMNS)

POSTGRES_FORWARD = [
    f"""
    CREATE FUNCTION declaration_paid_guard() RETURNS trigger AS $$
    BEGIN
        IF TG_OP = 'DELETE' THEN
            IF OLD.state IN {PAID_STATES} THEN
                RAISE EXCEPTION 'a paid declaration cannot be deleted (declaration %)', OLD.id
                    USING ERRCODE = 'check_violation';
            END IF;
            RETURN OLD;
        END IF;
        IF (OLD.state IN {PAID_STATES} OR NEW.state IN {PAID_STATES})
           AND ({_DECLARATION_CHANGED} OR {_CLAWBACK_MOVED}) THEN
            RAISE EXCEPTION 'a paid declaration keeps its statements and amounts (declaration %)', OLD.id
                USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
    END;
    $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER declaration_paid_guard BEFORE UPDATE OR DELETE ON declarations_declaration
        FOR EACH ROW EXECUTE FUNCTION declaration_paid_guard()
    """,
    f"""
    CREATE FUNCTION declaration_history_guard() RETURNS trigger AS $$
    BEGIN
        IF EXISTS (
            SELECT 1 FROM declarations_declaration
            WHERE id = OLD.declaration_id AND state IN {PAID_STATES}
        ) THEN
            RAISE EXCEPTION 'a paid declaration''s state history is append-only (declaration %)', OLD.declaration_id
                USING ERRCODE = 'check_violation';
        END IF;
        RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    END;
    $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER declaration_history_guard BEFORE UPDATE OR DELETE ON declarations_declarationstatechange
        FOR EACH ROW EXECUTE FUNCTION declaration_history_guard()
    """,
    f"""
    CREATE FUNCTION statement_paid_guard() RETURNS trigger AS $$
    BEGIN
        IF TG_OP = 'DELETE' THEN
            IF OLD.status = 'paid' THEN
                RAISE EXCEPTION 'a paid statement cannot be deleted (statement %)', OLD.id
                    USING ERRCODE = 'check_violation';
            END IF;
            RETURN OLD;
        END IF;
        IF OLD.status = 'paid' AND ({_STATEMENT_CHANGED}) THEN
            RAISE EXCEPTION 'a paid statement keeps what it paid (statement %)', OLD.id
                USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
    END;
    $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER statement_paid_guard BEFORE UPDATE OR DELETE ON statements_statement
        FOR EACH ROW EXECUTE FUNCTION statement_paid_guard()
    """,
]
POSTGRES_BACKWARD = [
    "DROP TRIGGER IF EXISTS statement_paid_guard ON statements_statement",
    "DROP FUNCTION IF EXISTS statement_paid_guard()",
    "DROP TRIGGER IF EXISTS declaration_history_guard ON declarations_declarationstatechange",
    "DROP FUNCTION IF EXISTS declaration_history_guard()",
    "DROP TRIGGER IF EXISTS declaration_paid_guard ON declarations_declaration",
    "DROP FUNCTION IF EXISTS declaration_paid_guard()",
]

_SQLITE_DECLARATION_CHANGED = _changed(FROZEN_DECLARATION_COLUMNS, distinct="IS NOT")
_SQLITE_CLAWBACK_MOVED = "(OLD.clawback_statement_id IS NOT NULL AND NEW.clawback_statement_id IS NOT OLD.clawback_statement_id)"
_SQLITE_STATEMENT_CHANGED = _changed(FROZEN_STATEMENT_COLUMNS, distinct="IS NOT")
_SQLITE_PAID_HISTORY = (
    f"EXISTS (SELECT 1 FROM declarations_declaration WHERE id = OLD.declaration_id AND state IN {PAID_STATES})"
)
SQLITE_FORWARD = [
    f"""
    CREATE TRIGGER declaration_paid_guard_update BEFORE UPDATE ON declarations_declaration
    WHEN (OLD.state IN {PAID_STATES} OR NEW.state IN {PAID_STATES})
         AND ({_SQLITE_DECLARATION_CHANGED} OR {_SQLITE_CLAWBACK_MOVED})
    BEGIN
        SELECT RAISE(ABORT, 'a paid declaration keeps its statements and amounts');
    END
    """,
    f"""
    CREATE TRIGGER declaration_paid_guard_delete BEFORE DELETE ON declarations_declaration
    WHEN OLD.state IN {PAID_STATES}
    BEGIN
        SELECT RAISE(ABORT, 'a paid declaration cannot be deleted');
    END
    """,
    f"""
    CREATE TRIGGER declaration_history_guard_update BEFORE UPDATE ON declarations_declarationstatechange
    WHEN {_SQLITE_PAID_HISTORY}
    BEGIN
        SELECT RAISE(ABORT, 'a paid declaration''s state history is append-only');
    END
    """,
    f"""
    CREATE TRIGGER declaration_history_guard_delete BEFORE DELETE ON declarations_declarationstatechange
    WHEN {_SQLITE_PAID_HISTORY}
    BEGIN
        SELECT RAISE(ABORT, 'a paid declaration''s state history is append-only');
    END
    """,
    f"""
    CREATE TRIGGER statement_paid_guard_update BEFORE UPDATE ON statements_statement
    WHEN OLD.status = 'paid' AND ({_SQLITE_STATEMENT_CHANGED})
    BEGIN
        SELECT RAISE(ABORT, 'a paid statement keeps what it paid');
    END
    """,
    """
    CREATE TRIGGER statement_paid_guard_delete BEFORE DELETE ON statements_statement
    WHEN OLD.status = 'paid'
    BEGIN
        SELECT RAISE(ABORT, 'a paid statement cannot be deleted');
    END
    """,
]
SQLITE_BACKWARD = [
    f"DROP TRIGGER IF EXISTS {name}"
    for name in (
        "declaration_paid_guard_update",
        "declaration_paid_guard_delete",
        "declaration_history_guard_update",
        "declaration_history_guard_delete",
        "statement_paid_guard_update",
        "statement_paid_guard_delete",
    )
]


def _run(schema_editor, postgres: list[str], sqlite: list[str]) -> None:
    for statement in postgres if schema_editor.connection.vendor == "postgresql" else sqlite:
        schema_editor.execute(statement, params=None)


def forward(apps, schema_editor):
    _run(schema_editor, POSTGRES_FORWARD, SQLITE_FORWARD)


def backward(apps, schema_editor):
    _run(schema_editor, POSTGRES_BACKWARD, SQLITE_BACKWARD)


class Migration(migrations.Migration):
    dependencies = [
        ("declarations", "0003_ineligible_reason_kept_when_voided"),
        # Frozen figures are rounded to pennies before they become unchangeable.
        ("statements", "0002_frozen_figures_in_pennies"),
    ]

    operations = [migrations.RunPython(forward, backward)]
