"""A worker's COPY text holds exactly the rows nhi.assessment_worker.build makes in-process."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from nhi import assessment_rules
from nhi import assessment_worker as worker
from nhi.rules.premium import assess
from tests.nhi.premium_support import rates_dict

YEAR = 2026
HEAD, CHILD, HOUSEHOLD = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
FACTS = {
    "reference_date": "2026-04-01",
    "members": [
        {
            "person_id": str(HEAD),
            "head": True,
            "birth_date": "1980-05-05",
            "rules_birth_date": "1980-05-05",
            "income": 0,
            "salary_revenue": 4_200_000,
            "pension_revenue": 0,
            "months": 12,
            "first_month": 0,
            "last_month": 11,
            "former_insured": False,
        },
        {
            "person_id": str(CHILD),
            "head": False,
            "birth_date": "2021-10-01",
            "rules_birth_date": "2021-10-01",
            "income": 0,
            "salary_revenue": 0,
            "pension_revenue": 0,
            "months": 6,
            "first_month": 6,
            "last_month": 11,
            "former_insured": False,
        },
    ],
}


def _copy_value(value: Any) -> str:
    """A value as PostgreSQL's COPY text format spells it (the spec the worker must meet)."""
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, dt.date):  # and datetime
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


@pytest.fixture
def same_ids(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Row ids from a counter, restarted by calling the fixture's value: two builds, same ids."""

    def restart() -> Callable[[], str]:
        counter = itertools.count(1)

        def key() -> str:
            return str(uuid.UUID(int=next(counter)))

        monkeypatch.setattr(worker, "new_id_text", key)
        return key

    restart()
    return restart


@pytest.mark.parametrize(
    "known",
    [None, worker.Known(1, "0" * 64, [10_000, 0, 0, 0, 0, 0, 0, 0])],
    ids=["first", "correction"],
)
def test_the_copy_text_is_the_built_rows_column_by_column(
    same_ids: Any, monkeypatch: pytest.MonkeyPatch, known: worker.Known | None
) -> None:
    monkeypatch.setattr(worker, "_worker_year", None)
    worker.init_worker(YEAR, rates_dict(YEAR))
    text = json.dumps(FACTS, separators=(",", ":"))
    run = worker.RunRows(
        7,
        YEAR,
        uuid.uuid4(),
        dt.datetime(2026, 11, 10, 9, 30, tzinfo=dt.UTC),
        dt.date(2026, 11, 10),
    )
    item = worker.Todo(str(HOUSEHOLD), "ab" * 32, text, known)

    produced = worker.produce(run, [item])
    key = same_ids()
    _y, rates, params, tax = worker._worker_year or (None, None, None, None)
    figures = worker.summary(assess(worker.household_of(YEAR, FACTS), rates, params, tax))  # type: ignore[arg-type]
    built = worker.build(run, item, FACTS, figures, str, key)

    [line] = produced.assessments.splitlines()
    assert line.split("\t") == [_copy_value(v) for v in built.assessment]
    stored = dict(zip(worker.ASSESSMENT_COLUMNS, line.split("\t"), strict=True))
    assert stored["head_person_id"] == str(HEAD) and stored["nominal_head"] == "f"
    assert stored["insured"] == "2" and json.loads(stored["facts"]) == FACTS
    total = int(stored["total"])
    assert total == sum(figures[0].values()) > 0
    if known is None:
        assert (stored["revision"], stored["reason"]) == ("1", "initial")
        assert json.loads(stored["instalments"]) == assessment_rules.instalments(total, YEAR)
    else:
        assert (stored["revision"], stored["reason"]) == ("2", "correction")
        # 更正 in November: July to October were due and keep their amounts.
        assert json.loads(stored["instalments"])[:4] == [10_000, 0, 0, 0]
    assert produced.known == [built.known]
    members = [m.split("\t") for m in produced.members.splitlines()]
    assert members == [[_copy_value(v) for v in m] for m in built.members]
    assert [(m[5], m[6], m[7]) for m in members] == [(str(HEAD), "t", "12"), (str(CHILD), "f", "6")]
