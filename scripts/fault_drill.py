#!/usr/bin/env python3
"""Fault drill (`make drill`): restart PostgreSQL under load and count what the clients saw.

1. Starts a throwaway PostgreSQL cluster (as scripts/with_postgres.sh does: a temporary directory,
   a Unix socket, no TCP; as root the server runs as the `postgres` user), migrates it and seeds a
   small sandbox (`seed_sandbox`).
2. Plans the load: for each of the client threads, a sandbox provider and that provider's
   declarations that the service accepts right now (each candidate is submitted in-process inside
   a transaction that is rolled back, so the plan holds valid, unique bodies only).
3. Starts `scripts/serve.sh` (gunicorn, several workers, production settings) on 127.0.0.1.
4. Runs the load: THREADS client threads for SECONDS seconds, each sending a mix of GET lists and
   shows, POSTs of its unique declarations and deliberate duplicates of bodies it already sent.
   Half-way through, PostgreSQL is restarted (`pg_ctl restart -m fast`).
5. Stops the server and the cluster, and reports per phase (before / during / after the restart)
   the requests and the errors (5xx, connection errors), then checks the database: every
   declaration a client got a 200 for exists exactly once, and every declaration written during
   the drill was answered with a 200 (any other is listed with the failed request that wrote it).

Exit status 0 only when no request failed after the restart and no declaration was lost or
duplicated. Traffic goes to 127.0.0.1 only; the load is bounded in time and stops by itself.

    scripts/fault_drill.py [--seconds 60] [--threads 4] [--workers 4] [--participants 600]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import time as day_time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".venv" / "bin" / "python"
REQUEST_TIMEOUT = 15
STARTUP_SECONDS = 120
# GET requests of the mix (v3 and v1 lists, small pages, and a show).
LIST_PATHS = (
    "/api/v3/participants/ecf?page[per_page]=20",
    "/api/v3/participant-declarations?page[per_page]=20",
    "/api/v3/statements",
    "/api/v3/partnerships/ecf?page[per_page]=20",
    "/api/v1/participants/ecf?page[per_page]=20",
    "/api/v2/participant-declarations?page[per_page]=20",
)


# --- PostgreSQL -------------------------------------------------------------------------------------


def postgres_bindir() -> Path:
    candidates = []
    with suppress(OSError, subprocess.CalledProcessError):
        configured = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=True).stdout
        candidates.append(Path(configured.strip()))
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    candidates += [Path("/usr/local/pgsql/bin"), Path("/usr/local/bin"), Path("/usr/bin")]
    for path in candidates:
        if (path / "initdb").exists() and (path / "pg_ctl").exists():
            return path
    sys.exit("fault drill: PostgreSQL server binaries (initdb, pg_ctl) not found; install PostgreSQL")


class Cluster:
    """A throwaway cluster in a temporary directory, reached on a Unix socket there."""

    def __init__(self, bindir: Path, directory: Path):
        self.bindir = bindir
        self.directory = directory
        self.url = f"postgres://postgres@/ecf?host={directory}"

    def pg_ctl(self, *args: str) -> None:
        self._as_owner("pg_ctl", "-D", "data", *args)

    def start(self) -> None:
        # Durability as in production (fsync on): a restart must not lose what was committed.
        options = f"-k {self.directory} -c listen_addresses= -c max_connections=100"
        self.pg_ctl("-l", "server.log", "-w", "-o", options, "start")

    def restart(self) -> None:
        self.pg_ctl("-l", "server.log", "-w", "-m", "fast", "restart")

    def _as_owner(self, program: str, *args: str) -> None:
        command = [str(self.bindir / program), *args]
        if os.geteuid() == 0:  # initdb refuses to run as root
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, cwd=self.directory, check=True, capture_output=True, timeout=120)


@contextmanager
def throwaway_cluster() -> Iterator[Cluster]:
    directory = Path(tempfile.mkdtemp(prefix="ecf-drill."))
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres", "postgres")
    cluster = Cluster(postgres_bindir(), directory)
    try:
        cluster._as_owner("initdb", "-D", "data", "-U", "postgres", "-A", "trust", "-E", "UTF8")
        cluster.start()
        cluster._as_owner("createdb", "-h", str(directory), "-U", "postgres", "ecf")
        yield cluster
    finally:
        with suppress(subprocess.SubprocessError):
            cluster.pg_ctl("-m", "immediate", "stop")
        shutil.rmtree(directory, ignore_errors=True)


# --- The server ---------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def serving(env: dict[str, str], port: int, log: Path) -> Iterator[str]:
    """`scripts/serve.sh` in its own process group, until the block ends."""
    with log.open("wb") as output:
        process = subprocess.Popen(
            [str(ROOT / "scripts" / "serve.sh")],
            cwd=ROOT,
            env={**env, "PORT": str(port)},
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while fetch(f"{base}/healthcheck")[0] != 200:
            if process.poll() is not None or time.monotonic() > deadline:
                sys.exit(f"fault drill: the server did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield base
    finally:
        for sig, grace in ((signal.SIGTERM, 30), (signal.SIGKILL, 10)):
            with suppress(ProcessLookupError):
                os.killpg(process.pid, sig)
            with suppress(subprocess.TimeoutExpired):
                process.wait(timeout=grace)
                break


def fetch(url: str, *, token: str | None = None, body: dict | None = None) -> tuple[int | None, str]:
    """(status, text) or (None, what went wrong) for a connection error or a time-out."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=data, headers=headers, method="POST" if body is not None else "GET")
    try:
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")
    except (OSError, urllib.error.URLError) as error:  # refused, reset, timed out
        return None, f"{type(error).__name__}: {error}"


# --- Planning, in-process ---------------------------------------------------------------------------


def manage(env: dict[str, str], *args: str) -> None:
    result = subprocess.run([str(PYTHON), "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"fault drill: manage.py {args[0]} failed:\n{result.stdout[-2000:]}{result.stderr[-3000:]}")


def django_setup(env: dict[str, str]) -> None:
    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "ecf.settings"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def plan_declarations(threads: int, per_provider: int) -> list[tuple[str, str, list[dict]]]:
    """[(provider id, token, [declaration attributes the service accepts now])], providers with most first."""
    from django.db import transaction

    from declarations.models import Declaration
    from declarations.services import declaration_submit
    from ecf import clock
    from ecf.errors import ServiceValidationError
    from participants.models import Enrolment, LeadProvider, Milestone
    from sandbox.world import sandbox_token

    now = clock.now()
    plans = []
    planned: set[str] = set()  # a person in two providers' plans would make their bodies depend on each other
    for provider in LeadProvider.objects.order_by("name"):
        accepted: list[dict] = []
        enrolments = (
            Enrolment.objects.filter(training_periods__partnership__lead_provider=provider)
            .select_related("participant")
            .distinct()
            .order_by("id")
        )
        for enrolment in enrolments:
            if len(accepted) >= per_provider:
                break
            if str(enrolment.participant_id) in planned:
                continue
            declared = set(Declaration.objects.filter(enrolment=enrolment).values_list("declaration_type", flat=True))
            milestones = Milestone.objects.filter(schedule_id=enrolment.schedule_id, start_date__lte=now.date())
            # The latest milestone that has begun is the likeliest to be open; declared types are not.
            for milestone in milestones.exclude(declaration_type__in=declared).order_by("-start_date"):
                attributes = _attributes(enrolment, milestone, now)
                try:
                    with transaction.atomic():
                        declaration_submit(lead_provider=provider, attributes=attributes)
                        transaction.set_rollback(True)  # only asking; the load submits it
                except ServiceValidationError:
                    continue
                accepted.append(attributes)
                planned.add(attributes["participant_id"])
                break  # one per enrolment: each body of the plan stands alone
        plans.append((str(provider.id), sandbox_token(provider.name), accepted))
    plans.sort(key=lambda plan: -len(plan[2]))
    return plans[:threads]


def _attributes(enrolment, milestone, now: datetime) -> dict:
    # The latest instant the milestone allows, and never the future.
    end = milestone.milestone_date or now.date()
    declared_at = min(now - timedelta(hours=1), datetime.combine(end, day_time(12), tzinfo=UTC))
    return {
        "participant_id": str(enrolment.participant_id),
        "declaration_type": str(milestone.declaration_type),
        "declaration_date": declared_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "course_identifier": str(enrolment.course_identifier),
        "evidence_held": "training-event-attended" if milestone.declaration_type != "started" else None,
    }


# --- The load ---------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    kind: str  # "get", "post" (a unique body) or "duplicate" (a body sent before)
    started: float
    ended: float
    status: int | None
    detail: str
    path: str
    key: tuple | None = None  # (provider id, participant id, course, type) of a POST
    declaration_id: str | None = None

    @property
    def error(self) -> str | None:
        if self.status is None:
            return "connection"
        return "5xx" if self.status >= 500 else None


def key_of(attributes: dict) -> tuple:
    return (attributes["participant_id"], attributes["course_identifier"], attributes["declaration_type"])


def client(base: str, provider_id: str, token: str, plan: list[dict], stop_at: float, seed: int, outcomes) -> None:
    """GETs, with the plan's POSTs spread evenly over the whole load (so writes are in flight before,
    during and after the restart) and one request in ten a body this client sent before."""
    rng = random.Random(seed)
    pending = list(plan)
    sent: list[dict] = []
    began = time.monotonic()
    spacing = (stop_at - began) / (len(plan) + 1)
    while time.monotonic() < stop_at:
        if pending and time.monotonic() >= began + spacing * (len(plan) - len(pending) + 1):
            kind, attributes = "post", pending.pop()
        elif rng.random() < 0.1 and sent:
            kind, attributes = "duplicate", rng.choice(sent)
        else:
            kind, attributes = "get", None
        started = time.monotonic()
        if attributes is None:
            path = rng.choice(LIST_PATHS)
            status, text = fetch(base + path, token=token)
        else:
            path = "/api/v3/participant-declarations"
            body = {"data": {"type": "participant-declaration", "attributes": attributes}}
            status, text = fetch(base + path, token=token, body=body)
            sent.append(attributes)
        outcome = Outcome(kind, started, time.monotonic(), status, text[:300], path)
        if attributes is not None:
            outcome.key = (provider_id, *key_of(attributes))
            if status == 200:
                outcome.declaration_id = json.loads(text)["data"]["id"]
        outcomes.append(outcome)
        time.sleep(rng.uniform(0.02, 0.08))  # a client, not a flood


def run_load(base: str, cluster: Cluster, plans, seconds: float) -> tuple[list[Outcome], float, float]:
    outcomes: list[Outcome] = []
    began = time.monotonic()
    stop_at = began + seconds
    workers = [
        threading.Thread(target=client, args=(base, provider_id, token, plan, stop_at, index, outcomes), daemon=True)
        for index, (provider_id, token, plan) in enumerate(plans)
    ]
    for worker in workers:
        worker.start()
    time.sleep(seconds / 2)
    restart_began = time.monotonic()
    cluster.restart()
    restart_ended = time.monotonic()
    for worker in workers:
        worker.join(timeout=seconds + REQUEST_TIMEOUT + 30)
    return outcomes, restart_began - began, restart_ended - began


# --- Reporting and checking ----------------------------------------------------------------------------


def phase_of(outcome: Outcome, restart_began: float, restart_ended: float) -> str:
    if outcome.ended < restart_began:
        return "before"
    if outcome.started >= restart_ended:
        return "after"
    return "during"  # in flight at some point of the restart


def report(outcomes: list[Outcome], began: float, restart_began: float, restart_ended: float) -> dict:
    phases: dict[str, Counter] = defaultdict(Counter)
    for outcome in outcomes:
        phase = phase_of(outcome, began + restart_began, began + restart_ended)
        counts = phases[phase]
        counts["requests"] += 1
        counts[f"{outcome.kind}s"] += 1
        counts[outcome.error or ("2xx" if outcome.status < 300 else f"{outcome.status}")] += 1
    print(f"\nRestart: from {restart_began:.1f}s to {restart_ended:.1f}s into the load")
    columns = ("requests", "gets", "posts", "duplicates", "2xx", "422", "5xx", "connection")
    print("phase   " + "".join(f"{name:>11}" for name in columns))
    for phase in ("before", "during", "after"):
        print(f"{phase:<8}" + "".join(f"{phases[phase][name]:>11}" for name in columns))
    others = {k: v for c in phases.values() for k, v in c.items() if k.isdigit() and k != "422"}
    if others:
        print(f"other statuses: {others}")
    errors = [o for o in outcomes if o.error]
    if errors:
        first, last = errors[0].started - began, errors[-1].ended - began
        print(f"Errors from {first:.2f}s to {last:.2f}s into the load:")
    for (path, status, detail), count in Counter((o.path, o.status, o.detail[:100]) for o in errors).most_common(8):
        print(f"  {count:>4} x {status} {path} {detail!r}")
    return phases


def print_server_errors(log: Path) -> None:
    """The last line of each distinct traceback the server logged, with how often."""
    lines = log.read_text(errors="replace").splitlines()
    ends = Counter(
        line.strip()[:160]
        for previous, line in zip(lines, lines[1:], strict=False)
        if previous.startswith("    ") and not line.startswith((" ", "Traceback", "The above", "During"))
    )
    if ends:
        print("Errors the server logged:")
        for line, count in ends.most_common(6):
            print(f"  {count:>4} x {line}")


def verify(outcomes: list[Outcome], existing: set[str]) -> list[str]:
    """Every 200'd declaration exists, each body wrote at most one declaration, and every declaration
    written during the drill was answered with a 200 (or its POST failed, and it is listed)."""
    from django.db import connections

    from declarations.models import Declaration

    connections.close_all()  # the drill's own connection did not survive the restart
    problems = []
    written = defaultdict(list)  # (provider, participant, course, type) -> ids written during the drill
    for row in Declaration.objects.values(
        "id", "lead_provider_id", "participant_id", "course_identifier", "declaration_type"
    ):
        if str(row["id"]) not in existing:
            key = tuple(
                str(row[f]) for f in ("lead_provider_id", "participant_id", "course_identifier", "declaration_type")
            )
            written[key].append(str(row["id"]))
    written_ids = {i for ids in written.values() for i in ids}
    answered = {o.declaration_id: o for o in outcomes if o.declaration_id}
    problems += [f"lost: {i} was answered 200 but is not in the database" for i in sorted(set(answered) - written_ids)]
    problems += [f"duplicated: one body wrote {ids}" for ids in written.values() if len(ids) > 1]
    failed = defaultdict(list)
    for outcome in outcomes:
        if outcome.key and outcome.error:
            failed[outcome.key].append(outcome)
    unanswered = sorted((key, i) for key, ids in written.items() for i in ids if i not in answered)
    for key, declaration_id in unanswered:
        if failed.get(key):
            print(f"  written without a 200: {declaration_id}; its POST failed: {failed[key][0].detail[:100]!r}")
        else:
            problems.append(f"unexplained: {declaration_id} {key} was written, and no POST of it failed")
    duplicates = Counter(str(o.status) for o in outcomes if o.kind == "duplicate")
    print(
        f"\nDeclarations: {len(answered)} answered 200, {len(written_ids)} written during the drill, "
        f"{len(unanswered)} written without a 200. Deliberate duplicates answered: {dict(duplicates)}"
    )
    return problems


STARTED = time.monotonic()
# Enough unique bodies that a client never runs out within a minute (it would only send GETs).
PER_PROVIDER = 250


def say(message: str) -> None:
    print(f"[{time.monotonic() - STARTED:6.1f}s] {message}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60, help="length of the load (the restart is half-way)")
    parser.add_argument("--threads", type=int, default=4, help="client threads, one sandbox provider each")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (WEB_CONCURRENCY)")
    parser.add_argument("--participants", type=int, default=2000, help="size of the seeded sandbox")
    args = parser.parse_args()

    with throwaway_cluster() as cluster, tempfile.TemporaryDirectory(prefix="ecf-drill-serve.") as scratch:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("ECF_", "DJANGO_", "API_RATE_"))},
            "DATABASE_URL": cluster.url,
            # Tokens are HMAC digests under the secret key: the seed and the server share one.
            "SECRET_KEY": secrets.token_urlsafe(50),
            "SECURE_SSL_REDIRECT": "false",  # no TLS proxy in front here
            "STATIC_ROOT": str(Path(scratch) / "static"),
            "WEB_CONCURRENCY": str(args.workers),
            # The limiter stays on (it writes to the database on every request) but is not the subject.
            "API_RATE_LIMIT": "1000000",
        }
        say(f"seeding a sandbox of {args.participants} participants on a throwaway cluster")
        manage(env, "migrate", "--no-input", "-v", "0")
        manage(env, "seed_sandbox", "--participants", str(args.participants))
        django_setup(env)
        from django.db import connections

        from declarations.models import Declaration

        plans = plan_declarations(args.threads, per_provider=PER_PROVIDER)
        existing = {str(i) for i in Declaration.objects.values_list("id", flat=True)}
        connections.close_all()
        say(f"planned unique declarations per client: {[len(plan) for *_, plan in plans]}")

        with serving(env, free_port(), Path(scratch) / "server.log") as base:
            say(f"load: {len(plans)} clients for {args.seconds:.0f}s against {base} ({args.workers} workers)")
            began = time.monotonic()
            outcomes, restart_began, restart_ended = run_load(base, cluster, plans, args.seconds)
            health = fetch(f"{base}/healthcheck")[0]
        say("load over, server stopped")
        phases = report(outcomes, began, restart_began, restart_ended)
        print_server_errors(Path(scratch) / "server.log")
        problems = verify(outcomes, existing)
        print(f"Healthcheck after the load: {health}")
    after = phases["after"]
    if after["5xx"] or after["connection"]:
        problems.append(f"{after['5xx'] + after['connection']} errors after the restart")
    if not after["requests"]:
        problems.append("no request was sent after the restart")
    print(
        "\nFAILED:\n  " + "\n  ".join(problems)
        if problems
        else "\nOK: no errors after recovery, no lost or duplicated declaration"
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
