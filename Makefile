# The two set-up commands of the README are `make run` and `make test`.
VENV := .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
PORT ?= 8000
# Two cores here: the suite runs on both (each worker has its own test database).
TEST_WORKERS ?= 2

.PHONY: run test test-suite lint fmt venv schema

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

## Serve the sandbox on the embedded SQLite database (or DATABASE_URL), with seeded data, on PORT (8000).
## Emails the service writes are delivered every 10 s by send_emails, printed to the console.
run: venv
	$(PY) manage.py migrate --no-input
	$(PY) manage.py seed_sandbox --base-url http://localhost:$(PORT)
	$(PY) manage.py send_emails --loop 10 & trap 'kill $$! 2>/dev/null' EXIT; \
		$(PY) manage.py runserver 0.0.0.0:$(PORT)

## Serve as in production: gunicorn (WEB_CONCURRENCY workers, default 4) on 127.0.0.1:$(PORT), PostgreSQL,
## DEBUG off, static files by whitenoise. Needs DATABASE_URL and SECRET_KEY (see scripts/serve.sh).
.PHONY: serve
serve: venv
	PORT=$(PORT) scripts/serve.sh

## Lint and run the whole suite against a throwaway PostgreSQL cluster (or DATABASE_URL).
test: venv browser-deps
	ECF_ENV=test scripts/with_postgres.sh $(MAKE) --no-print-directory test-suite

## The back-office browser test drives Debian's Chromium (never a browser playwright downloads itself);
## the package lists are refreshed only when the install cannot find it.
.PHONY: browser-deps
browser-deps:
	@test -x /usr/bin/chromium || DEBIAN_FRONTEND=noninteractive apt-get install -y chromium \
		|| { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; }

test-suite:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(PY) manage.py makemigrations --check --dry-run
	$(BIN)/pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

## Bad input, at length: tests/test_fuzz.py with the coverage phase, FUZZ_EXAMPLES (default 200)
## generated cases per operation and a new seed, and tests/test_stateful.py's valid request sequences
## (FUZZ_STATEFUL_EXAMPLES, default 100); prints operations, requests sent, sequences and failures.
.PHONY: fuzz
fuzz: venv
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-200} FUZZ_SEED=$${FUZZ_SEED:-random} FUZZ_PHASES=examples,coverage,fuzzing \
		FUZZ_STATEFUL_EXAMPLES=$${FUZZ_STATEFUL_EXAMPLES:-100} FUZZ_STATEFUL_STEPS=$${FUZZ_STATEFUL_STEPS:-25} \
		ECF_ENV=test scripts/with_postgres.sh $(PY) -m pytest -p tests.fuzz_report tests/test_fuzz.py tests/test_stateful.py

## Fault drill: a bounded load (4 clients, 60 s, 127.0.0.1:DRILL_PORT only, default 8140) against
## `make serve` on a throwaway PostgreSQL that is killed with SIGKILL (restarted 5 s later) and then has
## its connection limit exhausted; prints the phases and fails unless nothing was lost, doubled (same TRN
## included) or stored without a 200, 90 % of the plan succeeded, and no error came after recovery
## (scripts/fault_drill.py; its checks are tested in tests/test_fault_drill_checks.py).
.PHONY: drill
drill: venv
	$(PY) scripts/fault_drill.py

## The scheduled jobs (jobs/schedule.py) in a loop, as each app server runs them beside gunicorn; each job runs
## once across servers (a PostgreSQL advisory lock). `make jobs JOBS_ARGS=--once` for one pass (docs/deployment.md).
.PHONY: jobs
jobs: venv
	$(PY) manage.py run_jobs $(JOBS_ARGS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## Benchmark the list endpoints, declaration submission and statement calculation against their floors at
## 20,000 and 60,000 participants (SCALE=200000 adds that scale), twice, and write docs/benchmarks.md. Not
## part of `make test`. The seeded cluster lives in ECF_BENCH_DIR (default /tmp/ecf-bench) and is reused.
## It includes "everyone at once": 7 providers full-syncing while 2 post, against endpoints and floors.
.PHONY: bench
bench: venv
	$(PY) scripts/bench/run.py $(if $(SCALE),--scale $(SCALE))

## Write the generated OpenAPI documents (committed; a test fails when they are stale): v1, v2, v3 and v3-rect.
schema: venv
	for version in v1 v2 v3; do \
		$(PY) manage.py spectacular --api-version $$version --format openapi-json --validate --fail-on-warn --file openapi/$$version.json || exit 1; \
	done
	# The rewrite's v3 contract flavour (api/rect/): its own URL conf, served at /api/v3/ to rewrite-flavoured providers.
	$(PY) manage.py spectacular --urlconf api.rect.root_urls --api-version v3-rect --format openapi-json --validate --fail-on-warn --file openapi/v3-rect.json
