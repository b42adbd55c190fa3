"""bin/run as a person starts it: quiet, no reinstall when nothing changed, the login printed
on the first start, and a clean Ctrl-C (no ERROR lines, nothing killed)."""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(url: str, process: subprocess.Popen, deadline: float) -> None:
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"bin/run exited early with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"{url} did not answer in time")


def test_run_starts_quietly_prints_the_login_once_and_stops_cleanly_on_ctrl_c(tmp_path):
    port = _free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DATABASE_URL", "CELERY_", "SITE_URL", "DJANGO_"))
    }
    env.update(STOCKPILE_VAR_DIR=str(tmp_path / "var"), PORT=str(port))
    process = subprocess.Popen(
        [str(ROOT / "bin/run")],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's foreground job
    )
    try:
        _wait_for(f"http://127.0.0.1:{port}/admin/login/", process, time.monotonic() + 240)
        time.sleep(3)  # let the worker and beat finish starting
        os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in a terminal sends
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()

    lines = output.splitlines()
    password = (tmp_path / "var/admin-password.txt").read_text().strip()
    assert f"Admin login: admin / {password}" in lines
    assert f"Stockpile: http://127.0.0.1:{port}/admin/  (API: /api/v1/, docs: /api/docs/)" in lines
    assert not [line for line in lines if "ERROR" in line or "Traceback" in line], output
    assert "setuptools" not in output.lower()
    assert "SIGKILL" not in output, "a process had to be killed"
    assert "worker.1 stopped" in output and "web.1 stopped" in output
    # The install ran at most now, and not again next time: the stamp holds pyproject's hash.
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    stamps = [ROOT / ".venv/.stockpile-installed", ROOT / ".venv/.stockpile-installed-test"]
    assert digest in {p.read_text().strip() for p in stamps if p.exists()}
