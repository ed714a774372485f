"""`Idempotency-Key` on every POST and PUT of every API version (issue 13.3; README "Retrying safely").

A provider that did not get an answer (a timeout, a lost connection) cannot know whether its
declaration was recorded. Sent again with the same `Idempotency-Key`, the request is not run
again: the first answer is replayed (status, body and the headers that describe it), with
`Idempotent-Replayed: true`. The rules:

* Keys are per lead provider and live 24 hours from the first request.
* The same key with another request (method, path, query string or body; JSON bodies compared by
  content, not layout) is a 422 saying so: a key names one request.
* Two requests with one key at the same time do the work once: the second waits for the first
  (up to WAIT_FOR_FIRST) and replays its answer; if the first is still running after that, a 409
  asks to retry later. A first request whose worker died frees the key after LOCK_TIMEOUT.
* Only final answers are kept: 2xx, and 4xx refusals (400, 404, 422...) because they are the
  answer to that request and a retry must learn the same one, not the verdict of a later state of
  the world (a changed request needs a new key). Never kept: 5xx (nothing was committed: the
  services are transactions, so the retry must do the work), and the answers that say "not now"
  rather than "no" (401, 403, 408, 409, 425, 429). The key is then released for the retry.
* A dry run (`?dry_run=...`) does no work, so it is neither stored nor replayed.
* A key that is empty, longer than MAX_KEY_LENGTH or not visible ASCII is a 400.

This is a middleware placed after the rate limit (a replay counts as a request) and before the
sandbox clock (keys expire in real time, whatever `X-With-Server-Date` says). It authenticates the
token itself (the view authenticates again): a request without a valid token goes on to the
view's 401, and a key never replays to another provider. Keys are kept in PostgreSQL (the
IdempotencyKey model) so every worker and server shares them.
"""

import contextlib
import hashlib
import json
import time
from datetime import timedelta
from urllib.parse import parse_qsl, urlencode

from django.db import IntegrityError, transaction
from django.http import HttpResponse, JsonResponse, RawPostDataException
from django.http.request import RequestDataTooBig

from api.authentication import LeadProviderTokenAuthentication
from api.errors import CONTENT_TYPE, errors_body
from api.models import IdempotencyKey
from ecf import clock
from participants.tokens import lead_provider_for_token

HEADER = "HTTP_IDEMPOTENCY_KEY"
REPLAYED_HEADER = "Idempotent-Replayed"
METHODS = frozenset({"POST", "PUT", "PATCH"})
API_PREFIXES = ("/api/v1/", "/api/v2/", "/api/v3/")
MAX_KEY_LENGTH = 255
REPLAY_WINDOW = timedelta(hours=24)
LOCK_TIMEOUT = timedelta(seconds=60)  # longer than any request may run (gunicorn's timeout is 30 s)
WAIT_FOR_FIRST = 10.0  # seconds a concurrent duplicate waits for the first request's answer
POLL_INTERVAL = 0.05
# Statuses that answer "not now" rather than "no": a retry with the same key must run again.
NOT_FINAL = frozenset({401, 403, 408, 409, 425, 429})
# The headers that describe the answer itself; per-request ones (request id, rate limit) are fresh.
REPLAYED_HEADERS = ("Content-Type", "Content-Disposition", "Location", "Deprecation", "Sunset", "Link")

KEY_INVALID = f"The 'Idempotency-Key' header must be 1 to {MAX_KEY_LENGTH} visible ASCII characters"
KEY_REUSED = (
    "This 'Idempotency-Key' was already used with a different request in the last 24 hours. "
    "Use a new key for a new request."
)
STILL_RUNNING = (
    "A request with this 'Idempotency-Key' is still being processed. Retry later with the same key to get its answer."
)


def _error(status: int, title: str, detail: str) -> JsonResponse:
    return JsonResponse(errors_body([(title, detail)]), status=status, content_type=CONTENT_TYPE)


def valid_key(key: str) -> bool:
    return 0 < len(key) <= MAX_KEY_LENGTH and all("!" <= character <= "~" for character in key)


def is_final(status: int) -> bool:
    return 200 <= status < 300 or (400 <= status < 500 and status not in NOT_FINAL)


def fingerprint(request) -> str:
    """What makes two requests "the same request": method, path, query string and body."""
    query = urlencode(sorted(parse_qsl(request.META.get("QUERY_STRING", ""), keep_blank_values=True)))
    body = request.body
    with contextlib.suppress(ValueError):  # a body that is not JSON is compared byte for byte
        body = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    digest = hashlib.sha256()
    for part in (request.method.encode(), request.path.encode(), query.encode(), body):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


class IdempotencyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        key = request.META.get(HEADER)
        if key is None or request.method not in METHODS or not request.path.startswith(API_PREFIXES):
            return self.get_response(request)
        if "dry_run" in request.GET:  # no work is done, so there is nothing to replay
            return self.get_response(request)
        lead_provider = self._lead_provider(request)
        if lead_provider is None:  # the view answers the contract's 401
            return self.get_response(request)
        if not valid_key(key):
            return _error(400, "Bad request", KEY_INVALID)
        try:
            request_print = fingerprint(request)
        except (RequestDataTooBig, RawPostDataException):  # the view gives the body's own answer
            return self.get_response(request)
        claim = _claim(lead_provider, key, request_print)
        if isinstance(claim, HttpResponse):
            return claim
        return _run_and_keep(claim, lambda: self.get_response(request))

    @staticmethod
    def _lead_provider(request):
        raw = LeadProviderTokenAuthentication._raw_token(request.META.get("HTTP_AUTHORIZATION", ""))
        return lead_provider_for_token(raw) if raw else None


def _claim(lead_provider, key: str, request_print: str) -> "IdempotencyKey | HttpResponse":
    """The key's row, now held by this request; or the answer to give instead of running it."""
    waited_until = time.monotonic() + WAIT_FOR_FIRST
    while True:
        now = clock.now()
        try:
            with transaction.atomic():
                return IdempotencyKey.objects.create(
                    lead_provider=lead_provider,
                    key=key,
                    fingerprint=request_print,
                    created_at=now,
                    locked_until=now + LOCK_TIMEOUT,
                )
        except IntegrityError:
            pass
        held = IdempotencyKey.objects.filter(lead_provider=lead_provider, key=key).first()
        if held is None:  # released or purged in between: try again
            continue
        if held.created_at <= now - REPLAY_WINDOW:  # expired: the key is free again
            IdempotencyKey.objects.filter(pk=held.pk, created_at=held.created_at).delete()
            continue
        if held.fingerprint != request_print:
            return _error(422, "Idempotency-Key", KEY_REUSED)
        if held.response_status is not None:
            return _replay(held)
        if held.locked_until is not None and held.locked_until <= now:  # the first request's worker died
            taken = IdempotencyKey.objects.filter(pk=held.pk, locked_until=held.locked_until, response_status=None)
            if taken.update(locked_until=now + LOCK_TIMEOUT, created_at=now):
                held.locked_until, held.created_at = now + LOCK_TIMEOUT, now
                return held
            continue
        if time.monotonic() >= waited_until:
            return _error(409, "Idempotency-Key", STILL_RUNNING)
        time.sleep(POLL_INTERVAL)


def _run_and_keep(claim: IdempotencyKey, run) -> HttpResponse:
    """Run the request; keep a final answer for replay, or release the key for a retry."""
    try:
        response = run()
    except BaseException:
        _release(claim)
        raise
    if response.streaming or not is_final(response.status_code):
        _release(claim)
        return response
    IdempotencyKey.objects.filter(pk=claim.pk).update(
        response_status=response.status_code,
        response_headers={name: response[name] for name in REPLAYED_HEADERS if response.has_header(name)},
        response_body=response.content,
        locked_until=None,
    )
    return response


def _release(claim: IdempotencyKey) -> None:
    IdempotencyKey.objects.filter(pk=claim.pk, response_status=None).delete()


def _replay(held: IdempotencyKey) -> HttpResponse:
    response = HttpResponse(bytes(held.response_body), status=held.response_status)
    for name, value in held.response_headers.items():
        response[name] = value
    response[REPLAYED_HEADER] = "true"
    return response


def idempotency_keys_purge(*, now=None) -> int:
    """Delete the keys older than the replay window (a daily job: `manage.py purge_idempotency_keys`)."""
    now = now or clock.now()
    deleted, _ = IdempotencyKey.objects.filter(created_at__lte=now - REPLAY_WINDOW).delete()
    return deleted


PARAMETER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH, "pattern": "^[!-~]+$"},
    "example": "0b7a9c1e-5d0f-4f6e-9f34-6d1c2b7e8a90",
    "description": (
        "Optional. A key you choose for this request (a UUID is a good choice), so it can be retried "
        "safely: sent again with the same key and the same request within 24 hours, it is not run again "
        "and you get the first answer (status, body, Content-Type) with `Idempotent-Replayed: true`. "
        "The same key with a different request is a 422. While the first request is still running a "
        "retry waits for its answer (a 409 if it is still running after 10 seconds). Keys are your own: "
        "no other lead provider's request ever replays your answer. Answers with a 5xx status, 401, 403, "
        "408, 409, 425 and 429 are not kept (retry with the same key). Requests with `dry_run` are never "
        f"kept. 1 to {MAX_KEY_LENGTH} visible ASCII characters, else a 400."
    ),
}


def document_idempotency_key(result, generator, request, public):
    """Postprocessing hook: every POST, PUT and PATCH of the version takes the optional header, and
    may answer 409 (the first request with the key is still running) and 400 (a malformed key), in
    the error envelope its 422 documents."""
    result.setdefault("components", {}).setdefault("parameters", {})["IdempotencyKey"] = PARAMETER
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if method.upper() not in METHODS or not isinstance(operation, dict):
                continue
            operation.setdefault("parameters", []).append({"$ref": "#/components/parameters/IdempotencyKey"})
            responses = operation.setdefault("responses", {})
            if "422" not in responses:
                continue
            responses.setdefault("409", {**responses["422"], "description": STILL_RUNNING})
            responses.setdefault("400", {**responses["422"], "description": f"Bad request. {KEY_INVALID}."})
    return result
