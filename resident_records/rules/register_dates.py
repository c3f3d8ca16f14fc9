"""Dates the register accepts and prints (標準仕様書 1.1.8 年月日の管理, 1.1.9 年月日の表示).

J:80 allows, for 生年月日, 住民となった年月日, 住所を定めた年月日, 外国人住民となった年月日 and the
異動日 of 出生・死亡・失踪, dates that are not on the calendar (平成3年2月29日) and fourteen
"不詳日" forms, because those dates are copied from the family register (戸籍) as written there.
Every other date field accepts real calendar dates only (``allow_uncertain=False``).

Decisions this module makes (the standard leaves them open):

* ``text`` is what the clerk entered, with only the surrounding whitespace removed. Uncertain and
  non-calendar dates are printed exactly as entered (full-width digits stay full-width), because
  the register must match the 戸籍 letter for letter.
* ``value`` is the representative calendar date kept internally ("内部的には日付を保有しておく
  こと"): the first day of the stated period — 年頃/年 月日不詳 → 1 January, 月頃/推定…月/月 日不詳
  → the 1st, 上旬/中旬/下旬 → the 1st/11th/21st, 春/夏/秋/冬 → 1 March/June/September/December,
  a range → its first day, a non-calendar day → the last day of its month (2月29日 → 2月28日).
  When the stated period begins before its era (令和元年頃), ``value`` is the era's first day
  (2019-05-01), so the value never contradicts the text.
* 年月日不詳 carries no information at all, so its ``value`` is ``None`` rather than a sentinel
  date that would leak into age and deadline arithmetic; ``age_on`` returns ``None`` for it.
* J:90 prints dates in 和暦, except a foreign resident's birth date (and 在留期間の満了の日), which
  print in the Western calendar. When an uncertain or non-calendar date was entered in the other
  calendar, only its year is converted ("1980年頃" → "昭和55年頃", "昭和55年頃" → "1980年頃") and
  the rest of the text is kept; the era of a Western year is the era of ``value``.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import lru_cache
from typing import Final

from core.japanese.era import ERAS, Era, JapaneseDate, JapaneseDateError, get_era, to_japanese

__all__ = [
    "FORMAT_MESSAGE",
    "DateKind",
    "RegisterDate",
    "RegisterDateError",
    "parse_register_date",
]


class RegisterDateError(ValueError):
    """A register date that cannot be accepted; the message is Japanese and safe to show."""


class DateKind(StrEnum):
    """The forms of J:80: a calendar date, a non-calendar date and the fourteen 不詳日."""

    EXACT = "exact"  # 令和7年4月1日, 2025-04-01, 明治45年7月30日
    NON_CALENDAR = "non_calendar"  # 平成3年2月29日 (暦上日以外の年月日)
    ABOUT_YEAR = "about_year"  # 令和○○年頃
    ABOUT_MONTH = "about_month"  # 令和○○年○月頃
    ABOUT_DAY = "about_day"  # 令和○○年○月○日頃
    ESTIMATED_DAY = "estimated_day"  # 推定令和○○年○月○日
    ESTIMATED_MONTH = "estimated_month"  # 推定令和○○年○月
    SEASON = "season"  # 令和○○年春 (夏・秋・冬)
    EARLY_MONTH = "early_month"  # 令和○○年○月上旬 (頃)
    MID_MONTH = "mid_month"  # 令和○○年○月中旬頃 (頃 optional)
    LATE_MONTH = "late_month"  # 令和○○年○月下旬 (頃)
    UNKNOWN = "unknown"  # 年月日不詳
    DAY_UNKNOWN_IN_YEAR = "day_unknown_in_year"  # 令和○○年 月日不詳
    DAY_UNKNOWN_IN_MONTH = "day_unknown_in_month"  # 令和○○年○○月 日不詳
    RANGE_BETWEEN = "range_between"  # 令和○○年○○月○日から○○月○日頃までの間
    RANGE_ESTIMATED_DAYS = "range_estimated_days"  # 令和○○年○○月推定○日から○日までの間
    RANGE_ABOUT = "range_about"  # 令和○○年○○月○日頃から○日頃までの間


_CALENDAR_KINDS: Final = frozenset({DateKind.EXACT, DateKind.NON_CALENDAR})
# Forms naming one day or a span of days: every named day must lie inside the era.
_DAY_KINDS: Final = frozenset(
    {
        DateKind.EXACT,
        DateKind.NON_CALENDAR,
        DateKind.ABOUT_DAY,
        DateKind.ESTIMATED_DAY,
        DateKind.RANGE_BETWEEN,
        DateKind.RANGE_ESTIMATED_DAYS,
        DateKind.RANGE_ABOUT,
    }
)

FORMAT_MESSAGE: Final = (
    "日付の形式が正しくありません。例：令和7年4月1日、2025-04-01、昭和30年頃、推定昭和30年4月、"
    "年月日不詳"
)

# Full-width digits and separators fold to ASCII one character for one, so a match position in
# the folded text is the same position in the entered text (used to swap the year on printing).
_FOLD: Final = str.maketrans("０１２３４５６７８９－／", "0123456789-/")
_TO_FULL_WIDTH: Final = str.maketrans("0123456789", "０１２３４５６７８９")

_ERA_NAMES: Final = "|".join(re.escape(era.name) for era in ERAS)
# The year token (era name + era year, or a four-digit Western year) without its 年.
_YEAR: Final = (
    rf"(?P<year>(?P<era>{_ERA_NAMES})(?P<era_year>元|\d{{1,2}})|(?P<western_year>\d{{4}}))年"
)
_MONTH: Final = r"(?P<month>\d{1,2})月"
_DAY: Final = r"(?P<day>\d{1,2})日"
_END_MONTH: Final = r"(?P<end_month>\d{1,2})月"
_END_DAY: Final = r"(?P<end_day>\d{1,2})日"
# The standard writes the blank of 月日不詳/日不詳 as a space; accept it typed or omitted.
_GAP: Final = r"[ \u3000]*"

_PATTERNS: Final[tuple[tuple[DateKind, re.Pattern[str]], ...]] = tuple(
    (kind, re.compile(pattern))
    for kind, pattern in (
        (DateKind.EXACT, rf"{_YEAR}{_MONTH}{_DAY}"),
        (DateKind.ABOUT_YEAR, rf"{_YEAR}頃"),
        (DateKind.ABOUT_MONTH, rf"{_YEAR}{_MONTH}頃"),
        (DateKind.ABOUT_DAY, rf"{_YEAR}{_MONTH}{_DAY}頃"),
        (DateKind.ESTIMATED_DAY, rf"推定{_YEAR}{_MONTH}{_DAY}"),
        (DateKind.ESTIMATED_MONTH, rf"推定{_YEAR}{_MONTH}"),
        (DateKind.SEASON, rf"{_YEAR}(?P<season>[春夏秋冬])"),
        # 上旬/中旬/下旬 share one pattern; the kind is picked from the matched word.
        (DateKind.EARLY_MONTH, rf"{_YEAR}{_MONTH}(?P<part>上旬|中旬|下旬)頃?"),
        (DateKind.UNKNOWN, r"年月日不詳"),
        (DateKind.DAY_UNKNOWN_IN_YEAR, rf"{_YEAR}{_GAP}月日不詳"),
        (DateKind.DAY_UNKNOWN_IN_MONTH, rf"{_YEAR}{_MONTH}{_GAP}日不詳"),
        (DateKind.RANGE_BETWEEN, rf"{_YEAR}{_MONTH}{_DAY}から{_END_MONTH}{_END_DAY}頃までの間"),
        (DateKind.RANGE_ESTIMATED_DAYS, rf"{_YEAR}{_MONTH}推定{_DAY}から{_END_DAY}までの間"),
        (DateKind.RANGE_ABOUT, rf"{_YEAR}{_MONTH}{_DAY}頃から{_END_DAY}頃までの間"),
    )
)
_ISO: Final = re.compile(
    r"(?P<western_year>\d{4})(?P<sep>[-/])(?P<month>\d{1,2})(?P=sep)(?P<day>\d{1,2})"
)

_PART_OF_MONTH: Final = {
    "上旬": (DateKind.EARLY_MONTH, 1),
    "中旬": (DateKind.MID_MONTH, 11),
    "下旬": (DateKind.LATE_MONTH, 21),
}
# (first month, last month) of each season as the register reads them.
_SEASONS: Final = {"春": (3, 5), "夏": (6, 8), "秋": (9, 11), "冬": (12, 12)}

# Longer than any form of J:80; longer input is never echoed back in a message.
_MAX_ECHO: Final = 40


def _quote(text: str) -> str:
    return f"「{text}」" if len(text) <= _MAX_ECHO else "入力された日付"


def _last_day(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def _clamped(year: int, month: int, day: int) -> date:
    # J:80 keeps a real date internally even for 2月30日; the month's last day is closest.
    return date(year, month, min(day, _last_day(year, month)))


def _era_year_label(year: int) -> str:
    return "元" if year == 1 else str(year)


def _era_span(era: Era) -> str:
    first = JapaneseDate(era, 1, era.start.month, era.start.day).format()
    last = era.last_day_accepted_when_parsing
    if last is None:
        return f"{era.name}は{first}からです。"
    end = JapaneseDate(era, last.year - era.start.year + 1, last.month, last.day).format()
    return f"{era.name}は{first}から{end}までです。"


@dataclass(frozen=True, slots=True)
class _Analysis:
    """Everything read from one entered text; cached, and the source of truth for a date."""

    kind: DateKind
    western: bool
    value: date | None
    era: Era | None
    era_year: int | None
    month: int | None
    day: int | None
    # Where the year token (令和7 / 1980) sits in the entered text, for printing in the
    # other calendar; None for ISO input and 年月日不詳.
    year_span: tuple[int, int] | None
    full_width_year: bool


def _number(match: re.Match[str], group: str) -> int | None:
    raw = match.groupdict().get(group)
    return None if raw is None else int(raw)


@lru_cache(maxsize=4096)
def _analyse(text: str) -> _Analysis:
    if not text:
        raise RegisterDateError("日付を入力してください。")
    if len(text) > _MAX_ECHO:
        raise RegisterDateError(FORMAT_MESSAGE)
    folded = text.translate(_FOLD)
    iso = _ISO.fullmatch(folded)
    if iso is not None:
        return _interpret(text, DateKind.EXACT, iso, is_iso=True)
    for kind, pattern in _PATTERNS:
        match = pattern.fullmatch(folded)
        if match is not None:
            return _interpret(text, kind, match, is_iso=False)
    raise RegisterDateError(FORMAT_MESSAGE)


def _interpret(text: str, kind: DateKind, match: re.Match[str], *, is_iso: bool) -> _Analysis:
    q = _quote(text)
    if kind is DateKind.UNKNOWN:
        return _Analysis(kind, False, None, None, None, None, None, None, False)

    era: Era | None = None
    era_year: int | None = None
    era_name = match.groupdict().get("era")
    if era_name is not None:
        era = get_era(era_name)
        raw_era_year = match["era_year"]
        era_year = 1 if raw_era_year == "元" else int(raw_era_year)
        if era_year < 1:
            raise RegisterDateError(f"{q}の年が正しくありません。")
        year = era.start.year + era_year - 1
    else:
        year = int(match["western_year"])
        if year < 1:
            raise RegisterDateError(f"{q}の年が正しくありません。")

    month = _number(match, "month")
    end_month = _number(match, "end_month")
    for m in (month, end_month):
        if m is not None and not 1 <= m <= 12:
            raise RegisterDateError(f"{q}の月が正しくありません（1〜12月）。")
    day = _number(match, "day")
    end_day = _number(match, "end_day")
    for d in (day, end_day):
        if d is not None and not 1 <= d <= 31:
            raise RegisterDateError(f"{q}の日が正しくありません（1〜31日）。")

    start, end, kind = _period(kind, match, year, month, day, end_month, end_day)
    if end < start:
        raise RegisterDateError(f"{q}は期間の終わりが始まりより前になっています。")
    if era is not None:
        _check_era(q, era, kind, start, end)
    value = max(start, era.start) if era is not None else start

    year_span = None if is_iso else match.span("year")
    full_width = year_span is not None and any(
        "０" <= ch <= "９" for ch in text[year_span[0] : year_span[1]]
    )
    return _Analysis(
        kind=kind,
        western=era is None,
        value=value,
        era=era,
        era_year=era_year,
        month=month,
        day=day,
        year_span=year_span,
        full_width_year=full_width,
    )


def _period(
    kind: DateKind,
    match: re.Match[str],
    year: int,
    month: int | None,
    day: int | None,
    end_month: int | None,
    end_day: int | None,
) -> tuple[date, date, DateKind]:
    """The first and last real day the text can mean, and the refined kind."""
    if kind in (DateKind.ABOUT_YEAR, DateKind.DAY_UNKNOWN_IN_YEAR):
        return date(year, 1, 1), date(year, 12, 31), kind
    if kind is DateKind.SEASON:
        first, last = _SEASONS[match["season"]]
        return date(year, first, 1), date(year, last, _last_day(year, last)), kind
    assert month is not None  # every remaining form names a month
    if kind in (DateKind.ABOUT_MONTH, DateKind.ESTIMATED_MONTH, DateKind.DAY_UNKNOWN_IN_MONTH):
        return date(year, month, 1), date(year, month, _last_day(year, month)), kind
    if kind is DateKind.EARLY_MONTH:
        part_kind, first_day = _PART_OF_MONTH[match["part"]]
        last_day = {1: 10, 11: 20, 21: _last_day(year, month)}[first_day]
        return date(year, month, first_day), date(year, month, last_day), part_kind
    assert day is not None  # the rest name a day
    if kind is DateKind.EXACT:
        try:
            single = date(year, month, day)
        except ValueError:
            single = _clamped(year, month, day)
            kind = DateKind.NON_CALENDAR
        return single, single, kind
    if kind in (DateKind.ABOUT_DAY, DateKind.ESTIMATED_DAY):
        single = _clamped(year, month, day)
        return single, single, kind
    # The three ranges: the end shares the year (the forms write none) and, unless it is
    # written, the month of the start.
    assert end_day is not None
    start = _clamped(year, month, day)
    end = _clamped(year, end_month if end_month is not None else month, end_day)
    return start, end, kind


def _check_era(q: str, era: Era, kind: DateKind, start: date, end: date) -> None:
    # A day must lie in its era (昭和64年1月8日 does not exist); a year, month or season need
    # only overlap it (令和元年頃 is fine although 令和 began in May).
    if kind in _DAY_KINDS:
        inside = era.accepts_when_parsing(start) and era.accepts_when_parsing(end)
    else:
        last = era.last_day_accepted_when_parsing
        inside = end >= era.start and (last is None or start <= last)
    if not inside:
        raise RegisterDateError(f"{q}は{era.name}の期間にありません。{_era_span(era)}")


@dataclass(frozen=True)
class RegisterDate:
    """A date of the register as entered, with its form and a representative date (J:80)."""

    text: str
    value: date | None
    kind: DateKind
    western: bool

    def __post_init__(self) -> None:
        # The text is the source of truth; refuse objects whose other fields disagree with it,
        # so a hand-built or corrupted stored value cannot slip into the register.
        analysis = _analyse(self.text)
        if (analysis.kind, analysis.value, analysis.western) != (
            self.kind,
            self.value,
            self.western,
        ):
            raise RegisterDateError(f"{_quote(self.text)}の日付の内容が一致しません。")

    @property
    def is_uncertain(self) -> bool:
        """Whether this is one of the fourteen 不詳日 forms of J:80 (not a calendar date)."""
        return self.kind not in _CALENDAR_KINDS

    def format_japanese(self) -> str:
        """Text in 和暦 for screens and certificates (J:90); uncertain dates print as entered."""
        analysis = _analyse(self.text)
        if self.kind is DateKind.EXACT:
            if analysis.era is not None:
                # Keep the entered era: 明治45年7月30日 must not turn into 大正元年7月30日.
                assert analysis.era_year is not None
                assert analysis.month is not None
                assert analysis.day is not None
                return JapaneseDate(
                    analysis.era, analysis.era_year, analysis.month, analysis.day
                ).format()
            return self._japanese_date(self._value()).format()
        if self.kind is DateKind.UNKNOWN or not self.western:
            return self.text
        era_date = self._japanese_date(self._value())
        year_label = f"{era_date.era.name}{_era_year_label(era_date.year)}"
        if analysis.year_span is None:  # ISO input of a non-calendar date
            return f"{year_label}年{analysis.month}月{analysis.day}日"
        return self._replace_year(analysis, year_label)

    def format_western(self) -> str:
        """Text in the Western calendar for a foreign resident's birth date (J:90)."""
        analysis = _analyse(self.text)
        if self.kind is DateKind.EXACT:
            value = self._value()
            return f"{value.year}年{value.month}月{value.day}日"
        if self.kind is DateKind.UNKNOWN:
            return self.text
        if self.western:
            if analysis.year_span is None:  # ISO input of a non-calendar date
                return f"{self._value().year}年{analysis.month}月{analysis.day}日"
            return self.text
        assert analysis.era is not None
        assert analysis.era_year is not None
        return self._replace_year(analysis, str(analysis.era.start.year + analysis.era_year - 1))

    def to_json(self) -> dict[str, str | bool | None]:
        """The value for a JSON column; the text is kept so it prints as entered (J:80)."""
        return {
            "text": self.text,
            "value": None if self.value is None else self.value.isoformat(),
            "kind": self.kind.value,
            "western": self.western,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> RegisterDate:
        """Rebuild from :meth:`to_json`, re-checking the stored text against J:80."""
        text = data.get("text")
        raw_value = data.get("value")
        raw_kind = data.get("kind")
        western = data.get("western")
        if (
            not isinstance(text, str)
            or not (raw_value is None or isinstance(raw_value, str))
            or not isinstance(raw_kind, str)
            or not isinstance(western, bool)
        ):
            raise RegisterDateError("保存されている日付のデータが正しくありません。")
        try:
            value = None if raw_value is None else date.fromisoformat(raw_value)
            kind = DateKind(raw_kind)
        except ValueError:
            raise RegisterDateError("保存されている日付のデータが正しくありません。") from None
        return cls(text=text, value=value, kind=kind, western=western)

    def age_on(self, on: date) -> int | None:
        """満年齢 on ``on`` (年齢計算ニ関スル法律) from ``value``; None for 年月日不詳 (J:80)."""
        if self.value is None:
            return None
        if on < self.value:
            raise RegisterDateError("基準日が生年月日より前です。")
        month, day = self.value.month, self.value.day
        if self.kind is DateKind.NON_CALENDAR:
            # A birthday of 2月29日 in a non-leap year still has its anniversary after 2月28日.
            analysis = _analyse(self.text)
            assert analysis.month is not None
            assert analysis.day is not None
            month, day = analysis.month, analysis.day
        age = on.year - self.value.year - ((on.month, on.day) < (month, day))
        return max(age, 0)

    def _value(self) -> date:
        assert self.value is not None  # only 年月日不詳 has no value
        return self.value

    def _japanese_date(self, value: date) -> JapaneseDate:
        try:
            return to_japanese(value)
        except JapaneseDateError:
            raise RegisterDateError(
                f"{_quote(self.text)}は明治より前の日付のため和暦で表示できません。"
            ) from None

    def _replace_year(self, analysis: _Analysis, year_label: str) -> str:
        assert analysis.year_span is not None
        begin, end = analysis.year_span
        if analysis.full_width_year:
            year_label = year_label.translate(_TO_FULL_WIDTH)
        return f"{self.text[:begin]}{year_label}{self.text[end:]}"


def parse_register_date(text: str, *, allow_uncertain: bool = True) -> RegisterDate:
    """Read a date as J:80 allows; uncertain/non-calendar forms only when ``allow_uncertain``."""
    # Only surrounding whitespace goes: the text is what prints, so nothing inside is changed.
    entered = text.strip()
    analysis = _analyse(entered)
    if not allow_uncertain:
        if analysis.kind is DateKind.NON_CALENDAR:
            raise RegisterDateError(
                f"{_quote(entered)}は暦上存在しない日付です。この項目には暦上の日付を入力して"
                "ください。"
            )
        if analysis.kind is not DateKind.EXACT:
            raise RegisterDateError(
                f"{_quote(entered)}のような不詳日はこの項目には入力できません。暦上の日付を"
                "入力してください。"
            )
    return RegisterDate(
        text=entered, value=analysis.value, kind=analysis.kind, western=analysis.western
    )
