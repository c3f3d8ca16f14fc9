"""Rates, 均等割, 森林環境税 and rounding (tax.md "Rates and per-capita levy", "Rounding")."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tax.rules.adjustment_credit import AdjustmentCredit
from tax.rules.levy import (
    floor_to,
    income_levy,
    income_rates,
    per_capita_levy,
    relieve_near_limit,
    taxable_income,
)
from tax.rules.parameters import load_parameters

P = load_parameters(2026)
NO_CREDIT = AdjustmentCredit(0, 0, 0, 0)


def test_floor_to() -> None:
    assert floor_to(1_234_567, 1_000) == 1_234_000
    assert floor_to(74_040, 100) == 74_000
    assert floor_to(Decimal("99.99"), 100) == 0
    assert floor_to(-5, 100) == 0


def test_taxable_income_is_truncated_to_1000_yen_and_never_negative() -> None:
    assert taxable_income(1_234_567, 0, P) == 1_234_000
    assert taxable_income(1_000_999, 1_000, P) == 999_000
    assert taxable_income(300_000, 430_000, P) == 0


def test_rates() -> None:
    standard = income_rates("東京都", False, P)
    assert (standard.municipal, standard.prefectural) == (Decimal("0.06"), Decimal("0.04"))
    designated = income_rates("東京都", True, P)
    assert (designated.municipal, designated.prefectural) == (Decimal("0.08"), Decimal("0.02"))
    kanagawa = income_rates("神奈川県", True, P)
    assert kanagawa.prefectural == Decimal("0.02025")


def test_each_levy_is_truncated_to_100_yen() -> None:
    levy = income_levy(1_234_000, NO_CREDIT, 2_000_000, 450_000, False, "東京都", False, P)
    assert (levy.municipal_computed, levy.prefectural_computed) == (74_040, 49_360)
    assert (levy.municipal, levy.prefectural) == (74_000, 49_300)


def test_a_credit_never_makes_a_levy_negative() -> None:
    credit = AdjustmentCredit(50_000, 50_000, 1_500, 1_000)
    levy = income_levy(10_000, credit, 500_000, 450_000, False, "東京都", False, P)
    assert (levy.municipal_after_credit, levy.prefectural_after_credit) == (0, 0)
    assert levy.total == 0


def test_an_exempt_levy_is_zero_but_shows_the_computation() -> None:
    levy = income_levy(1_000_000, NO_CREDIT, 400_000, 450_000, True, "東京都", False, P)
    assert levy.municipal_computed == 60_000
    assert levy.total == 0


def test_kanagawa_income_surcharge() -> None:
    credit = AdjustmentCredit(50_000, 50_000, 1_500, 1_000)
    levy = income_levy(2_380_000, credit, 3_560_000, 450_000, False, "神奈川県", False, P)
    # 2,380,000 × 4.025% = 95,795 − 1,000 = 94,795 → 94,700.
    assert (levy.prefectural_computed, levy.prefectural) == (95_795, 94_700)
    assert levy.municipal == 141_300


@pytest.mark.parametrize(
    ("prefecture", "prefectural"),
    [("東京都", 1_000), ("静岡県", 1_400), ("愛知県", 1_500), ("秋田県", 1_800), ("宮城県", 2_200)],
)
def test_per_capita_levy_with_prefectural_surcharges(prefecture: str, prefectural: int) -> None:
    levy = per_capita_levy(prefecture, False, P)
    assert (levy.municipal, levy.prefectural, levy.forest_environment_tax) == (
        3_000,
        prefectural,
        1_000,
    )
    assert levy.total == 3_000 + prefectural


def test_no_per_capita_levy_nor_forest_tax_when_exempt() -> None:
    levy = per_capita_levy("静岡県", True, P)
    assert (levy.total, levy.forest_environment_tax) == (0, 0)


def test_relief_near_the_limit_published_examples() -> None:
    # 総所得 2,200,000, limit 2,170,000: 所得割 99,000 becomes 30,000 (3/5 : 2/5).
    municipal, prefectural, cut = relieve_near_limit(59_400, 39_600, 2_200_000, 2_170_000, False, P)
    assert (floor_to(municipal, 100), floor_to(prefectural, 100), cut) == (18_000, 12_000, 69_000)
    # 113万 with limit 112万: 24,000 becomes 10,000.
    municipal, prefectural, cut = relieve_near_limit(14_400, 9_600, 1_130_000, 1_120_000, False, P)
    assert (floor_to(municipal, 100), floor_to(prefectural, 100)) == (6_000, 4_000)
    # 指定都市: 4/5 : 1/5.
    municipal, prefectural, _ = relieve_near_limit(79_200, 19_800, 2_200_000, 2_170_000, True, P)
    assert (floor_to(municipal, 100), floor_to(prefectural, 100)) == (24_000, 6_000)


def test_no_relief_when_the_levy_is_below_the_ceiling() -> None:
    municipal, prefectural, cut = relieve_near_limit(6_000, 4_000, 3_000_000, 450_000, False, P)
    assert (municipal, prefectural, cut) == (Decimal(6_000), Decimal(4_000), 0)
