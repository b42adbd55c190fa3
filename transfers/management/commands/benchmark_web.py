"""End to end through gunicorn on loopback, against a floor under the same gunicorn:

    python manage.py benchmark_web [--transfers 20000] [--requests 200]
        [--concurrency 1,4,16] [--workers N] [--threads N]

Builds the data set of `benchmark_api` in a throwaway database (`<name>_web`, committed so
that the server sees it), then starts gunicorn with the production settings
(`config/gunicorn.conf.py`, STOCKPILE_DEBUG=false, persistent database connections) and
drives `GET /api/v1/transfers/?page_size=100` with a viewer's token from a bounded client
(1, 4 and 16 connections, each a keep-alive connection sending its next request when the
last is answered, `Accept-Encoding: gzip`). Then the floor: the same bytes from one query +
orjson in a bare WSGI app (`transfers/bench_floor_wsgi.py`) under the same gunicorn. It
prints requests/s, p50 and p99 of both and their ratio, and checks that the bodies are the
same. PostgreSQL only.
"""

from __future__ import annotations

import gzip
import http.client
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import orjson
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from core.api.tokens import api_token_create
from transfers.management.commands.benchmark_api import Command as ApiBenchmark

URL = "/api/v1/transfers/?page_size=100"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _drive(port: int, headers: dict, connections: int, total: int) -> tuple[float, list[float]]:
    """`total` requests over `connections` keep-alive connections; (seconds, latencies)."""
    latencies: list[float] = []
    lock = threading.Lock()
    per = [total // connections + (1 if n < total % connections else 0) for n in range(connections)]
    failures: list[str] = []

    def run(count: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        mine = []
        for _ in range(count):
            started = time.perf_counter()
            conn.request("GET", URL, headers=headers)
            response = conn.getresponse()
            response.read()
            mine.append(time.perf_counter() - started)
            if response.status != 200:
                failures.append(str(response.status))
        conn.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=run, args=(n,)) for n in per if n]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise CommandError(f"{len(failures)} requests failed: HTTP {failures[0]}")
    return time.perf_counter() - started, latencies


def _get(port: int, headers: dict) -> bytes:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    conn.request("GET", URL, headers=headers)
    response = conn.getresponse()
    body = response.read()
    if response.getheader("Content-Encoding") == "gzip":
        body = gzip.decompress(body)
    conn.close()
    if response.status != 200:
        raise CommandError(f"GET {URL}: HTTP {response.status}: {body[:300]!r}")
    return body


class Command(BaseCommand):
    help = "Requests/s, p50 and p99 of the API through gunicorn, against a bare-WSGI floor."

    def add_arguments(self, parser):
        parser.add_argument("--transfers", type=int, default=20_000)
        parser.add_argument("--requests", type=int, default=200)
        parser.add_argument("--concurrency", default="1,4,16")
        parser.add_argument(
            "--workers", type=int, help="WEB_CONCURRENCY (default: config/gunicorn.conf.py's)"
        )
        parser.add_argument(
            "--threads", type=int, help="STOCKPILE_WEB_THREADS (default: the config's)"
        )
        parser.add_argument("--keep", action="store_true", help="keep the benchmark database")

    def handle(self, *args, **options):
        if connection.vendor != "postgresql":
            raise CommandError("benchmark_web needs PostgreSQL: set DATABASE_URL=postgres://…")
        creation = connection.creation
        original = settings.DATABASES["default"]["NAME"]
        connection.settings_dict.setdefault("TEST", {}).update(
            {"NAME": f"{original}_web", "CHARSET": None, "TEMPLATE": None}
        )
        self.stdout.write(f"Creating the benchmark database {original}_web …")
        bench = creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
        try:
            self._run(options, bench)
        finally:
            if not options["keep"]:
                creation.destroy_test_db(original, verbosity=0)

    def _server(self, app: str, bench: str, port: int, options) -> subprocess.Popen:
        db = settings.DATABASES["default"]
        url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{bench}"
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "STOCKPILE_DEBUG": "false",
            "SECRET_KEY": os.environ.get("SECRET_KEY", "benchmark-web-" + "x" * 40),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "PORT": str(port),
            "STOCKPILE_API_THROTTLE_USER": "1000000/minute",
        }
        if options["workers"]:
            env["WEB_CONCURRENCY"] = str(options["workers"])
        if options["threads"]:
            env["STOCKPILE_WEB_THREADS"] = str(options["threads"])
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", app, "--config", "config/gunicorn.conf.py",
             "--access-logfile", "/dev/null", "--log-level", "warning"],
            cwd=Path(settings.BASE_DIR), env=env,
        )  # fmt: skip
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return process
            except OSError:
                time.sleep(0.3)
        process.terminate()
        raise CommandError(f"gunicorn ({app}) did not start on port {port}")

    def _run(self, options, bench: str) -> None:
        ApiBenchmark(stdout=self.stdout, stderr=self.stderr).build(options["transfers"], 2)
        user = get_user_model().objects.create_user("benchmark-viewer")
        user.groups.add(Group.objects.get(name="viewer"))
        _, token = api_token_create(user=user)  # a hashed, expiring token (issue 14)
        connection.close()
        headers = {
            "Authorization": f"Token {token}",
            "Accept-Encoding": "gzip",
            "X-Forwarded-Proto": "https",  # as the reverse proxy in front says
            "Host": "127.0.0.1",
        }
        levels = [int(n) for n in options["concurrency"].split(",")]
        results: dict[str, dict[int, tuple[float, float, float]]] = {}
        bodies = {}
        for name, app in (("api", "config.wsgi"), ("floor", "transfers.bench_floor_wsgi")):
            port = _free_port()
            server = self._server(app, bench, port, options)
            try:
                bodies[name] = _get(port, headers)
                _drive(port, headers, max(levels), max(levels) * 2)  # warm every worker
                results[name] = {}
                for level in levels:
                    seconds, latencies = _drive(port, headers, level, options["requests"])
                    latencies.sort()
                    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
                    results[name][level] = (
                        len(latencies) / seconds,
                        statistics.median(latencies) * 1000,
                        p99 * 1000,
                    )
            finally:
                server.terminate()
                server.wait(timeout=30)
        api, floor = (orjson.loads(bodies[n]) for n in ("api", "floor"))
        for body in (api, floor):  # the host of the links is the one the client named
            body["next"] = (body["next"] or "").split("/api/")[-1]
        load = " ".join(f"{x:.1f}" for x in os.getloadavg())
        workers = options["workers"] or os.environ.get("WEB_CONCURRENCY", "3")
        threads = options["threads"] or os.environ.get("STOCKPILE_WEB_THREADS", "8")
        self.stdout.write(
            f"gunicorn gthread, {workers} workers × {threads} threads, production settings; "
            f"{options['requests']} requests per level; load {load}"
        )
        self.stdout.write(
            f"{'conns':>5} {'API req/s':>10} {'p50':>7} {'p99':>7} {'floor req/s':>12} "
            f"{'p50':>7} {'p99':>7} {'ratio':>6}"
        )
        for level in levels:
            a, f = results["api"][level], results["floor"][level]
            self.stdout.write(
                f"{level:>5} {a[0]:>10.1f} {a[1]:>5.0f}ms {a[2]:>5.0f}ms {f[0]:>12.1f} "
                f"{f[1]:>5.0f}ms {f[2]:>5.0f}ms {f[0] / a[0]:>5.2f}×"
            )
        self.stdout.write(
            "ratio = floor req/s ÷ API req/s (target ≤ 2×); bodies "
            + ("identical" if api == floor else "DIFFERENT: the floor is not the same page")
        )
        if api != floor:
            self.stdout.write(f"  first difference: {_difference(api, floor)}")


def _difference(a, b, path="") -> str:
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            return f"{path}: keys only in the API {sorted(set(a) - set(b))}, only in the floor {sorted(set(b) - set(a))}"
        for key in sorted(set(a) | set(b)):
            if a.get(key) != b.get(key):
                return _difference(a.get(key), b.get(key), f"{path}.{key}")
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for n, (x, y) in enumerate(zip(a, b, strict=True)):
            if x != y:
                return _difference(x, y, f"{path}[{n}]")
    return f"{path}: API {str(a)[:120]!r}, floor {str(b)[:120]!r}"
