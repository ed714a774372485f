"""v2: every route of ecf-v2.json, and nothing else (the endpoints come with issue 6)."""

from django.urls import path

from api.docs import schema_urls
from api.views import PingView

urlpatterns = [
    path("ping", PingView.as_view(), name="ping"),
    *schema_urls("v2"),
]
