"""Request bodies: JSON under the three content types the contract accepts (api.md §4)."""

import orjson
from rest_framework import exceptions
from rest_framework.parsers import BaseParser

from api.errors import BadRequest

# PostgreSQL text cannot hold U+0000: a body carrying one would fail at the first query that uses it.
NUL_IN_BODY = "Text values cannot contain the NUL character (\\u0000)"


class JsonApiParser(BaseParser):
    media_type = "application/json"
    accepted = ("application/json", "application/vnd.api+json", "text/x-json")

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            # orjson refuses what is not UTF-8 text, lone surrogates (`"\ud800"`) included.
            body = orjson.loads(stream.read() or b"null")
        except orjson.JSONDecodeError:
            raise exceptions.ParseError() from None
        if _has_nul(body):
            raise BadRequest(NUL_IN_BODY)
        return body


def _has_nul(body) -> bool:
    """Whether any string of the document, key or value at any depth, holds a NUL."""
    pending = [body]
    while pending:  # a loop, not recursion: orjson allows nesting deeper than Python's stack
        value = pending.pop()
        if isinstance(value, str):
            if "\x00" in value:
                return True
        elif isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
    return False


class VndApiJsonParser(JsonApiParser):
    media_type = "application/vnd.api+json"


class TextJsonParser(JsonApiParser):
    media_type = "text/x-json"


PARSERS = [JsonApiParser, VndApiJsonParser, TextJsonParser]
