"""v1: every route of ecf-v1.json, and nothing else (plus `ping`, and the original's undocumented
`participants` alias of the participants list)."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from api.docs import schema_urls
from api.v1.declarations import ParticipantDeclarationViewSet
from api.v1.participants import LegacyParticipantActionViewSet, ParticipantAliasViewSet, ParticipantViewSet
from api.views import PingView

router = SimpleRouter(trailing_slash=False)
router.register("participants/ecf", ParticipantViewSet, basename="participant")
router.register("participants", ParticipantAliasViewSet, basename="participant-alias")
router.register("participants", LegacyParticipantActionViewSet, basename="legacy-participant")
router.register("participant-declarations", ParticipantDeclarationViewSet, basename="participant-declaration")

urlpatterns = [
    path("ping", PingView.as_view(), name="ping"),
    *schema_urls("v1"),
    # CSV is chosen by the `.csv` suffix only (api.md §1, §10.4).
    path("participants/ecf.csv", ParticipantViewSet.as_view({"get": "csv"}), name="participant-csv"),
    path("participants.csv", ParticipantAliasViewSet.as_view({"get": "csv"}), name="participant-alias-csv"),
    path(
        "participant-declarations.csv",
        ParticipantDeclarationViewSet.as_view({"get": "csv"}),
        name="participant-declaration-csv",
    ),
    *router.urls,
]
