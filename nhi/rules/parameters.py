"""The national figures of one fiscal year, loaded from ``nhi/params/fyYYYY.json`` and validated.

nhi.md: "Keep caps and reduction thresholds in one parameter file per fiscal year." The
structure and the caps are national; each municipality's own rates are tenant parameters
(:mod:`nhi.rules.rates`). A new fiscal year is a new file; no rule changes unless the law's
shape does.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

PARAMS_DIR = Path(__file__).resolve().parent.parent / "params"
_FILE_RE = re.compile(r"fy(\d{4})\.json")

Yen = Annotated[int, Field(ge=0)]
Share = Annotated[Decimal, Field(gt=0, le=1)]
Age = Annotated[int, Field(ge=0, le=150)]


class Component(enum.StrEnum):
    """The components of the premium (賦課の区分), in the order a notice lists them."""

    MEDICAL = "medical"  # 基礎賦課額（医療分）
    ELDERLY_SUPPORT = "elderly_support"  # 後期高齢者支援金等賦課額
    LONG_TERM_CARE = "long_term_care"  # 介護納付金賦課額 (第2号被保険者 only)
    CHILD_SUPPORT = "child_support"  # 子ども・子育て支援納付金賦課額 (from FY2026)


COMPONENT_LABELS: dict[Component, str] = {
    Component.MEDICAL: "医療分",
    Component.ELDERLY_SUPPORT: "後期高齢者支援金分",
    Component.LONG_TERM_CARE: "介護納付金分",
    Component.CHILD_SUPPORT: "子ども・子育て支援金分",
}


class UnsupportedFiscalYear(LookupError):
    """No parameter file exists for the fiscal year."""


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ComponentParameters(_Frozen):
    national_cap: Yen  # 賦課限度額 set by the cabinet order; a municipality may set less
    source: str = ""


class ReductionTier(_Frozen):
    """One row of 施行令29条の7第5項: reduced by ``rate`` up to base + ``per_person`` × persons."""

    rate: Share
    per_person: Yen


class ReductionParameters(_Frozen):
    base: Yen  # 基礎控除額 (43万)
    per_salary_earner: Yen  # 10万 × (給与所得者等の数 − 1)
    tiers: tuple[ReductionTier, ...]
    elderly_pension_age: Age
    elderly_pension_deduction: Yen  # 65歳以上の公的年金所得から更に控除する額 (15万)
    source: str = ""

    @model_validator(mode="after")
    def _largest_reduction_first(self) -> ReductionParameters:
        # The first tier whose limit the household stays within applies, so the deepest
        # reduction must come first and every later tier must reach further.
        rates = [t.rate for t in self.tiers]
        per_person = [t.per_person for t in self.tiers]
        if not self.tiers or rates != sorted(rates, reverse=True) or len(set(rates)) != len(rates):
            raise ValueError("reduction.tiers: rates must be strictly descending")
        if per_person != sorted(set(per_person)):
            raise ValueError("reduction.tiers: per_person must be strictly ascending")
        return self


class SalaryEarnerParameters(_Frozen):
    """給与所得者等 (施行令29条の7第5項1号): who counts for the 10万 addition."""

    salary_revenue_over: Yen
    pension_revenue_over: Yen
    elderly_pension_revenue_over: Yen
    elderly_age: Age
    source: str = ""


class AgeParameters(_Frozen):
    long_term_care_from: Age  # 介護保険第2号被保険者: 40歳に達した日から
    long_term_care_until: Age  # 65歳に達した日に第1号へ (NHI 介護分はその前月まで)
    late_elderly: Age  # 75歳の誕生日から後期高齢者医療
    school_entry: Age  # 未就学児: 6歳に達する日以後の最初の3月31日まで
    child_support_adult: Age  # 支援金分の均等割なし: 18歳に達する日以後の最初の3月31日まで
    source: str = ""


class NhiParameters(_Frozen):
    fiscal_year: int = Field(ge=2000, le=2100)
    notes: tuple[str, ...] = ()
    components: dict[Component, ComponentParameters]
    reduction: ReductionParameters
    salary_earner: SalaryEarnerParameters
    ages: AgeParameters
    preschool_share: Share  # 未就学児の均等割: 軽減後の額に乗じる割合 (5割軽減 → 0.5)

    @model_validator(mode="after")
    def _core_components(self) -> NhiParameters:
        core = {Component.MEDICAL, Component.ELDERLY_SUPPORT, Component.LONG_TERM_CARE}
        missing = core - set(self.components)
        if missing:
            raise ValueError(f"components: missing {sorted(missing)}")
        return self

    @property
    def fiscal_year_start(self) -> dt.date:
        """1 April: the first day of the fiscal year."""
        return dt.date(self.fiscal_year, 4, 1)

    @property
    def fiscal_year_end(self) -> dt.date:
        """31 March of the next calendar year: the last day of the fiscal year."""
        return dt.date(self.fiscal_year + 1, 3, 31)

    @property
    def component_order(self) -> tuple[Component, ...]:
        """The components this year has, in notice order (FY2025 has no child support)."""
        return tuple(c for c in Component if c in self.components)


def supported_fiscal_years() -> tuple[int, ...]:
    """The fiscal years that have a parameter file, ascending."""
    years = (_FILE_RE.fullmatch(p.name) for p in PARAMS_DIR.glob("fy*.json"))
    return tuple(sorted(int(m.group(1)) for m in years if m))


@cache
def load_parameters(fiscal_year: int) -> NhiParameters:
    """The validated parameters of ``fiscal_year`` (read once per process)."""
    path = PARAMS_DIR / f"fy{fiscal_year}.json"
    if not path.is_file():
        raise UnsupportedFiscalYear(fiscal_year)
    params = NhiParameters.model_validate_json(path.read_text(encoding="utf-8"))
    if params.fiscal_year != fiscal_year:
        # A copied file whose year was not updated would silently apply the wrong law.
        raise ValueError(f"{path.name} declares fiscal_year {params.fiscal_year}")
    return params
