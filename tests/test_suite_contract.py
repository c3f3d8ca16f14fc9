"""The suite's own contract: under CI=true an unreachable PostgreSQL fails, never skips."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _run(ci: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "CI": ci,
        # Port 9 (discard) on loopback: nothing listens there.
        "JICHITAI_TEST_PG_ADMIN_URL": "postgresql+psycopg://postgres@127.0.0.1:9/postgres",
    }
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/jichitai/test_app.py::test_healthz_reports_the_database",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_unreachable_postgres_fails_under_ci() -> None:
    result = _run("true")
    assert result.returncode != 0
    assert "PostgreSQL is required under CI=true" in result.stdout
    assert "1 passed" in result.stdout  # the SQLite half still ran


def test_unreachable_postgres_skips_elsewhere() -> None:
    result = _run("false")
    assert result.returncode == 0, result.stdout
    assert "1 skipped" in result.stdout
