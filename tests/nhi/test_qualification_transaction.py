"""Must-show of issue 7: a move-out registered at the counter ends the NHI qualification in the
same transaction — and when that transaction fails, neither change is kept."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from core import audit
from core.uow import UnitOfWork
from nhi.service import Qualifications
from resident_records.events import ResidentMovedOut
from tests.helpers import IMIZU, bearer
from tests.nhi.qualification_support import (
    API,
    born_years_ago,
    days,
    household_ref,
    move_in,
    only,
    person,
    stored_rows,
)


def _household(client: TestClient, state: Any) -> tuple[dict[str, Any], str]:
    moved = move_in(
        client,
        state,
        [
            person("太郎", born_years_ago(48), "世帯主"),
            person("一郎", born_years_ago(19), "子"),
        ],
    )
    return moved, moved["person_ids"][1]


def _move_out(client: TestClient, state: Any, moved: dict[str, Any], pid: str) -> Any:
    """転出届 through the API the counter uses."""
    return client.post(
        f"{API}/residents/move-out",
        json={
            "effective_on": days(-1).isoformat(),
            "person_ids": [pid],
            "household": household_ref(client, state, moved["household_ids"][0]),
            "destination_address": "富山県富山市新桜町7番38号",
        },
        headers=bearer(state, IMIZU, "clerk"),
    )


def _register_state(client: TestClient, state: Any, moved: dict[str, Any], pid: str) -> Any:
    clerk = bearer(state, IMIZU, "clerk")
    record = client.get(f"{API}/residents/{pid}", headers=clerk).json()
    history = client.get(f"{API}/residents/{pid}/history", headers=clerk).json()
    household = client.get(f"{API}/households/{moved['household_ids'][0]}", headers=clerk).json()
    return record["status"], len(history), household["version"], len(household["members"])


def test_move_out_at_the_counter_ends_the_qualification_in_the_same_commit(
    client: TestClient, state, demo
) -> None:
    moved, son = _household(client, state)
    out = _move_out(client, state, moved, son)
    assert out.status_code == 201, out.text
    # The register's removal and the loss are both there, the loss caused by that very event.
    assert _register_state(client, state, moved, son)[0] == "removed"
    q = only(client, state, son)
    assert (q["lost_on"], q["loss_reason"], q["cause_id"]) == (
        days(-1).isoformat(),
        "move_out",
        out.json()["event_id"],
    )


def test_failure_after_the_nhi_handler_keeps_neither_change(
    client: TestClient, state, demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    moved, son = _household(client, state)
    register_before = _register_state(client, state, moved, son)
    nhi_before = stored_rows(state, demo[IMIZU], son)
    seen: dict[str, Any] = {}

    def fail_after_nhi(event: ResidentMovedOut, uow: UnitOfWork) -> None:
        # The NHI handler has run in this transaction: its loss is there to be read …
        svc = Qualifications(uow.session, audit.Actor.system("tests"), uow.publish)
        seen["lost_on"] = [q.lost_on for q in svc.current(uuid.UUID(son))]
        raise RuntimeError("injected failure after the NHI handler")  # … and then the commit fails

    original = state.bus.handlers_for

    def handlers_for(event: Any) -> list[Any]:
        found = original(event)
        return [*found, fail_after_nhi] if isinstance(event, ResidentMovedOut) else found

    monkeypatch.setattr(state.bus, "handlers_for", handlers_for)
    response = _move_out(client, state, moved, son)
    assert response.status_code == 500
    assert response.json()["code"] == "internal_error"
    assert seen["lost_on"] == [days(-1)]
    monkeypatch.undo()

    # Neither the register's move-out nor the NHI loss was kept.
    assert _register_state(client, state, moved, son) == register_before
    assert register_before[0] == "resident"
    assert stored_rows(state, demo[IMIZU], son) == nhi_before
    q = only(client, state, son)
    assert (q["lost_on"], q["status"], len(q["versions"])) == (None, "active", 1)
    # And the same move-out goes through afterwards.
    assert _move_out(client, state, moved, son).status_code == 201
    assert only(client, state, son)["lost_on"] == days(-1).isoformat()


def test_a_failing_nhi_handler_rolls_back_the_move_out(
    client: TestClient, state, demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    moved, son = _household(client, state)
    register_before = _register_state(client, state, moved, son)
    nhi_before = stored_rows(state, demo[IMIZU], son)
    real_end = Qualifications.end

    def end_then_fail(self: Qualifications, *args: Any, **kwargs: Any) -> Any:
        written = real_end(self, *args, **kwargs)
        assert written, "the handler wrote the loss before failing"
        raise RuntimeError("the NHI handler fails")

    monkeypatch.setattr(Qualifications, "end", end_then_fail)
    response = _move_out(client, state, moved, son)
    assert response.status_code == 500
    monkeypatch.undo()

    assert _register_state(client, state, moved, son) == register_before
    assert stored_rows(state, demo[IMIZU], son) == nhi_before
    assert only(client, state, son)["lost_on"] is None


def test_the_rolled_back_move_out_left_no_outbox_row(
    client: TestClient, state, demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy import func, select

    from core.events import OutboxMessage
    from core.scoping import TenantContext, TenantId, set_context

    moved, son = _household(client, state)

    def outbox_rows() -> int:
        session = state.session_factory()
        try:
            set_context(session, TenantContext(TenantId(demo[IMIZU])))
            return int(session.scalar(select(func.count()).select_from(OutboxMessage)) or 0)
        finally:
            session.rollback()
            session.close()

    before = outbox_rows()
    monkeypatch.setattr(
        Qualifications,
        "end",
        lambda *a, **k: (_ for _ in ()).throw(RuntimeError("the NHI handler fails")),
    )
    assert _move_out(client, state, moved, son).status_code == 500
    monkeypatch.undo()
    assert outbox_rows() == before
