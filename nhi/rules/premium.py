"""A household's premium: 所得割, 資産割, 均等割, 平等割 per component, reduced, capped, rounded.

nhi.md "Structure", "Caps", "Low-income reductions" and "Mid-year". Amounts are kept as exact
fractions until each component's rounding: 月割 divides by 12, and a sum of twelfths must not
lose a yen to binary or decimal rounding before the ordinance's 端数処理.

Months (月割, 地方税法706条・各団体の条例): a per-person amount (所得割, 資産割, 均等割) runs for
the months that person is insured in the component; a per-household amount (平等割) and the cap run
for the months the household is in the component at all, taken as the largest of its members'
months (months are given as counts, not calendar ranges, so two members insured in disjoint
months are read as overlapping). A household insured all year therefore has the full cap even
when a member joins mid-year; a household that joins together in October pays the annual
amount, capped, × 6/12 — the same as prorating the capped annual amount.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache

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
)
from nhi.rules.reduction import ReductionTest, reduction_test
from tax.rules.parameters import TaxParameters
from tax.rules.parameters import load_parameters as load_tax_parameters

MONTHS_IN_YEAR = 12
# 地方税法703条の5の2・国保法施行令29条の7の3: the 未就学児 reduction is of the 医療分 and the
# 後期高齢者支援金分 均等割 only (children pay no 子ども・子育て支援金分 均等割 at all).
PRESCHOOL_COMPONENTS = frozenset({Component.MEDICAL, Component.ELDERLY_SUPPORT})


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
    """One insured member's part of one component, prorated to their months."""

    index: int
    months: int
    levy_base: int  # 旧ただし書き所得
    income_levy: Fraction  # 所得割
    asset_levy: Fraction  # 資産割
    per_capita_rate: int  # the annual 均等割額 that applies to them (0 if exempt)
    per_capita_before_reduction: Fraction
    reduction: Fraction  # 7割・5割・2割軽減
    preschool_reduction: Fraction  # 未就学児 5割, after the reduction above
    per_capita: Fraction  # 均等割 after both reductions


@dataclass(frozen=True)
class ComponentPremium:
    """Every figure of one component for the household."""

    component: Component
    shares: tuple[MemberShare, ...]
    household_months: int
    income_levy: Fraction  # 所得割
    asset_levy: Fraction  # 資産割
    per_capita_before_reduction: Fraction  # 均等割 before any reduction
    per_household_before_reduction: Fraction  # 平等割 before the reduction
    reduction_rate: Decimal
    reduction: Fraction  # 7割・5割・2割軽減 of 均等割 and 平等割 together
    preschool_reduction: Fraction  # 未就学児 軽減 of 均等割
    per_capita: Fraction  # 均等割 after reductions
    per_household: Fraction  # 平等割 after the reduction
    before_cap: Fraction  # 所得割 + 資産割 + 均等割 + 平等割
    cap: Fraction  # 賦課限度額, prorated to the household's months
    cap_applied: bool
    after_cap: Fraction
    rounding: Rounding
    amount: Fraction  # after the ordinance's rounding: what the household pays

    @property
    def cap_excess(self) -> Fraction:
        """The part above the cap that is not charged (限度超過額)."""
        return self.before_cap - self.after_cap


@dataclass(frozen=True)
class HouseholdPremium:
    fiscal_year: int
    members: tuple[MemberStatus, ...]
    reduction: ReductionTest
    components: tuple[ComponentPremium, ...]

    @property
    def total_before_rounding(self) -> Fraction:
        """The components after their caps, before each one's rounding."""
        return sum((c.after_cap for c in self.components), ZERO)

    @property
    def total(self) -> Fraction:
        """年間保険料（税）額: the rounded components added up."""
        return sum((c.amount for c in self.components), ZERO)

    def component(self, component: Component) -> ComponentPremium | None:
        """The figures of ``component`` (None if the fiscal year has no such component)."""
        return next((c for c in self.components if c.component is component), None)


ZERO = Fraction(0)


@lru_cache(maxsize=256)
def exact(value: Decimal | int) -> Fraction:
    """A rate or share as an exact fraction (converted once: Decimal → Fraction is slow, and a
    batch meets the same few rates hundreds of thousands of times)."""
    return Fraction(value)


def prorate(annual: Fraction | int, months: int) -> Fraction:
    """地方税法706条 (月割): an annual amount for ``months`` of twelve."""
    # One Fraction built directly (one gcd) rather than three intermediate ones.
    if isinstance(annual, int):
        return Fraction(annual * months, MONTHS_IN_YEAR)
    return Fraction(annual.numerator * months, annual.denominator * MONTHS_IN_YEAR)


def member_status(
    index: int, member: Member, params: NhiParameters, tax: TaxParameters
) -> MemberStatus:
    """国民健康保険法5条・6条, 介護保険法9条: the member's insured months, ages and income."""
    insured = member.insured
    months = member.months if insured else 0
    return MemberStatus(
        index=index,
        head=index == 0,
        insured=insured,
        counted=index == 0 or insured or member.former_insured,
        age=age_at_start(member.birth_date, params),
        months=months,
        # Months are a count, so the 介護 months overlap the insured months as far as they can.
        long_term_care_months=min(months, long_term_care_months(member.birth_date, params)),
        preschool=preschool(member.birth_date, params),
        child_support_exempt=child_support_exempt(member.birth_date, params),
        income=member_income(member, params, tax),
    )


def household_reduction(
    members: Sequence[MemberStatus], household: Household, params: NhiParameters
) -> ReductionTest:
    """国民健康保険法施行令29条の7第5項: the test over the head, the insured and 特定同一世帯所属者.

    The head counts even when not insured (擬制世帯主); the per-person amounts count the insured
    and 特定同一世帯所属者 only. Everyone insured at some time in the year is counted: the input
    has months, not dates, so the composition on 1 April cannot be told apart.
    """
    counted = [s for s in members if s.counted]
    persons = sum(
        1 for s, m in zip(members, household.members, strict=True) if m.insured or m.former_insured
    )
    return reduction_test(
        (s.income.reduction_income for s in counted),
        sum(1 for s in counted if s.income.salary_earner),
        persons,
        params,
    )


def _months_in(component: Component, status: MemberStatus) -> int:
    if component is Component.LONG_TERM_CARE:
        return status.long_term_care_months
    return status.months


def per_capita_rate(component: Component, rates: ComponentRates, status: MemberStatus) -> int:
    """地方税法703条の4・子ども・子育て支援法: the annual 均等割額 for one insured member.

    子ども・子育て支援金分: none up to the 31 March after 18; every insured adult pays the
    18歳以上被保険者均等割 on top of the component's 均等割 (the children's share spread over them).
    """
    if component is Component.CHILD_SUPPORT:
        if status.child_support_exempt:
            return 0
        surcharge = rates.adult_per_capita if isinstance(rates, ChildSupportRates) else 0
        return rates.per_capita + surcharge
    return rates.per_capita


def member_share(
    component: Component,
    rates: ComponentRates,
    status: MemberStatus,
    member: Member,
    reduction_rate: Decimal,
    params: NhiParameters,
) -> MemberShare:
    """地方税法703条の4・703条の5・703条の5の2: one insured member's 所得割, 資産割 and 均等割."""
    months = _months_in(component, status)
    levy_base = status.income.levy_base
    # Rates are percentages: 8.3 means 8.3 %.
    income_levy = prorate(exact(rates.income_rate) * levy_base / 100, months)
    asset_levy = (
        prorate(exact(rates.asset_rate) * member.asset_tax / 100, months)
        if rates.asset_rate is not None
        else ZERO
    )
    annual_per_capita = per_capita_rate(component, rates, status)
    before = prorate(annual_per_capita, months)
    reduction = before * exact(reduction_rate)
    after_reduction = before - reduction
    # The 未就学児 half comes after the 7割・5割・2割 reduction (施行令29条の7の3).
    preschool_reduction = (
        after_reduction * (1 - exact(params.preschool_share))
        if status.preschool and component in PRESCHOOL_COMPONENTS
        else ZERO
    )
    return MemberShare(
        index=status.index,
        months=months,
        levy_base=levy_base,
        income_levy=income_levy,
        asset_levy=asset_levy,
        per_capita_rate=annual_per_capita,
        per_capita_before_reduction=before,
        reduction=reduction,
        preschool_reduction=preschool_reduction,
        per_capita=after_reduction - preschool_reduction,
    )


def component_premium(
    component: Component,
    rates: ComponentRates,
    statuses: Sequence[MemberStatus],
    household: Household,
    reduction: ReductionTest,
    params: NhiParameters,
) -> ComponentPremium:
    """地方税法703条の4・国保法施行令29条の7: one component of the household's premium.

    Only insured members pay 所得割 and 均等割 (so a 擬制世帯主's income is never levied); 介護分
    only for months as a 第2号被保険者; 平等割 only when at least one member is in the component.
    The cap is applied to the component's total, then the ordinance's rounding.
    """
    shares = tuple(
        member_share(component, rates, s, household.members[s.index], reduction.rate, params)
        for s in statuses
        if _months_in(component, s) > 0
    )
    household_months = max((s.months for s in shares), default=0)
    per_household_before = prorate(rates.per_household, household_months)
    per_household_reduction = per_household_before * exact(reduction.rate)
    per_household = per_household_before - per_household_reduction
    income_levy = sum((s.income_levy for s in shares), ZERO)
    asset_levy = sum((s.asset_levy for s in shares), ZERO)
    per_capita = sum((s.per_capita for s in shares), ZERO)
    before_cap = income_levy + asset_levy + per_capita + per_household
    cap = prorate(effective_cap(rates, component, params), household_months)
    after_cap = min(before_cap, cap)
    return ComponentPremium(
        component=component,
        shares=shares,
        household_months=household_months,
        income_levy=income_levy,
        asset_levy=asset_levy,
        per_capita_before_reduction=sum((s.per_capita_before_reduction for s in shares), ZERO),
        per_household_before_reduction=per_household_before,
        reduction_rate=reduction.rate,
        reduction=sum((s.reduction for s in shares), per_household_reduction),
        preschool_reduction=sum((s.preschool_reduction for s in shares), ZERO),
        per_capita=per_capita,
        per_household=per_household,
        before_cap=before_cap,
        cap=cap,
        cap_applied=before_cap > cap,
        after_cap=after_cap,
        rounding=rates.rounding,
        amount=rates.rounding.apply(after_cap),
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
    check_rates(rates, params)
    statuses = tuple(member_status(i, m, params, tax) for i, m in enumerate(household.members))
    reduction = household_reduction(statuses, household, params)
    components = []
    for component in params.component_order:
        component_rates = rates.for_component(component)
        # check_rates has made sure every component of the year has rates.
        assert component_rates is not None
        components.append(
            component_premium(component, component_rates, statuses, household, reduction, params)
        )
    return HouseholdPremium(
        fiscal_year=household.fiscal_year,
        members=statuses,
        reduction=reduction,
        components=tuple(components),
    )
