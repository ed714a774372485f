"""Content negotiation that ignores `Accept` (api.md §1): every route answers JSON, and CSV is chosen
only by the `.csv` path suffix of the v1/v2 lists, so a client sending `Accept: text/csv` (or any
other type) gets the route's representation rather than a 406."""

from rest_framework.negotiation import DefaultContentNegotiation


class IgnoreAcceptNegotiation(DefaultContentNegotiation):
    def select_renderer(self, request, renderers, format_suffix=None):
        renderer = renderers[0]
        return renderer, renderer.media_type
