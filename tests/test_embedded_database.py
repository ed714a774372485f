"""`make run` serves the sandbox on the embedded SQLite database: its reads AND writes must work there.

The suite runs on PostgreSQL, so a query only PostgreSQL accepts passed it while every declaration and
participant action answered 500 in `make run` (a UNION whose parts kept the model's default ordering,
which SQLite refuses). This runs a small sandbox on SQLite in a subprocess and sends each kind of write.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

REQUESTS = r"""
import json
from django.test import Client
JSON = "application/json"
client = Client(HTTP_HOST="localhost", HTTP_AUTHORIZATION="Bearer sandbox-ambition-institute")
status = {}
people = client.get("/api/v3/participants/ecf?page[per_page]=1").json()["data"]
person = people[0]["id"]
status["declarable"] = client.get(f"/api/v3/participants/ecf/{person}/declarable").status_code
declaration = {"data": {"type": "participant-declaration", "attributes": {
    "participant_id": person, "declaration_type": "started", "declaration_date": "2023-10-01T10:00:00Z",
    "course_identifier": "ecf-induction"}}}
for version in ("v1", "v2", "v3"):
    for dry_run in ("?dry_run=true", ""):
        path = f"/api/{version}/participant-declarations{dry_run}"
        answer = client.post(path, declaration, content_type=JSON)
        status[f"POST {version} declaration{dry_run}"] = answer.status_code
defer = {"data": {"type": "participant-defer", "attributes": {
    "reason": "parental-leave", "course_identifier": "ecf-induction"}}}
resume = {"data": {"type": "participant-resume", "attributes": {"course_identifier": "ecf-induction"}}}
for action, body in (("defer", defer), ("resume", resume)):
    answer = client.put(f"/api/v3/participants/ecf/{person}/{action}", body, content_type=JSON)
    status[f"PUT v3 {action}"] = answer.status_code
# The lists' ids come as text from the database (ecf.db_functions.UuidText): on SQLite too they are
# the canonical form the API answers to.
import re
canonical = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
ids = {}
page = client.get("/api/v3/participants/ecf?page[per_page]=20").json()["data"]
ids["participants shown as listed"] = all(
    client.get(f"/api/v3/participants/ecf/{p['id']}").json()["data"] == p for p in page)
ids["participant ids"] = sorted({bool(canonical.match(value)) for p in page for e in p["attributes"]["ecf_enrolments"]
    for value in (p["id"], e["training_record_id"], e["mentor_id"], e["delivery_partner_id"]) if value is not None})
listed = client.get("/api/v3/participant-declarations?page[per_page]=20").json()["data"]
ids["declarations shown as listed"] = bool(listed) and all(
    client.get(f"/api/v3/participant-declarations/{d['id']}").json()["data"] == d for d in listed)
ids["declaration ids"] = sorted({bool(canonical.match(value)) for d in listed for value in (
    d["id"], d["attributes"]["participant_id"], d["attributes"]["mentor_id"], d["attributes"]["delivery_partner_id"],
    d["attributes"]["statement_id"], d["attributes"]["clawback_statement_id"]) if value is not None})
print("IDS " + json.dumps(ids))
print("STATUS " + json.dumps(status))
"""


def test_the_sandbox_on_sqlite_answers_every_kind_of_write_without_a_server_error(tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "ECF_ENV": "development",
        "LOG_FORMAT": "text",
    }

    def manage(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    manage("migrate", "--no-input")
    manage("seed_sandbox", "--participants", "40", "--seed", "1")
    output = manage("shell", "-c", REQUESTS)

    status = json.loads(output.split("STATUS ", 1)[1])
    ids = json.loads(output.split("IDS ", 1)[1].split("\n", 1)[0])
    assert ids == {
        "participants shown as listed": True,
        "participant ids": [True],
        "declarations shown as listed": True,
        "declaration ids": [True],
    }
    assert {name: code for name, code in status.items() if code >= 500} == {}
    assert status["declarable"] == 200
