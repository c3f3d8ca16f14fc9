"""The figures of one fiscal year, loaded from ``tax/params/fyYYYY.json`` and validated.

tax.md: "Keep every figure below in one parameter file per fiscal year; rules read parameters,
never literals." A new fiscal year is a new file; no rule changes unless the law's shape does.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

PARAMS_DIR = Path(__file__).resolve().parent.parent / "params"
_FILE_RE = re.compile(r"fy(\d{4})\.json")

# The 47 prefectures (全国地方公共団体コード order). Their names are not a tax figure: the
# parameter file must give every one of them its 超過課税 entry, even when it is zero.
PREFECTURES: tuple[str, ...] = (
    "北海道",
    "青森県",
    "岩手県",
    "宮城県",
    "秋田県",
    "山形県",
    "福島県",
    "茨城県",
    "栃木県",
    "群馬県",
    "埼玉県",
    "千葉県",
    "東京都",
    "神奈川県",
    "新潟県",
    "富山県",
    "石川県",
    "福井県",
    "山梨県",
    "長野県",
    "岐阜県",
    "静岡県",
    "愛知県",
    "三重県",
    "滋賀県",
    "京都府",
    "大阪府",
    "兵庫県",
    "奈良県",
    "和歌山県",
    "鳥取県",
    "島根県",
    "岡山県",
    "広島県",
    "山口県",
    "徳島県",
    "香川県",
    "愛媛県",
    "高知県",
    "福岡県",
    "佐賀県",
    "長崎県",
    "熊本県",
    "大分県",
    "宮崎県",
    "鹿児島県",
    "沖縄県",
)

Yen = Annotated[int, Field(ge=0)]
Rate = Annotated[Decimal, Field(ge=0, le=1)]
Age = Annotated[int, Field(ge=0, le=150)]
# Amounts that step down with the taxpayer's 合計所得金額: ≤ 900万 / ≤ 950万 / ≤ 1,000万.
Tiers = tuple[Yen, Yen, Yen]


class UnsupportedFiscalYear(LookupError):
    """No parameter file exists for the fiscal year."""


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class IncomeBand(_Frozen):
    """One row of an income table: from ``start`` (inclusive) up to the next row's start.

    ``basis`` says what the multiplier applies to: ``revenue`` itself, ``quarter`` (所得税法
    別表第五: revenue ÷ 4 truncated to the table's step, then × 4 via the multiplier), or
    ``fixed`` (the addend alone).
    """

    start: Yen
    basis: Literal["fixed", "revenue", "quarter"] = "revenue"
    multiplier: Decimal = Decimal(1)
    addend: int = 0


def _check_bands(bands: tuple[IncomeBand, ...], what: str) -> None:
    if not bands or bands[0].start != 0:
        raise ValueError(f"{what}: the first row must start at 0")
    starts = [b.start for b in bands]
    if starts != sorted(set(starts)):
        raise ValueError(f"{what}: rows must be in strictly ascending order")


class SalaryIncomeParameters(_Frozen):
    quarter_step: Yen = Field(gt=0)
    bands: tuple[IncomeBand, ...]

    @model_validator(mode="after")
    def _ordered(self) -> SalaryIncomeParameters:
        _check_bands(self.bands, "salary_income")
        return self


class OtherIncomeReduction(_Frozen):
    over: Yen
    amount: Yen


class PensionIncomeParameters(_Frozen):
    elderly_age: Age
    under_elderly_age: tuple[IncomeBand, ...]
    elderly: tuple[IncomeBand, ...]
    other_income_reductions: tuple[OtherIncomeReduction, ...]

    @model_validator(mode="after")
    def _ordered(self) -> PensionIncomeParameters:
        _check_bands(self.under_elderly_age, "public_pension_income.under_elderly_age")
        _check_bands(self.elderly, "public_pension_income.elderly")
        return self


class IncomeAdjustmentParameters(_Frozen):
    revenue_threshold: Yen
    revenue_cap: Yen
    rate: Rate
    young_dependent_age: Age
    pension_and_salary_cap: Yen


class AmountUpTo(_Frozen):
    up_to: Yen
    amount: Yen


class TiersUpTo(_Frozen):
    up_to: Yen
    amounts: Tiers


class SpouseParameters(_Frozen):
    income_limit: Yen
    taxpayer_income_tiers: Tiers
    elderly_age: Age
    general: Tiers
    elderly: Tiers
    special_income_limit: Yen
    special: tuple[TiersUpTo, ...]


class DependentParameters(_Frozen):
    income_limit: Yen
    minimum_age: Age
    specified_ages: tuple[Age, Age]
    elderly_age: Age
    general: Yen
    specified: Yen
    elderly: Yen
    cohabiting_parent: Yen


class SpecifiedRelativeParameters(_Frozen):
    ages: tuple[Age, Age]
    rows: tuple[AmountUpTo, ...]


class DisabilityParameters(_Frozen):
    ordinary: Yen
    special: Yen
    cohabiting_special: Yen


class DeductionParameters(_Frozen):
    basic: tuple[AmountUpTo, ...]
    spouse: SpouseParameters
    dependent: DependentParameters
    specified_relative: SpecifiedRelativeParameters | None
    disability: DisabilityParameters
    widow: Yen
    single_parent: Yen
    widow_single_parent_income_limit: Yen
    working_student: Yen
    working_student_income_limit: Yen


class SplitRates(_Frozen):
    municipal: Rate
    prefectural: Rate


class ByCityKind(_Frozen):
    """A municipal/prefectural split that differs in 政令指定都市."""

    standard: SplitRates
    designated_city: SplitRates

    def for_city(self, designated_city: bool) -> SplitRates:
        """The split that applies to the municipality."""
        return self.designated_city if designated_city else self.standard


class SpouseSpecialDifference(_Frozen):
    at_least: Yen
    under: Yen
    amounts: Tiers


class PersonalDifferences(_Frozen):
    basic: Yen
    spouse_general: Tiers
    spouse_elderly: Tiers
    spouse_special: tuple[SpouseSpecialDifference, ...]
    dependent_general: Yen
    dependent_specified: Yen
    dependent_elderly: Yen
    cohabiting_parent: Yen
    disability: Yen
    special_disability: Yen
    cohabiting_special_disability: Yen
    widow: Yen
    single_parent_mother: Yen
    single_parent_father: Yen
    working_student: Yen


class AdjustmentCreditParameters(_Frozen):
    aggregate_income_limit: Yen
    taxable_income_threshold: Yen
    minimum_base: Yen
    rates: ByCityKind
    differences: PersonalDifferences


class PerCapitaLimit(_Frozen):
    per_person: Yen
    dependent_addition: Yen


class PerCapitaExemptionParameters(_Frozen):
    base_addition: Yen
    grades: dict[int, PerCapitaLimit]

    @model_validator(mode="after")
    def _three_grades(self) -> PerCapitaExemptionParameters:
        if set(self.grades) != {1, 2, 3}:
            raise ValueError("exemption.per_capita.grades must give grades 1, 2 and 3")
        return self


class IncomeLevyExemptionParameters(_Frozen):
    per_person: Yen
    base_addition: Yen
    dependent_addition: Yen


class ExemptionParameters(_Frozen):
    personal_status_income_limit: Yen
    minor_age: Age
    per_capita: PerCapitaExemptionParameters
    income_levy: IncomeLevyExemptionParameters
    relief_shares: ByCityKind


class PerCapitaParameters(_Frozen):
    municipal: Yen
    prefectural: Yen


class LevyParameters(_Frozen):
    income_rates: ByCityKind
    per_capita: PerCapitaParameters
    forest_environment_tax: Yen
    taxable_income_unit: Yen = Field(gt=0)
    levy_unit: Yen = Field(gt=0)


class PrefectureParameters(_Frozen):
    """A prefecture's 超過課税 on top of the standard 道府県民税."""

    per_capita_surcharge: Yen = 0
    income_rate_surcharge: Rate = Decimal(0)
    name_of_tax: str = ""


class TaxParameters(_Frozen):
    fiscal_year: int = Field(ge=2000, le=2100)
    notes: tuple[str, ...] = ()
    salary_income: SalaryIncomeParameters
    public_pension_income: PensionIncomeParameters
    income_adjustment: IncomeAdjustmentParameters
    deductions: DeductionParameters
    adjustment_credit: AdjustmentCreditParameters
    exemption: ExemptionParameters
    levy: LevyParameters
    prefectures: dict[str, PrefectureParameters]

    @model_validator(mode="after")
    def _every_prefecture(self) -> TaxParameters:
        missing = set(PREFECTURES) - set(self.prefectures)
        unknown = set(self.prefectures) - set(PREFECTURES)
        if missing or unknown:
            raise ValueError(f"prefectures: missing {sorted(missing)}, unknown {sorted(unknown)}")
        return self

    @property
    def income_year(self) -> int:
        """The calendar year whose income is taxed (the year before the fiscal year)."""
        return self.fiscal_year - 1

    @property
    def year_end(self) -> dt.date:
        """31 December of the income year: the day ages and family status are judged on."""
        return dt.date(self.income_year, 12, 31)

    @property
    def assessment_date(self) -> dt.date:
        """賦課期日, 1 January of the fiscal year (地方税法318条)."""
        return dt.date(self.fiscal_year, 1, 1)


def supported_fiscal_years() -> tuple[int, ...]:
    """The fiscal years that have a parameter file, ascending."""
    years = (_FILE_RE.fullmatch(p.name) for p in PARAMS_DIR.glob("fy*.json"))
    return tuple(sorted(int(m.group(1)) for m in years if m))


@cache
def load_parameters(fiscal_year: int) -> TaxParameters:
    """The validated parameters of ``fiscal_year`` (read once per process)."""
    path = PARAMS_DIR / f"fy{fiscal_year}.json"
    if not path.is_file():
        raise UnsupportedFiscalYear(fiscal_year)
    params = TaxParameters.model_validate_json(path.read_text(encoding="utf-8"))
    if params.fiscal_year != fiscal_year:
        # A copied file whose year was not updated would silently apply the wrong law.
        raise ValueError(f"{path.name} declares fiscal_year {params.fiscal_year}")
    return params
