"""`load_scenario` writes paid history as a real year would (issue 13.5): a file's paid statements are
frozen as authorisation freezes them, and a later load may carry a paid declaration on (clawed back)
but never rewrite it, move it, or add to a statement that was already paid."""

import copy
from datetime import UTC, datetime

import pytest
from django.core.management import CommandError, call_command

from declarations.models import Declaration
from ecf import clock
from statements.calculation import calculate_statement
from statements.freezing import frozen_figures
from statements.models import Statement, StatementStatus
from tests.test_load_scenario import TWO_PROVIDERS, load, minimal_scenario, row_counts, write_scenario

pytestmark = pytest.mark.django_db

DECLARATION = "22222222-2222-4222-8222-222222222222"
PAID_ON = datetime(2025, 1, 20, 14, 5, tzinfo=UTC)


def paid_scenario() -> dict:
    """Emma's `started` paid on January 2025; April 2025 is still open (it could claw it back)."""
    document = minimal_scenario()
    document["statements"] = [
        {
            "lead_provider": "Ambition Institute",
            "cohort": 2024,
            "month": "January 2025",
            "status": "paid",
            "marked_as_paid_at": PAID_ON.isoformat(),
        },
        {"lead_provider": "Ambition Institute", "cohort": 2024, "month": "April 2025"},
    ]
    document["declarations"] = [
        {
            "id": DECLARATION,
            "participant": "11111111-1111-4111-8111-111111111111",
            "course_identifier": "ecf-induction",
            "declaration_type": "started",
            "declaration_date": "2024-10-01T10:00:00Z",
            "state": "paid",
            "statement": "January 2025",
        }
    ]
    return document


def history(declaration_id=DECLARATION) -> list[tuple]:
    declaration = Declaration.objects.get(pk=declaration_id)
    return list(declaration.state_changes.order_by("created_at", "id").values_list("id", "from_state", "state"))


def reload_fails(tmp_path, document) -> str:
    before = row_counts()
    with pytest.raises(CommandError) as failure:
        load(write_scenario(tmp_path, document, name="changed.yaml"))
    assert row_counts() == before
    return str(failure.value)


def test_a_scenarios_paid_statements_are_frozen_as_authorisation_freezes_them():
    load(TWO_PROVIDERS)

    paid = Statement.objects.filter(status=StatementStatus.PAID)
    assert paid.count() == 6
    for statement in paid:
        assert statement.paid_amounts, statement
        with clock.frozen(statement.marked_as_paid_at):
            assert statement.paid_amounts == frozen_figures(calculate_statement(statement)), statement
    january = paid.get(lead_provider__name="Ambition Institute", year=2025, month=1)
    assert january.marked_as_paid_at == PAID_ON  # the file's authorisation time


def test_a_later_load_may_claw_a_paid_declaration_back_appending_to_its_history(tmp_path):
    document = paid_scenario()
    load(write_scenario(tmp_path, document))
    paid_history = history()
    frozen = Statement.objects.get(year=2025, month=1).paid_amounts

    document["declarations"][0] |= {"state": "awaiting_clawback", "clawback_statement": "April 2025"}
    load(write_scenario(tmp_path, document))

    declaration = Declaration.objects.get(pk=DECLARATION)
    assert (declaration.state, declaration.clawback_statement.month) == ("awaiting_clawback", 4)
    assert history()[: len(paid_history)] == paid_history  # the same rows, kept
    assert [step[1:] for step in history()[len(paid_history) :]] == [("paid", "awaiting_clawback")]
    assert Statement.objects.get(year=2025, month=1).paid_amounts == frozen


@pytest.mark.parametrize(
    "change",
    [{"state": "eligible", "statement": "April 2025"}, {"state": "voided"}],
    ids=["unpaid again", "voided"],
)
def test_a_later_load_cannot_rewrite_a_paid_declarations_state(tmp_path, change):
    document = paid_scenario()
    load(write_scenario(tmp_path, document))
    paid_history = history()

    changed = copy.deepcopy(document)
    changed["declarations"][0] |= change
    message = reload_fails(tmp_path, changed)

    assert f"declarations[0].state: declaration {DECLARATION} is paid: paid financial history cannot be rewritten" in (
        message
    )
    assert Declaration.objects.get(pk=DECLARATION).state == "paid"
    assert history() == paid_history


def test_a_later_load_cannot_move_a_paid_declaration_or_change_what_it_was_paid_for(tmp_path):
    document = paid_scenario()
    load(write_scenario(tmp_path, document))

    changed = copy.deepcopy(document)
    changed["declarations"][0]["declaration_date"] = "2024-10-02T10:00:00Z"
    message = reload_fails(tmp_path, changed)

    assert "declarations[0]: a paid declaration keeps its statements and amounts" in message
    assert "load the changed file into a fresh database instead" in message


def test_a_statement_paid_by_an_earlier_load_takes_no_new_declaration(tmp_path):
    document = paid_scenario()
    load(write_scenario(tmp_path, document))
    frozen = Statement.objects.get(year=2025, month=1).paid_amounts

    changed = copy.deepcopy(document)
    changed["declarations"].append(
        changed["declarations"][0] | {"id": "33333333-3333-4333-8333-333333333333", "declaration_type": "retained-1"}
    )
    changed["declarations"][1]["declaration_date"] = "2024-12-01T10:00:00Z"
    message = reload_fails(tmp_path, changed)

    assert "declarations[1].statement: January 2025 was paid before: it takes no new declaration" in message
    assert Statement.objects.get(year=2025, month=1).paid_amounts == frozen


def test_a_statement_paid_by_an_earlier_load_keeps_what_it_paid(tmp_path):
    document = paid_scenario()
    load(write_scenario(tmp_path, document))

    changed = copy.deepcopy(document)
    changed["statements"][0]["marked_as_paid_at"] = "2025-01-22T09:00:00Z"
    message = reload_fails(tmp_path, changed)

    assert "statements[0]: a paid statement keeps what it paid" in message
    assert Statement.objects.get(year=2025, month=1).marked_as_paid_at == PAID_ON


def test_loading_twice_leaves_paid_history_as_it_was(tmp_path):
    path = write_scenario(tmp_path, paid_scenario())
    load(path)
    before = (history(), Statement.objects.get(year=2025, month=1).paid_amounts)

    with clock.frozen(datetime(2026, 12, 5, tzinfo=UTC)):
        call_command("load_scenario", str(path))

    assert (history(), Statement.objects.get(year=2025, month=1).paid_amounts) == before
