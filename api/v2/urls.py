"""v2: every route of ecf-v2.json, and nothing else (plus `ping`, and the original's undocumented
`participants` alias of the participants list).

Participants are v1's in every respect, so their views are v1's, imported (design.md §2). The v1
legacy `participants/{id}/<action>` routes are deliberately absent: they answer 404 (api.md §10.2).
Declarations have their own v2 shape.
"""

from django.urls import path
from rest_framework.routers import SimpleRouter

from api.docs import schema_urls
from api.v1.participants import ParticipantAliasViewSet, ParticipantViewSet
from api.v2.declarations import ParticipantDeclarationViewSet
from api.views import PingView

router = SimpleRouter(trailing_slash=False)
router.register("participants/ecf", ParticipantViewSet, basename="participant")
router.register("participants", ParticipantAliasViewSet, basename="participant-alias")
router.register("participant-declarations", ParticipantDeclarationViewSet, basename="participant-declaration")

urlpatterns = [
    path("ping", PingView.as_view(), name="ping"),
    *schema_urls("v2"),
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
