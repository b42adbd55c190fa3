"""JSON parser with limits: the body's size (DRF reads the request stream itself, so
Django's DATA_UPLOAD_MAX_MEMORY_SIZE would otherwise not apply to API bodies), its nesting
depth (`MAX_JSON_DEPTH`; Python's parser would otherwise hit its recursion limit, a 500),
and no NUL character in any key or text (PostgreSQL cannot store one). Each is a 400 (413
for the size) naming what was wrong and where."""

from __future__ import annotations

import io

from django.conf import settings
from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.parsers import JSONParser

from core.api.errors import PayloadTooLarge


def body_limit() -> int | None:
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE


def check_body_size(request) -> None:
    """413 before reading when the declared length is above the limit."""
    limit = body_limit()
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if limit is not None and length > limit:
        raise PayloadTooLarge(f"The request body has {length} bytes; the limit is {limit}.")


class LimitedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        limit = body_limit()
        if limit is not None and stream is not None:
            body = stream.read(limit + 1)
            if len(body) > limit:
                raise PayloadTooLarge(f"The request body is larger than {limit} bytes.")
            stream = io.BytesIO(body)
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(
                f"JSON parse error - nested deeper than {MAX_JSON_DEPTH} levels."
            ) from None
        check_json(data)
        return data


MAX_JSON_DEPTH = 32


def check_json(data) -> None:
    """400 for JSON nested deeper than MAX_JSON_DEPTH or holding a NUL character, naming the
    place (`citations.0.excerpt`)."""
    stack = [(data, 1, "")]
    while stack:
        value, depth, path = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                raise ValidationError(
                    {path or "body": ["A NUL character (\\u0000) is not allowed."]}
                )
            continue
        if isinstance(value, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise ParseError(
                    f"JSON parse error - nested deeper than {MAX_JSON_DEPTH} levels at "
                    f"{path or 'the top'}."
                )
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                if isinstance(key, str) and "\x00" in key:
                    raise ValidationError(
                        {path or "body": ["A NUL character (\\u0000) is not allowed in a key."]}
                    )
                stack.append((item, depth + 1, f"{path}.{key}" if path else str(key)))
