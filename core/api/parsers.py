"""JSON parser with a size limit: DRF reads the request stream itself, so Django's
DATA_UPLOAD_MAX_MEMORY_SIZE would otherwise not apply to API bodies."""

from __future__ import annotations

import io

from django.conf import settings
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
        return super().parse(stream, media_type, parser_context)
