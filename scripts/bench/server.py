"""The service as `make serve` runs it (scripts/serve.sh, gunicorn), plus the benchmark's floors,
and a small HTTP client for 127.0.0.1 only."""

import http.client
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Fixed, so that tokens issued for the run database are valid in the server.
SECRET_KEY = "benchmark-only-secret-key-" + "0123456789abcdef" * 3
STARTUP_SECONDS = 120


def free_port() -> int:
    """ECF_BENCH_PORT when set (a shared machine gives each user a port range), else any free port."""
    if os.environ.get("ECF_BENCH_PORT"):
        return int(os.environ["ECF_BENCH_PORT"])
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def environment(database_url: str, query_log: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ECF_", "DJANGO_", "API_RATE_", "BENCHMARK_"))}
    env.update(
        DATABASE_URL=database_url,
        SECRET_KEY=SECRET_KEY,
        ECF_ENV="production",
        SECURE_SSL_REDIRECT="false",  # plain HTTP on localhost, no TLS proxy in front
        ALLOWED_HOSTS="127.0.0.1",
        # A full sync is hundreds of requests; the rate limit (1000 per 5 minutes) is not what is measured.
        API_RATE_LIMIT_ENABLED="false",
        CLIENT_RATE_LIMIT_ENABLED="false",  # every bench request comes from 127.0.0.1
        BENCHMARK_FLOOR="true",
        BENCHMARK_QUERY_LOG=str(query_log),
        LOG_LEVEL="WARNING",
    )
    env.update(extra)
    return env


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "python"), "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise SystemExit(f"make bench: manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


@dataclass
class Answer:
    status: int
    body: bytes
    seconds: float


class Server:
    """gunicorn through scripts/serve.sh, in its own process group, stopped by `stop()`."""

    def __init__(self, env: dict[str, str], log: Path):
        # ECF_BENCH_PORT pins the port (a shared machine gives each user a range); else any free one.
        self.port = int(os.environ.get("ECF_BENCH_PORT") or free_port())
        self.env = {**env, "PORT": str(self.port)}
        self.log = log
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                [str(ROOT / "scripts" / "serve.sh")],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"make bench: the server stopped at start; see {self.log}")
            try:
                if self.get("/healthcheck").status == 200:
                    return
            except OSError:
                time.sleep(0.2)
        raise SystemExit(f"make bench: the server did not answer within {STARTUP_SECONDS}s; see {self.log}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()

    def fresh_workers(self) -> None:
        """Replace every worker (gunicorn's HUP), so a memory figure starts from a new process."""
        before = set(self.worker_pids())
        os.kill(self.process.pid, signal.SIGHUP)
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            current = set(self.worker_pids())
            if len(current) == len(before) and not current & before:
                time.sleep(1)  # the new workers load the application before they accept
                return
            time.sleep(0.1)
        raise SystemExit("make bench: gunicorn did not replace its workers")

    def worker_pids(self) -> list[int]:
        """gunicorn's workers: the children of the master (serve.sh execs into the master)."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()]

    def request(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        all_headers = dict(headers or {})
        if token:
            all_headers["Authorization"] = f"Bearer {token}"
        if body is not None:
            all_headers["Content-Type"] = "application/json"
        started = time.perf_counter()
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
        try:
            connection.request(method, path, body=body, headers=all_headers)
            response = connection.getresponse()
            data = response.read()
        finally:
            connection.close()
        return Answer(response.status, data, time.perf_counter() - started)

    def get(self, path: str, **kwargs) -> Answer:
        return self.request("GET", path, **kwargs)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0
