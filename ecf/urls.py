from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "ECF lead provider API — back office"
admin.site.site_title = "ECF back office"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("api.urls")),
]

handler404 = "api.errors.not_found"
handler500 = "api.errors.server_error"
