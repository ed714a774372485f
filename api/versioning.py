"""The versioning policy, carried out by the service (issue 6).

Breaking changes get a new /api/v{n}/; only one previous version stays supported when a new one
ships, except v1, which has an extended support window; non-breaking changes ship without a
version bump and go in the release notes. settings.API_VERSIONS is the one registry: moving a
version to `deprecated` (with a sunset date) or `retired` there is all it takes.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.utils import format_datetime

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import JsonResponse

from api.guides import GUIDE_PATH

CURRENT, SUPPORTED, DEPRECATED, RETIRED = "current", "supported", "deprecated", "retired"
STATUSES = (CURRENT, SUPPORTED, DEPRECATED, RETIRED)
RELEASE_NOTES_PATH = "/api/release-notes"
RELEASE_NOTES_PAGE = "/api/docs/release-notes/"


@dataclass(frozen=True)
class ApiVersion:
    name: str
    status: str
    sunset: date | None = None
    deprecated_on: date | None = None
    extended_support: bool = False


def registry() -> dict[str, ApiVersion]:
    """settings.API_VERSIONS read strictly: a bad entry stops the service with a clear message."""
    versions = {}
    for name, entry in settings.API_VERSIONS.items():
        status = entry.get("status")
        if status not in STATUSES:
            raise ImproperlyConfigured(f"API_VERSIONS[{name!r}] status must be one of {', '.join(STATUSES)}")
        sunset = entry.get("sunset")
        if status == DEPRECATED and sunset is None:
            raise ImproperlyConfigured(f"API_VERSIONS[{name!r}] is deprecated and needs a sunset date")
        versions[name] = ApiVersion(
            name=name,
            status=status,
            sunset=_date(sunset),
            deprecated_on=_date(entry.get("deprecated_on")),
            extended_support=bool(entry.get("extended_support", False)),
        )
    if sum(version.status == CURRENT for version in versions.values()) != 1:
        raise ImproperlyConfigured("API_VERSIONS must have exactly one current version")
    return versions


def _date(value) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) else value


def _midnight(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=UTC)


def current_version() -> ApiVersion:
    return next(version for version in registry().values() if version.status == CURRENT)


def version_of_path(path: str) -> str | None:
    parts = path.split("/")
    if len(parts) > 2 and parts[1] == "api" and parts[2] in settings.API_VERSIONS:
        return parts[2]
    return None


class VersionPolicyMiddleware:
    """A retired version answers 410; a deprecated one says so on every response (RFC 8594 / 9745 headers)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        name = version_of_path(request.path)
        if name is None:
            return self.get_response(request)
        version = registry()[name]
        if version.status == RETIRED:
            return self._gone(version)
        response = self.get_response(request)
        if version.status == DEPRECATED:
            # RFC 9745: "@<epoch seconds>" of the deprecation date; RFC 8594: the sunset as an HTTP date.
            deprecated = f"@{int(_midnight(version.deprecated_on).timestamp())}" if version.deprecated_on else "true"
            response["Deprecation"] = deprecated
            response["Sunset"] = format_datetime(_midnight(version.sunset), usegmt=True)
            response["Link"] = f'<{RELEASE_NOTES_PATH}>; rel="deprecation"; type="application/json"'
        return response

    @staticmethod
    def _gone(version: ApiVersion) -> JsonResponse:
        move_to = current_version().name
        detail = f"API {version.name} has been retired. Move to /api/{move_to}/; see {RELEASE_NOTES_PATH}."
        return JsonResponse(
            {"errors": [{"title": "Gone", "detail": detail, "code": "api.version_retired"}]},
            status=410,
            content_type="application/vnd.api+json",
        )


def describe_version(result, generator, request, public):
    """Schema postprocessing hook: each version's document says its status and links the release notes."""
    name = getattr(generator, "api_version", None)
    version = registry().get(name) if name else None
    result["info"]["description"] = (
        f"{result['info'].get('description', '')}\n\nGetting started, the sandbox's time travel, rate limits and "
        f"304s, syncing with the change cursor, error codes, idempotency and dry runs: the "
        f"[integrator guide]({GUIDE_PATH})."
    ).strip()
    if version is not None:
        status = version.status + (" (extended support)" if version.extended_support else "")
        if version.sunset:
            status += f", sunset {version.sunset.isoformat()}"
        result["info"]["description"] = (
            f"{result['info'].get('description', '')}\n\nThis is API {name}: {status}. "
            f"Changes and what integrators need to do: [release notes]({RELEASE_NOTES_PATH}) "
            f"(also as a [page]({RELEASE_NOTES_PAGE}))."
        ).strip()
    return result
