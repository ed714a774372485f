"""Security: no endpoint reveals or changes another provider's records.

Provider A and provider B each have a full world (tests/worlds.py). For EVERY operation of every
version's generated schema, B's client is sent A's ids: in the path, in the id filters of lists and
in write bodies. B must get 404 or 422 for A's records, lists and CSVs that show none of A's ids,
and error messages that name no other provider and carry no count. Afterwards A's records are
exactly as they were: none of B's calls wrote anything.

Schools are public by design (rules §8.1: the same set for every provider), so school ids are not
A's secrets and are left out of the ids B must not see.

An operation the matrix does not know how to probe fails `test_every_operation_is_probed`, so a new
route is covered the moment it is documented.
"""

import json
import re
from dataclasses import dataclass, field
from datetime import datetime

import pytest
from django.apps import apps
from rest_framework.test import APIClient

from declarations.models import DeclarationAttempt
from ecf import clock
from participants.models import ApiToken, ContractFlavour, LeadProvider
from participants.tokens import api_token_create
from tests.openapi import Document, load
from tests.visible import path_kind, visible_ids
from tests.worlds import build_world

pytestmark = pytest.mark.django_db

ORIGINAL_VERSIONS = ("v1", "v2", "v3")
# `v3-rect`: the rewrite's v3, probed with B speaking the rewrite's contract (A's reads stay the original's).
REWRITE = "v3-rect"
VERSIONS = (*ORIGINAL_VERSIONS, REWRITE)
PUBLIC_SCHOOLS = re.compile(r"/schools(/|$)")
COURSES = ("ecf-induction", "ecf-mentor")
# Valid action bodies: the only thing wrong with B's request is whose participant it names.
ACTION_ATTRIBUTES = {
    "withdraw": {"reason": "left-teaching-profession"},
    "defer": {"reason": "career-break"},
    "resume": {},
    "change-schedule": {"schedule_identifier": "ecf-extended-september", "cohort": "2024"},
}
# Query filters that take an id, and the kind of id.
ID_FILTERS = {
    "filter[participant_id]": "participant",
    "filter[from_participant_id]": "participant",
    "filter[delivery_partner_id]": "delivery_partner",
}
# Kinds of A's ids that B must never see (schools are public, rules §8.1).
SECRET_KINDS = ("participant", "training_record", "declaration", "partnership", "statement", "delivery_partner")
SECRET_KINDS += ("unfunded_mentor",)
NOT_FOUND = {"error": "Resource not Found"}
REWRITE_NOT_FOUND = {
    "errors": [
        {
            "title": "Resource not found",
            "detail": "Nothing could be found for the provided details",
            "code": "resource.not_found",
        }
    ]
}


@dataclass
class Probe:
    """One request of B's and what must come back."""

    label: str
    method: str
    url: str
    query: dict = field(default_factory=dict)
    body: dict | None = None
    refused: tuple[int, ...] = ()  # empty: a list, answered 200 with none of A's records


def body(attributes: dict, data_type: str = "x") -> dict:
    return {"data": {"type": data_type, "attributes": attributes}}


def probes_for(document: Document, method: str, path: str, operation: dict, a: dict, b: dict) -> list[Probe] | None:
    """B's requests for one operation, filled with A's ids; None for an operation it cannot probe."""
    label = f"{method} {path}"
    if PUBLIC_SCHOOLS.search(path):
        return []  # public by design (rules §8.1): every provider sees the same schools
    if method == "GET" and "{}" not in path:
        probes = [Probe(label, method, path)]
        for name in sorted(document.query_parameters(operation)):
            for record_id in sorted(a.get(ID_FILTERS.get(name), ())):
                probes.append(Probe(f"{label} {name}", method, path, {name: record_id}))
        return probes
    kind = path_kind(path)
    if kind is None or not a.get(kind):
        return None
    action = path.rsplit("/", 1)[-1]
    probes = []
    for record_id in sorted(a[kind]):
        url = path.replace("{}", record_id)
        if method == "GET":
            probes.append(Probe(label, method, url, refused=(404,)))
        elif method == "PUT" and action == "void":
            probes.append(Probe(label, method, url, body={}, refused=(404,)))
        elif method == "PUT" and action in ACTION_ATTRIBUTES:
            # api.md §11.2: an unknown participant in an action is a 422 on participant_id (404 allowed).
            for course in COURSES:
                attributes = {**ACTION_ATTRIBUTES[action], "course_identifier": course}
                probes.append(Probe(label, method, url, body=body(attributes), refused=(404, 422)))
        elif method == "PUT" and kind == "partnership":
            for partner_id in sorted(a["delivery_partner"] | b["delivery_partner"]):
                attributes = {"delivery_partner_id": partner_id}
                probes.append(
                    Probe(label, method, url, body=body(attributes, "ecf-partnership-update"), refused=(404,))
                )
        else:
            return None
    return probes


def post_probes(method: str, path: str, a: dict) -> list[Probe] | None:
    label = f"{method} {path}"
    if path.endswith("/participant-declarations"):
        return [
            Probe(
                label,
                method,
                path,
                body=body(
                    {
                        "participant_id": participant_id,
                        "declaration_type": "started",
                        "declaration_date": "2024-11-01T10:00:00Z",
                        "course_identifier": course,
                        "evidence_held": "training-event-attended",
                    },
                    "participant-declaration",
                ),
                refused=(422,),
            )
            for participant_id in sorted(a["participant"])
            for course in COURSES
        ]
    if path.endswith(("/partnerships/ecf", "/partnerships")):
        # A's delivery partners are not B's to partner with, whichever school B names.
        return [
            Probe(
                label,
                method,
                path,
                body=body(
                    {"cohort": "2024", "school_id": school_id, "delivery_partner_id": partner_id}, "ecf-partnership"
                ),
                refused=(422,),
            )
            for partner_id in sorted(a["delivery_partner"])
            for school_id in sorted(a["school"])[:2]
        ]
    return None


def all_probes(version: str, a: dict, b: dict) -> tuple[list[Probe], list[str]]:
    document = Document(load(f"{version}.json"))
    probes, unknown = [], []
    for (method, path), operation in sorted(document.operations().items()):
        if method == "POST":
            found = post_probes(method, path, a)
        else:
            found = probes_for(document, method, path, operation, a, b)
        if found is None:
            unknown.append(f"{method} {path}")
        else:
            probes += found
    return probes, unknown


# ---------------------------------------------------------------------------------------
# What B's answers must not contain


def content(response) -> bytes:
    """The body, whether rendered at once or streamed (the CSVs)."""
    return b"".join(response.streaming_content) if response.streaming else response.content


UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def numbers(text: str) -> set[str]:
    """The numbers in a text, ids aside (their digits count nothing)."""
    return set(re.findall(r"\d+", UUID.sub("", text)))


def error_texts(payload) -> list[str]:
    if isinstance(payload, dict):
        texts = [payload["error"]] if isinstance(payload.get("error"), str) else []
        for item in payload.get("errors") or []:
            texts += [str(item.get("title", "")), str(item.get("detail", ""))]
        return texts
    return []


def named(name: str, text: str) -> bool:
    return re.search(rf"\b{re.escape(name)}\b", text) is not None


@dataclass
class Secrets:
    ids: set[str]  # A's records
    names: set[str]  # A's name and its delivery partners' names: never shown to B
    providers: set[str]  # every provider's name but B's: never in an error B gets


def leaks(probe: Probe, text: str, response, secrets: Secrets) -> list[str]:
    sent = json.dumps([probe.url, probe.query, probe.body])
    found = [f"A's id {value}" for value in sorted(secrets.ids) if value in text and value not in sent]
    found += [f"the name {name!r}" for name in sorted(secrets.names) if named(name, text)]
    if response.status_code >= 400 and response["Content-Type"].startswith("application/vnd.api+json"):
        for message in error_texts(json.loads(text)):
            found += [f"a provider's name in {message!r}" for name in secrets.providers if named(name, message)]
            # A number the request did not carry would be a count (or a date) of someone else's.
            found += [f"a number in {message!r}" for number in sorted(numbers(message) - numbers(sent))]
    return found


def check(probe: Probe, response, secrets: Secrets, not_found: dict = NOT_FOUND) -> list[str]:
    text = content(response).decode()
    problems = [f"{probe.label} {probe.url} {probe.query}: {leak}" for leak in leaks(probe, text, response, secrets)]
    status = response.status_code
    if probe.refused:
        if status not in probe.refused:
            problems.append(f"{probe.label} {probe.url}: answered {status}, expected {probe.refused}")
        elif status == 404 and json.loads(text) != not_found:
            problems.append(f"{probe.label} {probe.url}: 404 body {text!r}")
    elif status != 200:
        problems.append(f"{probe.label} {probe.query}: answered {status}, expected 200")
    return problems


# ---------------------------------------------------------------------------------------
# A, unchanged


def a_records(b: LeadProvider) -> dict[str, list[dict]]:
    """Every row of the domain tables but B's own bookkeeping: authenticating B's calls writes
    `last_used_at` on B's token, and each declaration B posts for a person who exists is logged as
    B's attempt (rules §4.9), refused or not."""
    rows = {}
    for label in ("participants", "declarations", "statements"):
        for model in apps.get_app_config(label).get_models():
            if model is ApiToken:
                continue
            records = model.objects.order_by("pk")
            if model is DeclarationAttempt:
                records = records.exclude(lead_provider=b)
            rows[model._meta.label] = list(records.values())
    return rows


def a_view(a_client: APIClient) -> dict[str, bytes]:
    """Every list and CSV of every version, as A reads them."""
    seen = {}
    for version in ORIGINAL_VERSIONS:
        for (method, path), _operation in Document(load(f"{version}.json")).operations().items():
            if method == "GET" and "{}" not in path and "/schools/" not in path:
                seen[path] = content(a_client.get(path, {"page[per_page]": "3000"}))
    return seen


# ---------------------------------------------------------------------------------------


def client_for(lead_provider: LeadProvider) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_token_create(lead_provider=lead_provider)}")
    return client


@dataclass
class World:
    now: datetime
    a: LeadProvider
    b: LeadProvider
    a_client: APIClient
    b_client: APIClient
    a_ids: dict[str, set[str]]
    b_ids: dict[str, set[str]]
    secrets: Secrets


@pytest.fixture
def worlds(lead_provider) -> World:
    """A (the `lead_provider` fixture) and B, each with a full world; what each sees."""
    now = build_world(lead_provider)
    other = LeadProvider.objects.create(name="Best Practice Network")
    build_world(other, now)
    a_client, b_client = client_for(lead_provider), client_for(other)
    with clock.frozen(now):
        a_ids, b_ids = visible_ids(a_client), visible_ids(b_client)
        partner_names = {
            record["attributes"]["name"]
            for record in a_client.get("/api/v3/delivery-partners", {"page[per_page]": "3000"}).json()["data"]
        }
    secrets = Secrets(
        ids=set().union(*(a_ids[kind] for kind in SECRET_KINDS if kind in a_ids)),
        names={lead_provider.name} | partner_names,
        providers=set(LeadProvider.objects.exclude(pk=other.pk).values_list("name", flat=True)),
    )
    return World(now, lead_provider, other, a_client, b_client, a_ids, b_ids, secrets)


@pytest.mark.parametrize("version", VERSIONS)
def test_every_operation_is_probed(worlds, version):
    probes, unknown = all_probes(version, worlds.a_ids, worlds.b_ids)

    assert unknown == [], "operations the isolation matrix does not probe: teach probes_for() about them"
    assert probes


@pytest.mark.parametrize("version", VERSIONS)
def test_another_provider_never_reaches_a_providers_records(worlds, version):
    w = worlds
    assert all(w.a_ids.get(kind) for kind in SECRET_KINDS), f"A's world lacks a kind of record: {w.a_ids.keys()}"
    assert not set().union(*w.a_ids.values()) & set().union(*w.b_ids.values()), "the worlds must not overlap"
    probes, _unknown = all_probes(version, w.a_ids, w.b_ids)
    not_found = NOT_FOUND
    if version == REWRITE:
        LeadProvider.objects.filter(pk=w.b.pk).update(contract_flavour=ContractFlavour.REWRITE)
        not_found = REWRITE_NOT_FOUND
    with clock.frozen(w.now):
        records_before, view_before = a_records(w.b), a_view(w.a_client)

        problems = []
        for probe in probes:
            send = getattr(w.b_client, probe.method.lower())
            if probe.method == "GET":
                response = send(probe.url, probe.query)
            else:
                response = send(probe.url, probe.body, format="json")
            problems += check(probe, response, w.secrets, not_found)

        records_after, view_after = a_records(w.b), a_view(w.a_client)

    assert problems == []
    assert records_after == records_before, "a call of B's wrote to the database"
    assert view_after == view_before
    assert not DeclarationAttempt.objects.filter(lead_provider=w.b, declaration__isnull=False).exists()
    assert len(probes) > 50
