"""OpenAPI 3 generation (drf-spectacular): every operation documents its error responses,
detail operations their ETag and If-Match, lists their `format=csv`; reference fields
(`RefFieldExtension`) document both directions (an object in responses, a code/name or id
in requests)."""

from __future__ import annotations

from drf_spectacular.extensions import (
    OpenApiAuthenticationExtension,
    OpenApiSerializerFieldExtension,
)
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter

from core.api.errors import ErrorSerializer, ValidationErrorSerializer
from core.api.known_at import KNOWN_AT, KnownAtMixin

ERRORS = {
    "400": "Invalid input: each bad field or query parameter with its messages.",
    "401": "Not authenticated: send `Authorization: Token <key>` or log in.",
    "403": "Your role does not allow this.",
    "404": "No such record (or no such page).",
    "406": "The requested format is not available here (CSV is for lists only).",
    "409": "Still referenced by other records, or refused by a rule; the reason is given.",
    "412": "If-Match does not match the current ETag: someone changed it since you read it.",
    "413": "The request body is above the size limit.",
    "415": "Send JSON.",
    "428": "Send If-Match with the ETag you read (required unless the server sets "
    "STOCKPILE_API_REQUIRE_IF_MATCH=false), or If-Match: * to overwrite whatever is there.",
    "429": "Too many requests; retry after the time in Retry-After.",
}


class StockpileAutoSchema(AutoSchema):
    def _is_detail(self) -> bool:
        return "{" in self.path and not self.path.rstrip("/").endswith("history")

    def _is_list_like(self) -> bool:
        return self.method == "GET" and (
            getattr(self.view, "action", None) in ("list", "history") or not self._is_detail()
        )

    def map_renderers(self, attribute):
        media = super().map_renderers(attribute)
        if not self._is_list_like():
            media = [item for item in media if item != "text/csv"]
        return media

    def _get_format_parameters(self):
        """`?format=csv|json` on lists only: a detail view does not offer CSV."""
        return super()._get_format_parameters() if self._is_list_like() else []

    def get_override_parameters(self):
        parameters = super().get_override_parameters()
        if (
            self.method == "GET"
            and isinstance(self.view, KnownAtMixin)
            and getattr(self.view, "action", None) in ("list", "retrieve")
        ):
            parameters.append(KNOWN_AT)
        if self.method in ("PUT", "PATCH", "DELETE"):
            parameters.append(
                OpenApiParameter(
                    "If-Match",
                    OpenApiTypes.STR,
                    OpenApiParameter.HEADER,
                    description="The ETag you read (required: 428 without it); the write "
                    'is refused with 412 if the record changed since. "*" overwrites '
                    "whatever is there.",
                )
            )
        return parameters

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return operation
        error = self.resolve_serializer(ErrorSerializer, "response").ref
        invalid = self.resolve_serializer(ValidationErrorSerializer, "response").ref
        codes = ["400", "401", "403", "429"]
        if self._is_detail() or method == "GET":
            codes.append("404")
        if method == "GET" and self._is_detail():
            codes.append("406")
        if method in ("POST", "PUT", "PATCH"):
            codes += ["413", "415"]
        if method in ("PUT", "PATCH", "DELETE"):
            codes += ["409", "412", "428"]
        responses = operation.setdefault("responses", {})
        for code in codes:
            schema = invalid if code == "400" else error
            responses.setdefault(
                code,
                {"description": ERRORS[code], "content": {"application/json": {"schema": schema}}},
            )
        if self._is_detail() and method in ("GET", "PUT", "PATCH"):
            ok = responses.get("200")
            if ok is not None:
                ok.setdefault("headers", {})["ETag"] = {
                    "schema": {"type": "string"},
                    "description": "Send it back as If-Match to change or delete this record.",
                }
        return operation


class RefFieldExtension(OpenApiSerializerFieldExtension):
    """A reference field: the referenced object in responses, a code/name or id in requests.
    Apps subclass it for their reference fields (`core.api.schema`)."""

    ref_serializer = None
    request_description = ""
    request_example = None  # an existing reference, for readers and the fuzzer

    def map_serializer_field(self, auto_schema, direction):
        if direction == "response":
            return auto_schema.resolve_serializer(self.ref_serializer, direction).ref
        schema = {
            "oneOf": [
                {"type": "string", "minLength": 1, "pattern": r"\S"},
                {"type": "integer", "minimum": 1},
            ],
            "description": self.request_description,
        }
        if self.request_example is not None:
            schema["example"] = self.request_example
        return schema


class CountedTokenScheme(OpenApiAuthenticationExtension):
    """`Authorization: Token <token>` (core.api.authentication, django-rest-knox tokens)."""

    target_class = "core.api.authentication.CountedTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": 'An API token with the prefix "Token": `Token stk_…` '
            "(docs/api.md, Authentication).",
        }
