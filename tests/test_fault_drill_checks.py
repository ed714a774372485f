"""The fault drill's checks can fail (issue 13): each is run on a good answer set, where it passes,
and on the same set broken in the one way it looks for, where it must fail. No server, no database:
the checks are pure functions over what the clients saw and what the database held
(scripts/fault_drill.py `run_checks`)."""

import importlib.util
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

_SPEC = importlib.util.spec_from_file_location(
    "fault_drill", Path(__file__).resolve().parent.parent / "scripts" / "fault_drill.py"
)
drill = sys.modules.setdefault("fault_drill", importlib.util.module_from_spec(_SPEC))
_SPEC.loader.exec_module(drill)
Outcome, Written, Timeline = drill.Outcome, drill.Written, drill.Timeline

PROVIDER = "provider-a"
TIMELINE = Timeline(kill=(10.0, 16.0), exhaust=(30.0, 36.0), end=60.0)


def key(n: int, declaration_type: str = "started") -> tuple:
    return (PROVIDER, f"participant-{n}", "ecf-induction", declaration_type)


def accepted(n: int, at: float = 5.0) -> tuple[Outcome, Written]:
    """A planned POST answered 200, and the declaration it stored."""
    outcome = Outcome("post", at, at + 0.1, 200, key=key(n), declaration_id=f"declaration-{n}")
    return outcome, Written(f"declaration-{n}", key(n), "eligible", trn=f"{n:07d}")


def good_set(planned: int = 10) -> tuple[list[Outcome], list[Written]]:
    """Every planned declaration answered 200 and stored once, GETs in every phase, errors only during
    the faults, a deliberate duplicate refused, a twin pair of which one is ineligible."""
    outcomes, written = [], []
    for n in range(planned - 2):
        outcome, row = accepted(n, at=2.0 + n * 6)
        outcomes.append(outcome)
        written.append(row)
    twin_a, row_a = accepted(100, at=20.0)
    twin_b, row_b = accepted(101, at=20.0)
    outcomes += [twin_a, twin_b]
    written += [replace(row_a, trn="1234567"), replace(row_b, trn="1234567", state="ineligible")]
    outcomes.append(Outcome("duplicate", 25.0, 25.1, 422, key=key(0)))
    outcomes += [Outcome("get", at, at + 0.1, 200, path="/api/v3/statements") for at in (1.0, 20.0, 50.0)]
    outcomes += [
        Outcome("get", 11.0, 11.2, None, "ConnectionResetError", path="/api/v3/statements"),
        Outcome("get", 31.0, 31.1, 500, path="/api/v3/statements"),
    ]
    return outcomes, written


def problems_of(outcomes, written, planned: int = 10) -> dict[str, list[str]]:
    return drill.run_checks(outcomes, written, planned, drill.phase_counts(outcomes, TIMELINE))


def failing(results: dict[str, list[str]]) -> dict[str, list[str]]:
    return {name: problems for name, problems in results.items() if problems}


def test_a_good_answer_set_passes_every_check():
    outcomes, written = good_set()

    assert failing(problems_of(outcomes, written)) == {}


def test_a_declaration_answered_200_and_missing_from_the_database_is_lost():
    outcomes, written = good_set()
    written = [row for row in written if row.id != "declaration-3"]

    assert failing(problems_of(outcomes, written)) == {
        "nothing lost": [
            "lost: declaration-3 was answered 200 (post at 20.0s) but is not in the database",
        ]
    }


def test_one_body_stored_twice_is_doubled():
    outcomes, written = good_set()
    written.append(Written("declaration-3-again", key(3), "eligible", trn="0000003"))

    result = failing(problems_of(outcomes, written))

    assert list(result) == ["nothing doubled", "no commit-then-5xx"]
    assert result["nothing doubled"] == [f"doubled: one body {key(3)} holds ['declaration-3', 'declaration-3-again']"]


@pytest.mark.parametrize("state", ["submitted", "eligible"])
def test_a_deliberate_duplicate_that_took_a_slot_is_doubled(state):
    outcomes, written = good_set()
    outcomes.append(Outcome("duplicate", 40.0, 40.1, 200, key=key(2), declaration_id="declaration-2b"))
    written.append(Written("declaration-2b", key(2), state, trn="0000002"))

    result = failing(problems_of(outcomes, written))

    assert result["nothing doubled"] == [
        f"doubled: one body {key(2)} holds ['declaration-2', 'declaration-2b']",
        f"doubled: a deliberate duplicate {key(2)} was answered 200 (declaration-2b, {state})",
    ]


def test_the_body_of_a_same_trn_duplicate_sent_again_records_another_ineligible_one():
    """Rules §4.6: an `ineligible` declaration holds no slot, so this is the contract, not a double."""
    outcomes, written = good_set()
    outcomes.append(Outcome("duplicate", 40.0, 40.1, 200, key=key(101), declaration_id="declaration-101b"))
    written.append(Written("declaration-101b", key(101), "ineligible", trn="1234567"))

    assert failing(problems_of(outcomes, written)) == {}


@pytest.mark.parametrize("second_state", ["eligible", "payable", "paid"])
def test_two_accounts_of_one_teacher_both_payable_for_one_event_is_a_same_trn_double(second_state):
    outcomes, written = good_set()
    written = [replace(row, state=second_state) if row.id == "declaration-101" else row for row in written]

    assert failing(problems_of(outcomes, written)) == {
        "no same-TRN double": [
            "same-TRN double: TRN 1234567 is payable for ecf-induction started to 2 accounts: "
            "['declaration-100', 'declaration-101']"
        ]
    }


def test_one_teacher_payable_for_two_different_events_is_no_double():
    outcomes, written = good_set()
    written = [replace(row, key=key(101, "retained-1")) if row.id == "declaration-101" else row for row in written]
    outcomes = [
        replace(o, key=key(101, "retained-1")) if o.declaration_id == "declaration-101" else o for o in outcomes
    ]
    written = [replace(row, state="eligible") for row in written]

    assert failing(problems_of(outcomes, written)) == {}


def test_a_declaration_stored_while_its_post_got_a_500_and_its_retry_a_422_is_commit_then_5xx():
    outcomes, written = good_set()
    outcomes = [o for o in outcomes if o.declaration_id != "declaration-4"]
    outcomes += [
        Outcome("post", 14.0, 14.5, 500, "Internal server error", key=key(4)),
        Outcome("retry", 15.0, 15.1, 422, "A declaration has already been submitted", key=key(4)),
    ]

    result = failing(problems_of(outcomes, written, planned=10))

    assert result["no commit-then-5xx"] == [
        f"commit-then-5xx: declaration-4 {key(4)} was stored, its POSTs were answered 500, 422"
    ]


def test_a_retry_that_replays_the_stored_declaration_clears_a_500():
    """With an Idempotency-Key the retry gets the first declaration back: nothing is left unsure."""
    outcomes, written = good_set()
    outcomes = [o for o in outcomes if o.declaration_id != "declaration-4"]
    outcomes += [
        Outcome("post", 14.0, 14.5, 500, "Internal server error", key=key(4)),
        Outcome("retry", 17.0, 17.1, 200, key=key(4), declaration_id="declaration-4"),
    ]

    assert failing(problems_of(outcomes, written)) == {}


def test_a_declaration_written_that_no_post_explains_is_reported():
    outcomes, written = good_set()
    written.append(Written("declaration-ghost", key(55), "eligible", trn=None))

    assert failing(problems_of(outcomes, written)) == {
        "no commit-then-5xx": [
            f"unexplained: declaration-ghost {key(55)} was stored, and no POST of it failed or got its id"
        ]
    }


def test_fewer_than_the_threshold_of_planned_declarations_succeeding_fails():
    outcomes, written = good_set()

    assert failing(problems_of(outcomes, written, planned=10)) == {}
    assert drill.SUCCESS_THRESHOLD == 0.90
    result = failing(problems_of(outcomes, written, planned=12))  # 10 of 12: 83 %

    assert result == {
        "at least 90% succeeded": ["too few successes: 10 of 12 planned declarations answered 200, fewer than 90%"]
    }


def test_an_api_that_refuses_every_declaration_fails_the_drill():
    """Issue 13: with the v3 POST made to answer 422, the old drill printed OK."""
    outcomes, _ = good_set()
    outcomes = [
        replace(o, status=422, declaration_id=None, detail="refused") if o.kind == "post" else o for o in outcomes
    ]

    result = failing(problems_of(outcomes, [], planned=10))

    assert result == {
        "at least 90% succeeded": [
            "too few successes: 0 of 10 planned declarations answered 200, fewer than 90%"
            " (most often: 10 x 422 refused)"
        ]
    }


@pytest.mark.parametrize(("at", "phase"), [(2.0, "before"), (25.0, "recovered"), (50.0, "after")])
def test_an_error_outside_the_faults_means_not_recovered(at, phase):
    outcomes, written = good_set()
    outcomes.append(Outcome("get", at, at + 0.1, 502, "Bad gateway", path="/api/v3/statements"))
    outcomes.append(Outcome("get", at, at + 0.1, None, "ConnectionRefusedError", path="/api/v3/statements"))

    assert failing(problems_of(outcomes, written)) == {
        "recovered: no errors outside the faults": [f"not recovered: 2 errors in phase '{phase}'"]
    }


def test_no_traffic_after_the_last_fault_means_not_recovered():
    outcomes, written = good_set()
    outcomes = [o for o in outcomes if o.started < 36.0]

    result = failing(problems_of(outcomes, written, planned=7))

    assert result["recovered: no errors outside the faults"] == [
        "not recovered: no request was sent after the last fault"
    ]


@pytest.mark.parametrize(
    ("started", "ended", "phase"),
    [
        (9.0, 9.9, "before"),
        (9.0, 10.5, "kill"),  # in flight when PostgreSQL died
        (17.5, 17.6, "kill"),  # within the grace after the restart
        (18.5, 18.6, "recovered"),
        (29.9, 31.0, "exhaust"),
        (38.5, 38.6, "after"),
    ],
)
def test_a_request_in_flight_during_a_fault_or_its_grace_belongs_to_the_fault(started, ended, phase):
    assert drill.RECOVERY_GRACE_SECONDS == 2.0
    assert drill.phase_of(Outcome("get", started, ended, 200), TIMELINE) == phase


def test_the_phase_table_counts_each_answer_once():
    outcomes, _ = good_set()

    phases = drill.phase_counts(outcomes, TIMELINE)

    assert sum(counts["requests"] for counts in phases.values()) == len(outcomes)
    assert phases["kill"] == Counter({"requests": 2, "gets": 1, "connection": 1, "posts": 1, "2xx": 1})
    assert phases["exhaust"]["5xx"] == 1
