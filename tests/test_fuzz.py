"""Bad input, measured: schemathesis generates requests for every operation of openapi/v1.json,
v2.json, v3.json and v3-rect.json (our own generated documents) and sends them to the Django app in-process
(WSGI, no server), authenticated as a sandbox provider with a full world of records. Every answer
must be below 500, have a documented status code, and a body valid against the documented schema.

`make test` runs the document's examples and FUZZ_EXAMPLES (default 15) generated cases per
operation, valid and invalid, with a fixed seed. `make fuzz` adds the coverage phase (each
parameter's boundaries and wrong types), 200 cases per operation and a new seed, and prints the
figures (tests/fuzz_report.py). Half of the generated ids are the sandbox's own (use_real_ids), and
half of the generated queries and bodies carry one hostile string (tests/hostile.py: NUL, lone
surrogates, RFC 3339 offsets and dates past their edges), the class of input that once gave 500s.
The positive path, valid requests in sequence, is tests/test_stateful.py.
"""

import os
import secrets
from collections import Counter

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from hypothesis import strategies as st
from rest_framework.test import APIClient
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from ecf import clock
from participants.models import ContractFlavour, LeadProvider
from participants.tokens import api_token_create
from tests.hostile import with_hostile_values
from tests.openapi import load
from tests.visible import path_kind, visible_ids
from tests.worlds import build_world

FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "15"))
# `make test` is reproducible (a fixed seed); `make fuzz` draws a new one each run and prints it
# (FUZZ_SEED=<that number> replays a run).
_SEED = os.environ.get("FUZZ_SEED", "20250210")
FUZZ_SEED = secrets.randbits(64) if _SEED == "random" else int(_SEED)
# The coverage phase (every parameter's boundaries and wrong types, ~100 cases an operation) is
# `make fuzz`'s; `make test` runs the schema's examples and FUZZ_EXAMPLES generated cases.
FUZZ_PHASES = os.environ.get("FUZZ_PHASES", "examples,fuzzing").split(",")
FUZZ_TOKEN = "fuzz-sandbox-provider-token"
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
# Filled as the module runs; `make fuzz` prints them (tests/fuzz_report.py).
FIGURES: Counter = Counter()
FAILED_OPERATIONS: set[str] = set()


class CountingApp:
    """The WSGI app, counting the requests that reach it and the class of each answer."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        FIGURES["requests"] += 1

        def counting_start_response(status, headers, exc_info=None):
            FIGURES[f"{status[0]}xx"] += 1
            return start_response(status, headers, exc_info)

        return self.app(environ, counting_start_response)


@pytest.fixture
def sandbox_ids(db) -> dict[str, set[str]]:
    """A sandbox provider with a full world; the ids of what it sees, to put into generated requests.
    One world per version: every generated case of every operation meets it (see call_and_check)."""
    provider = LeadProvider.objects.create(name="Fuzz Sandbox Provider")
    api_token_create(lead_provider=provider, raw_token=FUZZ_TOKEN)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {FUZZ_TOKEN}")
    with clock.frozen(build_world(provider)):
        ids = visible_ids(client)
    # The app runs inside the test's transaction. As Django's own test client does, keep the
    # request signals from closing the connection (and with it that transaction) between requests.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield ids
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def use_real_ids(schema, ids: dict[str, set[str]]) -> None:
    """Half of the generated ids are the sandbox's own, so that a body is read past "not found".
    A random UUID finds nothing: without these, the actions and voids would never look at a body."""

    def sometimes_real(value, pool: set[str]):
        return st.one_of(st.just(value), st.sampled_from(sorted(pool))) if pool else st.just(value)

    @schema.hook
    def flatmap_path_parameters(context, path_parameters):
        if not isinstance(path_parameters, dict) or "id" not in path_parameters:
            return st.just(path_parameters)
        pool = ids.get(path_kind(context.operation.path) or "", set())
        return sometimes_real(path_parameters["id"], pool).map(lambda value: {**path_parameters, "id": value})

    @schema.hook
    def flatmap_body(context, body):
        data = body.get("data") if isinstance(body, dict) else None
        attributes = data.get("attributes") if isinstance(data, dict) else None
        if not isinstance(attributes, dict):
            return st.just(body)
        strategies = {
            name: sometimes_real(attributes[name], ids.get(name.removesuffix("_id"), set()))
            for name in ("participant_id", "school_id", "delivery_partner_id")
            if name in attributes
        }
        return st.fixed_dictionaries(strategies).map(
            lambda chosen: {**body, "data": {**data, "attributes": {**attributes, **chosen}}}
        )


def fuzz_schema(version: str, ids: dict[str, set[str]], *, hostile_in_valid_requests: bool = False):
    schema = schemathesis.openapi.from_dict(load(f"{version}.json"))
    use_real_ids(schema, ids)
    # NUL, lone surrogates, timestamps past every edge (tests/hostile.py): sometimes, in every kind of
    # request; or in every valid request, one value each, for the hostile-value tests below.
    with_hostile_values(schema, always=hostile_in_valid_requests)
    if hostile_in_valid_requests:
        schema.config.generation.update(modes=[GenerationMode.POSITIVE])
    schema.app = CountingApp(get_wsgi_application())
    schema.config.update(headers={"Authorization": f"Bearer {FUZZ_TOKEN}"})
    # No example database: nothing is written under the work tree, and every run starts afresh.
    schema.config.generation.update(max_examples=FUZZ_EXAMPLES, database="none")
    schema.config.phases.update(phases=FUZZ_PHASES)
    schema.config.seed = FUZZ_SEED
    if not hostile_in_valid_requests:
        FIGURES["operations"] += len(list(schema.get_all_operations()))
    return schema


@pytest.fixture
def v1_schema(sandbox_ids):
    return fuzz_schema("v1", sandbox_ids)


@pytest.fixture
def v2_schema(sandbox_ids):
    return fuzz_schema("v2", sandbox_ids)


@pytest.fixture
def v3_schema(sandbox_ids):
    return fuzz_schema("v3", sandbox_ids)


def call_and_check(case):
    # Each case runs in a savepoint that is rolled back: every case meets the same world, its curl
    # line reproduces it alone, and a failed query cannot poison the cases after it (a served
    # request has no transaction shared with the next one).
    try:
        with transaction.atomic():
            try:
                case.call_and_validate(checks=CHECKS)
            finally:
                transaction.set_rollback(True)
    except BaseException:  # schemathesis' FailureGroup is a BaseExceptionGroup
        FAILED_OPERATIONS.add(case.operation.label)
        raise


@pytest.fixture
def v1_hostile_schema(sandbox_ids):
    return fuzz_schema("v1", sandbox_ids, hostile_in_valid_requests=True)


@pytest.fixture
def v2_hostile_schema(sandbox_ids):
    return fuzz_schema("v2", sandbox_ids, hostile_in_valid_requests=True)


@pytest.fixture
def v3_hostile_schema(sandbox_ids):
    return fuzz_schema("v3", sandbox_ids, hostile_in_valid_requests=True)


@schemathesis.pytest.from_fixture("v1_schema").parametrize()
def test_v1_answers_generated_requests_without_5xx_and_as_documented(case):
    call_and_check(case)


@schemathesis.pytest.from_fixture("v2_schema").parametrize()
def test_v2_answers_generated_requests_without_5xx_and_as_documented(case):
    call_and_check(case)


@schemathesis.pytest.from_fixture("v3_schema").parametrize()
def test_v3_answers_generated_requests_without_5xx_and_as_documented(case):
    call_and_check(case)


@pytest.fixture
def v3_rect_schema(sandbox_ids):
    """The rewrite's v3 (openapi/v3-rect.json), called by the same provider speaking the rewrite's contract."""
    LeadProvider.objects.filter(name="Fuzz Sandbox Provider").update(contract_flavour=ContractFlavour.REWRITE)
    return fuzz_schema("v3-rect", sandbox_ids)


@schemathesis.pytest.from_fixture("v3_rect_schema").parametrize()
def test_v3_rect_answers_generated_requests_without_5xx_and_as_documented(case):
    call_and_check(case)


# Valid requests with one hostile value each (issue 12.5: NUL, a lone surrogate, an offset of +16:00
# or a year 0 once gave 500s deep in the code; the contract's 400 or 422 is the answer).


@schemathesis.pytest.from_fixture("v1_hostile_schema").parametrize()
def test_v1_answers_valid_requests_with_one_hostile_value_without_5xx(case):
    call_and_check(case)


@schemathesis.pytest.from_fixture("v2_hostile_schema").parametrize()
def test_v2_answers_valid_requests_with_one_hostile_value_without_5xx(case):
    call_and_check(case)


@schemathesis.pytest.from_fixture("v3_hostile_schema").parametrize()
def test_v3_answers_valid_requests_with_one_hostile_value_without_5xx(case):
    call_and_check(case)


# --- What the fuzzing found, pinned (api/pagination.py, api/filters.py) -----------------------


@pytest.mark.django_db
@pytest.mark.parametrize("page", ["288230376151711743", pytest.param("9" * 5000, id="5000-digits")])
def test_a_page_number_past_any_data_answers_an_empty_page(provider_client, page):
    """Both were 500s: an OFFSET beyond PostgreSQL's bigint, and more digits than int() parses."""
    response = provider_client.get("/api/v3/participants/ecf", {"page[page]": page, "page[per_page]": "9" * 5000})

    assert response.status_code == 200
    assert response.json() == {"data": []}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "cohort",
    [
        pytest.param("²⁰²⁴", id="superscript"),
        pytest.param("٢٠٢٤", id="arabic-indic"),
        pytest.param("2" * 5000, id="5000-digits"),
    ],
)
@pytest.mark.parametrize("path", ["/api/v3/participants/ecf", "/api/v3/schools/ecf", "/api/v1/participants/ecf"])
def test_a_cohort_that_cannot_be_a_year_matches_nothing(provider_client, lead_provider, cohort, path):
    """`isdigit()` accepts "²⁰²⁴" and int() refuses it (a 500 before); no cohort is written that way."""
    now = build_world(lead_provider)
    with clock.frozen(now):
        response = provider_client.get(path, {"filter[cohort]": cohort})

    assert response.status_code == 200
    assert response.json() == {"data": []}
