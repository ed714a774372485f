"""The whole API surface at a glance. Routes exist only where the contract has them."""

from django.urls import include, path, re_path

from api.docs import swagger_urls
from api.errors import not_found
from api.guides import PAGES, guide_page
from api.release_notes import release_notes_json, release_notes_page

urlpatterns = [
    path("v1/", include(("api.v1.urls", "v1"), namespace="v1")),
    path("v2/", include(("api.v2.urls", "v2"), namespace="v2")),
    path("v3/", include(("api.v3.urls", "v3"), namespace="v3")),
    *swagger_urls(),
    path("release-notes", release_notes_json, name="release-notes"),
    path("docs/release-notes/", release_notes_page, name="release-notes-page"),
    # One route per page: any other /api/docs/... stays the contract's JSON 404.
    *(path(f"docs/{slug}/", guide_page, {"slug": slug}, name=f"docs-page-{slug}") for slug in PAGES),
    # Anything else under /api/ is the contract's JSON 404, even where DEBUG would show Django's page.
    re_path(r"^.*$", not_found),
]
