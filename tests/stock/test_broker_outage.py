"""Outages do not stall the web (issue 14, part 6): with a broker of our own stopped (hung,
then gone), API writes still answer within a second, each commit enqueues once, and the
sweeper brings the estimates to what a full recompute gives."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time

import pytest
import redis

from stock.models import StaleEstimate, StockEstimate
from tests.factories import UserFactory, WeaponSystemFactory

pytestmark = pytest.mark.django_db(transaction=True)

WRITE_BUDGET = 1.0  # seconds, the bound for one write with the broker down
ENQUEUE_BOUND = 0.75  # seconds, the most one enqueue may add (the broker's socket timeout)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def own_broker(tmp_path):
    """A redis-server on a free loopback port, the Celery app's producer pointed at it."""
    from config.celery import app
    from core.enqueue import breaker_reset

    port = _free_port()
    server = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=1)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                server.kill()
                raise
            time.sleep(0.05)
    saved = app.conf.broker_write_url
    app.conf.broker_write_url = f"redis://127.0.0.1:{port}/0"
    app.amqp._producer_pool = None
    breaker_reset()
    try:
        yield server, client
    finally:
        if server.poll() is None:
            os.kill(server.pid, signal.SIGCONT)
            server.kill()
            server.wait()
        app.conf.broker_write_url = saved
        app.amqp._producer_pool = None
        breaker_reset()


@pytest.fixture
def editor_api(transactional_db):
    from django.contrib.auth.models import Group, Permission
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    from inventory.services import parties_load
    from transfers.roles import roles_sync

    parties_load()
    roles_sync(Group, Permission)
    user = UserFactory(username="desk", role="editor")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def _write(client, system, n, citations=0):
    """One record (with citations: several ledger postings, one commit); its latency."""
    started = time.monotonic()
    response = client.post(
        "/api/v1/transfers/",
        {
            "system": system.pk,
            "donor": "US",
            "recipient": "PL",
            "quantity_text": str(10 + n),
            "citations": [
                {"source": {"url": f"https://example.org/{n}/{c}", "title": f"S{c}"}}
                for c in range(citations)
            ],
        },
        format="json",
    )
    elapsed = time.monotonic() - started
    assert response.status_code == 201, response.content
    return elapsed


@pytest.fixture
def enqueue_times(monkeypatch):
    """How long each after-commit enqueue took (what an outage adds to a write)."""
    from stock import ledger

    times: list[float] = []
    original = ledger.enqueue_refresh

    def timed(pairs):
        started = time.monotonic()
        try:
            return original(pairs)
        finally:
            times.append(time.monotonic() - started)

    monkeypatch.setattr(ledger, "enqueue_refresh", timed)
    return times


def _queued(client) -> int:
    from config.celery import app

    return client.llen(app.conf.task_default_queue)


def _estimates() -> dict:
    return {
        (e.holder_id, e.system_id, e.scope): (e.on_hand_low, e.on_hand_high, e.record_count)
        for e in StockEstimate.objects.all()
    }


def test_writes_stay_fast_with_the_broker_hung_or_gone_and_the_sweeper_converges(
    own_broker, editor_api, enqueue_times
):
    from stock.refresh import estimates_refresh_all
    from stock.tasks import estimates_sweep

    server, broker = own_broker
    system = WeaponSystemFactory()

    # Broker up: a write with two citations enqueues exactly one refresh.
    up = _write(editor_api, system, 0, citations=2)
    assert _queued(broker) == 1 and len(enqueue_times) == 1

    # Broker hung (accepts connections, never answers): bounded by the socket timeout.
    os.kill(server.pid, signal.SIGSTOP)
    hung = [_write(editor_api, system, n) for n in range(1, 4)]
    os.kill(server.pid, signal.SIGCONT)

    # Broker gone.
    server.terminate()
    server.wait()
    gone = [_write(editor_api, system, n) for n in range(4, 10)]

    print(f"write latency, broker hung: {[round(t, 3) for t in hung]} s")
    print(f"write latency, broker gone: {[round(t, 3) for t in gone]} s")
    print(f"enqueue time per commit: {[round(t, 3) for t in enqueue_times]} s")
    # Under a second on a quiet machine; on a loaded one (a shared CI box, a parallel suite)
    # no slower than a write with the broker up plus the enqueue bound asserted below.
    assert max(hung + gone) < max(WRITE_BUDGET, up + ENQUEUE_BOUND)
    # What the outage adds: at most the connect/socket timeout once, then nothing (breaker).
    assert len(enqueue_times) == 10
    assert max(enqueue_times) < ENQUEUE_BOUND and max(enqueue_times[2:]) < 0.05

    # Nothing lost: the pairs are marked stale; the sweeper (beat, every minute) refreshes.
    assert StaleEstimate.objects.exists()
    estimates_sweep(older_than_seconds=0)
    assert not StaleEstimate.objects.exists()
    swept = _estimates()
    assert swept[(_pl(), system.pk, "system")][0] == sum(10 + n for n in range(10))
    estimates_refresh_all()
    assert _estimates() == swept


def _pl() -> int:
    from inventory.models import Country

    return Country.objects.get(code="PL").pk
