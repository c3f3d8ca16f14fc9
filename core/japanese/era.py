"""Japanese era dates (和暦) from 明治 to 令和, in both directions.

Conventions (read these before relying on dates before 1873):

* 明治 starts on 1868-10-23 (the day of 明治改元, 慶応4年9月8日) and 明治元年 is 1868.
  Earlier dates raise :class:`JapaneseDateError`. Japan used the lunisolar calendar until
  明治5年12月2日, so for 1868-1872 this module pairs the Gregorian month and day with the
  明治 year number (proleptic, as municipal systems do); it does not reproduce the lunisolar
  dates written in documents of that time.
* Era boundaries follow the 元号 changes: 大正 and 昭和 began on the day the previous era's
  last day would have been (1912-07-30 and 1926-12-25), whereas 平成 (元号法, 1979) and 令和
  began on the day after the previous era's last day.
* Converting a date to an era always gives the new era on its first day (1912-07-30 is
  大正元年7月30日). When parsing, the previous era is still accepted for that one day
  (明治45年7月30日, 大正15年12月25日), because old registers record them that way.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Literal

__all__ = [
    "ERAS",
    "HEISEI",
    "MEIJI",
    "REIWA",
    "SHOWA",
    "TAISHO",
    "Era",
    "JapaneseDate",
    "JapaneseDateError",
    "fiscal_year_label",
    "from_japanese",
    "get_era",
    "parse",
    "to_japanese",
]


class JapaneseDateError(ValueError):
    """A Japanese era date that does not exist or cannot be read; the message is Japanese."""


@dataclass(frozen=True, slots=True)
class Era:
    """One Japanese era (元号) with its Gregorian range."""

    name: str
    short: str
    # Era code used by the standard specifications' 和暦 fields: 明治=1 … 令和=5.
    code: int
    start: date
    end: date | None
    last_day_accepted_when_parsing: date | None

    @property
    def abbreviation(self) -> str:
        """Single-kanji abbreviation used on printed forms (e.g. 昭 for 昭和)."""
        return self.name[0]

    def contains(self, d: date) -> bool:
        """Whether ``d`` belongs to this era when converting a Gregorian date to 和暦."""
        return self.start <= d and (self.end is None or d <= self.end)

    def accepts_when_parsing(self, d: date) -> bool:
        """Whether ``d`` may be written in this era (allows the overlap day of 大正/昭和 改元)."""
        last = self.last_day_accepted_when_parsing
        return self.start <= d and (last is None or d <= last)


MEIJI = Era("明治", "M", 1, date(1868, 10, 23), date(1912, 7, 29), date(1912, 7, 30))
TAISHO = Era("大正", "T", 2, date(1912, 7, 30), date(1926, 12, 24), date(1926, 12, 25))
# 昭和 ended on 1月7日 and 平成 started the next day (元号を改める政令, 昭和64年政令第1号),
# so no overlap day is accepted for 昭和 or 平成.
SHOWA = Era("昭和", "S", 3, date(1926, 12, 25), date(1989, 1, 7), date(1989, 1, 7))
HEISEI = Era("平成", "H", 4, date(1989, 1, 8), date(2019, 4, 30), date(2019, 4, 30))
REIWA = Era("令和", "R", 5, date(2019, 5, 1), None, None)

ERAS: tuple[Era, ...] = (MEIJI, TAISHO, SHOWA, HEISEI, REIWA)

_ERA_KEYS: dict[str, Era] = {
    key: era for era in ERAS for key in (era.name, era.abbreviation, era.short, era.short.lower())
}


def get_era(key: str | int | Era) -> Era:
    """Look up an era by name (令和), abbreviation (令), letter (R/r) or era code (1–5)."""
    if isinstance(key, Era):
        return key
    if isinstance(key, int) and not isinstance(key, bool):
        for era in ERAS:
            if era.code == key:
                return era
        raise JapaneseDateError(f"元号コード「{key}」は存在しません。")
    if isinstance(key, str):
        # NFKC folds full-width letters and the 元号 ligatures (㋿, ㍻, ...) to plain text.
        era_or_none = _ERA_KEYS.get(unicodedata.normalize("NFKC", key).strip())
        if era_or_none is not None:
            return era_or_none
    raise JapaneseDateError(f"「{key}」は元号として認識できません。")


def _year_label(year: int, *, gannen: bool) -> str:
    return "元" if year == 1 and gannen else str(year)


def _kanji_label(era: Era, year: int, month: int, day: int, *, gannen: bool = True) -> str:
    return f"{era.name}{_year_label(year, gannen=gannen)}年{month}月{day}日"


@dataclass(frozen=True, slots=True)
class JapaneseDate:
    """A date expressed as era, era year, month and day (和暦)."""

    era: Era
    year: int
    month: int
    day: int

    def format(self, style: Literal["kanji", "short"] = "kanji", *, gannen: bool = True) -> str:
        """Render as "令和7年4月1日" (kanji, 元年 for year 1 unless gannen=False) or "R07.04.01"."""
        if style == "kanji":
            return _kanji_label(self.era, self.year, self.month, self.day, gannen=gannen)
        if style == "short":
            return f"{self.era.short}{self.year:02d}.{self.month:02d}.{self.day:02d}"
        raise ValueError(f"和暦の表示形式「{style}」には対応していません。")

    def to_date(self) -> date:
        """The Gregorian date of this 和暦 date (validated like :func:`from_japanese`)."""
        return from_japanese(self.era, self.year, self.month, self.day)

    def __str__(self) -> str:
        return self.format()


def to_japanese(d: date) -> JapaneseDate:
    """Convert a Gregorian date to 和暦 per 元号法; the new era wins on a change-over day."""
    # A datetime is a date subclass; drop the time so comparisons with era bounds work.
    day = date(d.year, d.month, d.day)
    for era in reversed(ERAS):
        if era.contains(day):
            return JapaneseDate(era, day.year - era.start.year + 1, day.month, day.day)
    raise JapaneseDateError(
        f"{MEIJI.start.year}年{MEIJI.start.month}月{MEIJI.start.day}日より前の日付は"
        "和暦に変換できません。"
    )


def from_japanese(era: str | Era, year: int, month: int, day: int) -> date:
    """Convert a 和暦 date to a Gregorian date, rejecting days outside the era (元号法)."""
    resolved = get_era(era)
    label = _kanji_label(resolved, year, month, day)
    if year < 1:
        raise JapaneseDateError(f"{label}は存在しない日付です。")
    try:
        result = date(resolved.start.year + year - 1, month, day)
    except (ValueError, OverflowError):
        raise JapaneseDateError(f"{label}は存在しない日付です。") from None
    if not resolved.accepts_when_parsing(result):
        raise JapaneseDateError(f"{label}は存在しない日付です。")
    return result


_ERA_ALTERNATION = "|".join(
    re.escape(key) for key in sorted(_ERA_KEYS, key=len, reverse=True) if not key.isascii()
)
_KANJI_RE = re.compile(
    rf"(?P<era>{_ERA_ALTERNATION})\s*(?P<year>元|\d{{1,2}})\s*年"
    r"\s*(?P<month>\d{1,2})\s*月\s*(?P<day>\d{1,2})\s*日"
)
_SHORT_RE = re.compile(
    rf"(?P<era>[MTSHRmtshr]|{_ERA_ALTERNATION})\s*(?P<year>元|\d{{1,2}})"
    r"(?P<sep>[./-])(?P<month>\d{1,2})(?P=sep)(?P<day>\d{1,2})"
)


def parse(text: str) -> date:
    """Parse 和暦 text: "令和7年4月1日", "令和元年5月1日", "R07.04.01", "H31.4.30", "昭64.1.7"."""
    # NFKC turns full-width digits/letters and ㋿/㍻-style ligatures into plain text.
    normalized = unicodedata.normalize("NFKC", text).strip()
    match = _KANJI_RE.fullmatch(normalized) or _SHORT_RE.fullmatch(normalized)
    if match is None:
        raise JapaneseDateError(f"「{text}」は和暦の日付として解釈できません。")
    raw_year = match["year"]
    year = 1 if raw_year == "元" else int(raw_year)
    return from_japanese(match["era"], year, int(match["month"]), int(match["day"]))


def fiscal_year_label(fy: int, *, gannen: bool = True) -> str:
    """Label a fiscal year (会計年度, 地方自治法第208条: April–March) such as 2025 → "令和7年度"."""
    # The label follows the era in force at the end of the calendar year the fiscal year starts
    # in, which gives 令和元年度 for FY2019 and 平成元年度 for FY1989 as government usage does.
    try:
        jd = to_japanese(date(fy, 12, 31))
    except ValueError:
        # Also covers years outside datetime's range (ValueError from date()).
        raise JapaneseDateError(f"{fy}年度は和暦の年度に変換できません。") from None
    return f"{jd.era.name}{_year_label(jd.year, gannen=gannen)}年度"
