"""A household's premium: 所得割, 資産割, 均等割, 平等割 per component, reduced, capped, rounded.

nhi.md "Structure", "Caps", "Low-income reductions" and "Mid-year". Amounts are kept exact until
each component's rounding: 月割 divides by 12, and a sum of twelfths must not lose a yen to binary
or decimal rounding before the ordinance's 端数処理.

Exactness without ``Fraction`` arithmetic: every amount of one rate set is an integer count of
1/D yen, where D = 12 × the least common multiple of the denominators of every rate (a percentage
of at most PERCENT_PLACES decimals ÷ 100), of the reduction rates and of the 未就学児 share
(:class:`Scale`). A product of yen, months and those rates is then always a whole number of 1/D
yen, so the figures are added, compared and rounded as Python integers (exact, arbitrary size) and
turned into a ``Fraction`` only when a reader asks for one. The denominator is derived from the
rates and the year's parameters and checked, never assumed.

Months (月割, 地方税法706条・各団体の条例): a per-person amount (所得割, 資産割, 均等割) runs for
the months that person is insured in the component; a per-household amount (平等割) and the cap run
for the months the household is in the component at all, taken as the largest of its members'
months (months are given as counts, not calendar ranges, so two members insured in disjoint
months are read as overlapping). A household insured all year therefore has the full cap even
when a member joins mid-year; a household that joins together in October pays the annual
amount, capped, × 6/12 — the same as prorating the capped annual amount.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from functools import cached_property
from typing import Any, NamedTuple, overload

from nhi.rules.ages import (
    age_at_start,
    child_support_exempt,
    long_term_care_months,
    preschool,
)
from nhi.rules.facts import Household, Member
from nhi.rules.income import MemberIncome, member_income
from nhi.rules.parameters import Component, NhiParameters, load_parameters
from nhi.rules.rates import (
    ChildSupportRates,
    ComponentRates,
    NhiRates,
    Rounding,
    check_rates,
    effective_cap,
    round_scaled,
)
from nhi.rules.reduction import ReductionTest, reduction_test
from tax.rules.ages import age_at_year_end
from tax.rules.parameters import TaxParameters
from tax.rules.parameters import load_parameters as load_tax_parameters

MONTHS_IN_YEAR = 12
# 地方税法703条の5の2・国保法施行令29条の7の3: the 未就学児 reduction is of the 医療分 and the
# 後期高齢者支援金分 均等割 only (children pay no 子ども・子育て支援金分 均等割 at all).
PRESCHOOL_COMPONENTS = frozenset({Component.MEDICAL, Component.ELDERLY_SUPPORT})
ZERO = Fraction(0)


class _Exact:
    """An amount held in the owner's ``scaled`` as an integer count of 1/``denominator`` yen,
    read as a ``Fraction`` of the same name.

    The rules add and compare the integers; only a reader (the simulation, a notice, a test)
    pays for the ``Fraction``.
    """

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, instance: None, owner: type) -> _Exact: ...
    @overload
    def __get__(self, instance: object, owner: type) -> Fraction: ...
    def __get__(self, instance: Any, owner: type) -> Fraction | _Exact:
        if instance is None:
            return self
        scaled: int = getattr(instance.scaled, self.name)
        denominator: int = instance.denominator
        whole, rest = divmod(scaled, denominator)
        # Most rounded amounts are whole yen: Fraction(int) skips the gcd.
        return Fraction(whole) if rest == 0 else Fraction(scaled, denominator)


class ShareAmounts(NamedTuple):
    """A member's amounts of one component in 1/D yen (:class:`MemberShare` for the names)."""

    income_levy: int
    asset_levy: int
    per_capita_before_reduction: int
    reduction: int
    preschool_reduction: int
    per_capita: int


class ComponentAmounts(NamedTuple):
    """A component's amounts in 1/D yen (:class:`ComponentPremium` for the names).

    One tuple rather than a dataclass field each: a frozen dataclass pays per field, and a batch
    builds one of these per component per household.
    """

    income_levy: int
    asset_levy: int
    per_capita_before_reduction: int
    per_household_before_reduction: int
    reduction: int
    preschool_reduction: int
    per_capita: int
    per_household: int
    before_cap: int
    cap: int
    after_cap: int
    amount: int


# One member's figures of one component as member_share computes them: index, months, levy
# base, annual 均等割額, then the six ShareAmounts. Flat, so that adding them up stays cheap.
ShareFigures = tuple[int, int, int, int, int, int, int, int, int, int]


@dataclass(frozen=True)
class MemberStatus:
    """What the rules read off one member for the fiscal year."""

    index: int
    head: bool
    insured: bool
    counted: bool  # in the reduction test: the head, the insured, 特定同一世帯所属者
    age: int  # on 1 April of the fiscal year
    months: int  # months insured (0 if not insured)
    long_term_care_months: int  # months insured as a 第2号被保険者 (40–64)
    preschool: bool  # 未就学児 all year
    child_support_exempt: bool  # no 子ども・子育て支援金分 均等割 (up to 18)
    income: MemberIncome


@dataclass(frozen=True)
class MemberShare:
    """One insured member's part of one component, prorated to their months.

    The amounts are exact ``Fraction`` s read off integers over ``denominator`` (see the module).
    """

    index: int
    months: int
    levy_base: int  # 旧ただし書き所得
    per_capita_rate: int  # the annual 均等割額 that applies to them (0 if exempt)
    scaled: ShareAmounts
    denominator: int

    income_levy = _Exact()  # 所得割
    asset_levy = _Exact()  # 資産割
    per_capita_before_reduction = _Exact()
    reduction = _Exact()  # 7割・5割・2割軽減
    preschool_reduction = _Exact()  # 未就学児 5割, after the reduction above
    per_capita = _Exact()  # 均等割 after both reductions


@dataclass(frozen=True)
class ComponentPremium:
    """Every figure of one component for the household.

    The amounts are exact ``Fraction`` s read off integers over ``denominator`` (see the module).
    """

    component: Component
    # Each insured member's figures: the MemberShare objects are built only for a reader of
    # ``shares`` — a batch never is one.
    share_figures: tuple[ShareFigures, ...]
    household_months: int
    reduction_rate: Decimal
    cap_applied: bool
    rounding: Rounding
    scaled: ComponentAmounts
    denominator: int

    income_levy = _Exact()  # 所得割
    asset_levy = _Exact()  # 資産割
    per_capita_before_reduction = _Exact()  # 均等割 before any reduction
    per_household_before_reduction = _Exact()  # 平等割 before the reduction
    reduction = _Exact()  # 7割・5割・2割軽減 of 均等割 and 平等割 together
    preschool_reduction = _Exact()  # 未就学児 軽減 of 均等割
    per_capita = _Exact()  # 均等割 after reductions
    per_household = _Exact()  # 平等割 after the reduction
    before_cap = _Exact()  # 所得割 + 資産割 + 均等割 + 平等割
    cap = _Exact()  # 賦課限度額, prorated to the household's months
    after_cap = _Exact()
    amount = _Exact()  # after the ordinance's rounding: what the household pays

    @cached_property
    def shares(self) -> tuple[MemberShare, ...]:
        """Each member in the component: their 所得割, 資産割 and 均等割."""
        return tuple(
            MemberShare(i, months, base, rate, ShareAmounts(*amounts), self.denominator)
            for i, months, base, rate, *amounts in self.share_figures
        )

    @property
    def cap_excess(self) -> Fraction:
        """The part above the cap that is not charged (限度超過額)."""
        return Fraction(self.scaled.before_cap - self.scaled.after_cap, self.denominator)


@dataclass(frozen=True)
class HouseholdPremium:
    fiscal_year: int
    members: tuple[MemberStatus, ...]
    reduction: ReductionTest
    components: tuple[ComponentPremium, ...]

    @property
    def total_before_rounding(self) -> Fraction:
        """The components after their caps, before each one's rounding."""
        return _total(self.components, [c.scaled.after_cap for c in self.components])

    @property
    def total(self) -> Fraction:
        """年間保険料（税）額: the rounded components added up."""
        return _total(self.components, [c.scaled.amount for c in self.components])

    def component(self, component: Component) -> ComponentPremium | None:
        """The figures of ``component`` (None if the fiscal year has no such component)."""
        return next((c for c in self.components if c.component is component), None)


def _total(components: Sequence[ComponentPremium], scaled: list[int]) -> Fraction:
    if not components:
        return ZERO
    # assess gives every component of one premium the same denominator.
    return Fraction(sum(scaled), components[0].denominator)


def prorate(annual: Fraction | int, months: int) -> Fraction:
    """地方税法706条 (月割): an annual amount for ``months`` of twelve."""
    return Fraction(annual) * months / MONTHS_IN_YEAR


@dataclass(frozen=True)
class ComponentScale:
    """One component's rates over the common denominator, computed once per rate set."""

    component: Component
    rates: ComponentRates
    income_rate: int  # 所得割 of one yen of base for one month, in 1/D yen
    asset_rate: int  # 資産割 likewise (0 when the municipality has none)
    # 均等割 (annual yen) for a member who pays the 18歳以上 surcharge and for one exempt from
    # the 子ども・子育て支援金分 均等割 (per_capita_rate for each, looked up once).
    per_capita: tuple[int, int]
    per_household: int  # 平等割, annual yen
    cap: int  # 賦課限度額 (the municipality's or the national), annual yen
    rounding: Rounding
    unit: int | None  # Rounding.unit, read once (it parses the enum's value)
    preschool: bool  # the 未就学児 reduction applies to this component's 均等割
    long_term_care: bool  # members count their 第2号被保険者 months, not their insured months


@dataclass(frozen=True)
class Scale:
    """Everything of (rates, params) that no household changes: the denominator and the rates.

    ``denominator`` = 12 × ``per_month``; one yen for one month is ``per_month`` units.
    """

    denominator: int
    per_month: int
    # Per reduction rate: (per_month, per_month × rate, per_month × (1 − rate) × (1 − preschool
    # share)): one yen of annual 均等割 or 平等割 for a month, its reduction and its 未就学児
    # reduction.
    reductions: dict[Decimal, tuple[int, int, int]]
    components: tuple[ComponentScale, ...]


def _whole(value: Fraction) -> int:
    # The denominator is built so that this holds; a rate set that broke it would silently
    # lose exactness, so it is checked rather than truncated.
    if value.denominator != 1:
        raise AssertionError(f"{value} is not a whole number of units: the scale is wrong")
    return value.numerator


def _percent(rate: Decimal) -> Fraction:
    # Rates are percentages: 8.3 means 8.3 %.
    return Fraction(rate) / 100


def common_scale(rates: NhiRates, params: NhiParameters) -> Scale:
    """地方税法706条 (月割) over exact rates: the common denominator of a rate set and a year.

    D = 12 × lcm(every 所得割・資産割 rate ÷ 100, every reduction rate × the 未就学児 share): the
    reduction and the 未就学児 share multiply one another (施行令29条の7の3), so their
    denominators multiply too.
    """
    share = Fraction(params.preschool_share)
    reduction_rates = [Decimal(0), *(t.rate for t in params.reduction.tiers)]
    reduction_den = math.lcm(*(Fraction(r).denominator for r in reduction_rates))
    dens = [reduction_den * share.denominator]
    chosen: list[tuple[Component, ComponentRates]] = []
    for component in params.component_order:
        component_rates = rates.for_component(component)
        # check_rates has made sure every component of the year has rates.
        assert component_rates is not None
        chosen.append((component, component_rates))
        dens.append(_percent(component_rates.income_rate).denominator)
        if component_rates.asset_rate is not None:
            dens.append(_percent(component_rates.asset_rate).denominator)
    per_month = math.lcm(*dens)
    reductions = {
        r: (
            per_month,
            _whole(per_month * Fraction(r)),
            _whole(per_month * (1 - Fraction(r)) * (1 - share)),
        )
        for r in reduction_rates
    }
    components = tuple(
        ComponentScale(
            component=component,
            rates=r,
            income_rate=_whole(per_month * _percent(r.income_rate)),
            asset_rate=0 if r.asset_rate is None else _whole(per_month * _percent(r.asset_rate)),
            per_capita=(
                per_capita_rate(component, r, child_support_exempt=False),
                per_capita_rate(component, r, child_support_exempt=True),
            ),
            per_household=r.per_household,
            cap=effective_cap(r, component, params),
            rounding=r.rounding,
            unit=r.rounding.unit,
            preschool=component in PRESCHOOL_COMPONENTS,
            long_term_care=component is Component.LONG_TERM_CARE,
        )
        for component, r in chosen
    )
    return Scale(MONTHS_IN_YEAR * per_month, per_month, reductions, components)


@dataclass
class YearRules:
    """Per (rates, params, tax): the checked scale and what members' birth dates give.

    Cached on the objects' identity (a batch passes the same ones for every household) and
    holding them, so an id is never reused while its entry lives.
    """

    rates: NhiRates
    params: NhiParameters
    tax: TaxParameters
    scale: Scale
    # birth date → (age on 1 April, 介護 months, 未就学児, 支援金 exempt, age on 31 December):
    # the date arithmetic of ages.py, the same for everyone born on that day.
    births: dict[dt.date, tuple[int, int, bool, bool, int]]
    # (age on 31 December, salary revenue, pension revenue, other income) → the member's income.
    incomes: dict[tuple[int, int, int, int], MemberIncome]


_CACHE: dict[tuple[int, int, int], YearRules] = {}
# A process meets one or two rate sets per run; the bound only stops a long-lived server that
# simulates many ad-hoc rate sets from growing without end.
_CACHE_SIZE = 16
# Per rate set, emptied when full. 40,000 days is every birth date of 110 years, so a whole
# register's fit; incomes repeat less (the hits are mostly dependants with none), so fewer are
# kept — each holds a MemberIncome, and every assessment worker has its own copy.
_BIRTHS_SIZE = 40_000
_INCOMES_SIZE = 20_000


def year_rules(rates: NhiRates, params: NhiParameters, tax: TaxParameters) -> YearRules:
    """国民健康保険法施行令29条の7・地方税法703条の4: the checked rates of a year, cached.

    Raises :class:`nhi.rules.rates.RatesRejected` when the rates do not fit the fiscal year.
    """
    key = (id(rates), id(params), id(tax))
    cached = _CACHE.get(key)
    if cached and cached.rates is rates and cached.params is params and cached.tax is tax:
        return cached
    # Only rates that pass the check are cached: rejected ones are rejected again next time.
    check_rates(rates, params)
    if len(_CACHE) >= _CACHE_SIZE:
        _CACHE.clear()
    cached = _CACHE[key] = YearRules(rates, params, tax, common_scale(rates, params), {}, {})
    return cached


def _birth_facts(birth_date: dt.date, year: YearRules) -> tuple[int, int, bool, bool, int]:
    facts = year.births.get(birth_date)
    if facts is None:
        params = year.params
        facts = (
            age_at_start(birth_date, params),
            long_term_care_months(birth_date, params),
            preschool(birth_date, params),
            child_support_exempt(birth_date, params),
            age_at_year_end(birth_date, year.tax),
        )
        if len(year.births) >= _BIRTHS_SIZE:
            year.births.clear()
        year.births[birth_date] = facts
    return facts


def _income(member: Member, age_at_year_end: int, year: YearRules) -> MemberIncome:
    # member_income reads the birth date only through the age on 31 December, so members of
    # the same age and revenues share one result (most dependants have no income at all).
    key = (age_at_year_end, member.salary_revenue, member.pension_revenue, member.income)
    income = year.incomes.get(key)
    if income is None:
        income = member_income(member, year.params, year.tax)
        if len(year.incomes) >= _INCOMES_SIZE:
            year.incomes.clear()
        year.incomes[key] = income
    return income


def member_status(index: int, member: Member, year: YearRules) -> MemberStatus:
    """国民健康保険法5条・6条, 介護保険法9条: the member's insured months, ages and income."""
    insured = member.insured
    months = member.months if insured else 0
    age, care_months, is_preschool, exempt, age_at_year_end = _birth_facts(member.birth_date, year)
    # Positional (in the class's field order): built for every member of every household, and
    # a frozen dataclass's keyword construction costs about twice as much.
    return MemberStatus(
        index,
        index == 0,  # head
        insured,
        index == 0 or insured or member.former_insured,  # counted
        age,
        months,
        # Months are a count, so the 介護 months overlap the insured months as far as they can.
        min(months, care_months),  # long_term_care_months
        is_preschool,
        exempt,  # child_support_exempt
        _income(member, age_at_year_end, year),
    )


def household_reduction(
    members: Sequence[MemberStatus], household: Household, params: NhiParameters
) -> ReductionTest:
    """国民健康保険法施行令29条の7第5項: the test over the head, the insured and 特定同一世帯所属者.

    The head counts even when not insured (擬制世帯主); the per-person amounts count the insured
    and 特定同一世帯所属者 only. Everyone insured at some time in the year is counted: the input
    has months, not dates, so the composition on 1 April cannot be told apart.
    """
    incomes = []
    salary_earners = persons = 0
    for status, member in zip(members, household.members, strict=True):
        if status.counted:
            incomes.append(status.income.reduction_income)
            salary_earners += status.income.salary_earner
        persons += member.insured or member.former_insured
    return reduction_test(incomes, salary_earners, persons, params)


def per_capita_rate(
    component: Component, rates: ComponentRates, *, child_support_exempt: bool
) -> int:
    """地方税法703条の4・子ども・子育て支援法: the annual 均等割額 for one insured member.

    子ども・子育て支援金分: none up to the 31 March after 18; every insured adult pays the
    18歳以上被保険者均等割 on top of the component's 均等割 (the children's share spread over them).
    """
    if component is Component.CHILD_SUPPORT:
        if child_support_exempt:
            return 0
        surcharge = rates.adult_per_capita if isinstance(rates, ChildSupportRates) else 0
        return rates.per_capita + surcharge
    return rates.per_capita


def member_share(
    rules: ComponentScale,
    status: MemberStatus,
    member: Member,
    units: tuple[int, int, int],
) -> ShareFigures:
    """地方税法703条の4・703条の5・703条の5の2: one insured member's 所得割, 資産割 and 均等割.

    Each amount is annual × months / 12 in 1/D yen: yen × months × the units of one yen-month
    (``units``: one yen-month, its 7割・5割・2割 reduction and its 未就学児 reduction).
    """
    per_month, reduced, preschool_reduced = units
    months = status.long_term_care_months if rules.long_term_care else status.months
    levy_base = status.income.levy_base
    annual_per_capita = rules.per_capita[status.child_support_exempt]
    per_capita_months = annual_per_capita * months
    before = per_capita_months * per_month
    reduction = per_capita_months * reduced
    # The 未就学児 half comes after the 7割・5割・2割 reduction (施行令29条の7の3).
    preschool_reduction = (
        per_capita_months * preschool_reduced if status.preschool and rules.preschool else 0
    )
    return (
        status.index,
        months,
        levy_base,
        annual_per_capita,
        rules.income_rate * levy_base * months,
        rules.asset_rate * member.asset_tax * months,
        before,
        reduction,
        preschool_reduction,
        before - reduction - preschool_reduction,
    )


def component_premium(
    rules: ComponentScale,
    statuses: Sequence[MemberStatus],
    household: Household,
    reduction: ReductionTest,
    scale: Scale,
) -> ComponentPremium:
    """地方税法703条の4・国保法施行令29条の7: one component of the household's premium.

    Only insured members pay 所得割 and 均等割 (so a 擬制世帯主's income is never levied); 介護分
    only for months as a 第2号被保険者; 平等割 only when at least one member is in the component.
    The cap is applied to the component's total, then the ordinance's rounding.
    """
    units = scale.reductions[reduction.rate]
    per_month, reduced, _ = units
    care = rules.long_term_care
    members = household.members
    shares = tuple(
        member_share(rules, s, members[s.index], units)
        for s in statuses
        if (s.long_term_care_months if care else s.months) > 0
    )
    household_months = max((f[1] for f in shares), default=0)
    per_household_before = rules.per_household * household_months * per_month
    per_household_reduction = rules.per_household * household_months * reduced
    per_household = per_household_before - per_household_reduction
    income_levy = asset_levy = per_capita_before = share_reduction = preschool_total = 0
    per_capita = 0
    for _i, _m, _b, _r, income, asset, before, reduced_by, preschool_by, after in shares:
        income_levy += income
        asset_levy += asset
        per_capita_before += before
        share_reduction += reduced_by
        preschool_total += preschool_by
        per_capita += after
    before_cap = income_levy + asset_levy + per_capita + per_household
    cap = rules.cap * household_months * per_month
    after_cap = min(before_cap, cap)
    denominator = scale.denominator
    return ComponentPremium(
        component=rules.component,
        share_figures=shares,
        household_months=household_months,
        reduction_rate=reduction.rate,
        cap_applied=before_cap > cap,
        rounding=rules.rounding,
        scaled=ComponentAmounts(
            income_levy,
            asset_levy,
            per_capita_before,
            per_household_before,
            share_reduction + per_household_reduction,  # reduction
            preschool_total,  # preschool_reduction
            per_capita,
            per_household,
            before_cap,
            cap,
            after_cap,
            round_scaled(rules.unit, after_cap, denominator),  # amount
        ),
        denominator=denominator,
    )


def assess(
    household: Household,
    rates: NhiRates,
    params: NhiParameters | None = None,
    tax: TaxParameters | None = None,
) -> HouseholdPremium:
    """nhi.md as a whole: the NHI premium of ``household`` under a municipality's ``rates``.

    Raises :class:`nhi.rules.rates.RatesRejected` when the rates do not fit the fiscal year
    (a cap above the national cap, a component missing or not in the year).
    """
    params = params or load_parameters(household.fiscal_year)
    tax = tax or load_tax_parameters(household.fiscal_year)
    year = year_rules(rates, params, tax)
    statuses = tuple(member_status(i, m, year) for i, m in enumerate(household.members))
    reduction = household_reduction(statuses, household, params)
    scale = year.scale
    return HouseholdPremium(
        fiscal_year=household.fiscal_year,
        members=statuses,
        reduction=reduction,
        components=tuple(
            component_premium(rules, statuses, household, reduction, scale)
            for rules in scale.components
        ),
    )
