"""Simulation of one household's inhabitant tax (issue 6): input and output schemas.

The input describes a household, not a resident's record, so nothing here reads or stores
personal data; the API route and the ``jichitai tax simulate`` command both call
:func:`simulate`.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from core.inputs import MAX_YEN, BirthDate, object_required
from tax.rules.assessment import Assessment, assess
from tax.rules.deductions import DependentCategory
from tax.rules.exemption import ExemptionReason
from tax.rules.facts import (
    Case,
    Dependent,
    Disability,
    Income,
    IncomeKind,
    SingleParent,
    Spouse,
    Taxpayer,
)
from tax.rules.parameters import PREFECTURES, supported_fiscal_years


def _disability(value: Any) -> Any:
    # true/false are accepted for the common case of 障害者 without the 特別 distinction.
    if value is True:
        return Disability.ORDINARY
    if value is False or value is None:
        return Disability.NONE
    return value


def _single_parent(value: Any) -> Any:
    if value is False or value is None:
        return SingleParent.NONE
    if value is True:
        # The 調整控除 differs for a mother and a father, so "true" alone cannot be computed.
        raise PydanticCustomError(
            "single_parent_kind",
            "ひとり親の場合は mother（母）または father（父）を指定してください。",
        )
    return value


Yen = Annotated[int, Field(strict=True, ge=0, le=MAX_YEN)]
DisabilityField = Annotated[Disability, BeforeValidator(_disability)]
SingleParentField = Annotated[SingleParent, BeforeValidator(_single_parent)]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class IncomeInput(_Input):
    kind: IncomeKind = Field(
        description="salary / public_pension は収入金額、business / real_estate / miscellaneous "
        "は所得金額（収入金額 − 必要経費）"
    )
    revenue: Yen


class TaxpayerInput(_Input):
    birth_date: BirthDate
    incomes: list[Annotated[IncomeInput, BeforeValidator(object_required)]] = Field(
        default_factory=list, max_length=50
    )
    social_insurance: Yen = 0
    disabled: DisabilityField = Disability.NONE
    widow: bool = False
    single_parent: SingleParentField = SingleParent.NONE
    working_student: bool = False
    livelihood_assistance: bool = False


class SpouseInput(_Input):
    birth_date: BirthDate
    income: Yen = 0


class DependentInput(_Input):
    birth_date: BirthDate
    income: Yen = 0
    lives_with: bool = False
    disabled: DisabilityField = Disability.NONE


def _income_year_end(info: ValidationInfo) -> dt.date | None:
    year = info.data.get("fiscal_year")
    return dt.date(year - 1, 12, 31) if isinstance(year, int) else None


def _born_too_late(who: str, birth_date: dt.date, year_end: dt.date) -> PydanticCustomError:
    return PydanticCustomError(
        "birth_date_after_year_end",
        "{who}の生年月日は{limit}以前の日付を指定してください（年度の前年12月31日現在で判定します）。",
        {"who": who, "limit": f"{year_end.year}年12月31日", "birth_date": birth_date.isoformat()},
    )


class SimulationInput(_Input):
    """A household as of 31 December of the year before ``fiscal_year``."""

    fiscal_year: Annotated[int, Field(strict=True)]
    grade: Annotated[int, Field(strict=True, ge=1, le=3, description="級地 (1–3)")]
    prefecture: str = Field(description="都道府県名（例: 富山県）")
    designated_city: bool = Field(default=False, description="政令指定都市か")
    taxpayer: Annotated[TaxpayerInput, BeforeValidator(object_required)]
    spouse: Annotated[SpouseInput | None, BeforeValidator(object_required)] = None
    dependents: list[Annotated[DependentInput, BeforeValidator(object_required)]] = Field(
        default_factory=list, max_length=20
    )

    @field_validator("fiscal_year")
    @classmethod
    def _supported_year(cls, value: int) -> int:
        years = supported_fiscal_years()
        if value not in years:
            raise PydanticCustomError(
                "fiscal_year_unsupported",
                "対応していない年度です（対応している年度: {years}）。",
                {"years": "、".join(f"{y}年度" for y in years)},
            )
        return value

    @field_validator("prefecture")
    @classmethod
    def _known_prefecture(cls, value: str) -> str:
        name = value.strip()
        if name not in PREFECTURES:
            raise PydanticCustomError(
                "prefecture_unknown",
                "都道府県名が正しくありません（例: 富山県、東京都、北海道）。",
            )
        return name

    @field_validator("taxpayer")
    @classmethod
    def _taxpayer_born(cls, value: TaxpayerInput, info: ValidationInfo) -> TaxpayerInput:
        year_end = _income_year_end(info)
        if year_end and value.birth_date > year_end:
            raise _born_too_late("納税義務者", value.birth_date, year_end)
        return value

    @field_validator("spouse")
    @classmethod
    def _spouse_born(cls, value: SpouseInput | None, info: ValidationInfo) -> SpouseInput | None:
        year_end = _income_year_end(info)
        if value and year_end and value.birth_date > year_end:
            raise _born_too_late("配偶者", value.birth_date, year_end)
        return value

    @field_validator("dependents")
    @classmethod
    def _dependents_born(
        cls, value: list[DependentInput], info: ValidationInfo
    ) -> list[DependentInput]:
        year_end = _income_year_end(info)
        for index, dependent in enumerate(value, start=1):
            if year_end and dependent.birth_date > year_end:
                raise _born_too_late(f"{index}人目の親族", dependent.birth_date, year_end)
        return value


class DependentResult(BaseModel):
    age: int
    category: DependentCategory
    dependent_deduction: int
    specified_relative_deduction: int
    disability_deduction: int


class ExemptResult(BaseModel):
    per_capita_levy: bool = Field(description="均等割（と森林環境税）が非課税か")
    income_levy: bool = Field(description="所得割が非課税か")
    reason: ExemptionReason | None
    message: str | None


class SimulationResult(BaseModel):
    """Every intermediate figure of the assessment, in yen."""

    fiscal_year: int
    income_year: int
    grade: int
    prefecture: str
    designated_city: bool
    taxpayer_age: int
    salary_revenue: int
    salary_income_deduction: int
    income_adjustment_deduction: int
    salary_income: int
    pension_revenue: int
    public_pension_deduction: int
    pension_income: int
    business_income: int
    real_estate_income: int
    miscellaneous_income: int
    total_income: int
    aggregate_income: int
    social_insurance_deduction: int
    basic_deduction: int
    spouse_deduction: int
    spouse_special_deduction: int
    dependent_deduction: int
    specified_relative_deduction: int
    disability_deduction: int
    widow_deduction: int
    single_parent_deduction: int
    working_student_deduction: int
    income_deductions: int
    taxable_income: int
    municipal_income_rate: Decimal
    prefectural_income_rate: Decimal
    municipal_computed_levy: int
    prefectural_computed_levy: int
    personal_deduction_difference: int
    adjustment_credit: int
    municipal_adjustment_credit: int
    prefectural_adjustment_credit: int
    household_size: int
    per_capita_exemption_limit: int
    income_levy_exemption_limit: int
    income_levy_relief: int
    municipal_income_levy: int
    prefectural_income_levy: int
    income_levy: int
    municipal_per_capita_levy: int
    prefectural_per_capita_levy: int
    per_capita_levy: int
    forest_environment_tax: int
    exempt: ExemptResult
    dependents: list[DependentResult]
    total: int


# Japanese labels of the result, in the order a breakdown is read (the CLI's table).
RESULT_LABELS: dict[str, str] = {
    "salary_revenue": "給与収入",
    "salary_income_deduction": "給与所得控除額",
    "income_adjustment_deduction": "所得金額調整控除",
    "salary_income": "給与所得",
    "pension_revenue": "公的年金等の収入金額",
    "public_pension_deduction": "公的年金等控除額",
    "pension_income": "公的年金等に係る雑所得",
    "business_income": "事業所得",
    "real_estate_income": "不動産所得",
    "miscellaneous_income": "雑所得（公的年金等以外）",
    "total_income": "総所得金額等",
    "aggregate_income": "合計所得金額",
    "social_insurance_deduction": "社会保険料控除",
    "basic_deduction": "基礎控除",
    "spouse_deduction": "配偶者控除",
    "spouse_special_deduction": "配偶者特別控除",
    "dependent_deduction": "扶養控除",
    "specified_relative_deduction": "特定親族特別控除",
    "disability_deduction": "障害者控除",
    "widow_deduction": "寡婦控除",
    "single_parent_deduction": "ひとり親控除",
    "working_student_deduction": "勤労学生控除",
    "income_deductions": "所得控除の合計",
    "taxable_income": "課税総所得金額",
    "municipal_computed_levy": "算出所得割額（市町村民税）",
    "prefectural_computed_levy": "算出所得割額（道府県民税）",
    "personal_deduction_difference": "人的控除額の差の合計",
    "municipal_adjustment_credit": "調整控除（市町村民税）",
    "prefectural_adjustment_credit": "調整控除（道府県民税）",
    "household_size": "非課税判定の人数",
    "per_capita_exemption_limit": "均等割の非課税限度額",
    "income_levy_exemption_limit": "所得割の非課税限度額",
    "income_levy_relief": "非課税限度額による所得割の調整額",
    "municipal_income_levy": "所得割（市町村民税）",
    "prefectural_income_levy": "所得割（道府県民税）",
    "municipal_per_capita_levy": "均等割（市町村民税）",
    "prefectural_per_capita_levy": "均等割（道府県民税）",
    "forest_environment_tax": "森林環境税",
    "total": "年税額",
}


DEPENDENT_CATEGORY_LABELS: dict[DependentCategory, str] = {
    DependentCategory.YOUNG: "年少扶養親族（16歳未満）",
    DependentCategory.GENERAL: "一般の扶養親族",
    DependentCategory.SPECIFIED: "特定扶養親族",
    DependentCategory.ELDERLY: "老人扶養親族",
    DependentCategory.COHABITING_PARENT: "同居老親等",
    DependentCategory.SPECIFIED_RELATIVE: "特定親族",
    DependentCategory.NONE: "扶養親族に該当しない",
}


def to_case(data: SimulationInput) -> Case:
    """The rules' facts from the validated input."""
    t = data.taxpayer
    return Case(
        fiscal_year=data.fiscal_year,
        grade=data.grade,
        prefecture=data.prefecture,
        designated_city=data.designated_city,
        taxpayer=Taxpayer(
            birth_date=t.birth_date,
            incomes=tuple(Income(i.kind, i.revenue) for i in t.incomes),
            social_insurance=t.social_insurance,
            disability=t.disabled,
            widow=t.widow,
            single_parent=t.single_parent,
            working_student=t.working_student,
            livelihood_assistance=t.livelihood_assistance,
        ),
        spouse=Spouse(data.spouse.birth_date, data.spouse.income) if data.spouse else None,
        dependents=tuple(
            Dependent(d.birth_date, d.income, d.lives_with, d.disabled) for d in data.dependents
        ),
    )


def to_result(a: Assessment) -> SimulationResult:
    """The breakdown of an assessment, flattened for the API and the CLI."""
    case, income, deductions, levy = a.case, a.income, a.deductions, a.income_levy
    return SimulationResult(
        fiscal_year=case.fiscal_year,
        income_year=case.fiscal_year - 1,
        grade=case.grade,
        prefecture=case.prefecture,
        designated_city=case.designated_city,
        taxpayer_age=a.taxpayer_age,
        salary_revenue=income.salary_revenue,
        salary_income_deduction=income.salary_income_deduction,
        income_adjustment_deduction=income.income_adjustment_deduction,
        salary_income=income.salary_income,
        pension_revenue=income.pension_revenue,
        public_pension_deduction=income.public_pension_deduction,
        pension_income=income.pension_income,
        business_income=income.business_income,
        real_estate_income=income.real_estate_income,
        miscellaneous_income=income.miscellaneous_income,
        total_income=income.total_income,
        aggregate_income=income.aggregate_income,
        social_insurance_deduction=deductions.social_insurance_deduction,
        basic_deduction=deductions.basic_deduction,
        spouse_deduction=deductions.spouse_deduction,
        spouse_special_deduction=deductions.spouse_special_deduction,
        dependent_deduction=deductions.dependent_deduction,
        specified_relative_deduction=deductions.specified_relative_deduction,
        disability_deduction=deductions.disability_deduction,
        widow_deduction=deductions.widow_deduction,
        single_parent_deduction=deductions.single_parent_deduction,
        working_student_deduction=deductions.working_student_deduction,
        income_deductions=deductions.income_deductions,
        taxable_income=a.taxable_income,
        municipal_income_rate=levy.municipal_rate,
        prefectural_income_rate=levy.prefectural_rate,
        municipal_computed_levy=levy.municipal_computed,
        prefectural_computed_levy=levy.prefectural_computed,
        personal_deduction_difference=a.adjustment_credit.personal_deduction_difference,
        adjustment_credit=a.adjustment_credit.total,
        municipal_adjustment_credit=a.adjustment_credit.municipal,
        prefectural_adjustment_credit=a.adjustment_credit.prefectural,
        household_size=a.exemption.household_size,
        per_capita_exemption_limit=a.exemption.per_capita_limit,
        income_levy_exemption_limit=a.exemption.income_levy_limit,
        income_levy_relief=levy.relief,
        municipal_income_levy=levy.municipal,
        prefectural_income_levy=levy.prefectural,
        income_levy=levy.total,
        municipal_per_capita_levy=a.per_capita_levy.municipal,
        prefectural_per_capita_levy=a.per_capita_levy.prefectural,
        per_capita_levy=a.per_capita_levy.total,
        forest_environment_tax=a.per_capita_levy.forest_environment_tax,
        exempt=ExemptResult(
            per_capita_levy=a.exemption.per_capita_exempt,
            income_levy=a.exemption.income_levy_exempt,
            reason=a.exemption.reason,
            message=a.exemption.label,
        ),
        dependents=[
            DependentResult(
                age=d.age,
                category=d.category,
                dependent_deduction=d.dependent_deduction,
                specified_relative_deduction=d.specified_relative_deduction,
                disability_deduction=d.disability_deduction,
            )
            for d in deductions.dependents
        ],
        total=a.total,
    )


def simulate(data: SimulationInput) -> SimulationResult:
    """tax.md as a whole: the inhabitant tax of the household in ``data``."""
    return to_result(assess(to_case(data)))
