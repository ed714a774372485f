"""The benchmark's PostgreSQL: a persistent cluster holding a seeded template database, reused
across runs, and a fresh copy of that template for each run (so a run's writes never leak into
the next one)."""

import glob
import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

TEMPLATE_DB = "ecf_bench_seed"
RUN_DB = "ecf_bench_run"
SERVER_SETTINGS = (
    # A benchmark cluster is rebuilt at will: durability would only add disk waits to every commit,
    # for the floors and the real endpoints alike. shared_buffers holds the whole data set.
    "-c listen_addresses= -c fsync=off -c synchronous_commit=off -c full_page_writes=off "
    "-c max_connections=100 -c shared_buffers=512MB"
)


def pg_bin() -> Path:
    if shutil.which("pg_config"):
        candidate = Path(subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True).stdout.strip())
        if (candidate / "pg_ctl").exists():
            return candidate
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]), reverse=True):
        if Path(candidate, "initdb").exists():
            return Path(candidate)
    raise SystemExit("make bench: PostgreSQL server binaries (initdb, pg_ctl) not found")


@dataclass
class Cluster:
    directory: Path

    @property
    def data(self) -> Path:
        return self.directory / "data"

    @property
    def marker(self) -> Path:
        return self.directory / "seeded.json"

    def url(self, database: str) -> str:
        return f"postgres://postgres@/{database}?host={self.directory}"

    def _as_db_user(self, command: list[str], **kwargs) -> subprocess.CompletedProcess:
        if os.geteuid() == 0:  # initdb refuses root: the cluster belongs to the postgres user
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, check=True, capture_output=True, text=True, **kwargs)

    def start(self) -> None:
        binaries = pg_bin()
        self.directory.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres", "postgres")
        if not (self.data / "PG_VERSION").exists():
            self._as_db_user(
                [
                    str(binaries / "initdb"),
                    "-D",
                    str(self.data),
                    "-U",
                    "postgres",
                    "-A",
                    "trust",
                    "-E",
                    "UTF8",
                    "--no-sync",
                ]
            )
        status = subprocess.run(
            ["runuser", "-u", "postgres", "--", str(binaries / "pg_ctl"), "-D", str(self.data), "status"]
            if os.geteuid() == 0
            else [str(binaries / "pg_ctl"), "-D", str(self.data), "status"],
            capture_output=True,
        )
        if status.returncode != 0:
            self._as_db_user(
                [
                    str(binaries / "pg_ctl"),
                    "-D",
                    str(self.data),
                    "-l",
                    str(self.directory / "server.log"),
                    "-w",
                    "-o",
                    f"-k {self.directory} {SERVER_SETTINGS}",
                    "start",
                ]
            )

    def stop(self) -> None:
        self._as_db_user([str(pg_bin() / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"])

    def psql(self, sql: str, database: str = "postgres") -> str:
        result = self._as_db_user(
            [str(pg_bin() / "psql"), "-h", str(self.directory), "-U", "postgres", "-d", database, "-tA", "-c", sql]
        )
        return result.stdout.strip()

    def has_database(self, name: str) -> bool:
        return self.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'") == "1"

    def seeded(self, participants: int, seed: int) -> bool:
        if not self.marker.exists() or not self.has_database(TEMPLATE_DB):
            return False
        return json.loads(self.marker.read_text()) == {"participants": participants, "seed": seed}

    def mark_seeded(self, participants: int, seed: int) -> None:
        self.marker.write_text(json.dumps({"participants": participants, "seed": seed}))

    def fresh_template(self) -> None:
        if self.marker.exists():
            self.marker.unlink()
        self.psql(f"DROP DATABASE IF EXISTS {TEMPLATE_DB}")
        self.psql(f"CREATE DATABASE {TEMPLATE_DB}")

    def fresh_run_database(self) -> float:
        """The run's database: a copy of the seeded template (seconds it took)."""
        started = time.perf_counter()
        self.psql(f"DROP DATABASE IF EXISTS {RUN_DB} WITH (FORCE)")
        self.psql(f"CREATE DATABASE {RUN_DB} TEMPLATE {TEMPLATE_DB}")
        self.psql("VACUUM ANALYZE", database=RUN_DB)
        return time.perf_counter() - started
