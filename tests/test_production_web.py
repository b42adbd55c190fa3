"""Production web (issue 14, part 10): gunicorn as configured binds to loopback and keeps
answering while slow clients dribble their request bodies."""

from __future__ import annotations

import os
import runpy
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "config" / "gunicorn.conf.py"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_configuration_binds_to_loopback_with_threaded_workers_and_timeouts(monkeypatch):
    for name in ("STOCKPILE_BIND", "PORT"):
        monkeypatch.delenv(name, raising=False)
    config = runpy.run_path(str(CONFIG))
    assert config["bind"] == "127.0.0.1:8000"
    assert config["worker_class"] == "gthread" and config["threads"] >= 4
    assert 0 < config["timeout"] <= 60
    assert "0.0.0.0" not in (ROOT / "Procfile").read_text()


def _get(port: int, path: str, timeout: float) -> int:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
        conn.sendall(
            f"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode()
        )
        head = conn.recv(64).decode("latin-1")
    return int(head.split()[1])


def test_slow_request_bodies_do_not_freeze_the_workers(tmp_path):
    port = _free_port()
    env = {
        **os.environ,
        "STOCKPILE_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "1",
        "STOCKPILE_WEB_THREADS": "4",
        "STOCKPILE_VAR_DIR": str(tmp_path),
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi", "--config", str(CONFIG)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    slow = []
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                _get(port, "/admin/login/", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        # Three clients announce a body and send it a byte at a time (as a sync worker per
        # client, they froze all three workers of the default setup).
        for _ in range(3):
            conn = socket.create_connection(("127.0.0.1", port), timeout=5)
            conn.sendall(
                b"POST /admin/login/ HTTP/1.1\r\nHost: localhost\r\n"
                b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\nu"
            )
            slow.append(conn)
        started = time.monotonic()
        statuses = [_get(port, "/admin/login/", timeout=5) for _ in range(3)]
        elapsed = time.monotonic() - started
        print(f"3 requests beside 3 slow clients: {elapsed:.2f} s")
        assert statuses == [200, 200, 200]
        assert server.poll() is None
    finally:
        for conn in slow:
            conn.close()
        server.terminate()
        server.wait(timeout=30)
