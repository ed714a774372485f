"""v3: every route of ecf-v3.json, and nothing else (plus `ping`, to check a token)."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from api.docs import schema_urls
from api.v3.declarations import ParticipantDeclarationViewSet
from api.v3.delivery_partners import DeliveryPartnerViewSet
from api.v3.participants import ParticipantViewSet
from api.v3.partnerships import PartnershipViewSet
from api.v3.schools import SchoolViewSet
from api.v3.statements import StatementViewSet
from api.v3.transfers import TransferViewSet, participant_transfers_view
from api.v3.unfunded_mentors import UnfundedMentorViewSet
from api.views import PingView

router = SimpleRouter(trailing_slash=False)
# Before participants/ecf, whose `{id}` route would otherwise take "transfers" as an id.
router.register("participants/ecf/transfers", TransferViewSet, basename="participant-transfer")
router.register("participants/ecf", ParticipantViewSet, basename="participant")
router.register("participant-declarations", ParticipantDeclarationViewSet, basename="participant-declaration")
router.register("schools/ecf", SchoolViewSet, basename="school")
router.register("delivery-partners", DeliveryPartnerViewSet, basename="delivery-partner")
router.register("partnerships/ecf", PartnershipViewSet, basename="partnership")
router.register("statements", StatementViewSet, basename="statement")
router.register("unfunded-mentors/ecf", UnfundedMentorViewSet, basename="unfunded-mentor")

urlpatterns = [
    path("ping", PingView.as_view(), name="ping"),
    *schema_urls("v3"),
    path("participants/ecf/<str:pk>/transfers", participant_transfers_view, name="participant-transfers"),
    *router.urls,
]
