"""The reliability suite (issue 14, part 11): a bounded load of mixed reads and writes
against the production web server (gunicorn, `config/gunicorn.conf.py`, on loopback) with a
real Celery worker and a broker of its own (a redis-server on a free loopback port), while
the worker is killed (SIGKILL) and restarted, the broker is killed and restarted (empty: what
was queued is gone), and the web server is restarted. Afterwards:

- no acknowledged write is lost: every 201 is there, every acknowledged change holds (or a
  later change that was sent but not answered, which the server may have applied);
- no record is half-written: each transfer the load created has its citation, its two ledger
  rows with its quantity, and its history row;
- no 5xx, and connection errors only while the web server restarts;
- the estimates, once the sweeper has run on the worker, equal a full rebuild.

It prints requests/s, p50/p95 latency and the errors (README, "Reliability"). It runs on
PostgreSQL (CI's first half): the web server, the worker and this test are separate
processes on one database, which SQLite does not serve concurrently.
`STOCKPILE_RELIABILITY_SECONDS` (default 30) sets the length of the load.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.db import connection

from tests.factories import SourceFactory, UserFactory, WeaponSystemFactory

ROOT = Path(__file__).resolve().parents[1]
LOAD_SECONDS = float(os.environ.get("STOCKPILE_RELIABILITY_SECONDS", "30"))
CLIENTS = 4
MARK = "reliability-load"

pytestmark = [
    pytest.mark.reliability,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="web, worker and test share one database: PostgreSQL only (CI runs it there)",
    ),
]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _database_url() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return (
        f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}"
    )


class Services:
    """The web server, the worker and the broker, each started, killed and restarted."""

    def __init__(self, tmp_path: Path, queue: str) -> None:
        self.tmp = tmp_path
        self.web_port, self.broker_port = _free_port(), _free_port()
        self.broker_url = f"redis://127.0.0.1:{self.broker_port}/0"
        env = {k: v for k, v in os.environ.items() if k != "PYTEST_XDIST_WORKER"}
        self.env = {
            **env,
            "DATABASE_URL": _database_url(),
            "CELERY_BROKER_URL": self.broker_url,
            "CELERY_TASK_DEFAULT_QUEUE": queue,
            "STOCKPILE_BIND": f"127.0.0.1:{self.web_port}",
            "WEB_CONCURRENCY": "2",
            "STOCKPILE_WEB_THREADS": "4",
            "STOCKPILE_VAR_DIR": str(tmp_path),
            "STOCKPILE_API_THROTTLE_USER": "100000/minute",
            "STOCKPILE_API_THROTTLE_WRITE": "100000/minute",
        }
        self.web = self.worker = self.broker = None

    def _start(self, command: list[str], name: str) -> subprocess.Popen:
        log = open(self.tmp / f"{name}.log", "ab")  # noqa: SIM115 (kept open with the process)
        return subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=log, stderr=log)

    def broker_start(self) -> None:
        self.broker = self._start(
            ["redis-server", "--port", str(self.broker_port), "--bind", "127.0.0.1"]
            + ["--save", "", "--appendonly", "no", "--dir", str(self.tmp)],
            "redis",
        )
        self._wait(lambda: socket.create_connection(("127.0.0.1", self.broker_port), 1).close())

    def worker_start(self) -> None:
        self.worker = self._start(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo"]
            + ["-Q", self.env["CELERY_TASK_DEFAULT_QUEUE"], "--loglevel", "INFO"]
            + ["--without-gossip", "--without-mingle", "--without-heartbeat"],
            "worker",
        )

    def web_start(self) -> None:
        self.web = self._start(
            [sys.executable, "-m", "gunicorn", "config.wsgi", "-c", "config/gunicorn.conf.py"],
            "web",
        )
        self._wait(lambda: _request(self.web_port, "GET", "/admin/login/", timeout=2))

    def web_workers(self) -> list[int]:
        children = Path(f"/proc/{self.web.pid}/task/{self.web.pid}/children")
        return [int(pid) for pid in children.read_text().split()]

    def web_worker_kill(self) -> int:
        """SIGKILL one web worker, whatever it was doing (the master starts another)."""
        pid = self.web_workers()[0]
        os.kill(pid, signal.SIGKILL)
        return pid

    def web_restart(self) -> None:
        """Restart every web worker (SIGHUP: new workers start, the old ones finish the
        requests they hold; the master keeps the socket, as in a deploy)."""
        before = set(self.web_workers())
        self.web.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 60
        while before & set(self.web_workers()) and time.monotonic() < deadline:
            time.sleep(0.1)

    @staticmethod
    def _wait(probe, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while True:
            try:
                probe()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    @staticmethod
    def kill(process) -> None:
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(timeout=30)

    def stop(self) -> None:
        for process in (self.web, self.worker, self.broker):
            if process is not None and process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    self.kill(process)


def _request(port, method, path, body=None, headers=None, timeout=60):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        data = json.dumps(body).encode() if body is not None else None
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        conn.request(method, path, body=data, headers=all_headers)
        response = conn.getresponse()
        content = response.read()
        return response.status, dict(response.getheaders()), content
    finally:
        conn.close()


@dataclass
class Figures:
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    connection_errors: list[float] = field(default_factory=list)  # when (monotonic)
    created: dict[int, str] = field(default_factory=dict)  # acknowledged: id -> quantity
    maybe_created: int = 0  # sent, not answered
    # per record: the quantities sent as changes, in order, each (value, acknowledged)
    changes: dict[int, list[tuple[str, bool]]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _client(number, port, token, system_id, source_id, deadline, figures):
    rng = random.Random(number)
    auth = {"Authorization": f"Token {token}"}
    mine: list[int] = []
    sent = 0

    def call(method, path, body=None, headers=None):
        started = time.monotonic()
        try:
            status, response_headers, content = _request(
                port, method, path, body, {**auth, **(headers or {})}
            )
        except OSError:
            with figures.lock:
                figures.connection_errors.append(started)
            time.sleep(0.2)
            return None, {}, b""
        with figures.lock:
            figures.latencies.append(time.monotonic() - started)
            figures.statuses[status] = figures.statuses.get(status, 0) + 1
        return status, response_headers, content

    while time.monotonic() < deadline:
        roll = rng.random()
        if roll < 0.5 or (roll < 0.7 and not mine):
            path = rng.choice(
                [
                    "/api/v1/transfers/?page_size=20&recipient=UA",
                    "/api/v1/estimates/?holder=UA",
                    f"/api/v1/transfers/{rng.choice(mine)}/" if mine else "/api/v1/systems/",
                ]
            )
            call("GET", path)
        elif roll < 0.8 or not mine:
            sent += 1
            quantity = str(rng.randint(1, 50))
            status, _, content = call(
                "POST",
                "/api/v1/transfers/",
                {
                    "system": system_id,
                    "donor": "US",
                    "recipient": "UA",
                    "quantity_text": quantity,
                    "date": f"2025-{rng.randint(1, 12):02d}-01",
                    "date_precision": "month",
                    "notes": f"{MARK} {number}-{sent}",
                    "citations": [{"source_id": source_id, "excerpt": f"load {number}-{sent}"}],
                },
            )
            if status == 201:
                record = json.loads(content)["id"]
                mine.append(record)
                with figures.lock:
                    figures.created[record] = quantity
            else:
                with figures.lock:
                    figures.maybe_created += 1
        else:
            record = rng.choice(mine)
            status, headers, _ = call("GET", f"/api/v1/transfers/{record}/")
            if status != 200:
                continue
            quantity = str(rng.randint(51, 99))
            status, _, _ = call(
                "PATCH",
                f"/api/v1/transfers/{record}/",
                {"quantity_text": quantity},
                {"If-Match": headers.get("ETag", "")},
            )
            with figures.lock:
                figures.changes.setdefault(record, []).append((quantity, status == 200))


def _stored_quantity_is_acknowledged(stored: str, created: str, changes) -> bool:
    """The stored value is the last acknowledged one, or one sent after it (unanswered)."""
    last = max((i for i, (_, acked) in enumerate(changes) if acked), default=None)
    allowed = {created} if last is None else {changes[last][0]}
    allowed |= {value for value, _ in changes[(last + 1) if last is not None else 0 :]}
    return stored in allowed


@pytest.fixture
def services(tmp_path, committed_db):
    from config.celery import app
    from core.enqueue import breaker_reset

    running = Services(tmp_path, app.conf.task_default_queue)
    saved = app.conf.broker_write_url
    try:
        running.broker_start()
        running.worker_start()
        running.web_start()
        app.conf.broker_write_url = running.broker_url  # the sweep below goes to our worker
        app.amqp._producer_pool = None
        breaker_reset()
        yield running
    finally:
        running.stop()
        app.conf.broker_write_url = saved
        app.amqp._producer_pool = None
        breaker_reset()
        for log in ("web", "worker", "redis"):
            path = tmp_path / f"{log}.log"
            if path.exists():
                tail = path.read_text(errors="replace").splitlines()[-15:]
                print(f"--- {log} (last lines)\n" + "\n".join(tail))


def test_no_acknowledged_write_is_lost_through_kills_and_restarts(services, capsys):
    from core.api.tokens import api_token_create
    from stock.ledger import ledger_rebuild
    from stock.models import LedgerEntry, StaleEstimate, StockEstimate
    from stock.refresh import estimates_refresh_all
    from stock.tasks import estimates_sweep
    from transfers.models import Transfer

    editor = UserFactory(username="load", role="editor")
    _, token = api_token_create(user=editor)
    system = WeaponSystemFactory(name="Load system")
    source = SourceFactory(url="https://news.example.org/load", title="Load")
    figures = Figures()

    for path in ("/api/v1/transfers/", "/api/v1/estimates/", "/api/v1/systems/") * 3:
        _request(services.web_port, "GET", path, headers={"Authorization": f"Token {token}"})
    started = time.monotonic()  # the web workers are warm
    deadline = started + LOAD_SECONDS
    clients = [
        threading.Thread(
            target=_client,
            args=(n, services.web_port, token, system.pk, source.pk, deadline, figures),
        )
        for n in range(CLIENTS)
    ]
    for thread in clients:
        thread.start()
    events: list[tuple[str, float, float]] = []

    def at(fraction: float) -> None:
        time.sleep(max(0.0, started + LOAD_SECONDS * fraction - time.monotonic()))

    at(0.15)
    begin = time.monotonic()
    services.kill(services.worker)  # in the middle of whatever it was doing
    time.sleep(2)
    services.worker_start()
    events.append(("worker killed and restarted", begin, time.monotonic()))
    at(0.35)
    begin = time.monotonic()
    services.kill(services.broker)  # and what it held is gone
    time.sleep(3)
    services.broker_start()
    events.append(("broker killed and restarted (empty)", begin, time.monotonic()))
    at(0.55)
    begin = time.monotonic()
    services.web_worker_kill()
    web_kill = (begin, time.monotonic())
    events.append(("a web worker killed", *web_kill))
    at(0.75)
    begin = time.monotonic()
    services.web_restart()
    web_restart = (begin, time.monotonic())
    events.append(("web restarted (every worker)", *web_restart))
    for thread in clients:
        thread.join(timeout=LOAD_SECONDS + 60)
    elapsed = time.monotonic() - started

    # -- what the clients saw
    answered = len(figures.latencies)
    server_errors = {s: n for s, n in figures.statuses.items() if s >= 500}
    # requests the killed or restarted web workers held may fail; nothing before them may
    # (the worker and the broker going away must not reach the web's clients)
    stray = [
        round(t - started, 1)
        for t in figures.connection_errors
        if not web_kill[0] - 60 <= t <= web_restart[1] + 1
    ]
    latencies = sorted(figures.latencies)
    with capsys.disabled():
        print(
            f"\nreliability: {answered} requests answered in {elapsed:.1f} s "
            f"({answered / elapsed:.1f} requests/s, {CLIENTS} clients), "
            f"p50 {statistics.median(latencies) * 1000:.0f} ms, "
            f"p95 {latencies[int(len(latencies) * 0.95)] * 1000:.0f} ms; "
            f"statuses {dict(sorted(figures.statuses.items()))}; "
            f"{len(figures.connection_errors)} connection errors (web kill and restart); "
            f"{len(figures.created)} acknowledged creates, {figures.maybe_created} unanswered, "
            f"{sum(acked for c in figures.changes.values() for _, acked in c)} "
            f"acknowledged changes"
        )
        for name, begin, end in events:
            print(f"  {name}: at {begin - started:.1f} s, {end - begin:.1f} s")
    assert not server_errors, server_errors
    assert not stray, f"connection errors (at s) outside the web worker kill and restart: {stray}"
    assert len(figures.created) >= 5 and any(a for c in figures.changes.values() for _, a in c)

    # -- nothing acknowledged is lost
    stored = {
        t.pk: t
        for t in Transfer.objects.filter(notes__startswith=MARK).prefetch_related("citations")
    }
    assert set(figures.created) <= set(stored)
    assert len(stored) <= len(figures.created) + figures.maybe_created
    for record, quantity in figures.created.items():
        changes = figures.changes.get(record, [])
        assert _stored_quantity_is_acknowledged(stored[record].quantity_text, quantity, changes), (
            record,
            stored[record].quantity_text,
            quantity,
            changes,
        )

    # -- nothing half-written: citation, ledger rows and history with every record
    ledger = {}
    for row in LedgerEntry.objects.filter(
        origin_model="transfers.transfer", origin_id__in=stored, is_cancelled=False
    ):
        ledger.setdefault(row.origin_id, []).append(row)
    history = set(
        Transfer.history.filter(id__in=stored, history_type="+").values_list("id", flat=True)
    )
    for pk, record in stored.items():
        assert len(record.citations.all()) == 1, pk
        rows = ledger.get(pk, [])
        assert sorted(r.kind for r in rows) == ["received", "sent"], pk
        assert {(r.quantity_low, r.quantity_high) for r in rows} == {
            (record.quantity_low, record.quantity_high)
        }, pk
        assert pk in history, pk

    # -- the estimates converge: the sweeper (as beat sends it) runs on the worker
    estimates_sweep.apply_async(kwargs={"older_than_seconds": 0})
    wait_until = time.monotonic() + 60
    while StaleEstimate.objects.exists() and time.monotonic() < wait_until:
        time.sleep(0.5)
    assert not StaleEstimate.objects.exists(), "the worker did not refresh the stale pairs"

    def snapshot():
        return {
            (e.holder_id, e.system_id, e.scope): (
                e.on_hand_low,
                e.on_hand_high,
                e.record_count,
                e.best_grade,
            )
            for e in StockEstimate.objects.all()
        }

    converged = snapshot()
    assert converged
    services.stop()  # nothing else writes now
    rebuilt = ledger_rebuild()
    assert rebuilt["stale_pairs"] == 0, rebuilt  # the ledger was already what records say
    estimates_refresh_all()
    assert snapshot() == converged
