"""所得割, 均等割, 森林環境税 and rounding (tax.md "Rates and per-capita levy", "Rounding")."""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

from tax.rules.adjustment_credit import AdjustmentCredit
from tax.rules.parameters import SplitRates, TaxParameters


@dataclass(frozen=True)
class IncomeLevy:
    municipal_rate: Decimal
    prefectural_rate: Decimal
    municipal_computed: int  # 算出所得割額
    prefectural_computed: int
    municipal_after_credit: int
    prefectural_after_credit: int
    relief: int  # the cut of 地方税法附則3条の3 (0 unless just above the limit)
    municipal: int  # final, truncated to 100 yen
    prefectural: int

    @property
    def total(self) -> int:
        """所得割, municipal and prefectural together."""
        return self.municipal + self.prefectural


@dataclass(frozen=True)
class PerCapitaLevy:
    municipal: int
    prefectural: int
    forest_environment_tax: int

    @property
    def total(self) -> int:
        """均等割 only (森林環境税 is a national tax collected with it)."""
        return self.municipal + self.prefectural


def floor_to(amount: int | Decimal, unit: int) -> int:
    """地方税法20条の4の2: drop the fraction below ``unit`` (never negative)."""
    return max(0, math.floor(amount) // unit * unit)


def taxable_income(total_income: int, income_deductions: int, params: TaxParameters) -> int:
    """地方税法20条の4の2第1項 (tax.md "Rounding"): 課税総所得金額, truncated to 1,000 yen."""
    return floor_to(max(0, total_income - income_deductions), params.levy.taxable_income_unit)


def income_rates(prefecture: str, designated_city: bool, params: TaxParameters) -> SplitRates:
    """地方税法314条の3・35条 (tax.md "Rates"): 6% + 4% (指定都市 8% + 2%) + 超過課税."""
    # A prefecture may levy 超過課税 on 所得割 too (神奈川県 0.025%).
    rates = params.levy.income_rates.for_city(designated_city)
    surcharge = params.prefectures[prefecture].income_rate_surcharge
    return SplitRates(municipal=rates.municipal, prefectural=rates.prefectural + surcharge)


def relieve_near_limit(
    municipal: int,
    prefectural: int,
    total_income: int,
    limit: int,
    designated_city: bool,
    params: TaxParameters,
) -> tuple[Decimal, Decimal, int]:
    """地方税法附則3条の3 (tax.md "Just above that limit"): 所得割 ≤ 総所得金額等 − 限度額."""
    # The cut is shared 3/5 : 2/5 (指定都市 4/5 : 1/5).
    ceiling = total_income - limit
    combined = municipal + prefectural
    if combined <= ceiling:
        return Decimal(municipal), Decimal(prefectural), 0
    cut = combined - ceiling
    shares = params.exemption.relief_shares.for_city(designated_city)
    # Kept exact here: each levy is truncated to 100 yen afterwards.
    return (
        max(Decimal(0), municipal - cut * shares.municipal),
        max(Decimal(0), prefectural - cut * shares.prefectural),
        cut,
    )


def income_levy(
    taxable: int,
    credit: AdjustmentCredit,
    total_income: int,
    limit: int,
    exempt: bool,
    prefecture: str,
    designated_city: bool,
    params: TaxParameters,
) -> IncomeLevy:
    """地方税法314条の3・314条の6・附則3条の3・20条の4の2 (tax.md "Rates"…"Rounding"): 所得割."""
    # taxable × rate − 調整控除, relieved near the limit, each levy truncated to 100 yen.
    rates = income_rates(prefecture, designated_city, params)
    municipal_computed = math.floor(taxable * rates.municipal)
    prefectural_computed = math.floor(taxable * rates.prefectural)
    # A credit can never make a levy negative (税額控除 stops at the levy).
    municipal_after = max(0, municipal_computed - credit.municipal)
    prefectural_after = max(0, prefectural_computed - credit.prefectural)
    if exempt:
        municipal, prefectural, cut = Decimal(0), Decimal(0), 0
    else:
        municipal, prefectural, cut = relieve_near_limit(
            municipal_after, prefectural_after, total_income, limit, designated_city, params
        )
    unit = params.levy.levy_unit
    return IncomeLevy(
        municipal_rate=rates.municipal,
        prefectural_rate=rates.prefectural,
        municipal_computed=municipal_computed,
        prefectural_computed=prefectural_computed,
        municipal_after_credit=municipal_after,
        prefectural_after_credit=prefectural_after,
        relief=cut,
        municipal=floor_to(municipal, unit),
        prefectural=floor_to(prefectural, unit),
    )


def per_capita_levy(prefecture: str, exempt: bool, params: TaxParameters) -> PerCapitaLevy:
    """地方税法310条・38条, 森林環境税法 (tax.md "per-capita levy"): 均等割 and 森林環境税."""
    # 3,000 + 1,000 + the prefecture's 超過課税, and 森林環境税 1,000; none for those exempt
    # from 均等割 (森林環境税 follows the 均等割 exemption).
    if exempt:
        return PerCapitaLevy(0, 0, 0)
    levy = params.levy
    unit = levy.levy_unit
    surcharge = params.prefectures[prefecture].per_capita_surcharge
    return PerCapitaLevy(
        municipal=floor_to(levy.per_capita.municipal, unit),
        prefectural=floor_to(levy.per_capita.prefectural + surcharge, unit),
        forest_environment_tax=floor_to(levy.forest_environment_tax, unit),
    )
