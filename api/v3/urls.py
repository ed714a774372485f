"""v3: every route of ecf-v3.json, and nothing else (plus `ping`, to check a token)."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from api.docs import schema_urls
from api.v3.participants import ParticipantViewSet
from api.views import PingView

router = SimpleRouter(trailing_slash=False)
router.register("participants/ecf", ParticipantViewSet, basename="participant")

urlpatterns = [
    path("ping", PingView.as_view(), name="ping"),
    *schema_urls("v3"),
    *router.urls,
]
