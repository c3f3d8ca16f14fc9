"""Pure rules of the annual NHI assessment: insured months, instalments and their due dates.

The premium itself is :mod:`nhi.rules`; these are what the batch adds around it — which months
of the fiscal year a person's qualifications cover, and how the annual amount is collected.
"""

from __future__ import annotations

import calendar
import datetime as dt
import enum
from collections.abc import Iterable, Sequence

from nhi.rules.ages import month_index, months_before_late_elderly, months_from_birth
from nhi.rules.parameters import NhiParameters


class AssessmentReason(enum.StrEnum):
    """Why an assessment revision was written."""

    INITIAL = "initial"  # 当初賦課
    CORRECTION = "correction"  # 更正 (地方税法17条の5: the facts changed)
    CANCELLATION = "cancellation"  # 賦課の取消: no insured member in the year after all


MONTHS = 12
# 普通徴収 of 国民健康保険税: eight 期, July to February (地方税法706条2項: the ordinance fixes
# the 納期; eight from July is the most common). The last day of each month.
INSTALMENT_MONTHS: tuple[int, ...] = (7, 8, 9, 10, 11, 12, 1, 2)
INSTALMENT_UNIT = 100  # each later 期 in whole hundreds of yen; the first takes the fraction
_SATURDAY = 5


def insured_months(
    periods: Iterable[tuple[dt.date, dt.date | None]],
    birth_date: dt.date | None,
    params: NhiParameters,
) -> frozenset[int]:
    """地方税法706条3項・4項 (月割): the months of the fiscal year (April = 0 … March = 11) in
    which the person is charged: from the month of 資格取得 up to the month before the month of
    資格喪失 (``lost`` is the first day no longer insured), over every qualification.

    A qualification acquired and lost in the same month charges no month here. A 75th birthday
    ends NHI (高齢者医療確保法52条) even when the daily age job has not recorded the loss yet, so
    the months after it are never charged; nor are the months before birth.
    """
    months: set[int] = set()
    for acquired, lost in periods:
        first = max(month_index(acquired, params), 0)
        stop = MONTHS if lost is None else min(month_index(lost, params), MONTHS)
        months.update(range(first, stop))
    return charged_months(months, birth_date, params)


def charged_months(
    months: Iterable[int], birth_date: dt.date | None, params: NhiParameters
) -> frozenset[int]:
    """The insured ``months`` that can be charged: none before birth (国保法7条), none from the
    month of the 75th birthday (高齢者医療確保法52条); all of them when the birth date is
    unknown."""
    if birth_date is None:
        return frozenset(months)
    limit = months_before_late_elderly(birth_date, params)
    born = MONTHS - months_from_birth(birth_date, params)
    if born <= 0 and limit >= MONTHS:
        return frozenset(months)  # born before April and 75 after March: nothing to cut
    return frozenset(m for m in months if born <= m < limit)


def first_insured_day(
    periods: Iterable[tuple[dt.date, dt.date | None]], months: frozenset[int], params: NhiParameters
) -> dt.date:
    """The first day insured in the fiscal year: 1 April (賦課期日) for someone insured then, or the
    acquisition date of a later qualification (the household the person joins)."""
    start = params.fiscal_year_start
    first_month = min(months)
    days = [
        max(acquired, start)
        for acquired, lost in periods
        if max(month_index(acquired, params), 0) <= first_month
        and (lost is None or month_index(lost, params) > first_month)
    ]
    return min(days)


def _not_a_holiday(day: dt.date) -> dt.date:
    # 地方税法20条の5第2項: a due date on a Saturday, Sunday, national holiday or a day of 年末年始
    # (12月29日〜1月3日, the usual 休日 of the ordinance) moves to the next day that is none of
    # these. No month-end of the eight 期 is a national holiday.
    while (
        day.weekday() >= _SATURDAY
        or (day.month, day.day) >= (12, 29)
        or (day.month == 1 and day.day <= 3)
    ):
        day += dt.timedelta(days=1)
    return day


def due_dates(fiscal_year: int) -> list[dt.date]:
    """The 納期限 of the eight 期: the last day of each month July–February, moved past
    weekends and 年末年始 (地方税法20条の5第2項)."""
    out = []
    for month in INSTALMENT_MONTHS:
        year = fiscal_year if month >= 4 else fiscal_year + 1
        last = dt.date(year, month, calendar.monthrange(year, month)[1])
        out.append(_not_a_holiday(last))
    return out


def _spread(amount: int, terms: int) -> list[int]:
    if terms <= 0:
        return []
    each = amount // terms // INSTALMENT_UNIT * INSTALMENT_UNIT
    return [amount - each * (terms - 1), *([each] * (terms - 1))]


def instalments(
    total: int,
    fiscal_year: int,
    *,
    previous: Sequence[int] | None = None,
    on: dt.date | None = None,
) -> list[int]:
    """地方税法706条2項・17条の5: the annual amount over the eight 期.

    The first assessment spreads ``total`` evenly in hundreds of yen, the first 期 taking the
    rest. A correction (``previous`` instalments, decided ``on``) keeps what was due before
    ``on`` and spreads the difference over the 期 still to come; when every 期 has passed the
    difference goes to the last one. A reduction larger than what is still to come is taken from
    the passed 期, latest first (what was paid on them is refunded as 過誤納金). The amounts
    always add up to ``total`` and are never negative.
    """
    terms = len(INSTALMENT_MONTHS)
    if previous is None or on is None:
        return _spread(total, terms)
    dates = due_dates(fiscal_year)
    passed = sum(1 for due in dates if due < on)
    kept = list(previous[:passed])
    rest = total - sum(kept)
    if rest >= 0:
        if passed == terms:
            kept[-1] += rest
            return kept
        return kept + _spread(rest, terms - passed)
    # Less than was already due: the passed 期 are reduced from the latest one back.
    excess = -rest
    for i in range(len(kept) - 1, -1, -1):
        cut = min(kept[i], excess)
        kept[i] -= cut
        excess -= cut
    return kept + [0] * (terms - passed)
