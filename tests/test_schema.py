"""The committed OpenAPI documents are exactly what the code generates (run `make schema`)."""

import json
from pathlib import Path

import pytest
from drf_spectacular.generators import SchemaGenerator

OPENAPI = Path(__file__).resolve().parent.parent / "openapi"


def generated_schema(version: str) -> dict:
    # The rewrite's v3 has its own URL conf (api/rect/root_urls.py), as `make schema` generates it.
    urlconf = "api.rect.root_urls" if version == "v3-rect" else None
    generator = SchemaGenerator(api_version=version, urlconf=urlconf)
    return json.loads(json.dumps(generator.get_schema(request=None, public=True)))


@pytest.mark.parametrize("version", ["v1", "v2", "v3", "v3-rect"])
def test_committed_schema_matches_the_code(version):
    committed = json.loads((OPENAPI / f"{version}.json").read_text())

    assert committed == generated_schema(version), f"openapi/{version}.json is stale: run `make schema`"


@pytest.mark.django_db
@pytest.mark.parametrize("version", ["v1", "v2", "v3"])
def test_schema_and_swagger_ui_are_served(client, version):
    schema = client.get(f"/api/{version}/schema.json")
    docs = client.get(f"/api/docs/{version}/")
    # Swagger UI's start-up script is a file of its own (no inline script under the CSP).
    start_up = client.get(f"/api/docs/{version}/?script")

    assert schema.status_code == 200
    assert schema.json()["info"]["version"] == version
    assert docs.status_code == 200
    assert f"/api/{version}/schema.json" in start_up.content.decode()


@pytest.mark.django_db
def test_the_rewrite_document_and_its_swagger_ui_are_served(client):
    schema = client.get("/api/docs/v3-rect/schema.json")
    docs = client.get("/api/docs/v3-rect/")
    start_up = client.get("/api/docs/v3-rect/?script")

    assert schema.status_code == 200
    assert schema.json()["info"]["version"] == "v3-rect"
    assert "/api/v3/participants" in schema.json()["paths"]
    assert "/api/v3/participants/ecf" not in schema.json()["paths"]
    assert docs.status_code == 200
    # The page writes the URL as a JavaScript string, with its "-" escaped.
    assert "/api/docs/v3\\u002Drect/schema.json" in start_up.content.decode()
