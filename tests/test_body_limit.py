"""Issue 12.2: a body over MAX_REQUEST_BODY_BYTES is refused with 413 in the error envelope before
anything reads it, declared (Content-Length) or not (chunked)."""

import io
import json

import pytest

from api.models import ApiRequestLog

DECLARATIONS = "/api/v3/participant-declarations"
TOO_LARGE = {
    "errors": [
        {
            "title": "Request body too large",
            "detail": "The request body is larger than 65536 bytes, the most this service accepts.",
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
