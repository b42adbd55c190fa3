"""Errors of the API: one exception handler turning what the services raise into clear
4xx responses, and the exceptions DRF lacks (409, 412, 413, 428).

Bodies keep DRF's two shapes: `{"detail": "..."}` for a refusal of the whole request, and
`{"<field>": ["<message>", ...], ...}` for validation errors, nested like the request.
"""

from __future__ import annotations

import logging

from django.core.exceptions import NON_FIELD_ERRORS, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.db.models import ProtectedError, RestrictedError
from rest_framework import exceptions, serializers, status
from rest_framework.settings import api_settings

logger = logging.getLogger(__name__)


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state of the data."
    default_code = "conflict"


class PreconditionFailed(exceptions.APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = (
        "The resource has changed since you read it (If-Match does not match its ETag)."
    )
    default_code = "precondition_failed"


class PreconditionRequired(exceptions.APIException):
    status_code = status.HTTP_428_PRECONDITION_REQUIRED
    default_detail = "Send If-Match with the ETag of the resource you read."
    default_code = "precondition_required"


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


def validation_detail(exc: DjangoValidationError) -> dict | list:
    """A Django ValidationError as DRF's error body: field names kept, `__all__` renamed."""
    if hasattr(exc, "error_dict"):
        return {
            (api_settings.NON_FIELD_ERRORS_KEY if field == NON_FIELD_ERRORS else field): messages
            for field, messages in exc.message_dict.items()
        }
    return {api_settings.NON_FIELD_ERRORS_KEY: exc.messages}


def describe_protected(exc: ProtectedError | RestrictedError) -> str:
    objects = list(
        exc.protected_objects if isinstance(exc, ProtectedError) else exc.restricted_objects
    )
    kinds = sorted({obj._meta.verbose_name for obj in objects})
    shown = ", ".join(str(obj) for obj in objects[:3])
    more = f" and {len(objects) - 3} more" if len(objects) > 3 else ""
    return (
        f"Still referenced by {len(objects)} {'/'.join(kinds)} record(s) ({shown}{more}); "
        "change or delete those first."
    )


def exception_handler(exc, context):
    # Imported here: rest_framework.views loads the parser classes, which import this module.
    from rest_framework.views import exception_handler as drf_exception_handler

    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(validation_detail(exc))
    elif isinstance(exc, ProtectedError | RestrictedError):
        exc = Conflict(describe_protected(exc))
    elif isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge()
    elif isinstance(exc, IntegrityError):
        # full_clean() runs before every save, so this is a race with another writer. The
        # database's own text names tables and constraints: it goes to the log, not out.
        logger.warning("API write refused by the database: %s", exc)
        exc = Conflict(
            "Another write changed the same data at the same moment and this one was refused; "
            "read the record again and retry."
        )
    return drf_exception_handler(exc, context)


class ErrorSerializer(serializers.Serializer):
    """A refusal of the whole request."""

    detail = serializers.CharField()


class ValidationErrorSerializer(serializers.Serializer):
    """Validation errors: each bad field (or query parameter) with its messages; nested
    fields (citations, sources) nest the same way. `non_field_errors` for the rest."""

    non_field_errors = serializers.ListField(child=serializers.CharField(), required=False)
