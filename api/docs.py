"""The published documents: each version's OpenAPI schema and its Swagger UI."""

from django.urls import path
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularSwaggerSplitView

VERSIONS = ("v1", "v2", "v3")


def schema_urls(version: str) -> list:
    """`/api/<version>/schema.json` (inside the version's namespace, so only its routes appear)."""
    return [
        path(
            "schema.json",
            SpectacularJSONAPIView.as_view(api_version=version, authentication_classes=[], permission_classes=[]),
            name="schema",
        )
    ]


def swagger_urls() -> list:
    """`/api/docs/<version>/`: Swagger UI of each version.

    The split view serves Swagger UI's start-up script as a file of its own (`?script`), so the
    page needs no inline script under the Content-Security-Policy (ecf.content_security_policy).
    """
    return [
        path(
            f"docs/{version}/",
            SpectacularSwaggerSplitView.as_view(
                url_name=f"{version}:schema", authentication_classes=[], permission_classes=[]
            ),
            name=f"docs-{version}",
        )
        for version in VERSIONS
    ]
