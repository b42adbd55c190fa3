"""Gzip for API responses, where clients accept it (`Accept-Encoding: gzip`).

Only under /api/: JSON and CSV pages shrink 5-10×, and they reflect no secret of the
session (tokens travel in headers), so compressing them opens no BREACH-style leak; HTML
pages with CSRF tokens are left alone, as Django's documentation advises."""

from __future__ import annotations

from django.middleware.gzip import GZipMiddleware


class ApiGZipMiddleware(GZipMiddleware):
    def process_response(self, request, response):
        if not request.path.startswith("/api/"):
            return response
        return super().process_response(request, response)
