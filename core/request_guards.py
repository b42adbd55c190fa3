"""Requests refused before any view sees them, and the API's error pages.

- `NulCharacterMiddleware`: a NUL character in a query parameter (name or value) is a 400
  naming the parameter, on every page: PostgreSQL cannot compare text holding one, so it
  would otherwise be a 500 in any filter or search (form posts are checked by Django's
  form fields; JSON bodies by `core.api.parsers`).
- `not_found` / `server_error`: Django's 404 and 500 handlers, with a JSON body
  (`{"detail": ...}`, the API's error shape) under `/api/`, Django's pages elsewhere.
"""

from __future__ import annotations

from django.http import HttpResponseBadRequest, JsonResponse
from django.views import defaults

API_PREFIX = "/api/"


def is_api(request) -> bool:
    return request.path.startswith(API_PREFIX)


class NulCharacterMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        for name, values in request.GET.lists():
            if "\x00" in name or any("\x00" in value for value in values):
                shown = name.replace("\x00", "\\u0000")
                message = f"The query parameter {shown!r} holds a NUL character (%00)."
                if is_api(request):
                    return JsonResponse({shown: [message]}, status=400)
                return HttpResponseBadRequest(message, content_type="text/plain")
        return self.get_response(request)


def not_found(request, exception=None):
    if is_api(request):
        return JsonResponse({"detail": f"No such resource: {request.path}"}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    if is_api(request):
        return JsonResponse(
            {"detail": "Server error; it has been logged. Retry later."}, status=500
        )
    return defaults.server_error(request)


def client_ip(request) -> str:
    """The client's address: REMOTE_ADDR, or with STOCKPILE_TRUSTED_PROXIES = n, the address
    the n-th proxy from us appended to X-Forwarded-For (entries further left are whatever the
    client sent, so they are never believed)."""
    from django.conf import settings

    remote = request.META.get("REMOTE_ADDR", "")
    proxies = settings.STOCKPILE_TRUSTED_PROXIES
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies <= 0 or not forwarded:
        return remote
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    return hops[-proxies] if len(hops) >= proxies else (hops[0] if hops else remote)
