"""Schema building blocks shared by the versions: the envelopes and parameters of the contract.

The API renders plain dicts for speed; these serializers only describe those dicts to
drf-spectacular, and tests/test_schema_conformance.py checks real responses against them.
"""

from drf_spectacular.contrib.django_filters import DjangoFilterExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, inline_serializer
from rest_framework import serializers
from rest_framework.filters import BaseFilterBackend

UUID_PATH_PARAMETER = OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The record's id.")


class PaginationSerializer(serializers.Serializer):
    page = serializers.IntegerField(required=False, help_text="Page number; defaults to 1.")
    per_page = serializers.IntegerField(required=False, help_text="Items per page; defaults to 100, at most 3000.")


class CursorPaginationSerializer(PaginationSerializer):
    cursor = serializers.CharField(
        required=False,
        help_text="Optional change cursor (the integrator guide, /api/docs/guide/): empty to start a walk in "
        "creation order, then the "
        "`links.next` of the previous page. The short page that ends a walk gives, in `links.next`, the cursor "
        "that returns every record changed since, at least once.",
    )


class WalkLinksSerializer(serializers.Serializer):
    next = serializers.CharField(help_text="The next page of the walk; from the last page, the cursor to resume from.")


DRY_RUN_PARAMETER = OpenApiParameter(
    "dry_run",
    OpenApiTypes.BOOL,
    OpenApiParameter.QUERY,
    required=False,
    description=(
        "`true`: validate completely and answer exactly what the real call would (status and body), "
        "storing nothing, not even the declaration attempt. Any id in the answer was never stored: "
        "the real call gives a new one. `false` or absent: the real call. Any other value is a 400."
    ),
)

PAGE_PARAMETER = OpenApiParameter(
    "page",
    PaginationSerializer,
    OpenApiParameter.QUERY,
    style="deepObject",
    explode=True,
    description="Pagination: `page[page]=1&page[per_page]=100`. A page past the end returns an empty list.",
)


class ActionFilterSets(BaseFilterBackend):
    """Names the FilterSet each action reads, for the schema: a viewset's `filtersets` maps an action
    to its api.filters.ContractFilterSet. It filters nothing (the views hand the parsed values to the
    selectors, api/filters.py), so DRF never calls it; drf-spectacular does, through the extension below."""

    def get_filterset_class(self, view, queryset=None):
        return getattr(view, "filtersets", {}).get(getattr(view, "action", None))


class ActionFilterSetsExtension(DjangoFilterExtension):
    """drf-spectacular's django-filter documentation (type, `help_text`, `required`, `choices`), each
    filter named as the contract sends it: `filter[cohort]`. The published documents expand to the
    same names (their one deepObject `filter` parameter), and the contract checks count names."""

    target_class = ActionFilterSets

    def get_schema_operation_parameters(self, auto_schema, *args, **kwargs):
        filterset_class = self.target.get_filterset_class(auto_schema.view)
        if filterset_class is None:
            return []
        parameters = [
            parameter
            for name, filter_ in filterset_class.base_filters.items()
            for parameter in self.resolve_filter_field(auto_schema, None, filterset_class, f"filter[{name}]", filter_)
        ]
        for parameter in parameters:
            if "description" in parameter:
                # With ENUM_GENERATE_CHOICE_DESCRIPTION off, a filter with choices keeps an empty list's "\n\n".
                parameter["description"] = parameter["description"].strip()
        return parameters


def sort_parameter(keys: list[str], component_name: str) -> OpenApiParameter:
    choices = [f"{prefix}{key}" for key in keys for prefix in ("", "-")]
    return OpenApiParameter(
        "sort",
        {"type": "array", "items": {"type": "string", "enum": choices}},
        OpenApiParameter.QUERY,
        style="form",
        explode=False,
        description="Comma-separated sort keys, `-` for descending (send `+` as `%2B`). Unknown keys are ignored.",
    )


class ErrorSerializer(serializers.Serializer):
    title = serializers.CharField(help_text="The attribute that failed, or a fixed label such as `Bad request`.")
    detail = serializers.CharField()


UNAUTHORISED = OpenApiResponse(
    inline_serializer("UnauthorisedResponse", {"error": serializers.CharField(help_text="HTTP Token: Access denied")}),
    description="Authorization information is missing or invalid",
)
NOT_FOUND = OpenApiResponse(
    inline_serializer(
        "NotFoundResponse",
        {
            "error": serializers.CharField(help_text="Resource not Found"),
            # Documented by the published contract; the service sends `error` (api.md §14.4).
            "title": serializers.CharField(required=False),
            "detail": serializers.CharField(required=False),
        },
    ),
    description="The requested resource was not found",
)
BAD_REQUEST = OpenApiResponse(
    inline_serializer(
        "BadRequestResponse",
        {
            "errors": ErrorSerializer(many=True),
            # The published contract names a `bad_request` string that the original never sends (api.md §14.2).
            "bad_request": serializers.CharField(required=False),
        },
    ),
    description="Bad request",
)
UNPROCESSABLE = OpenApiResponse(
    inline_serializer(
        "ErrorResponse",
        {
            "errors": ErrorSerializer(many=True),
            # The published contract names the list `error`; the service sends `errors` (api.md §14.1).
            "error": ErrorSerializer(many=True, required=False),
        },
    ),
    description="Unprocessable entity: one item per failing attribute, in validation order",
)


class EnvelopeAutoSchema(AutoSchema):
    """Every response is documented with its full `{"data": ...}` envelope, so lists must not be
    wrapped in a second array by drf-spectacular's list heuristics."""

    def _is_list_view(self, serializer=None) -> bool:
        return False

    def get_filter_backends(self):
        # Not only lists read filters (a school's show requires `filter[cohort]`): every action of a
        # view is offered to its backends, and ActionFilterSets documents the actions that have a FilterSet.
        return getattr(self.view, "filter_backends", [])


JSON_MEDIA_TYPES = ("application/vnd.api+json", "application/json")


def document_both_json_media_types(result, generator, request, public):
    """Postprocessing hook: bodies are sent as `application/vnd.api+json` and are plain JSON; the
    published contracts document them as `application/json`, so both are listed."""
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict):
                continue
            bodies = [operation.get("requestBody")] + list(operation.get("responses", {}).values())
            for body in filter(None, bodies):
                content = body.get("content")
                if not content:
                    continue
                schema = next((content[m]["schema"] for m in JSON_MEDIA_TYPES if m in content), None)
                if schema is not None:
                    for media_type in JSON_MEDIA_TYPES:
                        content.setdefault(media_type, {"schema": schema})
    return result


# The lists that take the change cursor: `page[cursor]` beside `page[page]` and `page[per_page]`.
CURSOR_PAGE_PARAMETER = OpenApiParameter(
    "page",
    CursorPaginationSerializer,
    OpenApiParameter.QUERY,
    style="deepObject",
    explode=True,
    description="Pagination: `page[page]=1&page[per_page]=100`. A page past the end returns an empty list. "
    "`page[cursor]` walks the list with a change cursor instead (the integrator guide, /api/docs/guide/).",
)
