"""The URL conf of a rewrite-flavoured provider's `/api/v3/` requests (api/flavours.py chooses it).

Only `/api/v3/` requests ever resolve here; anything else under it is the rewrite's JSON 404."""

from django.urls import include, path, re_path

from api.errors import not_found

urlpatterns = [
    path("api/v3/", include(("api.rect.urls", "v3-rect"), namespace="v3-rect")),
    re_path(r"^.*$", not_found),
]

handler404 = "api.errors.not_found"
handler500 = "api.errors.server_error"
