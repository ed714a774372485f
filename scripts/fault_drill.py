#!/usr/bin/env python3
"""Fault drill (`make drill`): break PostgreSQL under load, then check that nothing was lost, doubled
or left unanswered, and that the service recovered.

1. Starts a throwaway PostgreSQL cluster (as scripts/with_postgres.sh does: a temporary directory,
   a Unix socket, no TCP; as root the server runs as the `postgres` user), migrates it and seeds a
   small sandbox (`seed_sandbox`).
2. Plans the load: for each client thread, a sandbox provider and that provider's declarations that
   the service accepts right now (each candidate is submitted in-process inside a transaction that is
   rolled back, so the plan holds valid, unique bodies only). A few planned participants are given
   the TRN of another planned participant ("twins"): their two declarations are sent at the same
   instant, and at most one may become payable (rules §4.6).
3. Starts `scripts/serve.sh` (production settings, several workers) on 127.0.0.1:DRILL_PORT.
4. Runs the load: THREADS clients for SECONDS seconds, each sending GET lists, the POSTs of its plan
   spread over the whole load (each with an Idempotency-Key; a POST answered 5xx or not at all is
   retried with the same key and body until it gets an answer), and deliberate duplicates of bodies it
   already sent (a fresh key: they must be refused). Two faults, one after the other:
   * PostgreSQL killed with SIGKILL (the postmaster and every backend, as when the machine dies),
     started again after KILL_DOWN_SECONDS (crash recovery);
   * the connection limit exhausted: a side connection pool takes every slot PostgreSQL has
     (max_connections) and drops the service's own connections, for EXHAUST_SECONDS.
5. Stops the server and the cluster, prints a table of the phases, then runs the checks
   (`run_checks`, pure functions over what the clients saw and what the database holds; the test
   tests/test_fault_drill_checks.py feeds them broken answer sets):
   * lost: a declaration answered 200 that the database does not have;
   * doubled: one body that wrote two declarations, or a deliberate duplicate answered 200;
   * same-TRN double: two participants sharing a TRN both payable for the same event;
   * commit-then-5xx: a declaration stored while its POST (and every retry) got no 200 with its id;
   * too few successes: fewer than SUCCESS_THRESHOLD of the planned declarations answered 200;
   * not recovered: any 5xx or connection error outside the two fault windows (each followed by
     RECOVERY_GRACE_SECONDS), or no traffic after the last fault.

Exit status 0 only when every check passes. Traffic goes to 127.0.0.1 only; the load is bounded in
time and stops by itself.

    scripts/fault_drill.py [--seconds 60] [--threads 4] [--workers 4] [--participants 1000] [--port 8140]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as day_time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".venv" / "bin" / "python"
# The one port the drill's server listens on and the clients hit (scripts/serve.sh takes it as PORT).
DRILL_PORT = int(os.environ.get("DRILL_PORT", "8140"))
REQUEST_TIMEOUT = 15
STARTUP_SECONDS = 180
# The drill fails when fewer of its planned declarations than this end with a 200.
SUCCESS_THRESHOLD = 0.90
# PostgreSQL stays dead this long after the SIGKILL.
KILL_DOWN_SECONDS = 5.0
# The connection slots stay taken this long.
EXHAUST_SECONDS = 6.0
# After a fault ends, the service may take this long to answer normally again; any error later fails.
RECOVERY_GRACE_SECONDS = 2.0
# A failed POST is retried every RETRY_PAUSE seconds, for at most RETRY_SECONDS.
RETRY_PAUSE = 0.5
RETRY_SECONDS = 40.0
# Unique bodies planned per client: about one POST a second over a minute's load.
PER_PROVIDER = 60
TWINS_PER_CLIENT = 3
# States that pay (rules §4.6: one teacher, one paid-for event, whatever the number of accounts).
PAYING_STATES = ("eligible", "payable", "paid")
# States that hold a participant's slot for an event (rules §4.6): at most one per body. An
# `ineligible` (same-TRN) declaration holds none, so sending its body again rightly records another.
SLOT_STATES = ("submitted", *PAYING_STATES)
PHASES = ("before", "kill", "recovered", "exhaust", "after")
FAULT_PHASES = ("kill", "exhaust")
# GET requests of the mix (v3 and v1 lists, small pages).
LIST_PATHS = (
    "/api/v3/participants/ecf?page[per_page]=20",
    "/api/v3/participant-declarations?page[per_page]=20",
    "/api/v3/statements",
    "/api/v3/partnerships/ecf?page[per_page]=20",
    "/api/v1/participants/ecf?page[per_page]=20",
    "/api/v2/participant-declarations?page[per_page]=20",
)
POST_PATH = "/api/v3/participant-declarations"


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

    MAX_CONNECTIONS = 100

    def __init__(self, bindir: Path, directory: Path):
        self.bindir = bindir
        self.directory = directory
        self.url = f"postgres://postgres@/ecf?host={directory}"

    def pg_ctl(self, *args: str) -> None:
        self._as_owner("pg_ctl", "-D", "data", *args)

    def start(self) -> None:
        # Durability as in production (fsync on): a crash must not lose what was committed.
        options = f"-k {self.directory} -c listen_addresses= -c max_connections={self.MAX_CONNECTIONS}"
        self.pg_ctl("-l", "server.log", "-w", "-o", options, "start")

    def kill(self) -> int:
        """SIGKILL the postmaster and every process it started, as when the machine loses power."""
        postmaster = int((self.directory / "data" / "postmaster.pid").read_text().split()[0])
        victims = [postmaster, *children_of(postmaster)]
        for pid in victims:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        return len(victims)

    def start_after_crash(self) -> None:
        # The killed backends may take a moment to leave shared memory; crash recovery then runs.
        for attempt in range(10):
            try:
                self.start()
                return
            except subprocess.CalledProcessError:
                if attempt == 9:
                    raise
                time.sleep(1)

    def _as_owner(self, program: str, *args: str) -> None:
        command = [str(self.bindir / program), *args]
        if os.geteuid() == 0:  # initdb refuses to run as root
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, cwd=self.directory, check=True, capture_output=True, timeout=120)


def children_of(parent: int) -> list[int]:
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with suppress(OSError, ValueError, IndexError):
            # pid (comm) state ppid ...; comm may hold spaces, so split after its closing parenthesis.
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == parent:
                children.append(int(stat.parent.name))
    return children


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


def exhaust_connections(cluster: Cluster, hold_seconds: float) -> dict[str, int]:
    """Take every connection slot PostgreSQL has, drop the service's connections, hold, let go.

    Superuser slots included (the drill connects as the superuser), so nobody gets in. Terminating
    the service's backends makes its workers reconnect while the slots are taken; a few rounds catch
    those that got a slot back in between."""
    import psycopg

    hogs: list = []
    terminated = 0

    def fill() -> None:
        while len(hogs) < cluster.MAX_CONNECTIONS:
            try:
                hogs.append(
                    psycopg.connect(
                        host=str(cluster.directory), user="postgres", dbname="ecf", application_name="drill-hog"
                    )
                )
            except psycopg.OperationalError:  # "sorry, too many clients already"
                return

    try:
        for _ in range(5):
            fill()
            if not hogs:
                break
            with hogs[0].cursor() as cursor:
                cursor.execute(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                    " WHERE backend_type = 'client backend' AND application_name <> 'drill-hog'"
                )
                dropped = cursor.fetchone()[0]
            terminated += dropped
            if not dropped:
                break
            time.sleep(0.1)
        fill()
        time.sleep(hold_seconds)
        return {"held": len(hogs), "terminated": terminated}
    finally:
        for connection in hogs:
            with suppress(Exception):
                connection.close()


# --- The server ---------------------------------------------------------------------------------------


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


def fetch(url: str, *, token: str | None = None, body: dict | None = None, key: str | None = None):
    """(status, text) or (None, what went wrong) for a connection error or a time-out."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if key is not None:
        headers["Idempotency-Key"] = key
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


@dataclass
class Plan:
    """One client: a provider, its token, its unique bodies and its twin pairs (sent together)."""

    provider_id: str
    token: str
    bodies: list[dict]
    twins: list[tuple[dict, dict]] = field(default_factory=list)

    @property
    def planned(self) -> int:
        return len(self.bodies) + 2 * len(self.twins)


def plan_declarations(threads: int, per_provider: int) -> list[Plan]:
    """Plans of the providers with the most acceptable declarations, first."""
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
        plans.append(Plan(str(provider.id), sandbox_token(provider.name), accepted))
    plans.sort(key=lambda plan: -len(plan.bodies))
    return plans[:threads]


def make_twins(plans: list[Plan], per_client: int) -> None:
    """Pair bodies of one event (course and type) within each plan and give the pair one TRN.

    Each body was accepted alone; sharing a TRN makes the later of the two a duplicate (rules
    §4.6: `ineligible`), which the service must decide even when both arrive at the same instant."""
    from participants.models import Participant

    taken = set(Participant.objects.exclude(trn=None).values_list("trn", flat=True))
    for plan in plans:
        by_event = defaultdict(list)
        for body in plan.bodies:
            by_event[(body["course_identifier"], body["declaration_type"])].append(body)
        for bodies in by_event.values():
            while len(bodies) >= 2 and len(plan.twins) < per_client:
                first, second = bodies.pop(), bodies.pop()
                trn = next(f"{n:07d}" for n in iter(lambda: random.randrange(10**7), None) if f"{n:07d}" not in taken)
                taken.add(trn)
                Participant.objects.filter(id__in=[first["participant_id"], second["participant_id"]]).update(trn=trn)
                plan.bodies.remove(first)
                plan.bodies.remove(second)
                plan.twins.append((first, second))


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
    """One request and its answer, as a client saw it."""

    kind: str  # "get", "post" (a planned body), "retry" (of a failed post) or "duplicate" (a body sent before)
    started: float
    ended: float
    status: int | None
    detail: str = ""
    path: str = POST_PATH
    key: tuple | None = None  # (provider id, participant id, course, type) of a POST
    declaration_id: str | None = None

    @property
    def error(self) -> str | None:
        if self.status is None:
            return "connection"
        return "5xx" if self.status >= 500 else None


@dataclass
class Written:
    """A declaration the database holds that the drill wrote."""

    id: str
    key: tuple  # as Outcome.key
    state: str
    trn: str | None


def key_of(provider_id: str, attributes: dict) -> tuple:
    return (provider_id, attributes["participant_id"], attributes["course_identifier"], attributes["declaration_type"])


class Client:
    """GETs, with the plan's POSTs spread evenly over the whole load (so writes are in flight in every
    phase) and one request in ten a body this client sent before."""

    def __init__(self, base: str, plan: Plan, stop_at: float, seed: int, outcomes: list[Outcome]):
        self.base, self.plan, self.stop_at, self.outcomes = base, plan, stop_at, outcomes
        self.rng = random.Random(seed)
        self.sent: list[dict] = []

    def run(self) -> None:
        pending: list = [*((body,) for body in self.plan.bodies), *self.plan.twins]
        self.rng.shuffle(pending)
        total = len(pending)
        began = time.monotonic()
        spacing = (self.stop_at - began) / (total + 1)
        while time.monotonic() < self.stop_at:
            if pending and time.monotonic() >= began + spacing * (total - len(pending) + 1):
                self.post_together(pending.pop())
            elif self.rng.random() < 0.1 and self.sent:
                self.post(self.rng.choice(self.sent), kind="duplicate", key=str(uuid.uuid4()))
            else:
                self.get(self.rng.choice(LIST_PATHS))
            time.sleep(self.rng.uniform(0.02, 0.08))  # a client, not a flood

    def get(self, path: str) -> None:
        started = time.monotonic()
        status, text = fetch(self.base + path, token=self.plan.token)
        self.outcomes.append(Outcome("get", started, time.monotonic(), status, text[:300], path))

    def post_together(self, bodies: tuple[dict, ...]) -> None:
        """Each body until it is answered; a twin pair from two threads at the same instant."""
        if len(bodies) == 1:
            self.post_until_answered(bodies[0])
            return
        start = threading.Barrier(len(bodies))
        threads = [threading.Thread(target=self.post_until_answered, args=(body, start)) for body in bodies]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def post_until_answered(self, attributes: dict, start: threading.Barrier | None = None) -> None:
        key = str(uuid.uuid4())  # one Idempotency-Key per body, kept across its retries
        if start is not None:
            start.wait()
        outcome = self.post(attributes, kind="post", key=key)
        give_up = time.monotonic() + RETRY_SECONDS
        while outcome.error and time.monotonic() < give_up:
            time.sleep(RETRY_PAUSE)
            outcome = self.post(attributes, kind="retry", key=key)
        self.sent.append(attributes)

    def post(self, attributes: dict, *, kind: str, key: str) -> Outcome:
        body = {"data": {"type": "participant-declaration", "attributes": attributes}}
        started = time.monotonic()
        status, text = fetch(self.base + POST_PATH, token=self.plan.token, body=body, key=key)
        outcome = Outcome(
            kind, started, time.monotonic(), status, text[:300], key=key_of(self.plan.provider_id, attributes)
        )
        if status == 200:
            with suppress(ValueError, KeyError, TypeError):
                outcome.declaration_id = json.loads(text)["data"]["id"]
        self.outcomes.append(outcome)
        return outcome


@dataclass
class Timeline:
    """When each fault began and ended, in seconds from the start of the load."""

    kill: tuple[float, float] = (0.0, 0.0)
    exhaust: tuple[float, float] = (0.0, 0.0)
    end: float = 0.0
    figures: dict = field(default_factory=dict)


def run_load(base: str, cluster: Cluster, plans: list[Plan], seconds: float) -> tuple[list[Outcome], Timeline]:
    outcomes: list[Outcome] = []
    began = time.monotonic()
    stop_at = began + seconds
    clients = [Client(base, plan, stop_at, index, outcomes) for index, plan in enumerate(plans)]
    workers = [threading.Thread(target=client.run, daemon=True) for client in clients]
    for worker in workers:
        worker.start()
    timeline = Timeline()

    def at(fraction: float) -> None:
        time.sleep(max(0.0, began + seconds * fraction - time.monotonic()))

    at(0.2)
    killed_at = time.monotonic()
    timeline.figures["processes killed"] = cluster.kill()
    time.sleep(KILL_DOWN_SECONDS)
    cluster.start_after_crash()
    timeline.kill = (killed_at - began, time.monotonic() - began)
    at(0.55)
    exhaust_began = time.monotonic()
    timeline.figures.update(exhaust_connections(cluster, EXHAUST_SECONDS))
    timeline.exhaust = (exhaust_began - began, time.monotonic() - began)
    for worker in workers:
        worker.join(timeout=seconds + RETRY_SECONDS + REQUEST_TIMEOUT + 30)
    timeline.end = time.monotonic() - began
    for outcome in outcomes:  # seconds from the start of the load, as the timeline
        outcome.started -= began
        outcome.ended -= began
    return outcomes, timeline


# --- The checks (pure: tests/test_fault_drill_checks.py runs them on broken answer sets) ------------------


def phase_of(outcome: Outcome, timeline: Timeline) -> str:
    """A request in flight at any point of a fault or of the grace after it belongs to that fault."""
    for name, (began, ended) in (("kill", timeline.kill), ("exhaust", timeline.exhaust)):
        if outcome.ended >= began and outcome.started <= ended + RECOVERY_GRACE_SECONDS:
            return name
    if outcome.started < timeline.kill[0]:
        return "before"
    return "recovered" if outcome.started < timeline.exhaust[0] else "after"


def phase_counts(outcomes: Iterable[Outcome], timeline: Timeline) -> dict[str, Counter]:
    phases: dict[str, Counter] = {name: Counter() for name in PHASES}
    for outcome in outcomes:
        counts = phases[phase_of(outcome, timeline)]
        counts["requests"] += 1
        counts[f"{outcome.kind}s"] += 1
        counts[outcome.error or ("2xx" if outcome.status < 300 else str(outcome.status))] += 1
    return phases


def answered_ids(outcomes: Iterable[Outcome], kinds=("post", "retry", "duplicate")) -> dict[str, Outcome]:
    """Declaration id -> the request answered 200 with it."""
    return {o.declaration_id: o for o in outcomes if o.declaration_id and o.kind in kinds}


def check_lost(outcomes: list[Outcome], written: list[Written]) -> list[str]:
    """Every declaration answered 200 is in the database."""
    stored = {w.id for w in written}
    return [
        f"lost: {declaration_id} was answered 200 ({outcome.kind} at {outcome.started:.1f}s) but is not in the database"
        for declaration_id, outcome in sorted(answered_ids(outcomes).items())
        if declaration_id not in stored
    ]


def check_doubled(outcomes: list[Outcome], written: list[Written]) -> list[str]:
    """One body, one live declaration: no key holds two slots, no deliberate duplicate took one."""
    by_key = defaultdict(list)
    for w in written:
        if w.state in SLOT_STATES:
            by_key[w.key].append(w.id)
    problems = [f"doubled: one body {key} holds {ids}" for key, ids in sorted(by_key.items()) if len(ids) > 1]
    states = {w.id: w.state for w in written}
    problems += [
        f"doubled: a deliberate duplicate {o.key} was answered 200 ({o.declaration_id}, {states[o.declaration_id]})"
        for o in outcomes
        if o.kind == "duplicate" and o.declaration_id and states.get(o.declaration_id) in SLOT_STATES
    ]
    return problems


def check_same_trn(written: list[Written]) -> list[str]:
    """Two accounts of one teacher (one TRN) are never both paid for one event (rules §4.6).
    (One account paid twice is `check_doubled`'s.)"""
    paying = defaultdict(dict)  # (trn, course, type) -> participant -> declaration id
    for w in written:
        if w.trn and w.state in PAYING_STATES:
            paying[(w.trn, w.key[2], w.key[3])][w.key[1]] = w.id
    return [
        f"same-TRN double: TRN {trn} is payable for {course} {declaration_type} to {len(accounts)} accounts: "
        f"{sorted(accounts.values())}"
        for (trn, course, declaration_type), accounts in sorted(paying.items())
        if len(accounts) > 1
    ]


def check_commit_then_5xx(outcomes: list[Outcome], written: list[Written]) -> list[str]:
    """Every declaration written was answered 200 with its id: a provider is never left unsure."""
    answered = answered_ids(outcomes)
    attempts = defaultdict(list)
    for o in outcomes:
        if o.key and o.kind in ("post", "retry"):
            attempts[o.key].append(o)
    problems = []
    for w in written:
        if w.id in answered:
            continue
        tried = attempts.get(w.key, [])
        failed = [o for o in tried if o.error]
        if failed:
            answers = ", ".join(str(o.status or "no answer") for o in tried)
            problems.append(f"commit-then-5xx: {w.id} {w.key} was stored, its POSTs were answered {answers}")
        else:
            problems.append(f"unexplained: {w.id} {w.key} was stored, and no POST of it failed or got its id")
    return problems


def check_successes(outcomes: list[Outcome], planned: int, threshold: float = SUCCESS_THRESHOLD) -> list[str]:
    """Enough of the plan went through once the faults were over (a 200 after any retries)."""
    succeeded = {o.key for o in answered_ids(outcomes, kinds=("post", "retry")).values()}
    if planned and len(succeeded) >= threshold * planned:
        return []
    refused = Counter(f"{o.status} {o.detail[:80]}" for o in outcomes if o.kind == "post" and o.status != 200)
    most = "; ".join(f"{count} x {answer}" for answer, count in refused.most_common(2))
    return [
        f"too few successes: {len(succeeded)} of {planned} planned declarations answered 200, "
        f"fewer than {threshold:.0%}" + (f" (most often: {most})" if most else "")
    ]


def check_recovery(phases: dict[str, Counter]) -> list[str]:
    """No 5xx or connection error outside the faults; traffic flowed after the last one."""
    problems = [
        f"not recovered: {counts['5xx'] + counts['connection']} errors in phase '{name}'"
        for name, counts in phases.items()
        if name not in FAULT_PHASES and counts["5xx"] + counts["connection"]
    ]
    if not phases["after"]["requests"]:
        problems.append("not recovered: no request was sent after the last fault")
    return problems


def run_checks(outcomes: list[Outcome], written: list[Written], planned: int, phases) -> dict[str, list[str]]:
    """Each check's problems, by its name (an empty list: passed)."""
    return {
        "nothing lost": check_lost(outcomes, written),
        "nothing doubled": check_doubled(outcomes, written),
        "no same-TRN double": check_same_trn(written),
        "no commit-then-5xx": check_commit_then_5xx(outcomes, written),
        f"at least {SUCCESS_THRESHOLD:.0%} succeeded": check_successes(outcomes, planned),
        "recovered: no errors outside the faults": check_recovery(phases),
    }


# --- Reading the database and reporting -----------------------------------------------------------------


def written_during_the_drill(existing: set[str]) -> list[Written]:
    from django.db import connections

    from declarations.models import Declaration

    connections.close_all()  # the drill's own connection did not survive the faults
    rows = Declaration.objects.exclude(id__in=existing).values(
        "id", "lead_provider_id", "participant_id", "course_identifier", "declaration_type", "state", "participant__trn"
    )
    return [
        Written(
            id=str(row["id"]),
            key=(
                str(row["lead_provider_id"]),
                str(row["participant_id"]),
                row["course_identifier"],
                row["declaration_type"],
            ),
            state=row["state"],
            trn=row["participant__trn"],
        )
        for row in rows
    ]


def print_phases(phases: dict[str, Counter], timeline: Timeline) -> None:
    spans = {
        "before": (0.0, timeline.kill[0]),
        "kill": (timeline.kill[0], timeline.kill[1] + RECOVERY_GRACE_SECONDS),
        "recovered": (timeline.kill[1] + RECOVERY_GRACE_SECONDS, timeline.exhaust[0]),
        "exhaust": (timeline.exhaust[0], timeline.exhaust[1] + RECOVERY_GRACE_SECONDS),
        "after": (timeline.exhaust[1] + RECOVERY_GRACE_SECONDS, timeline.end),
    }
    columns = ("requests", "gets", "posts", "retrys", "duplicates", "2xx", "422", "5xx", "connection")
    headings = {"retrys": "retries"}
    print(f"\n{'phase':<10}{'seconds':>13}" + "".join(f"{headings.get(name, name):>11}" for name in columns))
    for name in PHASES:
        began, ended = spans[name]
        print(f"{name:<10}{f'{began:.1f}-{ended:.1f}':>13}" + "".join(f"{phases[name][c]:>11}" for c in columns))
    others = {k: v for counts in phases.values() for k, v in counts.items() if k.isdigit() and k != "422"}
    if others:
        print(f"other statuses: {others}")
    print(f"fault figures: {timeline.figures}")


def print_errors(outcomes: list[Outcome]) -> None:
    errors = [o for o in outcomes if o.error]
    for (path, status, detail), count in Counter((o.path, o.status, o.detail[:100]) for o in errors).most_common(6):
        print(f"  {count:>4} x {status} {path} {detail!r}")


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


def print_checks(results: dict[str, list[str]], outcomes, written, planned: int) -> None:
    answered = answered_ids(outcomes, kinds=("post", "retry"))
    states = Counter(w.state for w in written)
    print(
        f"\nDeclarations: {planned} planned, {len({o.key for o in answered.values()})} answered 200, "
        f"{len(written)} written during the drill {dict(states)}; "
        f"deliberate duplicates answered {dict(Counter(str(o.status) for o in outcomes if o.kind == 'duplicate'))}"
    )
    print(f"\n{'check':<42}result")
    for name, problems in results.items():
        print(f"{name:<42}{'ok' if not problems else f'FAILED ({len(problems)})'}")
        for problem in problems[:5]:
            print(f"    {problem}")


STARTED = time.monotonic()


def say(message: str) -> None:
    print(f"[{time.monotonic() - STARTED:6.1f}s] {message}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60, help="length of the load (faults at 20%% and 55%%)")
    parser.add_argument("--threads", type=int, default=4, help="client threads, one sandbox provider each")
    parser.add_argument("--workers", type=int, default=4, help="server workers (WEB_CONCURRENCY)")
    parser.add_argument("--participants", type=int, default=1000, help="size of the seeded sandbox")
    parser.add_argument("--port", type=int, default=DRILL_PORT, help="127.0.0.1 port of the server (DRILL_PORT)")
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
            # Likewise the per-address limit: every drill client comes from 127.0.0.1.
            "CLIENT_RATE_LIMIT": "1000000",
        }
        say(f"seeding a sandbox of {args.participants} participants on a throwaway cluster")
        manage(env, "migrate", "--no-input", "-v", "0")
        manage(env, "seed_sandbox", "--participants", str(args.participants))
        django_setup(env)
        from django.db import connections

        from declarations.models import Declaration

        plans = plan_declarations(args.threads, per_provider=PER_PROVIDER)
        make_twins(plans, TWINS_PER_CLIENT)
        planned = sum(plan.planned for plan in plans)
        existing = {str(i) for i in Declaration.objects.values_list("id", flat=True)}
        connections.close_all()
        twins = sum(len(plan.twins) for plan in plans)
        say(f"planned declarations per client: {[plan.planned for plan in plans]} ({twins} twin pairs)")

        with serving(env, args.port, Path(scratch) / "server.log") as base:
            say(f"load: {len(plans)} clients for {args.seconds:.0f}s against {base} ({args.workers} workers)")
            outcomes, timeline = run_load(base, cluster, plans, args.seconds)
            health = fetch(f"{base}/healthcheck")[0]
        say(f"load over, server stopped (healthcheck before stopping: {health})")
        phases = phase_counts(outcomes, timeline)
        print_phases(phases, timeline)
        print_errors(outcomes)
        print_server_errors(Path(scratch) / "server.log")
        written = written_during_the_drill(existing)
    results = run_checks(outcomes, written, planned, phases)
    print_checks(results, outcomes, written, planned)
    failed = [name for name, problems in results.items() if problems]
    print(f"\nFAILED: {', '.join(failed)}" if failed else "\nOK: every check passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
