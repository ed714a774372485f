"""Run the real service in child processes (gunicorn, `scripts/serve.sh`) and talk HTTP to it.

Used by the tests that must cross process boundaries: a rate limit shared by every worker, and
`make serve` as production runs it. Children get their own process group, so teardown stops
exactly what the test started.
"""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlencode

from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
# A fixed secret, so that a token issued by the test (under override_settings) is valid in the children.
SERVER_SECRET_KEY = "served-test-secret-key-" + "0123456789abcdef" * 4
STARTUP_SECONDS = 120


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


def database_url() -> str:
    """A DATABASE_URL for the database this test session uses (the test database, once set up)."""
    settings = connection.settings_dict
    user = quote(settings["USER"] or "", safe="")
    password = quote(settings["PASSWORD"] or "", safe="")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = settings["HOST"] or ""
    port = str(settings["PORT"] or "")
    # A Unix socket directory travels as a query option (scripts/with_postgres.sh writes it that way).
    options = {key: str(value) for key, value in settings.get("OPTIONS", {}).items()}
    if host.startswith("/"):
        options["host"], host = host, ""
    query = urlencode(options)
    return f"postgres://{auth}{host}{':' + port if port else ''}/{quote(settings['NAME'], safe='')}" + (
        f"?{query}" if query else ""
    )


def production_env(**overrides: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("ECF_", "DJANGO_", "API_RATE_", "SECURE_", "PYTEST"))
    }
    env.update(
        ECF_ENV="production",
        SECRET_KEY=SERVER_SECRET_KEY,
        ALLOWED_HOSTS="127.0.0.1",
        DATABASE_URL=database_url(),
    )
    env.update(overrides)
    return env


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a test looks at the redirect itself


_OPENER = urllib.request.build_opener(_NoRedirects)


def fetch(
    url: str,
    headers: dict[str, str] | None = None,
    method: str = "GET",
    data: bytes | None = None,
    timeout: float = 30,
) -> Answer:
    request = urllib.request.Request(url, headers=headers or {}, method=method, data=data)
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            return Answer(response.status, dict(response.headers.items()), response.read())
    except urllib.error.HTTPError as error:
        return Answer(error.code, dict(error.headers.items()), error.read())


@contextmanager
def running(command: list[str], *, env: dict[str, str], port: int, log: Path) -> Iterator[str]:
    """Start `command`, wait until GET /healthcheck answers, yield the base URL, then stop it."""
    with running_process(command, env=env, port=port, log=log) as (base, _process):
        yield base


@contextmanager
def running_process(
    command: list[str], *, env: dict[str, str], port: int, log: Path
) -> Iterator[tuple[str, subprocess.Popen]]:
    """As `running`, yielding the process too (for a test that looks at its workers)."""
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(process, base, log)
        yield base, process
    finally:
        _stop(process)


def children(pid: int) -> list[int]:
    """The child processes of `pid` (a gunicorn master's are its workers)."""
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def peak_memory_kb(pid: int) -> int:
    """The process's peak resident set size so far (VmHWM), in kB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmHWM for process {pid}")


def gunicorn(*, port: int, workers: int) -> list[str]:
    return [str(BIN / "gunicorn"), "ecf.wsgi:application", "--workers", str(workers), "--bind", f"127.0.0.1:{port}"]


def _wait_until_up(process: subprocess.Popen, base: str, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited with {process.returncode}:\n{log.read_text()[-4000:]}")
        try:
            if fetch(f"{base}/healthcheck").status == 200:
                return
        except OSError:
            pass  # not listening yet
        time.sleep(0.2)
    raise AssertionError(f"server did not answer within {STARTUP_SECONDS}s:\n{log.read_text()[-4000:]}")


def _stop(process: subprocess.Popen) -> None:
    # The group holds what this test started and nothing else (start_new_session above).
    for sig, grace in ((signal.SIGTERM, 30), (signal.SIGKILL, 10)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


class Cluster:
    """A PostgreSQL cluster of the test's own, to stop and start under a running server.

    As root the server runs as the `postgres` user (initdb refuses root), like scripts/with_postgres.sh.
    """

    def __init__(self, bindir: Path, directory: Path):
        self.bindir = bindir
        self.directory = directory
        self.url = f"postgres://postgres@/postgres?host={quote(str(directory), safe='')}"

    def start(self) -> None:
        options = f"-k {self.directory} -c listen_addresses= -c fsync=off"
        self._as_owner("pg_ctl", "-D", "data", "-l", "server.log", "-w", "-o", options, "start")

    def stop(self) -> None:
        self._as_owner("pg_ctl", "-D", "data", "-m", "fast", "-w", "stop")

    def _as_owner(self, program: str, *args: str) -> None:
        command = [str(self.bindir / program), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, cwd=self.directory, check=True, capture_output=True, timeout=60)


def postgres_bindir() -> Path | None:
    try:
        configured = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=True).stdout
        candidates = [Path(configured.strip())]
    except (OSError, subprocess.CalledProcessError):
        candidates = []
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    return next((path for path in candidates if (path / "initdb").exists() and (path / "pg_ctl").exists()), None)


@contextmanager
def throwaway_cluster(bindir: Path) -> Iterator[Cluster]:
    directory = Path(tempfile.mkdtemp(prefix="ecf-pg-test."))
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres", "postgres")
    cluster = Cluster(bindir, directory)
    try:
        cluster._as_owner("initdb", "-D", "data", "-U", "postgres", "-A", "trust", "--no-sync")
        cluster.start()
        yield cluster
    finally:
        with suppress(subprocess.SubprocessError):
            cluster._as_owner("pg_ctl", "-D", "data", "-m", "immediate", "stop")
        shutil.rmtree(directory, ignore_errors=True)
