"""The OpenAPI schema and its two docs pages (Swagger UI, ReDoc), made safe to serve.

- Behind login unless `STOCKPILE_PUBLIC` (the public explorer is on): anonymous requests to
  the schema get 401/403, to the docs pages a redirect to the login.
- The schema is generated once per process and language (it does not depend on the user:
  `SERVE_PUBLIC`), so that anonymous or repeated requests cannot load the web workers.
- No inline script: Swagger UI is the "split" view (its start script is a second request to
  the same URL, `?script`), ReDoc's start script carries the page's CSP nonce
  (`stockpile/redoc.html`). Assets come from drf-spectacular-sidecar, on this site.
"""

from __future__ import annotations

import threading

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.utils import translation
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response


class DocsPermission(BasePermission):
    """Anyone when the site is public, else a logged-in user or a token."""

    def has_permission(self, request, view) -> bool:
        if settings.STOCKPILE_PUBLIC:
            return True
        return IsAuthenticated().has_permission(request, view)


_schemas: dict[tuple, dict] = {}
_schemas_lock = threading.Lock()


def schema_cache_clear() -> None:
    _schemas.clear()


class SchemaView(SpectacularAPIView):
    permission_classes = [DocsPermission]

    def _get_schema_response(self, request):
        version = self.api_version or request.version or self._get_version_parameter(request)
        key = (version, translation.get_language(), str(self.urlconf))
        schema = _schemas.get(key)
        if schema is None:
            with _schemas_lock:
                schema = _schemas.get(key)
                if schema is None:
                    generator = self.generator_class(
                        urlconf=self.urlconf, api_version=version, patterns=self.patterns
                    )
                    schema = generator.get_schema(request=None, public=True)
                    _schemas[key] = schema
        filename = self._get_filename(request, version)
        return Response(
            data=schema, headers={"Content-Disposition": f'inline; filename="{filename}"'}
        )


class _LoginFirst:
    permission_classes = [DocsPermission]

    def permission_denied(self, request, message=None, code=None):
        # A person with a browser: to the login, then back here.
        raise _Redirect(request.get_full_path())

    def handle_exception(self, exc):
        if isinstance(exc, _Redirect):
            return redirect_to_login(exc.next_url, login_url="admin:login")
        return super().handle_exception(exc)


class _Redirect(Exception):
    def __init__(self, next_url: str):
        self.next_url = next_url


class SwaggerView(_LoginFirst, SpectacularSwaggerSplitView):
    pass


class RedocView(_LoginFirst, SpectacularRedocView):
    template_name = "stockpile/redoc.html"
