"""The floor of `benchmark_web`: a bare WSGI app that answers the API's page of transfers
with the same bytes (`benchmark_api.floor_page`: one query, orjson; gzipped when the client
accepts it, as the API is), with no Django request handling; run under the same gunicorn."""

from __future__ import annotations

import gzip
import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

from transfers.management.commands.benchmark_api import floor_page  # noqa: E402

PAGE_SIZE = int(os.environ.get("STOCKPILE_BENCH_PAGE_SIZE", "100"))


def application(environ, start_response):
    body = floor_page(PAGE_SIZE)
    headers = [("Content-Type", "application/json")]
    if "gzip" in environ.get("HTTP_ACCEPT_ENCODING", ""):
        body = gzip.compress(body, compresslevel=6, mtime=0)
        headers.append(("Content-Encoding", "gzip"))
    headers.append(("Content-Length", str(len(body))))
    start_response("200 OK", headers)
    return [body]
