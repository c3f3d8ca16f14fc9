"""The ``jichitai`` command on a fresh SQLite database, and ``jichitai serve`` really serving."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from core.settings import get_settings
from jichitai.cli import app
from tests.helpers import cli_environment

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    values = cli_environment(tmp_path, monkeypatch)
    yield values
    get_settings.cache_clear()


def test_demo_then_tenant_commands(env: dict[str, str], tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo"])
    assert result.exit_code == 0, result.output
    assert "imizu.clerk" in result.output
    assert "demo-password-2026" in result.output
    # The demo generated a master key ring of its own, readable by the owner only.
    ring = tmp_path / "var" / "master-keys.json"
    assert ring.exists()
    assert oct(ring.stat().st_mode & 0o777) == "0o600"

    listed = runner.invoke(app, ["tenant", "list"])
    assert listed.exit_code == 0
    for name in (
        "射水市",
        "滑川市",
        "入善町",
        "上市町",
        "朝日町",
        "舟橋村",
        "黒部市",
        "魚津市",
        "立山町",
    ):
        assert name in listed.output

    suspended = runner.invoke(app, ["tenant", "suspend", "163210"])
    assert suspended.exit_code == 0
    assert "停止中" in runner.invoke(app, ["tenant", "list"]).output

    again = runner.invoke(app, ["demo"])  # idempotent: nothing duplicated
    assert again.exit_code == 0

    verified = runner.invoke(app, ["audit", "verify"])
    assert verified.exit_code == 0, verified.output
    assert verified.output.count("正常") == 9


def test_tenant_create_refuses_a_wrong_check_digit(env: dict[str, str]) -> None:
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    result = runner.invoke(
        app, ["tenant", "create", "162117", "誤り市", "--prefecture", "富山県", "--kind", "市"]
    )
    assert result.exit_code == 1
    assert "検査数字" in result.output
    assert "誤り市" not in runner.invoke(app, ["tenant", "list"]).output
    ok = runner.invoke(
        app, ["tenant", "create", "162019", "富山市", "--prefecture", "富山県", "--kind", "市"]
    )
    assert ok.exit_code == 0, ok.output
    staff = runner.invoke(
        app,
        [
            "staff",
            "create",
            "162019",
            "toyama.admin",
            "--display-name",
            "管理 太郎",
            "--role",
            "tenant_admin",
            "--password",
            "long-password-123",
        ],
    )
    assert staff.exit_code == 0, staff.output
    assert "toyama.admin" in staff.output


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_answers_pages(env: dict[str, str]) -> None:
    assert runner.invoke(app, ["demo"]).exit_code == 0
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "jichitai.cli", "serve", "--port", str(port)],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    assert r.status == 200
                    break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.2)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=5) as r:
            page = r.read().decode()
        assert "ログイン" in page
        assert 'name="csrf_token"' in page
    finally:
        proc.terminate()
        proc.wait(timeout=10)
