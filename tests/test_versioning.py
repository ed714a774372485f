"""The versioning policy as the service carries it out (issue 6)."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from api.versioning import registry

pytestmark = pytest.mark.django_db

TODAY = {
    "v1": {"status": "supported", "extended_support": True},
    "v2": {"status": "supported"},
    "v3": {"status": "current"},
}


def test_today_v3_is_current_v2_supported_v1_supported_with_extended_support():
    versions = registry()

    assert (versions["v3"].status, versions["v2"].status, versions["v1"].status) == (
        "current",
        "supported",
        "supported",
    )
    assert versions["v1"].extended_support is True


@pytest.mark.parametrize("version", ["v1", "v2", "v3"])
def test_current_and_supported_versions_carry_no_deprecation_headers(provider_client, version):
    response = provider_client.get(f"/api/{version}/ping")

    assert response.status_code == 200
    assert "Deprecation" not in response and "Sunset" not in response


@override_settings(
    API_VERSIONS={**TODAY, "v2": {"status": "deprecated", "sunset": "2027-06-30", "deprecated_on": "2026-12-01"}}
)
def test_deprecated_version_announces_its_sunset_on_every_response(provider_client, api_client):
    for response in (provider_client.get("/api/v2/ping"), api_client.get("/api/v2/ping")):
        assert response["Deprecation"] == "@1796083200"  # 2026-12-01T00:00:00Z
        assert response["Sunset"] == "Wed, 30 Jun 2027 00:00:00 GMT"
        assert response["Link"] == '</api/release-notes>; rel="deprecation"; type="application/json"'
    assert "Deprecation" not in provider_client.get("/api/v3/ping")


@override_settings(API_VERSIONS={**TODAY, "v1": {"status": "retired"}})
def test_retiring_a_version_in_the_registry_is_all_it_takes(provider_client, api_client):
    for client in (provider_client, api_client):
        for url in ("/api/v1/ping", "/api/v1/participants/ecf", "/api/v1/anything"):
            response = client.get(url)
            assert response.status_code == 410
            assert response["Content-Type"] == "application/vnd.api+json"
            assert response.json() == {
                "errors": [
                    {
                        "title": "Gone",
                        "detail": "API v1 has been retired. Move to /api/v3/; see /api/release-notes.",
                        "code": "api.version_retired",
                    }
                ]
            }
    assert provider_client.get("/api/v2/ping").status_code == 200


@pytest.mark.parametrize(
    ("versions", "message"),
    [
        ({**TODAY, "v2": {"status": "deprecated"}}, "needs a sunset date"),
        ({**TODAY, "v2": {"status": "current"}}, "exactly one current version"),
        ({**TODAY, "v2": {"status": "old"}}, "status must be one of"),
    ],
)
def test_a_bad_registry_stops_with_a_clear_message(versions, message):
    with override_settings(API_VERSIONS=versions), pytest.raises(ImproperlyConfigured, match=message):
        registry()


def test_release_notes_are_served_as_json(api_client):
    body = api_client.get("/api/release-notes").json()

    assert [v["version"] for v in body["versions"]] == ["v1", "v2", "v3"]
    note = body["release_notes"][0]
    assert set(note) == {"date", "versions", "tags", "title", "changes", "action_required"}
    dates = [n["date"] for n in body["release_notes"]]
    assert dates == sorted(dates, reverse=True)


def test_release_notes_page_is_readable(client):
    page = client.get("/api/docs/release-notes/").content.decode()

    assert "Release notes" in page and "extended support" in page and "What you need to do" in page


@pytest.mark.parametrize("version", ["v1", "v2", "v3"])
def test_each_versions_documentation_states_its_status_and_links_the_release_notes(client, version):
    description = client.get(f"/api/{version}/schema.json").json()["info"]["description"]

    assert f"This is API {version}" in description
    assert "/api/release-notes" in description
