"""Each member's income as NHI reads it: 旧ただし書き所得, 軽減判定所得, 給与所得者等.

NHI takes income as the income-tax law defines it (給与所得, 公的年金等に係る雑所得,
所得金額調整控除, 基礎控除) — the same pure calculation the inhabitant tax uses, so it is
imported from :mod:`tax.rules`, never restated here. Only what NHI adds on top lives in this module.
"""

from __future__ import annotations

from dataclasses import dataclass

from nhi.rules.facts import Member
from nhi.rules.parameters import NhiParameters
from tax.rules.ages import age_at_year_end
from tax.rules.deductions import basic_deduction
from tax.rules.facts import Income, IncomeKind
from tax.rules.income import compute_income
from tax.rules.parameters import TaxParameters


@dataclass(frozen=True)
class MemberIncome:
    age_at_year_end: int  # on 31 December of the income year, as the tax law judges pensions
    salary_income: int  # 給与所得, after 所得金額調整控除
    pension_income: int  # 公的年金等に係る雑所得
    other_income: int  # the rest of 総所得金額等, as given
    total_income: int  # 総所得金額等
    basic_deduction: int  # 基礎控除 (地方税法314条の2第2項)
    levy_base: int  # 旧ただし書き所得: the base of 所得割
    elderly_pension_deduction: int  # the extra 15万 off pensions of those 65+, reduction test only
    reduction_income: int  # what the member adds to the household's 軽減判定所得
    salary_earner: bool  # 給与所得者等


def is_salary_earner(member: Member, age: int, params: NhiParameters) -> bool:
    """国民健康保険法施行令29条の7第5項1号: 給与所得者等 (salary > 55万, pensions > 60万/125万)."""
    rule = params.salary_earner
    pension_limit = (
        rule.elderly_pension_revenue_over if age >= rule.elderly_age else rule.pension_revenue_over
    )
    return (
        member.salary_revenue > rule.salary_revenue_over or member.pension_revenue > pension_limit
    )


def member_income(member: Member, params: NhiParameters, tax: TaxParameters) -> MemberIncome:
    """地方税法703条の4第6項・国保法施行令29条の7第2項4号: 旧ただし書き所得, 軽減判定所得.

    ``tax`` is the inhabitant tax's parameters of the same fiscal year: both are levied on the
    income of the previous calendar year.
    """
    age = age_at_year_end(member.birth_date, tax)
    # The given ``income`` is income already (収入 − 経費); the kind only tells the tax rules not
    # to deduct anything from it, and it counts as "other income" for the pension table.
    incomes = (
        Income(IncomeKind.SALARY, member.salary_revenue),
        Income(IncomeKind.PUBLIC_PENSION, member.pension_revenue),
        Income(IncomeKind.MISCELLANEOUS, member.income),
    )
    breakdown = compute_income(incomes, age, special_case=False, params=tax)
    deduction = basic_deduction(breakdown.aggregate_income, tax.deductions)
    rule = params.reduction
    # 施行令29条の7第5項1号: for the reduction test only, pensions of those 65 or over (on 31
    # December) are reduced by a further 15万, down to zero at most.
    elderly_deduction = (
        min(rule.elderly_pension_deduction, breakdown.pension_income)
        if age >= rule.elderly_pension_age
        else 0
    )
    return MemberIncome(
        age_at_year_end=age,
        salary_income=breakdown.salary_income,
        pension_income=breakdown.pension_income,
        other_income=breakdown.miscellaneous_income,
        total_income=breakdown.total_income,
        basic_deduction=deduction,
        levy_base=max(0, breakdown.total_income - deduction),
        elderly_pension_deduction=elderly_deduction,
        reduction_income=breakdown.total_income - elderly_deduction,
        salary_earner=is_salary_earner(member, age, params),
    )
