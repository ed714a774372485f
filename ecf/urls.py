from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from ecf.health import healthcheck
from ecf.login_throttle import ThrottledAdminAuthenticationForm
from ecf.metrics import metrics

admin.site.site_header = "ECF lead provider API — back office"
admin.site.site_title = "ECF back office"
admin.site.login_form = ThrottledAdminAuthenticationForm

urlpatterns = [
    path("healthcheck", healthcheck, name="healthcheck"),
    path("metrics", metrics, name="metrics"),
    path("admin/", admin.site.urls),
    path("api/", include("api.urls")),
]

handler404 = "api.errors.not_found"
handler500 = "api.errors.server_error"

if settings.BENCHMARK_FLOOR:  # `make bench` only: floors and bench-only views, never in the public API
    urlpatterns.append(path("_bench/", include("benchmark.urls")))
