"""A municipality's own NHI rates (料率・税率), a typed tenant parameter, and their national check.

Rates are set by each municipality's ordinance within the structure of 地方税法703条の4 (国保税)
or 国民健康保険法施行令29条の7 (国保料). The model is used both as ``TenantParameters.nhi`` and
as the ``rates`` of the simulation, so a rate set is validated the same way wherever it comes
from. The caps depend on the fiscal year, which a stored rate set does not know: they are
checked when the rates are used (:func:`check_rates`).
"""

from __future__ import annotations

import enum
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

from core.errors import ValidationFailed
from core.japanese.era import fiscal_year_label
from nhi.rules.parameters import COMPONENT_LABELS, Component, NhiParameters

MAX_RATE_YEN = 10_000_000
PERCENT_PLACES = 4


class Rounding(enum.StrEnum):
    """端数処理 of each component's amount, set by the ordinance.

    国保税 is a local tax: 地方税法20条の4の2第3項 drops the fraction below 100 yen. 国保料 follows
    the ordinance (often 1 yen or 10 yen). ``none`` keeps the exact amount.
    """

    NONE = "none"
    FLOOR_1 = "floor_1"
    FLOOR_10 = "floor_10"
    FLOOR_100 = "floor_100"
    FLOOR_1000 = "floor_1000"

    @property
    def unit(self) -> int | None:
        """The yen the amount is truncated to, or None for no rounding."""
        return None if self is Rounding.NONE else int(self.value.removeprefix("floor_"))

    def apply(self, amount: Fraction) -> Fraction:
        """Drop the fraction of ``amount`` below the unit (never negative)."""
        denominator = amount.denominator
        return Fraction(round_scaled(self.unit, amount.numerator, denominator), denominator)


def round_scaled(unit: int | None, scaled: int, denominator: int) -> int:
    """地方税法20条の4の2第3項・条例の端数処理 of ``scaled`` / ``denominator`` yen.

    The result is in the same 1/``denominator`` yen: the premium rules keep every amount as an
    integer over one denominator (nhi.rules.premium), and ``unit`` is :attr:`Rounding.unit`.
    """
    if unit is None:
        return max(0, scaled)
    # Floor division floors towards −∞, as math.floor does for a negative amount.
    return max(0, scaled // denominator // unit * unit) * denominator


def _percent(value: Any) -> Any:
    # Pydantic's own decimal errors have no Japanese message in jichitai.errors.
    if isinstance(value, bool):
        value = None
    try:
        number = Decimal(str(value)) if isinstance(value, int | float | str) else value
    except InvalidOperation:
        number = None
    if (
        isinstance(number, Decimal)
        and number.is_finite()
        and 0 <= number <= 100
        and -number.normalize().as_tuple().exponent <= PERCENT_PLACES  # type: ignore[operator]
    ):
        return number
    raise PydanticCustomError(
        "rate_percent_invalid",
        "料率は0以上100以下の百分率（小数点以下{places}桁まで。例: 8.3）で指定してください。",
        {"places": PERCENT_PLACES},
    )


def _optional_percent(value: Any) -> Any:
    return None if value is None else _percent(value)


Percent = Annotated[Decimal, BeforeValidator(_percent)]
# The validator wraps the whole union so a bad value reports one error, not one per member.
OptionalPercent = Annotated[Decimal | None, BeforeValidator(_optional_percent)]
RateYen = Annotated[int, Field(strict=True, ge=0, le=MAX_RATE_YEN)]


class ComponentRates(BaseModel):
    """The rates of one component: 所得割率, 資産割率, 均等割額, 平等割額, 賦課限度額, 端数処理."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    income_rate: Percent = Field(description="所得割の料率（%、例: 8.3）")
    per_capita: RateYen = Field(description="均等割額（被保険者1人当たり、年額・円）")
    per_household: RateYen = Field(description="平等割額（1世帯当たり、年額・円）")
    asset_rate: OptionalPercent = Field(
        default=None, description="資産割の料率（固定資産税額に対する%、採用しない団体は省略）"
    )
    cap: RateYen | None = Field(
        default=None, description="賦課限度額（円）。省略時は法定の限度額。法定額を超えられない"
    )
    rounding: Rounding = Field(default=Rounding.FLOOR_100, description="区分ごとの端数処理")


class ChildSupportRates(ComponentRates):
    """子ども・子育て支援金分: besides the usual rates, the 18歳以上被保険者均等割 surcharge."""

    adult_per_capita: RateYen = Field(
        default=0,
        description="18歳以上被保険者均等割額（18歳以上の被保険者1人当たり、均等割額に加算、円）",
    )


class NhiRates(BaseModel):
    """A municipality's rates for every component (子ども・子育て支援金分 from FY2026)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    medical: ComponentRates = Field(description="医療分（基礎賦課額）")
    elderly_support: ComponentRates = Field(description="後期高齢者支援金分")
    long_term_care: ComponentRates = Field(description="介護納付金分（40〜64歳の被保険者）")
    child_support: ChildSupportRates | None = Field(
        default=None, description="子ども・子育て支援金分（令和8年度から）"
    )

    def for_component(self, component: Component) -> ComponentRates | None:
        """The rates of ``component`` (None if the municipality gave none)."""
        rates: ComponentRates | None = getattr(self, component.value)
        return rates


class RatesRejected(ValidationFailed):
    """The rates cannot be used for the fiscal year (422, a stable code per reason)."""

    code = "nhi_rates_invalid"


def effective_cap(rates: ComponentRates, component: Component, params: NhiParameters) -> int:
    """国民健康保険法施行令29条の7第2項〜: the municipality's cap, or the national one if unset."""
    national = params.components[component].national_cap
    return national if rates.cap is None else rates.cap


def check_rates(rates: NhiRates, params: NhiParameters) -> None:
    """国民健康保険法施行令29条の7・地方税法703条の4: the rates fit the fiscal year's national law.

    Raises :class:`RatesRejected` when a component's cap exceeds the national cap, when a
    component the year has is missing (子ども・子育て支援金分 from FY2026), or when one it does
    not have is given (FY2025 has no 子ども・子育て支援金分).
    """
    year = fiscal_year_label(params.fiscal_year)
    problems: list[tuple[str, str, dict[str, Any]]] = []
    for component in Component:
        label = COMPONENT_LABELS[component]
        given = rates.for_component(component)
        in_year = component in params.components
        if given is None and in_year:
            problems.append(
                (
                    "nhi_component_missing",
                    f"{year}は{label}の料率が必要です。",
                    {"component": component.value},
                )
            )
        elif given is not None and not in_year:
            problems.append(
                (
                    "nhi_component_not_in_year",
                    f"{year}には{label}はありません（料率を指定しないでください）。",
                    {"component": component.value},
                )
            )
        elif given is not None and given.cap is not None:
            national = params.components[component].national_cap
            if given.cap > national:
                problems.append(
                    (
                        "nhi_cap_above_national",
                        f"{label}の賦課限度額（{given.cap:,}円）が{year}の法定限度額"
                        f"（{national:,}円）を超えています。",
                        {"component": component.value, "cap": given.cap, "national_cap": national},
                    )
                )
    if problems:
        code, message, _ = problems[0]
        raise RatesRejected(
            message,
            code=code,
            details=[
                {"code": c, "message": m, "fiscal_year": params.fiscal_year} | extra
                for c, m, extra in problems
            ],
        )
