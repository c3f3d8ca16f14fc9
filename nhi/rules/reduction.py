"""The low-income reduction of 均等割 and 平等割 (7割・5割・2割軽減, nhi.md "Low-income ...")."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from nhi.rules.parameters import NhiParameters, ReductionParameters


@dataclass(frozen=True)
class ReductionLimit:
    rate: Decimal  # 0.7 / 0.5 / 0.2
    limit: int  # the household's 軽減判定所得 may be at most this


@dataclass(frozen=True)
class ReductionTest:
    household_income: int  # 軽減判定所得: the head's, the insured's and 特定同一世帯所属者's
    salary_earners: int  # 給与所得者等の数 among them
    persons: int  # 被保険者 + 特定同一世帯所属者
    limits: tuple[ReductionLimit, ...]
    rate: Decimal  # the reduction that applies (0 if none)


# (id of the year's reduction rule, 給与所得者等, persons) → (the rule, its limits). A batch asks
# for the same few combinations for every household; the rule is kept so its id stays its own.
_LIMITS: dict[tuple[int, int, int], tuple[ReductionParameters, tuple[ReductionLimit, ...]]] = {}
_LIMITS_SIZE = 4096


def reduction_limits(
    salary_earners: int, persons: int, params: NhiParameters
) -> tuple[ReductionLimit, ...]:
    """国民健康保険法施行令29条の7第5項1〜3号・地方税法施行令56条の89: the three limits.

    43万 + 10万 × (給与所得者等 − 1), plus per-person amounts for 5割 and 2割. With one or no
    給与所得者等 there is no addition (the law subtracts one only from two upwards).
    """
    rule = params.reduction
    key = (id(rule), salary_earners, persons)
    cached = _LIMITS.get(key)
    if cached is not None and cached[0] is rule:
        return cached[1]
    base = rule.base + rule.per_salary_earner * max(0, salary_earners - 1)
    limits = tuple(ReductionLimit(t.rate, base + t.per_person * persons) for t in rule.tiers)
    if len(_LIMITS) >= _LIMITS_SIZE:
        _LIMITS.clear()
    _LIMITS[key] = (rule, limits)
    return limits


def reduction_test(
    incomes: Iterable[int], salary_earners: int, persons: int, params: NhiParameters
) -> ReductionTest:
    """国民健康保険法施行令29条の7第5項: the reduction rate of a household (以下 = within)."""
    # A household below zero (losses) is simply within every limit.
    household_income = sum(incomes)
    limits = reduction_limits(salary_earners, persons, params)
    rate = next((lim.rate for lim in limits if household_income <= lim.limit), Decimal(0))
    return ReductionTest(household_income, salary_earners, persons, limits, rate)
