"""JSON:API content type, rendered with orjson (fast for 3000-row pages)."""

import orjson
from rest_framework.renderers import BaseRenderer


class JsonApiRenderer(BaseRenderer):
    media_type = "application/vnd.api+json"
    format = "json"
    charset = None  # the contract sends no charset parameter

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        return orjson.dumps(data, default=str)


class AllowedMethodsOnly:
    """OPTIONS answers with the methods the route allows (in the `Allow` header DRF sets on every
    answer) and no body: DRF's default metadata would describe our views' internals, which no
    contract publishes."""

    def determine_metadata(self, request, view):
        return None
