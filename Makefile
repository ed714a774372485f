# The two set-up commands of the README are `make run` and `make test`.
VENV := .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
PORT ?= 8000

.PHONY: run test test-suite lint fmt venv schema

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

## Serve the sandbox on the embedded SQLite database (or DATABASE_URL), with seeded data.
run: venv
	$(PY) manage.py migrate --no-input
	$(PY) manage.py seed_sandbox
	$(PY) manage.py runserver 0.0.0.0:$(PORT)

## Lint and run the whole suite against a throwaway PostgreSQL cluster (or DATABASE_URL).
test: venv
	ECF_ENV=test scripts/with_postgres.sh $(MAKE) --no-print-directory test-suite

test-suite:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(PY) manage.py makemigrations --check --dry-run
	$(BIN)/pytest $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## Write the generated OpenAPI documents (committed; a test fails when they are stale).
schema: venv
	for version in v1 v2 v3; do \
		$(PY) manage.py spectacular --api-version $$version --format openapi-json --validate --fail-on-warn --file openapi/$$version.json || exit 1; \
	done
