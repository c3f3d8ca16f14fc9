"""The daily age job: NHI ends on the 75th birthday (後期高齢者医療), idempotently; and its CLI."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from core.scoping import TenantContext, TenantId, tenant_scope
from core.settings import get_settings
from core.uow import UnitOfWork
from jichitai.cli import app as cli
from nhi.jobs import apply_age_changes
from nhi.qualification_rules import late_elderly_from
from tests.helpers import IMIZU, bearer
from tests.nhi.qualification_support import (
    API,
    born_years_ago,
    days,
    move_in,
    only,
    person,
    stored_rows,
)


def _run(state: Any, tenant_id: int, on: dt.date) -> int:
    with (
        UnitOfWork(state.session_factory) as uow,
        tenant_scope(uow.session, TenantContext(TenantId(tenant_id))),
    ):
        changed = apply_age_changes(uow.session, on)
        uow.commit()
    return changed


def _turning_75_in(client: TestClient, state: Any, n_days: int) -> tuple[str, dt.date]:
    birth = born_years_ago(75, plus_days=n_days)
    moved = move_in(client, state, [person("長寿", birth, "世帯主")], on=days(-10))
    return moved["person_ids"][0], late_elderly_from(birth)


def test_nhi_ends_on_the_75th_birthday_and_a_rerun_changes_nothing(
    client: TestClient, state, demo
) -> None:
    pid, birthday = _turning_75_in(client, state, 3)
    assert only(client, state, pid)["status"] == "active"
    # Not yet: the birthday is after the job's date.
    _run(state, demo[IMIZU], birthday - dt.timedelta(days=1))
    assert only(client, state, pid)["lost_on"] is None
    assert _run(state, demo[IMIZU], birthday + dt.timedelta(days=2)) >= 1
    q = only(client, state, pid)
    assert (q["lost_on"], q["loss_reason"], q["loss_reason_label"], q["cause_kind"]) == (
        birthday.isoformat(),
        "age_75",
        "後期高齢者医療へ移行",
        "age",
    )
    rows = stored_rows(state, demo[IMIZU], pid)
    # Re-run on the same date: nothing left to change anywhere in the municipality; on a later
    # date, nothing for this person.
    assert _run(state, demo[IMIZU], birthday + dt.timedelta(days=2)) == 0
    _run(state, demo[IMIZU], birthday + dt.timedelta(days=30))
    assert stored_rows(state, demo[IMIZU], pid) == rows
    assert len(only(client, state, pid)["versions"]) == 2


def test_a_later_loss_is_brought_forward_and_an_earlier_one_stands(
    client: TestClient, state, demo
) -> None:
    clerk = bearer(state, IMIZU, "clerk")
    # A planned move-out after the 75th birthday: the birthday comes first.
    pid, birthday = _turning_75_in(client, state, 2)
    hid = client.get(f"{API}/residents/{pid}", headers=clerk).json()["household_id"]
    version = client.get(f"{API}/households/{hid}", headers=clerk).json()["version"]
    out = client.post(
        f"{API}/residents/move-out",
        json={
            "effective_on": days(20).isoformat(),
            "person_ids": [pid],
            "household": {"household_id": hid, "version": version},
            "destination_address": "石川県金沢市広坂1丁目1番1号",
        },
        headers=clerk,
    )
    assert out.status_code == 201, out.text
    assert only(client, state, pid)["lost_on"] == days(20).isoformat()
    _run(state, demo[IMIZU], birthday)
    q = only(client, state, pid)
    assert (q["lost_on"], q["loss_reason"]) == (birthday.isoformat(), "age_75")

    # A loss before the birthday (joined employee insurance) stands.
    other, other_birthday = _turning_75_in(client, state, 4)
    joined = client.post(
        f"{API}/nhi/persons/{other}/employee-insurance/joined",
        json={"joined_on": days(-1).isoformat()},
        headers=bearer(state, IMIZU, "nhi_officer"),
    )
    assert joined.status_code == 201, joined.text
    _run(state, demo[IMIZU], other_birthday)
    q = only(client, state, other)
    assert (q["lost_on"], q["loss_reason"]) == (days(0).isoformat(), "joined_employee_insurance")


@pytest.fixture
def cli_env(database, settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("JICHITAI_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("JICHITAI_VAR_DIR", str(settings.var_dir))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_cli_age_changes(client: TestClient, state, demo, cli_env) -> None:
    pid, birthday = _turning_75_in(client, state, 1)
    runner = CliRunner()
    result = runner.invoke(
        cli, ["nhi", "age-changes", "--tenant", IMIZU, "--date", birthday.isoformat()]
    )
    assert result.exit_code == 0, result.output
    assert "射水市" in result.output and "資格を喪失しました" in result.output
    assert only(client, state, pid)["lost_on"] == birthday.isoformat()
    again = runner.invoke(
        cli, ["nhi", "age-changes", "--tenant", IMIZU, "--date", birthday.isoformat()]
    )
    assert again.exit_code == 0 and " 0 人" in again.output
    bad = runner.invoke(cli, ["nhi", "age-changes", "--tenant", IMIZU, "--date", "2026/01/01"])
    assert bad.exit_code != 0 and "YYYY-MM-DD" in bad.output
    unknown = runner.invoke(
        cli, ["nhi", "age-changes", "--tenant", "999999", "--date", "2026-01-01"]
    )
    assert unknown.exit_code == 1
