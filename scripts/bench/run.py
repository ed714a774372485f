"""`make bench`: the list endpoints, declaration submission and statement calculation at 20,000 and
60,000 participants (and SCALE, if given), each against its floor measured in the same run, on the
same server and data, endpoint and floor alternating (A B A B) on warm workers (issues 9, 19). The
whole bench runs twice; a target counts as met when both runs meet it.
At 60,000 it also measures everyone at once (9): the 7 largest providers full-sync while 2 clients post.

    .venv/bin/python scripts/bench/run.py [--runs 3] [--scale 200000] [--output docs/benchmarks.md]

ECF_BENCH_DIR (default /tmp/ecf-bench) holds a persistent PostgreSQL cluster with a template
database per scale (`seed_sandbox --participants N`); each is built on first use and reused. Each
run copies the template into a fresh database,
serves it with scripts/serve.sh (gunicorn, WEB_CONCURRENCY workers as `make serve`) with the
floors switched on (BENCHMARK_FLOOR=true) and the rate limit off, measures over HTTP on
127.0.0.1, stops the server and the cluster, and writes the table.
"""

import argparse
import json
import os
import platform
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from datetime import time as day_time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import psycopg  # noqa: E402  (the project's own driver, from its virtual environment)
from cluster import RUN_DB, TEMPLATE_DB, Cluster  # noqa: E402
from server import ROOT, Server, environment, manage, rss_kib  # noqa: E402

PARTICIPANTS = 60_000  # the scale of the POST and statement figures
BASE_SCALE = 20_000  # growth is measured against this scale
SCALES = (20_000, 60_000)  # `make bench SCALE=200000` adds a scale
BENCH_RUNS = 2  # the whole bench runs twice; a target counts as met when both runs meet it
SEED = 1
PAGE_PAIRS = 15  # A B pairs of single requests for a page figure
POLL_ROWS = 20  # an updated_since poll returning about this many people
PER_PAGE = 3000
PAGE_REQUESTS = 10  # single-page figure: at least 10 requests per run
SEQUENTIAL_POSTS = 500
CONCURRENT_CLIENTS = 8
CONCURRENT_POSTS = 200  # per run, shared by the clients
STATEMENT_REQUESTS = 5  # per run
# 9, everyone at once: the 7 largest providers full-sync while 2 clients post declarations.
EVERYONE_SYNCERS = 7
EVERYONE_POSTERS = 2
# Seconds of each of its four phases (A B B A); BENCH_EVERYONE_SECONDS shortens them for a quick check.
EVERYONE_SECONDS = float(os.environ.get("BENCH_EVERYONE_SECONDS") or 30)
EVERYONE_PHASES = ("real", "floor", "floor", "real")
QUERY_HEADER = "X-Bench-Count-Queries"

PARTICIPANTS_V3 = "/api/v3/participants/ecf"
DECLARATIONS_V3 = "/api/v3/participant-declarations"
# The rewrite's v3 (issue 15), served at /api/v3/ to a rewrite-flavoured provider (api/flavours.py).
PARTICIPANTS_RECT = "/api/v3/participants"
DECLARATIONS_RECT = "/api/v3/participant-declarations"
REWRITE_FLAVOUR = "rect"  # participants.models.ContractFlavour.REWRITE
# The sandbox's rewrite-flavoured providers (sandbox.world.REWRITE_FLAVOURED_PROVIDERS).
REWRITE_FLAVOURED_PROVIDERS = ("Capita", "Teach First")
PARTICIPANTS_V1_CSV = "/api/v1/participants/ecf.csv"
FLOOR = "/_bench/floor"


def floor_of(path: str) -> str:
    return FLOOR + path.removeprefix("/api")


def page_path(path: str, number: int, per_page: int = PER_PAGE) -> str:
    return f"{path}?page[per_page]={per_page}&page[page]={number}"


# --- Figures --------------------------------------------------------------------------------------


def summary(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "runs": len(values)}


def percentiles(values: list[float]) -> dict:
    """p50 and p95 (None when there are too few values to have one)."""
    return {
        "p50": statistics.median(values) if values else None,
        "p95": statistics.quantiles(values, n=20)[18] if len(values) >= 2 else None,
        "count": len(values),
    }


def participants_in(body: bytes) -> int:
    """The people on a v3 participants page (compact JSON, every item typed), counted without parsing
    it: seven threads parsing every 3000-row page would hold the GIL the latencies are read under."""
    return body.count(b'"type":"participant"')


class Candidates:
    """The open declaration slots, each handed out once to whichever step or thread posts next (a
    repeated declaration is a 422): steps 5 and 9 draw from the same pool, 9 from several threads."""

    def __init__(self, slots: list[dict]):
        self._slots = iter(slots)
        self.left = len(slots)
        self._lock = threading.Lock()

    def take(self) -> dict | None:
        """The next slot, or None when the pool is dry."""
        with self._lock:
            slot = next(self._slots, None)
            if slot is not None:
                self.left -= 1
            return slot


class Bench:
    def __init__(
        self,
        server: Server,
        token: str,
        small_token: str,
        runs: int,
        rect_token: str | None = None,
        candidates: Candidates | None = None,
    ):
        self.server = server
        self.token = token
        self.small_token = small_token
        self.rect_token = rect_token
        self.runs = runs
        self.candidates = candidates or Candidates([])
        self.results: dict[str, dict] = {}

    def get(self, path: str, token: str | None = None, **kwargs):
        answer = self.server.get(path, token=token or self.token, **kwargs)
        if answer.status != 200:
            raise SystemExit(f"make bench: GET {path} answered {answer.status}: {answer.body[:300]!r}")
        return answer

    # 1, 2: full syncs ---------------------------------------------------------------------------
    def full_sync(self, path: str, token: str | None = None) -> tuple[float, int, int]:
        """Every page until a short one: (seconds, pages, items)."""
        total, pages, items, number = 0.0, 0, 0, 1
        while True:
            answer = self.get(page_path(path, number), token=token)
            total += answer.seconds
            pages += 1
            count = len(json.loads(answer.body)["data"])
            items += count
            if count < PER_PAGE:
                return total, pages, items
            number += 1

    def check_pages_identical(self, path: str) -> int:
        number = 1
        while True:
            real = self.get(page_path(path, number)).body
            floor = self.get(page_path(floor_of(path), number)).body
            if real != floor:
                raise SystemExit(f"make bench: the floor of {path} page {number} differs from the endpoint")
            if len(json.loads(real)["data"]) < PER_PAGE:
                return number
            number += 1

    def measure_full_sync(self, key: str, path: str, floor: str | None = None, token: str | None = None) -> None:
        """`floor` and `token` for the rewrite's flavour: its floor is the original's of the same rows
        (the rewrite's body differs in a few fields, so the pages are not byte-compared)."""
        pages = self.check_pages_identical(path) if floor is None else self.full_sync(path, token)[1]
        floor = floor or floor_of(path)
        real_runs, floor_runs, items = [], [], 0
        for run in range(self.runs):
            order = [(path, real_runs), (floor, floor_runs)]
            for target, into in order if run % 2 == 0 else reversed(order):
                seconds, _, items = self.full_sync(target, token)
                into.append(seconds)
        self.results[key] = {"real": summary(real_runs), "floor": summary(floor_runs), "pages": pages, "items": items}

    # 3: one page, and a poll ------------------------------------------------------------------
    def measure_page(
        self, key: str, path: str, pairs: int = PAGE_PAIRS, floor_path: str | None = None, token: str | None = None
    ) -> None:
        """Single requests, endpoint and floor alternating (A B, then B A), on warm workers."""
        real, floor = [], []
        pairs = max(pairs, self.runs)
        for number in range(pairs):
            order = [(path, real), (floor_path or floor_of(path), floor)]
            for target, into in order if number % 2 == 0 else reversed(order):
                into.append(self.get(target, token=token).seconds)
        rows = len(json.loads(self.get(path, token=token).body)["data"])
        self.results[key] = {"real": summary(real), "floor": summary(floor), "requests": pairs, "rows": rows}

    # 4: CSV -------------------------------------------------------------------------------------
    def csv_download(self, path: str, token: str) -> tuple[float, int, int]:
        """(seconds, bytes, peak RSS growth of the busiest worker in KiB) for one whole file, from
        freshly started workers (a warm worker keeps the heap earlier requests grew)."""
        self.server.fresh_workers()
        workers = self.server.worker_pids()
        baseline = {pid: rss_kib(pid) for pid in workers}
        peak = dict(baseline)
        done = threading.Event()

        def sample():
            while not done.is_set():
                for pid in workers:
                    peak[pid] = max(peak[pid], rss_kib(pid))
                time.sleep(0.005)

        sampler = threading.Thread(target=sample)
        sampler.start()
        try:
            answer = self.get(path, token=token)
        finally:
            done.set()
            sampler.join()
        growth = max(peak[pid] - baseline[pid] for pid in workers)
        return answer.seconds, len(answer.body), growth

    def measure_csv(self, key: str, path: str) -> None:
        if self.get(path).body != self.get(floor_of(path)).body:
            raise SystemExit(f"make bench: the floor of {path} differs from the endpoint")
        real, floor, real_rss, floor_rss, small_rss = [], [], [], [], []
        # Time on warm workers, alternating; memory from fresh workers (a warm one keeps its heap).
        for number in range(self.runs):
            order = [(path, real), (floor_of(path), floor)]
            for target, into in order if number % 2 == 0 else reversed(order):
                into.append(self.get(target).seconds)
        size = small_size = 0
        for _ in range(1):
            _, size, growth = self.csv_download(path, self.token)
            real_rss.append(growth)
            _, _, growth = self.csv_download(floor_of(path), self.token)
            floor_rss.append(growth)
            _, small_size, growth = self.csv_download(path, self.small_token)
            small_rss.append(growth)
        self.results[key] = {
            "real": summary(real),
            "floor": summary(floor),
            "bytes": size,
            "rows": self.get(path).body.count(b"\n") - 1,
            "real_rss_growth_kib": summary(real_rss),
            "floor_rss_growth_kib": summary(floor_rss),
            "small_bytes": small_size,
            "small_rss_growth_kib": summary(small_rss),
            "worker_rss_kib": max(rss_kib(pid) for pid in self.server.worker_pids()),
        }

    # 5: declaration submission ----------------------------------------------------------------
    def post(self, path: str, attributes: dict) -> float:
        body = json.dumps({"data": {"type": "participant-declaration", "attributes": attributes}}).encode()
        answer = self.server.request("POST", path, token=self.token, body=body)
        if answer.status != 200:
            raise SystemExit(f"make bench: POST {path} answered {answer.status}: {answer.body[:500]!r}")
        return answer.seconds

    def measure_submission(self, key: str) -> None:
        per_run = SEQUENTIAL_POSTS + CONCURRENT_POSTS
        needed = 2 * per_run * self.runs
        if self.candidates.left < needed:
            raise SystemExit(f"make bench: {self.candidates.left} open declaration slots, {needed} needed")
        real_path, floor_path = DECLARATIONS_V3, floor_of(DECLARATIONS_V3) + "/submit"
        latency = {"real": [], "floor": []}
        throughput = {"real": [], "floor": []}
        for _ in range(self.runs):
            for name, path in (("real", real_path), ("floor", floor_path)):
                times = [self.post(path, self.candidates.take()) for _ in range(SEQUENTIAL_POSTS)]
                latency[name].append(statistics.median(times))
                batch = [self.candidates.take() for _ in range(CONCURRENT_POSTS)]
                started = time.perf_counter()
                with ThreadPoolExecutor(CONCURRENT_CLIENTS) as clients:
                    list(clients.map(lambda attributes, p=path: self.post(p, attributes), batch))
                throughput[name].append(CONCURRENT_POSTS / (time.perf_counter() - started))
        self.results[key] = {
            "real": summary(latency["real"]),
            "floor": summary(latency["floor"]),
            "real_throughput": summary(throughput["real"]),
            "floor_throughput": summary(throughput["floor"]),
            "posts_per_run": SEQUENTIAL_POSTS,
            "concurrent_posts_per_run": CONCURRENT_POSTS,
        }

    # 6: statement calculation -----------------------------------------------------------------
    def measure_statement(self, key: str, statement_id: str, lines: int) -> None:
        real_path = f"/_bench/statements/{statement_id}/calculation"
        floor_path = f"{FLOOR}/statements/{statement_id}/aggregate"
        floor_lines = json.loads(self.get(floor_path).body)["lines"]
        real, floor = [], []
        for _ in range(self.runs):
            real.append(statistics.median(self.get(real_path).seconds for _ in range(STATEMENT_REQUESTS)))
            floor.append(statistics.median(self.get(floor_path).seconds for _ in range(STATEMENT_REQUESTS)))
        self.results[key] = {"real": summary(real), "floor": summary(floor), "lines": floor_lines, "cohort": lines}

    # 9: everyone at once ----------------------------------------------------------------------
    def measure_everyone(self, key: str, syncers: list[tuple[str, str]]) -> None:
        """The providers of `syncers` (token, v3 participants path) full-sync while EVERYONE_POSTERS
        clients post declarations, in phases of EVERYONE_SECONDS: against the endpoints, then the same
        load against the floors, twice, A B B A. Latency of every 3000-row page and every POST, per kind
        of phase. A rewrite-flavoured provider's floor is the original's of the same rows (as in 7)."""
        for token, path in syncers:  # the pages are counted without parsing them: check the count once
            for target in (path, floor_of(PARTICIPANTS_V3)):
                body = self.get(page_path(target, 1), token=token).body
                if participants_in(body) != len(json.loads(body)["data"]):
                    raise SystemExit(f"make bench: the people on {target} are miscounted by participants_in")
        phases = []
        for number, kind in enumerate(EVERYONE_PHASES):
            # Each phase may post an equal share of the slots left, so that a short pool still leaves
            # POSTs for the last endpoint phase (A B B A stays balanced).
            share = self.candidates.left // (len(EVERYONE_PHASES) - number)
            phases.append(self.everyone_phase(kind, syncers, share))
        figures = {}
        for kind in ("real", "floor"):
            mine = [phase for phase in phases if phase["kind"] == kind]
            posting = sum(phase["posting_seconds"] for phase in mine)
            posts = [seconds for phase in mine for seconds in phase.pop("post_latencies")]
            figures[kind] = {
                "page": percentiles([seconds for phase in mine for seconds in phase.pop("page_latencies")]),
                "short_page": percentiles([seconds for phase in mine for seconds in phase.pop("short_latencies")]),
                "post": {**percentiles(posts), "per_second": len(posts) / posting if posting else None},
            }
        self.results[key] = {
            **figures,
            "phases": phases,
            "phase_seconds": EVERYONE_SECONDS,
            "syncers": len(syncers),
            "posters": EVERYONE_POSTERS,
            "candidates_left": self.candidates.left,
        }

    def everyone_phase(self, kind: str, syncers: list[tuple[str, str]], share: int) -> dict:
        """One phase: `share` is the most declarations its posters may post."""
        submit = DECLARATIONS_V3 if kind == "real" else floor_of(DECLARATIONS_V3) + "/submit"
        failed = threading.Event()
        started = time.monotonic()
        deadline = started + EVERYONE_SECONDS

        def over() -> bool:
            return failed.is_set() or time.monotonic() >= deadline

        def guarded(work, *args):
            """One client; the first to fail stops the others, and its SystemExit reaches the caller."""
            try:
                return work(*args)
            except BaseException:
                failed.set()
                raise

        allowance = threading.Semaphore(share)
        with ThreadPoolExecutor(len(syncers) + EVERYONE_POSTERS) as clients:
            syncs = [
                clients.submit(
                    guarded, self.sync_until, path if kind == "real" else floor_of(PARTICIPANTS_V3), token, over
                )
                for token, path in syncers
            ]
            posters = [
                clients.submit(guarded, self.post_until, submit, over, allowance) for _ in range(EVERYONE_POSTERS)
            ]
            pages = [future.result() for future in syncs]
            posts = [future.result() for future in posters]
        return {
            "kind": kind,
            "seconds": time.monotonic() - started,
            "page_latencies": [seconds for full, _ in pages for seconds in full],
            "short_latencies": [seconds for _, short in pages for seconds in short],
            "post_latencies": [seconds for latencies, _, _ in posts for seconds in latencies],
            "pages": sum(len(full) for full, _ in pages),
            "short_pages": sum(len(short) for _, short in pages),
            "posts": sum(len(latencies) for latencies, _, _ in posts),
            "post_share": share,
            # Posts per second over the time the posters were posting (running out of slots stops them).
            "posting_seconds": max(finished for _, finished, _ in posts) - started,
            "ran_out_of_slots": any(ran_out for _, _, ran_out in posts),
            "load_average": [round(load, 2) for load in os.getloadavg()],
        }

    def sync_until(self, participants: str, token: str, over) -> tuple[list[float], list[float]]:
        """Full syncs, one after another, until `over()`: the latencies of the full pages and of the
        short last ones."""
        full, short, number = [], [], 1
        while not over():
            answer = self.get(page_path(participants, number), token=token)
            if participants_in(answer.body) == PER_PAGE:
                full.append(answer.seconds)
                number += 1
            else:
                short.append(answer.seconds)
                number = 1
        return full, short

    def post_until(self, submit: str, over, allowance: threading.Semaphore) -> tuple[list[float], float, bool]:
        """POSTs of the next open slot until `over()`, the phase's allowance is spent or the pool is
        dry: their latencies, when the last one finished, and whether the slots ran out first."""
        latencies = []
        while not over():
            attributes = self.candidates.take() if allowance.acquire(blocking=False) else None
            if attributes is None:
                return latencies, time.monotonic(), True
            latencies.append(self.post(submit, attributes))
        return latencies, time.monotonic(), False

    # Query counts -----------------------------------------------------------------------------
    def count_queries(self, label: str, method: str, path: str, body: bytes | None = None) -> None:
        self.server.request(method, path, token=self.token, body=body, headers={QUERY_HEADER: label})


# --- Data the measurements need -------------------------------------------------------------------

CANDIDATES_SQL = """
WITH provider AS (SELECT %(provider)s::uuid AS id),
latest AS (
    SELECT DISTINCT ON (tp.enrolment_id) tp.enrolment_id, tp.schedule_id, tp.training_status
    FROM participants_trainingperiod tp JOIN participants_partnership p ON p.id = tp.partnership_id
    WHERE p.lead_provider_id = (SELECT id FROM provider) AND p.challenge_reason IS NULL AND p.challenged_at IS NULL
    ORDER BY tp.enrolment_id, (tp.end_date IS NULL) DESC, tp.start_date DESC, tp.created_at DESC, tp.id DESC
),
candidate AS (
    SELECT e.participant_id, e.schedule_id, s.cohort_id, e.eligibility_status, c.detailed_evidence_types
    FROM latest l JOIN participants_enrolment e ON e.id = l.enrolment_id
    JOIN participants_schedule s ON s.id = e.schedule_id JOIN participants_cohort c ON c.start_year = s.cohort_id
    WHERE e.kind = 'ect' AND e.is_active AND e.training_status = 'active' AND l.training_status = 'active'
      AND l.schedule_id = e.schedule_id
      AND NOT EXISTS (SELECT 1 FROM participants_trainingstatuschange x WHERE x.enrolment_id = e.id)
      AND (SELECT count(*) FROM participants_enrolment e2
           WHERE e2.participant_id = e.participant_id AND e2.kind = 'ect' AND e2.is_active) = 1
)
SELECT candidate.participant_id::text, m.declaration_type, m.milestone_date, candidate.detailed_evidence_types,
       row_number() OVER (PARTITION BY candidate.participant_id ORDER BY m.start_date, m.declaration_type) AS nth
FROM candidate JOIN participants_milestone m ON m.schedule_id = candidate.schedule_id
WHERE m.start_date <= current_date
  AND NOT EXISTS (SELECT 1 FROM declarations_declaration d WHERE d.participant_id = candidate.participant_id
        AND d.course_identifier = 'ecf-induction' AND d.declaration_type = m.declaration_type
        AND d.state IN ('submitted', 'eligible', 'payable', 'paid'))
  AND (candidate.eligibility_status IS DISTINCT FROM 'eligible' OR EXISTS (
        SELECT 1 FROM statements_statement st WHERE st.lead_provider_id = (SELECT id FROM provider)
          AND st.cohort_id = candidate.cohort_id AND st.output_fee AND st.status = 'open'
          AND st.deadline_date >= current_date))
ORDER BY nth, candidate.participant_id, m.declaration_type
"""


def evidence_for(declaration_type: str, detailed: bool) -> str | None:
    """Evidence the rules accept for an ECT (declarations.services, rules §4.3)."""
    if declaration_type == "started":
        return None
    if detailed and declaration_type in ("retained-2", "completed"):
        return "75-percent-engagement-met"
    return "training-event-attended"


def submission_candidates(connection, provider_id: str) -> list[dict]:
    """Open declaration slots of the provider's ECTs that every validation accepts today, spread
    so that consecutive ones are different people."""
    today = date.today()
    rows = connection.execute(CANDIDATES_SQL, {"provider": provider_id}).fetchall()
    candidates = []
    for participant_id, declaration_type, milestone_date, detailed, _ in rows:
        if milestone_date is not None and milestone_date < today:
            declared = datetime.combine(milestone_date, day_time(12), tzinfo=UTC)
        else:
            declared = datetime.combine(today, day_time(0, 0, 1), tzinfo=UTC)
        attributes = {
            "participant_id": participant_id,
            "declaration_type": declaration_type,
            "declaration_date": declared.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "course_identifier": "ecf-induction",
        }
        evidence = evidence_for(declaration_type, detailed)
        if evidence:
            attributes["evidence_held"] = evidence
        candidates.append(attributes)
    return candidates


PROVIDERS_BY_SIZE_SQL = """
SELECT lp.id::text, lp.name, count(DISTINCT e.participant_id) AS people
FROM participants_leadprovider lp
JOIN participants_partnership p ON p.lead_provider_id = lp.id
JOIN participants_trainingperiod tp ON tp.partnership_id = p.id
JOIN participants_enrolment e ON e.id = tp.enrolment_id
GROUP BY lp.id, lp.name ORDER BY people DESC
"""

# The largest provider's statement with the most lines up to it: its cohort's latest output statement.
STATEMENT_SQL = """
SELECT s.id::text, s.cohort_id,
       (SELECT count(*) FROM declarations_declaration d WHERE d.cohort_id = s.cohort_id) AS cohort_declarations
FROM statements_statement s
WHERE s.lead_provider_id = %(provider)s AND s.output_fee
  AND s.cohort_id = (SELECT cohort_id FROM declarations_declaration WHERE lead_provider_id = %(provider)s
                     GROUP BY cohort_id ORDER BY count(*) DESC LIMIT 1)
ORDER BY s.payment_date DESC LIMIT 1
"""


# --- The machine ------------------------------------------------------------------------------------


def machine(connection, workers: str) -> dict:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory_kib = next(
        int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal:")
    )
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gib": round(memory_kib / 1024 / 1024, 1),
        "postgresql": connection.execute("SHOW server_version").fetchone()[0],
        "python": platform.python_version(),
        "os": platform.platform(),
        "gunicorn_workers": workers,
    }


POLL_SINCE_SQL = """
SELECT to_char(date_trunc('second', updated_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
FROM visibility_participantvisibility WHERE lead_provider_id = %(provider)s
ORDER BY updated_at DESC OFFSET %(rows)s LIMIT 1
"""


def rewrite_flavoured_provider(connection, providers: list) -> dict:
    """The largest of the sandbox's rewrite-flavoured providers, flavoured so in the run's copy (a
    template seeded before the flavour existed has none)."""
    connection.execute(
        "UPDATE participants_leadprovider SET contract_flavour = %s WHERE name = ANY(%s)",
        [REWRITE_FLAVOUR, list(REWRITE_FLAVOURED_PROVIDERS)],
    )
    _, name, people = next(row for row in providers if row[1] in REWRITE_FLAVOURED_PROVIDERS)
    return {"name": name, "people": people}


def template_of(scale: int) -> str:
    """One template database per scale."""
    return f"{TEMPLATE_DB}_{scale}"


def ensure_template(cluster: Cluster, scale: int, query_log: Path) -> None:
    database = template_of(scale)
    env = environment(cluster.url(database), query_log)
    marker = cluster.directory / f"seeded_{scale}.json"
    if marker.exists() and cluster.has_database(database):
        print(f"make bench: reusing the {scale:,} template; applying any new migrations", flush=True)
        manage(env, "migrate", "--no-input")
        return
    print(f"make bench: seeding {scale:,} participants (minutes, once)", flush=True)
    cluster.psql(f"DROP DATABASE IF EXISTS {database}")
    cluster.psql(f"CREATE DATABASE {database}")
    manage(env, "migrate", "--no-input")
    # The template is a sandbox, not production: seed_sandbox refuses ECF_ENV=production (issue 12.7).
    seed_env = {**env, "ECF_ENV": "development", "DEBUG": "false"}
    manage(seed_env, "seed_sandbox", "--participants", str(scale), "--seed", str(SEED))
    marker.write_text(json.dumps({"participants": scale, "seed": SEED}))


def plans(env: dict, token: str, paths: list[str]) -> dict:
    import subprocess  # noqa: PLC0415

    result = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "python"), str(Path(__file__).with_name("plans.py")), token, *paths],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "ecf.settings"},
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise SystemExit(f"make bench: plans failed:\n{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def bench_scale(
    cluster: Cluster, scale: int, runs: int, *, writes: bool, with_plans: bool, only: set[str] | None = None
) -> dict:
    """One scale of one bench run: a fresh copy of the template, served, measured, stopped. `only`:
    the steps to measure (all when None)."""
    bench_dir = cluster.directory
    query_log = bench_dir / "queries.jsonl"
    workers = os.environ.get("WEB_CONCURRENCY", "4")
    started = time.perf_counter()
    cluster.psql(f"DROP DATABASE IF EXISTS {RUN_DB} WITH (FORCE)")
    cluster.psql(f"CREATE DATABASE {RUN_DB} TEMPLATE {template_of(scale)}")
    cluster.psql("VACUUM ANALYZE", database=RUN_DB)
    env = environment(cluster.url(RUN_DB), query_log, WEB_CONCURRENCY=workers)
    with psycopg.connect(f"host={bench_dir} dbname={RUN_DB} user=postgres", autocommit=True) as connection:
        providers = connection.execute(PROVIDERS_BY_SIZE_SQL).fetchall()
        (largest_id, largest, largest_people), (_, smallest, smallest_people) = providers[0], providers[-1]
        syncers = providers[:EVERYONE_SYNCERS]
        candidates = Candidates(submission_candidates(connection, largest_id) if writes else [])
        slots = candidates.left  # open declaration slots at the start, shared by 5 and 9
        statement = connection.execute(STATEMENT_SQL, {"provider": largest_id}).fetchone() if writes else None
        since = connection.execute(POLL_SINCE_SQL, {"provider": largest_id, "rows": POLL_ROWS}).fetchone()[0]
        description = machine(connection, workers)
        rect = rewrite_flavoured_provider(connection, providers)
        totals = {
            table: connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("participants_participant", "declarations_declaration")
        }
    token = manage(env, "create_api_token", largest).strip().splitlines()[-1]
    small_token = manage(env, "create_api_token", smallest).strip().splitlines()[-1]
    rect_token = manage(env, "create_api_token", rect["name"]).strip().splitlines()[-1]
    # Everyone at once: a token for each of the largest providers (`providers` is by size), and the
    # v3 participants of its flavour (the rewrite's providers have no /participants/ecf).
    everyone = (
        [
            (
                token if name == largest else manage(env, "create_api_token", name).strip().splitlines()[-1],
                PARTICIPANTS_RECT if name in REWRITE_FLAVOURED_PROVIDERS else PARTICIPANTS_V3,
            )
            for _, name, _ in syncers
        ]
        if writes and (only is None or "9" in only)
        else []
    )
    poll = f"{PARTICIPANTS_V3}?filter[updated_since]={since}"
    poll_rect = f"{PARTICIPANTS_RECT}?filter[updated_since]={since}"
    if query_log.exists():
        query_log.unlink()
    server = Server(env, bench_dir / "gunicorn.log")
    server.start()
    try:
        bench = Bench(server, token, small_token, runs, rect_token, candidates)
        print(f"make bench: {scale:,}: warming up", flush=True)
        if only is None or not only <= {"5"}:  # the POST figure warms its own workers
            bench.full_sync(PARTICIPANTS_V3)
            bench.full_sync(floor_of(PARTICIPANTS_V3))
            bench.full_sync(DECLARATIONS_V3)
            bench.full_sync(floor_of(DECLARATIONS_V3))
        for path in (page_path(PARTICIPANTS_V3, 1, 1), poll, page_path(DECLARATIONS_V3, 1, 1)):
            if bench.get(path).body != bench.get(floor_of(path)).body:
                raise SystemExit(f"make bench: the floor of {path} differs from the endpoint")
        steps = [
            ("1", lambda: bench.measure_full_sync("1", PARTICIPANTS_V3)),
            ("2", lambda: bench.measure_full_sync("2", DECLARATIONS_V3)),
            ("3", lambda: bench.measure_page("3", page_path(PARTICIPANTS_V3, 1))),
            ("3a", lambda: bench.measure_page("3a", page_path(PARTICIPANTS_V3, 1, 1))),
            ("3b", lambda: bench.measure_page("3b", poll)),
            ("3c", lambda: bench.measure_page("3c", page_path(DECLARATIONS_V3, 1, 1))),
            ("4", lambda: bench.measure_csv("4", PARTICIPANTS_V1_CSV)),
            # The rewrite's flavour, for its largest provider, against the original's floor of the same rows.
            (
                "7",
                lambda: bench.measure_full_sync(
                    "7", PARTICIPANTS_RECT, floor=floor_of(PARTICIPANTS_V3), token=rect_token
                ),
            ),
            (
                "7a",
                lambda: bench.measure_page(
                    "7a",
                    page_path(PARTICIPANTS_RECT, 1, 1),
                    floor_path=floor_of(page_path(PARTICIPANTS_V3, 1, 1)),
                    token=rect_token,
                ),
            ),
            (
                "7b",
                lambda: bench.measure_page(
                    "7b",
                    page_path(PARTICIPANTS_RECT, 1),
                    floor_path=floor_of(page_path(PARTICIPANTS_V3, 1)),
                    token=rect_token,
                ),
            ),
            (
                "8",
                lambda: bench.measure_full_sync(
                    "8", DECLARATIONS_RECT, floor=floor_of(DECLARATIONS_V3), token=rect_token
                ),
            ),
            (
                "8a",
                lambda: bench.measure_page(
                    "8a",
                    page_path(DECLARATIONS_RECT, 1, 1),
                    floor_path=floor_of(page_path(DECLARATIONS_V3, 1, 1)),
                    token=rect_token,
                ),
            ),
        ]
        if writes:
            steps += [
                ("5", lambda: bench.measure_submission("5")),
                ("6", lambda: bench.measure_statement("6", statement[0], statement[2])),
                # After 6, so the statement is measured before 9's declarations; its slots follow 5's.
                ("9", lambda: bench.measure_everyone("9", everyone)),
            ]
        for key, step in steps:
            if only is not None and key not in only:
                continue
            step_started = time.perf_counter()
            step()
            print(f"make bench: {scale:,}: {key} measured in {time.perf_counter() - step_started:.0f}s", flush=True)
    finally:
        server.stop()
    scan_nodes = {}
    if with_plans:
        print(f"make bench: {scale:,}: plans", flush=True)
        scan_nodes = plans(
            env,
            token,
            [
                page_path(PARTICIPANTS_V3, 1, 1),
                page_path(PARTICIPANTS_V3, 5, 3000),
                poll,
                page_path(DECLARATIONS_V3, 1, 1),
                page_path(DECLARATIONS_V3, 10, 3000),
                page_path("/api/v1/participant-declarations", 1, 1),
                PARTICIPANTS_V1_CSV,
            ],
        )
        scan_nodes |= plans(
            env, rect_token, [page_path(PARTICIPANTS_RECT, 1, 1), page_path(PARTICIPANTS_RECT, 2), poll_rect]
        )
    return {
        "results": bench.results,
        "context": {
            "scale": scale,
            "machine": description,
            "largest": {"name": largest, "people": largest_people},
            "smallest": {"name": smallest, "people": smallest_people},
            "rect": rect,
            "everyone": [{"name": name, "people": people} for _, name, people in syncers] if everyone else [],
            "candidates": slots,
            "totals": totals,
            "poll_since": since,
            "plans": scan_nodes,
            "seconds": time.perf_counter() - started,
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="A B repetitions of each figure within a bench run")
    parser.add_argument("--scale", type=int, default=int(os.environ.get("SCALE") or 0) or None)
    parser.add_argument("--output", default=str(ROOT / "docs" / "benchmarks.md"))
    parser.add_argument("--json", default=None, help="where to write the raw figures (default: ECF_BENCH_DIR)")
    parser.add_argument("--no-writes", action="store_true", help="skip the POST and statement figures")
    parser.add_argument(
        "--only",
        default=None,
        help="comma list of the steps to measure (e.g. 5, the declaration POST, or 3a,3b): one run at --scale "
        "(default: the POST's scale), prints the figures as JSON and leaves docs/benchmarks.md alone",
    )
    args = parser.parse_args()
    if args.only:
        only_bench(args)
        return
    scales = sorted({*SCALES, *([args.scale] if args.scale else [])})

    bench_dir = Path(os.environ.get("ECF_BENCH_DIR", "/tmp/ecf-bench"))
    cluster = Cluster(bench_dir)
    started = time.perf_counter()
    print(f"make bench: cluster in {bench_dir}; scales {scales}; {BENCH_RUNS} runs", flush=True)
    cluster.start()
    bench_runs = []
    try:
        for scale in scales:
            ensure_template(cluster, scale, bench_dir / "queries.jsonl")
        for run in range(1, BENCH_RUNS + 1):
            print(f"make bench: run {run} of {BENCH_RUNS}", flush=True)
            bench_runs.append(
                {
                    str(scale): bench_scale(
                        cluster,
                        scale,
                        args.runs,
                        writes=scale == PARTICIPANTS and not args.no_writes,
                        with_plans=run == 1,
                    )
                    for scale in scales
                }
            )
    finally:
        cluster.stop()

    context = {
        "runs": args.runs,
        "bench_runs": BENCH_RUNS,
        "scales": scales,
        "base_scale": BASE_SCALE,
        "seconds": time.perf_counter() - started,
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
    }
    # The raw figures first, so the table can be re-rendered (scripts/bench/report.py) without a new run.
    figures = Path(args.json) if args.json else bench_dir / "figures.json"
    figures.write_text(json.dumps({"runs": bench_runs, "context": context}, indent=2, default=str))
    from report import render  # noqa: PLC0415  (beside this file)

    Path(args.output).write_text(render(bench_runs, context))
    print(f"make bench: wrote {args.output} in {context['seconds']:.0f}s", flush=True)


def only_bench(args) -> None:
    """A quick loop for one helper's figure: one scale, one run, the figures printed as JSON."""
    only = set(args.only.split(","))
    scale = args.scale or PARTICIPANTS
    cluster = Cluster(Path(os.environ.get("ECF_BENCH_DIR", "/tmp/ecf-bench")))
    cluster.start()
    try:
        ensure_template(cluster, scale, cluster.directory / "queries.jsonl")
        writes = not args.no_writes and bool(only & {"5", "6", "9"})
        figures = bench_scale(cluster, scale, args.runs, writes=writes, with_plans=False, only=only)
    finally:
        cluster.stop()
    print(json.dumps(figures, indent=2, default=str))


if __name__ == "__main__":
    main()
