"""The facts a premium starts from: the household's members, their incomes and insured months.

Plain frozen dataclasses so the rules stay independent of any API schema or ORM row.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class Member:
    """One member of the household (世帯員) for the fiscal year.

    ``income`` is 総所得金額等 other than the salary and public pension whose revenues are given
    (a member with only ``income`` gives the whole of it there). ``months`` counts the months
    insured in the fiscal year (月割); for a member who is not insured it is ignored.
    ``former_insured`` marks a 特定同一世帯所属者: moved from NHI to 後期高齢者医療 and still in
    the household, counted by the reduction test though not insured.
    """

    birth_date: dt.date
    income: int = 0
    salary_revenue: int = 0
    pension_revenue: int = 0
    insured: bool = True
    months: int = 12
    asset_tax: int = 0  # 固定資産税額 in the municipality, the base of 資産割
    former_insured: bool = False


@dataclass(frozen=True)
class Household:
    """A household for one fiscal year; ``members[0]`` is the head (世帯主, the one liable).

    A head who is not insured is the 擬制世帯主: liable, counted by the reduction test, but paying
    no 所得割 or 均等割 of their own.
    """

    fiscal_year: int
    members: tuple[Member, ...]

    @property
    def head(self) -> Member:
        """世帯主 (国民健康保険法76条・地方税法703条の4: the head is liable)."""
        return self.members[0]
