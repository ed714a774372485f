"""Our generated schemas against the project's copy of the published contracts (openapi/contract/).

Every operation of the published document, each of its query parameters, and each field of each
documented response (name, JSON type, nullability, enum values) must be in ours. Fields we add
beyond the contract are allowed.
"""

import pytest

from tests.openapi import Document, load

# Which operations each version implements so far; a version's whole contract once it is built.
IMPLEMENTED_METHODS = {"v1": {"GET", "POST", "PUT"}, "v2": {"GET", "POST", "PUT"}, "v3": {"GET"}}


def contract_cases():
    for version, methods in IMPLEMENTED_METHODS.items():
        theirs = Document(load(f"contract/ecf-{version}.json"))
        for (method, path), _operation in sorted(theirs.operations().items()):
            if method in methods:
                yield pytest.param(version, method, path, id=f"{version} {method} {path}")


def differences(version: str, method: str, path: str) -> list[str]:
    theirs, ours = Document(load(f"contract/ecf-{version}.json")), Document(load(f"{version}.json"))
    our_operations = ours.operations()
    if (method, path) not in our_operations:
        return ["operation missing"]
    their_op, our_op = theirs.operations()[(method, path)], our_operations[(method, path)]
    problems = [
        f"query parameter {name} missing"
        for name in sorted(theirs.query_parameters(their_op) - ours.query_parameters(our_op))
    ]
    problems += compare_fields(
        "request", theirs.fields(theirs.request_schema(their_op)), ours.fields(ours.request_schema(our_op))
    )
    for status in their_op.get("responses", {}):
        their_schema = theirs.response_schema(their_op, status)
        if status not in our_op.get("responses", {}):
            problems.append(f"response {status} not documented")
            continue
        if their_schema is None:
            continue
        our_fields = ours.fields(ours.response_schema(our_op, status))
        problems += compare_fields(status, theirs.fields(their_schema), our_fields)
    return problems


def compare_fields(where: str, their_fields: dict, our_fields: dict) -> list[str]:
    """Each field of theirs must be ours too, with the same JSON type, nullability and enum values."""
    problems = []
    for name, (kind, nullable, enum) in sorted(their_fields.items()):
        if name not in our_fields:
            problems.append(f"{where} {name}: missing")
            continue
        our_kind, our_nullable, our_enum = our_fields[name]
        if our_kind != kind and {our_kind, kind} != {"integer", "number"}:
            problems.append(f"{where} {name}: type {our_kind}, contract {kind}")
        if nullable and not our_nullable:
            problems.append(f"{where} {name}: contract allows null")
        if enum is not None and our_enum != enum:
            problems.append(f"{where} {name}: enum {sorted(our_enum or [])}, contract {sorted(enum)}")
    return problems


@pytest.mark.parametrize(("version", "method", "path"), contract_cases())
def test_operation_matches_the_published_contract(version, method, path):
    assert differences(version, method, path) == []
