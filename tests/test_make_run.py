"""`make run` on the embedded default answers on its URL, reports healthy, and stops on Ctrl-C."""

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


@pytest.mark.worker
def test_make_run_serves_the_app_with_a_healthy_worker(tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL")}
    env.update(VAR_DIR=str(tmp_path / "var"), SANDBOX_OUTBOX=str(tmp_path / "outbox.jsonl"))
    env.pop("SECRET_KEY", None)
    env.pop("FIELD_ENCRYPTION_KEYS", None)
    process = subprocess.Popen(
        ["make", "run", f"ENV_FILE={tmp_path / '.env'}", f"PORT={port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        health = None
        while time.monotonic() < deadline:
            try:
                status, body = _get(f"{base}/healthz")
                health = json.loads(body)
                if status == 200:
                    break
            except (urllib.error.URLError, ConnectionError, json.JSONDecodeError):
                pass
            assert process.poll() is None, process.stdout.read()
            time.sleep(1)
        assert health == {"status": "ok", "checks": {"database": "ok", "broker": "ok", "beat": "ok"}}
        status, body = _get(f"{base}/accounts/login/")
        assert status == 200
        assert "Sign in" in body
        assert (tmp_path / ".env").exists()
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
        try:
            output, _ = process.communicate(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            output, _ = process.communicate()
            pytest.fail("make run did not stop on Ctrl-C:\n" + output[-3000:])
    assert "alice.rep@example.com" in output
    assert f"http://127.0.0.1:{port}/" in output
    assert "drafts waiting for approval" in output
