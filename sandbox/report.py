"""Telling the developer what they have: the progress bar and the closing report of `seed_sandbox`."""

from __future__ import annotations

from collections.abc import Callable

from sandbox.world import REWRITE_FLAVOURED_PROVIDERS
from sandbox.writer import SeedReport

# ---------------------------------------------------------------------------------------
# Telling the developer what they have


class ProgressBar:
    """`participants 12000/60000 [######........................] 20%` on a terminal; on anything
    else one line per tenth, so logs stay readable."""

    def __init__(
        self, write: Callable[[str], None], *, label: str = "participants", interactive: bool, width: int = 30
    ):
        self.write = write
        self.label = label
        self.interactive = interactive
        self.width = width
        self.last_tenth = -1

    def __call__(self, done: int, total: int) -> None:
        share = done / total if total else 1
        filled = int(self.width * share)
        line = f"{self.label} {done}/{total} [{'#' * filled}{'.' * (self.width - filled)}] {int(share * 100)}%"
        if self.interactive:
            self.write("\r" + line + ("\n" if done >= total else ""))
        elif int(share * 10) != self.last_tenth:
            self.last_tenth = int(share * 10)
            self.write(line + "\n")


def format_report(report: SeedReport, *, base_url: str = "http://localhost:8000") -> str:
    width = max(len(name) for name, _ in report.providers)
    lines = [
        "",
        f"Sandbox ready (seed {report.seed}, {report.participants} participants requested).",
        f"API: {base_url}/api/v3/  (e.g. curl -H 'Authorization: Bearer <token>' {base_url}/api/v3/ping)",
        "",
        "Lead providers and their tokens:",
        *(f"  {name.ljust(width)}  {token}" for name, token in report.providers),
        "",
        "These speak the rewrite's v3 contract at /api/v3/ (paths without /ecf; docs/moving-from-the-rewrite.md), "
        "the others the original's:",
        "  " + ", ".join(name for name, _ in report.providers if name in REWRITE_FLAVOURED_PROVIDERS),
        "",
        f"Back office: {base_url}/admin/",
        *(
            f"  {user:<8} password {password:<26} ({role}{', created now' if created else ', already there'})"
            for user, password, role, created in report.logins
        ),
        "",
        f"Participants already there: {report.participants_already_there}, "
        f"added: {report.participants - report.participants_already_there}.",
        f"{'':<28}{'now':>10}{'added':>10}",
        *(f"  {label:<26}{after:>10}{after - before:>+10}" for label, before, after in report.counts),
        "",
        "Declarations by state: " + _pairs(report.declaration_states),
        "Statements by status:  " + _pairs(report.statement_statuses),
    ]
    return "\n".join(lines)


def _pairs(tally: dict[str, int]) -> str:
    return ", ".join(f"{key} {value}" for key, value in tally.items()) or "none"
