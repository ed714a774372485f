"""A pytest plugin for `make fuzz`: prints the figures of tests/test_fuzz.py when the run ends.

python -m pytest -p tests.fuzz_report tests/test_fuzz.py
"""


def pytest_terminal_summary(terminalreporter):
    from tests.test_fuzz import FAILED_OPERATIONS, FIGURES, FUZZ_EXAMPLES, FUZZ_PHASES, FUZZ_SEED
    from tests.test_stateful import FUZZ_STATEFUL_EXAMPLES, STATEFUL_FIGURES, STEPS

    answers = ", ".join(f"{FIGURES[key]} {key}" for key in sorted(FIGURES) if key.endswith("xx"))
    write = terminalreporter.write_line
    terminalreporter.section("fuzz figures")
    if not FIGURES["operations"]:
        write("none in this process: the figures are counted where the tests run (run without -n)")
        return
    write(f"phases: {', '.join(FUZZ_PHASES)}; generated cases per operation: {FUZZ_EXAMPLES}; seed: {FUZZ_SEED}")
    write(f"operations: {FIGURES['operations']}")
    write(f"requests sent: {FIGURES['requests']} ({answers})")
    write(f"failures: {len(FAILED_OPERATIONS)} operations")
    for label in sorted(FAILED_OPERATIONS):
        write(f"  {label}")
    if STATEFUL_FIGURES["sequences"]:
        failed = terminalreporter.stats.get("failed", [])
        stateful_failed = sum(1 for report in failed if "test_stateful" in report.nodeid)
        write(
            f"stateful: {STATEFUL_FIGURES['sequences']} sequences (examples {FUZZ_STATEFUL_EXAMPLES}, up to {STEPS}"
            f" steps), {STATEFUL_FIGURES['steps']} requests, {'FAILED' if stateful_failed else 'no failure'}"
        )
