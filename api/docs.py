"""The published documents: each version's OpenAPI schema and its Swagger UI."""

from django.urls import path
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularSwaggerView

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
    """`/api/docs/<version>/`: Swagger UI of each version."""
    return [
        path(
            f"docs/{version}/",
            SpectacularSwaggerView.as_view(
                url_name=f"{version}:schema", authentication_classes=[], permission_classes=[]
            ),
            name=f"docs-{version}",
        )
        for version in VERSIONS
    ]
