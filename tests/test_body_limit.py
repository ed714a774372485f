"""Issue 12.2: a body over MAX_REQUEST_BODY_BYTES is refused with 413 in the error envelope before
anything reads it, declared (Content-Length) or not (chunked)."""

import io
import json
import socket
import threading
from contextlib import suppress

import pytest
from django.db import connection
from django.test import override_settings

from api.models import ApiRequestLog
from participants.models import LeadProvider
from participants.tokens import api_token_create
from tests import served

DECLARATIONS = "/api/v3/participant-declarations"
TOO_LARGE = {
    "errors": [
        {
            "title": "Request body too large",
            "detail": "The request body is larger than 65536 bytes, the most this service accepts.",
            "code": "request.body_too_large",
        }
    ]
}


class ExplodingStream(io.RawIOBase):
    """A body nobody may read: the limit must be decided from the headers alone."""

    def read(self, size=-1):
        raise AssertionError("the body was read")

    readline = read


@pytest.mark.django_db
def test_a_declared_body_over_the_limit_gets_413_in_the_envelope_unread(provider_client):
    response = provider_client.generic(
        "POST",
        DECLARATIONS,
        content_type="application/json",
        CONTENT_LENGTH=str(45 * 1024 * 1024),
        **{"wsgi.input": ExplodingStream()},
    )

    assert response.status_code == 413
    assert response["Content-Type"] == "application/vnd.api+json"
    assert response.json() == TOO_LARGE
    assert response["X-Request-Id"]
    assert not ApiRequestLog.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("path", [DECLARATIONS, "/admin/login/"])
def test_one_byte_over_the_limit_is_refused_on_any_path(provider_client, path):
    response = provider_client.post(path, b"x" * (64 * 1024 + 1), content_type="application/json")

    assert (response.status_code, response.json()) == (413, TOO_LARGE)


@pytest.mark.django_db
def test_a_body_at_the_limit_reaches_the_api(provider_client):
    body = json.dumps({"data": {"attributes": {"participant_id": "x" * 100}}}).encode()
    padded = body[:-1] + b" " * (64 * 1024 - len(body)) + body[-1:]

    response = provider_client.post(DECLARATIONS, padded, content_type="application/json")

    assert len(padded) == 64 * 1024
    assert response.status_code == 422  # validated, not refused


class ChunkedInput(io.RawIOBase):
    """What gunicorn hands over for `Transfer-Encoding: chunked`: a stream of unknown length."""

    def __init__(self, total: int):
        self.left = total
        self.read_bytes = 0

    def read(self, size=-1):
        size = self.left if size is None or size < 0 else min(size, self.left)
        self.left -= size
        self.read_bytes += size
        return b" " * size


@pytest.mark.django_db
def test_a_chunked_body_over_the_limit_is_refused_after_reading_one_byte_past_it(provider_client):
    stream = ChunkedInput(45 * 1024 * 1024)

    response = provider_client.generic(
        "POST",
        DECLARATIONS,
        content_type="application/json",
        HTTP_TRANSFER_ENCODING="chunked",
        **{"wsgi.input": stream},
    )

    assert (response.status_code, response.json()) == (413, TOO_LARGE)
    assert stream.read_bytes == 64 * 1024 + 1


@pytest.mark.django_db
def test_a_chunked_body_within_the_limit_is_read_as_sent(provider_client):
    body = b'{"data": {"attributes": {}}}'
    stream = io.BytesIO(body)

    response = provider_client.generic(
        "POST",
        DECLARATIONS,
        content_type="application/json",
        HTTP_TRANSFER_ENCODING="chunked",
        **{"wsgi.input": stream},
    )

    # The envelope was parsed: attribute errors, not "correct json data structure required".
    assert response.status_code == 422


def test_the_limit_is_a_setting_and_django_never_buffers_more(settings):
    assert settings.MAX_REQUEST_BODY_BYTES == settings.DATA_UPLOAD_MAX_MEMORY_SIZE == 64 * 1024


# ---------------------------------------------------------------------------------------
# In a real worker: a 45 MB body leaves gunicorn's memory where it was (the issue measured 1.33 GB).

BIG_BODY_BYTES = 45 * 1024 * 1024
# Python's own noise between two requests is a few hundred kB; reading the body would be ~1 GB.
ALLOWED_GROWTH_KB = 8 * 1024


def post_without_waiting_to_finish(port: int, path: str, length: int, token: str) -> bytes:
    """Declare `length` bytes and send them from a thread; return whatever the server answers."""
    connection = socket.create_connection(("127.0.0.1", port), timeout=120)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {token}\r\n"
        f"X-Forwarded-Proto: https\r\nContent-Length: {length}\r\n\r\n"
    )
    connection.sendall(head.encode())

    def send_body():
        chunk = b" " * (1024 * 1024)
        with suppress(OSError):  # the server may answer and close before taking it all: that is the point
            for _ in range(length // len(chunk)):
                connection.sendall(chunk)

    sender = threading.Thread(target=send_body, daemon=True)
    sender.start()
    answer = b""
    with suppress(OSError):
        while chunk := connection.recv(65536):
            answer += chunk
    sender.join(timeout=120)
    connection.close()
    return answer


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_45_mb_body_does_not_grow_the_worker(tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("the served processes run on PostgreSQL")
    # With a valid token: DRF reads the body only once the caller is authenticated.
    with override_settings(SECRET_KEY=served.SERVER_SECRET_KEY):
        token = api_token_create(lead_provider=LeadProvider.objects.create(name="Big Body Provider"))
    port = served.free_port()
    env = served.production_env(STATIC_ROOT=str(tmp_path))
    command = served.gunicorn(port=port, workers=1)

    with served.running_process(command, env=env, port=port, log=tmp_path / "gunicorn.log") as (base, master):
        (worker,) = served.children(master.pid)
        served.fetch(f"{base}/api/v3/ping", {"X-Forwarded-Proto": "https"})  # the worker is warm
        before = served.peak_memory_kb(worker)
        answer = post_without_waiting_to_finish(port, DECLARATIONS, BIG_BODY_BYTES, token)
        after = served.peak_memory_kb(worker)

    print(f"worker peak RSS {before} kB before, {after} kB after a {BIG_BODY_BYTES} byte body")
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert b'"title":"Request body too large"' in answer and b'"code":"request.body_too_large"' in answer
    assert after - before < ALLOWED_GROWTH_KB
