"""Collection schedules: 特別徴収 and 普通徴収 instalments (tax.md "Rounding and collection")."""

from __future__ import annotations

from dataclasses import dataclass, fields

# 普通徴収: instalment fractions under 1,000 yen go to the first instalment (地方税法20条の4の2
# 第6項, tax.md "Rounding and collection"). 特別徴収: the annual amount is divided by twelve and a
# fraction under 100 yen goes to June (地方税法321条の5第1項 — the text of that paragraph as we
# read it; tax.md states only the 1,000-yen rule, so this is flagged for review). The unit is an
# argument either way. These belong in the per-year parameter file once it has a collection part.
ORDINARY_COLLECTION_UNIT = 1_000
SPECIAL_COLLECTION_UNIT = 100

SPECIAL_COLLECTION_MONTHS = (6, 7, 8, 9, 10, 11, 12, 1, 2, 3, 4, 5)
ORDINARY_COLLECTION_MONTHS = (6, 8, 10, 1)


@dataclass(frozen=True)
class SpecialCollectionSchedule:
    """特別徴収: the employer's 12 monthly amounts, June of the fiscal year to May of the next."""

    june: int
    july: int
    august: int
    september: int
    october: int
    november: int
    december: int
    january: int  # of the next calendar year
    february: int
    march: int
    april: int
    may: int

    @property
    def monthly(self) -> tuple[tuple[int, int], ...]:
        """(month, amount) in collection order, June first."""
        amounts = (getattr(self, f.name) for f in fields(self))
        return tuple(zip(SPECIAL_COLLECTION_MONTHS, amounts, strict=True))

    @property
    def total(self) -> int:
        """The annual amount the schedule collects."""
        return sum(amount for _, amount in self.monthly)


@dataclass(frozen=True)
class OrdinaryCollectionSchedule:
    """普通徴収: 4 instalments due at the end of June, August, October and next January."""

    june: int
    august: int
    october: int
    january: int  # of the next calendar year

    @property
    def instalments(self) -> tuple[tuple[int, int], ...]:
        """(month, amount) in due order, June first."""
        amounts = (getattr(self, f.name) for f in fields(self))
        return tuple(zip(ORDINARY_COLLECTION_MONTHS, amounts, strict=True))

    @property
    def total(self) -> int:
        """The annual amount the schedule collects."""
        return sum(amount for _, amount in self.instalments)


def _check_integer(value: int, label: str, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{label}は整数で指定してください: {value!r}")
    if value < minimum:
        raise ValueError(f"{label}は{minimum}以上で指定してください: {value}")


def split_instalments(annual_amount: int, count: int, unit: int) -> tuple[int, ...]:
    """地方税法20条の4の2第6項 (tax.md "Rounding and collection"): fractions to the first."""
    # Each instalment is annual / count truncated to ``unit``; every fraction, or the whole
    # instalment if it is under ``unit``, is added to the first one.
    _check_integer(annual_amount, "税額（円）", 0)
    _check_integer(count, "分割回数", 1)
    _check_integer(unit, "端数処理の単位（円）", 1)
    later = annual_amount // count // unit * unit
    first = annual_amount - later * (count - 1)
    return (first, *([later] * (count - 1)))


def special_collection(
    annual_amount: int, unit: int = SPECIAL_COLLECTION_UNIT
) -> SpecialCollectionSchedule:
    """地方税法321条の5・20条の4の2第6項 (tax.md "Rounding and collection"): 特別徴収 June–May."""
    return SpecialCollectionSchedule(*split_instalments(annual_amount, 12, unit))


def ordinary_collection(
    annual_amount: int, unit: int = ORDINARY_COLLECTION_UNIT
) -> OrdinaryCollectionSchedule:
    """地方税法320条・20条の4の2第6項 (tax.md "Rounding and collection"): 普通徴収 4 instalments."""
    return OrdinaryCollectionSchedule(*split_instalments(annual_amount, 4, unit))
