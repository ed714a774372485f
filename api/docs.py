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


# The rewrite's v3 contract (api/rect/): its own URL conf, so its own document and Swagger UI.
RECT_VERSION = "v3-rect"
RECT_URLCONF = "api.rect.root_urls"


def rect_schema_view():
    return SpectacularJSONAPIView.as_view(
        urlconf=RECT_URLCONF, api_version=RECT_VERSION, authentication_classes=[], permission_classes=[]
    )


def swagger_urls() -> list:
    """`/api/docs/<version>/`: Swagger UI of each version, and of the rewrite's v3 (`/api/docs/v3-rect/`).

    The split view serves Swagger UI's start-up script as a file of its own (`?script`), so the
    page needs no inline script under the Content-Security-Policy (ecf.content_security_policy).
    """
    versions = [
        path(
            f"docs/{version}/",
            SpectacularSwaggerSplitView.as_view(
                url_name=f"{version}:schema", authentication_classes=[], permission_classes=[]
            ),
            name=f"docs-{version}",
        )
        for version in VERSIONS
    ]
    rect = [
        path(f"docs/{RECT_VERSION}/schema.json", rect_schema_view(), name="schema-v3-rect"),
        path(
            f"docs/{RECT_VERSION}/",
            SpectacularSwaggerSplitView.as_view(
                url_name="schema-v3-rect", authentication_classes=[], permission_classes=[]
            ),
            name="docs-v3-rect",
        ),
    ]
    return versions + rect
