"""The whole API surface at a glance. Routes exist only where the contract has them."""

from django.urls import path

from api.views import PingView

urlpatterns = [
    path("v1/ping", PingView.as_view(), name="v1-ping"),
    path("v2/ping", PingView.as_view(), name="v2-ping"),
    path("v3/ping", PingView.as_view(), name="v3-ping"),
]
