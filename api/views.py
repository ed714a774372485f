"""Views shared by every version. Version-specific views live in api/v1, api/v2, api/v3."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView


class PingView(APIView):
    """Tells an integrator which lead provider its token belongs to."""

    @extend_schema(
        summary="Check a token",
        responses=inline_serializer(
            "Ping",
            {
                "data": inline_serializer(
                    "PingData",
                    {
                        "id": serializers.UUIDField(),
                        "type": serializers.CharField(),
                        "attributes": inline_serializer("PingAttributes", {"name": serializers.CharField()}),
                    },
                )
            },
        ),
    )
    def get(self, request, *args, **kwargs):
        lead_provider = request.user
        return Response(
            {"data": {"id": str(lead_provider.id), "type": "lead-provider", "attributes": {"name": lead_provider.name}}}
        )
