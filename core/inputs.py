"""Input types shared by the business areas' API schemas, each with a Japanese message."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator
from pydantic_core import PydanticCustomError

from core.japanese.era import JapaneseDateError
from core.japanese.era import parse as parse_japanese_date

# A ceiling far above any real income keeps arithmetic and JSON sane without rejecting anyone.
MAX_YEN = 100_000_000_000


def object_required(value: Any) -> Any:
    """For ``BeforeValidator`` on a nested model: Pydantic's own "model_type" error has no
    Japanese message in jichitai.errors."""
    if value is None or isinstance(value, dict | BaseModel):
        return value
    raise PydanticCustomError("object_required", "オブジェクトで指定してください。")


def _birth_date(value: Any) -> Any:
    """ISO dates (1985-04-01) and 和暦 (昭和60年4月1日, S60.4.1) are both accepted."""
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
        try:
            return parse_japanese_date(value)
        except JapaneseDateError:
            pass
    raise PydanticCustomError(
        "birth_date_invalid",
        "生年月日は 1985-04-01 または 昭和60年4月1日 の形式で入力してください。",
    )


BirthDate = Annotated[dt.date, BeforeValidator(_birth_date)]
