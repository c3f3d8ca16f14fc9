"""COPY text (core.copytext) read back by PostgreSQL's own COPY, values with every escape."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from sqlalchemy import text

from core import copytext as ct


def test_values_are_escaped_as_the_text_format_says() -> None:
    assert ct.text("a\tb\nc\rd\\e") == "a\\tb\\nc\\rd\\\\e"
    assert ct.text(None) == ct.date(None) == ct.bytea(None) == "\\N"
    assert (ct.boolean(True), ct.boolean(False)) == ("t", "f")
    assert ct.json_value({"k": 'say "hi"'}) == '{"k": "say \\\\"hi\\\\""}'
    assert ct.bytea(b"\x00\xff") == "\\\\x00ff"
    assert ct.line(["1", ct.NULL]) == "1\t\\N\n"


def test_postgresql_reads_back_what_was_written(database: Any) -> None:
    if not database.is_pg:
        pytest.skip("COPY is PostgreSQL's")
    tricky = 'tab\there, newline\nthere, CR\r, backslash \\ and "quotes" 髙\U000e0100'
    document = {"name": tricky, "n": [1, 2], "none": None}
    row = [
        ct.text(tricky),
        ct.text(None),
        ct.boolean(True),
        ct.date(dt.date(2026, 4, 1)),
        ct.json_value(document),
        ct.json_text(json.dumps(document, separators=(",", ":"))),
        ct.bytea(b"\x00\\\n\xff"),
    ]
    with database.owner_engine.connect() as conn:
        conn.execute(
            text(
                "CREATE TEMP TABLE copied (t text, missing text, b boolean, d date, j json,"
                " k jsonb, raw bytea)"
            )
        )
        dbapi = conn.connection.dbapi_connection
        assert dbapi is not None
        with dbapi.cursor() as cur, cur.copy("COPY copied FROM STDIN") as copy:
            copy.write(ct.line(row) + ct.line(row))
        rows = conn.execute(text("SELECT * FROM copied")).all()
        conn.rollback()
    assert len(rows) == 2
    t, missing, b, d, j, k, raw = rows[0]
    assert (t, missing, b, d) == (tricky, None, True, dt.date(2026, 4, 1))
    assert j == k == document
    assert bytes(raw) == b"\x00\\\n\xff"
