"""Request bodies: JSON under the three content types the contract accepts (api.md §4)."""

import orjson
from rest_framework import exceptions
from rest_framework.parsers import BaseParser


class JsonApiParser(BaseParser):
    media_type = "application/json"
    accepted = ("application/json", "application/vnd.api+json", "text/x-json")

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return orjson.loads(stream.read() or b"null")
        except orjson.JSONDecodeError:
            raise exceptions.ParseError() from None


class VndApiJsonParser(JsonApiParser):
    media_type = "application/vnd.api+json"


class TextJsonParser(JsonApiParser):
    media_type = "text/x-json"


PARSERS = [JsonApiParser, VndApiJsonParser, TextJsonParser]
