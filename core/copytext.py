"""PostgreSQL's COPY text format, written in plain Python.

The bulk paths format their rows where the work is done (the register generator's loop, an NHI
assessment's worker processes) and send the text as it is: psycopg's ``write_row`` would run a
Python dumper per UUID on the one thread that talks to the database. Rows are tab-separated
lines, ``\\N`` is NULL, and a backslash, newline, carriage return or tab inside a value is
escaped (PostgreSQL documentation, COPY, "Text Format"). Nothing here imports the database
layer, so a worker process loads it in no time.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from typing import Any, Final

NULL: Final = "\\N"
TRUE: Final = "t"
FALSE: Final = "f"

_ESCAPES: Final = str.maketrans({"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"})


def text(value: str | None) -> str:
    """A text value with COPY's escapes."""
    return NULL if value is None else value.translate(_ESCAPES)


def boolean(value: bool) -> str:
    return TRUE if value else FALSE


def json_value(value: Any) -> str:
    """A JSON value as SQLAlchemy's JSON type serialises it (ASCII escapes). ``json.dumps``
    writes no raw control character, so only its backslashes need COPY's escape."""
    return json.dumps(value).replace("\\", "\\\\")


def json_text(value: str) -> str:
    """JSON already serialised (e.g. hashed first), with COPY's escape of its backslashes."""
    return value.replace("\\", "\\\\")


def date(value: dt.date | None) -> str:
    return NULL if value is None else value.isoformat()


def bytea(value: bytes | None) -> str:
    # bytea's hex input (\x…), its backslash doubled for COPY's text format.
    return NULL if value is None else "\\\\x" + value.hex()


def line(values: Iterable[str]) -> str:
    """One row from its values, each already formatted by the functions above."""
    return "\t".join(values) + "\n"
