"""Simulation of one household's NHI premium (issue 7): input and output schemas.

The input describes a household and a municipality's rates, not a resident's record, so nothing
here reads or stores personal data; the API route and the ``jichitai nhi simulate`` command both
call :func:`simulate`.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal
from fractions import Fraction
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from core.inputs import MAX_YEN, BirthDate, object_required
from nhi.rules.ages import months_before_late_elderly, months_from_birth
from nhi.rules.facts import Household, Member
from nhi.rules.parameters import (
    COMPONENT_LABELS,
    Component,
    NhiParameters,
    load_parameters,
    supported_fiscal_years,
)
from nhi.rules.premium import ComponentPremium, HouseholdPremium, MemberStatus, assess
from nhi.rules.rates import NhiRates, Rounding
from nhi.rules.reduction import ReductionTest
from tax.rules.parameters import supported_fiscal_years as tax_fiscal_years

MAX_MEMBERS = 20
# Fractions of a yen (before rounding, or with rounding "none") are shown to this precision.
SHOWN_PLACES = Decimal("0.0001")


def _months(value: Any) -> Any:
    # One message for every way of getting it wrong: 0, 13, 6.5, "六".
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 12:
        return value
    raise PydanticCustomError(
        "months_out_of_range", "加入月数は1から12までの整数で指定してください。"
    )


Yen = Annotated[int, Field(strict=True, ge=0, le=MAX_YEN)]
Months = Annotated[int, BeforeValidator(_months)]


def _shown(amount: Fraction) -> Decimal:
    if amount.denominator == 1:
        return Decimal(amount.numerator)
    exact = Decimal(amount.numerator) / Decimal(amount.denominator)
    shown = exact.quantize(SHOWN_PLACES, rounding=ROUND_DOWN)
    # normalize() would turn a whole 100.0000 into 1E+2.
    return Decimal(int(shown)) if shown == shown.to_integral_value() else shown.normalize()


def _number(amount: Decimal) -> int | float:
    # Whole yen as JSON integers; the rare fraction of a yen as a JSON number, not a string.
    return int(amount) if amount == amount.to_integral_value() else float(amount)


Amount = Annotated[Decimal, PlainSerializer(_number, return_type=int | float, when_used="json")]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MemberInput(_Input):
    birth_date: BirthDate
    income: Yen = Field(
        default=0,
        description="総所得金額等（給与・公的年金の収入を別に指定する場合は、それ以外の所得）",
    )
    salary_revenue: Yen = Field(default=0, description="給与収入（給与所得は住民税と同じ計算）")
    pension_revenue: Yen = Field(default=0, description="公的年金等の収入金額")
    insured: bool | None = Field(
        default=None,
        description="国保の被保険者か（省略時は加入。世帯主は head_insured でも指定できる）",
    )
    months: Months = Field(default=12, description="年度内の加入月数（1〜12、月割）")
    asset_tax: Yen = Field(default=0, description="資産割の基礎となる固定資産税額")
    former_insured: bool = Field(
        default=False,
        description="特定同一世帯所属者（国保から後期高齢者医療に移った同じ世帯の方。軽減判定に数える）",
    )


def _who(index: int) -> str:
    return "世帯主（1人目）" if index == 0 else f"{index + 1}人目"


def is_insured(index: int, member: MemberInput, head_insured: bool | None) -> bool:
    """Whether ``member`` (at ``index``) is insured: members default to insured.

    The head (``members[0]``) may be told by ``head_insured`` instead of its own ``insured``.
    """
    if index == 0 and head_insured is not None:
        return head_insured
    return member.insured is not False


class SimulationInput(_Input):
    """A household and its municipality's rates for one fiscal year; ``members[0]`` is the head."""

    fiscal_year: Annotated[int, Field(strict=True)]
    rates: Annotated[NhiRates, BeforeValidator(object_required)]
    # Declared before ``members`` so that the members' checks can read it.
    head_insured: bool | None = Field(
        default=None,
        description="世帯主が国保の被保険者か。false なら擬制世帯主（軽減判定にのみ所得を数える）",
    )
    members: list[Annotated[MemberInput, BeforeValidator(object_required)]] = Field(
        min_length=1,
        max_length=MAX_MEMBERS,
        description="世帯員。1人目（members[0]）が世帯主（納付義務者）",
    )

    @field_validator("fiscal_year")
    @classmethod
    def _supported_year(cls, value: int) -> int:
        # The premium reads the inhabitant tax's income rules of the same year as well.
        years = tuple(y for y in supported_fiscal_years() if y in tax_fiscal_years())
        if value not in years:
            raise PydanticCustomError(
                "fiscal_year_unsupported",
                "対応していない年度です（対応している年度: {years}）。",
                {"years": "、".join(f"{y}年度" for y in years)},
            )
        return value

    @field_validator("members")
    @classmethod
    def _consistent_members(
        cls, value: list[MemberInput], info: ValidationInfo
    ) -> list[MemberInput]:
        head_insured = info.data.get("head_insured")
        head = value[0]
        if head_insured is not None and head.insured is not None and head.insured != head_insured:
            raise PydanticCustomError(
                "head_insured_conflict",
                "head_insured と世帯主（members[0]）の insured が食い違っています。",
            )
        if not any(is_insured(i, m, head_insured) for i, m in enumerate(value)):
            raise PydanticCustomError(
                "no_insured_member",
                "国保の被保険者が1人もいません（insured を確認してください）。",
            )
        year = info.data.get("fiscal_year")
        if not isinstance(year, int):
            return value  # the year's own error is reported; the rest depends on it
        params = load_parameters(year)
        for index, member in enumerate(value):
            _check_member(index, member, is_insured(index, member, head_insured), params)
        return value


def _check_member(index: int, member: MemberInput, insured: bool, params: NhiParameters) -> None:
    who = _who(index)
    # Someone born during the fiscal year is insured from birth; later is not a member yet.
    if member.birth_date > params.fiscal_year_end:
        raise PydanticCustomError(
            "birth_date_after_fiscal_year",
            "{who}の生年月日は{limit}以前の日付を指定してください（年度末まで）。",
            {"who": who, "limit": f"{params.fiscal_year_end.year}年3月31日"},
        )
    if not insured:
        return
    if member.former_insured:
        raise PydanticCustomError(
            "former_insured_but_insured",
            "{who}は被保険者です。特定同一世帯所属者（former_insured）は"
            "被保険者でない方にだけ指定できます。",
            {"who": who},
        )
    # 月割: from the month of birth; up to the month before the 75th birthday.
    limit = min(
        months_from_birth(member.birth_date, params),
        months_before_late_elderly(member.birth_date, params),
    )
    if limit == 0:
        raise PydanticCustomError(
            "late_elderly_all_year",
            "{who}は年度の初めに75歳以上のため、国保ではなく後期高齢者医療の対象です。",
            {"who": who},
        )
    if member.months > limit:
        raise PydanticCustomError(
            "months_exceed_eligibility",
            "{who}の加入月数は{limit}か月以下にしてください"
            "（出生月から、また75歳の誕生月の前月までで数えます）。",
            {"who": who, "limit": limit},
        )


class MemberResult(BaseModel):
    head: bool
    insured: bool
    age: int = Field(description="年度初日（4月1日）の年齢")
    months: int = Field(description="加入月数（被保険者でなければ0）")
    long_term_care_months: int = Field(description="介護分の月数（40〜64歳の月）")
    preschool: bool = Field(description="未就学児")
    child_support_exempt: bool = Field(description="子ども・子育て支援金分の均等割がかからない")
    salary_income: int
    pension_income: int
    total_income: int = Field(description="総所得金額等")
    levy_base: int = Field(description="旧ただし書き所得（所得割の基礎）")
    reduction_income: int = Field(
        description="軽減判定に数える所得（65歳以上は年金から15万円控除）"
    )
    salary_earner: bool = Field(description="給与所得者等")


class ReductionLimitResult(BaseModel):
    rate: Decimal
    label: str
    limit: int = Field(description="この額以下なら該当")


class ReductionResult(BaseModel):
    household_income: int = Field(
        description="軽減判定所得（世帯主・被保険者・特定同一世帯所属者）"
    )
    salary_earners: int = Field(description="給与所得者等の数")
    persons: int = Field(description="被保険者数 + 特定同一世帯所属者数")
    limits: list[ReductionLimitResult] = Field(description="7割・5割・2割軽減の判定基準額")
    rate: Decimal = Field(description="軽減割合（0.7 / 0.5 / 0.2、なしは 0）")
    label: str


class ComponentResult(BaseModel):
    component: Component
    label: str
    income_levy: Amount = Field(description="所得割")
    asset_levy: Amount = Field(description="資産割")
    per_capita_before_reduction: Amount = Field(description="均等割（軽減前）")
    per_household_before_reduction: Amount = Field(description="平等割（軽減前）")
    reduction_rate: Decimal = Field(description="軽減割合")
    reduction: Amount = Field(description="7割・5割・2割軽減額（均等割・平等割）")
    preschool_reduction: Amount = Field(description="未就学児の均等割軽減額")
    per_capita: Amount = Field(description="均等割（軽減後）")
    per_household: Amount = Field(description="平等割（軽減後）")
    household_months: int = Field(description="世帯としての月数（平等割・限度額の月割）")
    before_cap: Amount = Field(description="限度額適用前の額")
    cap: Amount = Field(description="賦課限度額（月割後）")
    cap_applied: bool = Field(description="限度額を適用したか")
    cap_excess: Amount = Field(description="限度超過額")
    after_cap: Amount = Field(description="限度額適用後・端数処理前の額")
    rounding: Rounding
    amount: Amount = Field(description="端数処理後の年額")


class SimulationResult(BaseModel):
    """Every figure of the premium, in yen (annual, after 月割)."""

    fiscal_year: int
    members: list[MemberResult]
    reduction: ReductionResult
    components: list[ComponentResult]
    total_before_rounding: Amount = Field(description="各区分の限度額適用後の合計（端数処理前）")
    total: Amount = Field(description="年間保険料（税）額")


# Japanese labels of a component's figures, in the order a breakdown is read (the CLI's table).
COMPONENT_ROW_LABELS: dict[str, str] = {
    "income_levy": "所得割",
    "asset_levy": "資産割",
    "per_capita_before_reduction": "均等割（軽減前）",
    "per_household_before_reduction": "平等割（軽減前）",
    "reduction": "7割・5割・2割軽減額",
    "preschool_reduction": "未就学児の均等割軽減額",
    "per_capita": "均等割",
    "per_household": "平等割",
    "before_cap": "限度額適用前",
    "cap": "賦課限度額",
    "cap_excess": "限度超過額",
    "after_cap": "限度額適用後",
    "amount": "年額（端数処理後）",
}


def reduction_label(rate: Decimal) -> str:
    """7割軽減 for 0.7; 軽減なし for 0."""
    return f"{(rate * 10).normalize():f}割軽減" if rate else "軽減なし"


def to_household(data: SimulationInput) -> Household:
    """The rules' facts from the validated input."""
    return Household(
        fiscal_year=data.fiscal_year,
        members=tuple(
            Member(
                birth_date=m.birth_date,
                income=m.income,
                salary_revenue=m.salary_revenue,
                pension_revenue=m.pension_revenue,
                insured=is_insured(index, m, data.head_insured),
                months=m.months,
                asset_tax=m.asset_tax,
                former_insured=m.former_insured,
            )
            for index, m in enumerate(data.members)
        ),
    )


def _member_result(s: MemberStatus) -> MemberResult:
    return MemberResult(
        head=s.head,
        insured=s.insured,
        age=s.age,
        months=s.months,
        long_term_care_months=s.long_term_care_months,
        preschool=s.preschool,
        child_support_exempt=s.child_support_exempt,
        salary_income=s.income.salary_income,
        pension_income=s.income.pension_income,
        total_income=s.income.total_income,
        levy_base=s.income.levy_base,
        reduction_income=s.income.reduction_income,
        salary_earner=s.income.salary_earner,
    )


def _reduction_result(r: ReductionTest) -> ReductionResult:
    return ReductionResult(
        household_income=r.household_income,
        salary_earners=r.salary_earners,
        persons=r.persons,
        limits=[
            ReductionLimitResult(rate=lim.rate, label=reduction_label(lim.rate), limit=lim.limit)
            for lim in r.limits
        ],
        rate=r.rate,
        label=reduction_label(r.rate),
    )


def _component_result(c: ComponentPremium) -> ComponentResult:
    return ComponentResult(
        component=c.component,
        label=COMPONENT_LABELS[c.component],
        income_levy=_shown(c.income_levy),
        asset_levy=_shown(c.asset_levy),
        per_capita_before_reduction=_shown(c.per_capita_before_reduction),
        per_household_before_reduction=_shown(c.per_household_before_reduction),
        reduction_rate=c.reduction_rate,
        reduction=_shown(c.reduction),
        preschool_reduction=_shown(c.preschool_reduction),
        per_capita=_shown(c.per_capita),
        per_household=_shown(c.per_household),
        household_months=c.household_months,
        before_cap=_shown(c.before_cap),
        cap=_shown(c.cap),
        cap_applied=c.cap_applied,
        cap_excess=_shown(c.cap_excess),
        after_cap=_shown(c.after_cap),
        rounding=c.rounding,
        amount=_shown(c.amount),
    )


def to_result(p: HouseholdPremium) -> SimulationResult:
    """The breakdown of a household's premium, flattened for the API and the CLI."""
    return SimulationResult(
        fiscal_year=p.fiscal_year,
        members=[_member_result(s) for s in p.members],
        reduction=_reduction_result(p.reduction),
        components=[_component_result(c) for c in p.components],
        total_before_rounding=_shown(p.total_before_rounding),
        total=_shown(p.total),
    )


def simulate(data: SimulationInput) -> SimulationResult:
    """nhi.md as a whole: the premium of the household in ``data`` under ``data.rates``.

    Raises :class:`nhi.rules.rates.RatesRejected` (422) when the rates do not fit the year.
    """
    return to_result(assess(to_household(data), data.rates))
