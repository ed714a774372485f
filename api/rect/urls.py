"""The rewrite's v3: every route of rect-v3.yaml (the original's paths without `/ecf`), plus `ping`."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from api.rect import views
from api.views import PingView

router = SimpleRouter(trailing_slash=False)
# Before participants, whose `{id}` route would otherwise take "transfers" as an id.
router.register("participants/transfers", views.TransferViewSet, basename="participant-transfer")
router.register("participants", views.ParticipantViewSet, basename="participant")
router.register("participant-declarations", views.ParticipantDeclarationViewSet, basename="participant-declaration")
router.register("schools", views.SchoolViewSet, basename="school")
router.register("delivery-partners", views.DeliveryPartnerViewSet, basename="delivery-partner")
router.register("partnerships", views.PartnershipViewSet, basename="partnership")
router.register("statements", views.StatementViewSet, basename="statement")
router.register("unfunded-mentors", views.UnfundedMentorViewSet, basename="unfunded-mentor")

urlpatterns = [
    path("ping", PingView.as_view(), name="ping"),
    path("participants/<str:pk>/transfers", views.participant_transfers_view, name="participant-transfers"),
    *router.urls,
]
