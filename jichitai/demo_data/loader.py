"""Typed, cached access to the demo reference data shipped as JSON beside this module.

``machiaza.json`` maps each demo lg_code to its 町字: names, katakana readings and postcodes come
from Japan Post's 郵便番号データ (KEN_ALL), every name cross-checked against the 町字 list of the
address registry (国土交通省 位置参照情報 / アドレス・ベース・レジストリ). The ``code`` of an entry
is a demo serial ``<lg_code>-<NNNN>``, not a registry 町字ID. ``names.json`` holds synthetic name
pools; surnames flagged ``ivs`` carry an Ideographic Variation Sequence (e.g. 辻 U+8FBB U+E0100).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Literal, cast, get_args

__all__ = [
    "ERAS",
    "RESIDENCE_STATUSES",
    "Alias",
    "Era",
    "FamilyName",
    "ForeignResident",
    "GivenName",
    "Machiaza",
    "NamePools",
    "Sex",
    "era_for_year",
    "lg_codes",
    "machiaza",
    "name_pools",
]

Era = Literal["showa", "heisei", "reiwa"]
Sex = Literal["M", "F"]
ERAS: tuple[Era, ...] = get_args(Era)
_SEXES: tuple[Sex, ...] = get_args(Sex)

# 在留資格 a foreign resident registered in a 住民票 can hold (中長期在留者, so no 外交,
# 公用 or 短期滞在), written as in the 入管法 別表 without the 号 subdivisions, plus
# 特別永住者 (入管特例法).
RESIDENCE_STATUSES: frozenset[str] = frozenset(
    {
        "教授",
        "芸術",
        "宗教",
        "報道",
        "高度専門職",
        "経営・管理",
        "法律・会計業務",
        "医療",
        "研究",
        "教育",
        "技術・人文知識・国際業務",
        "企業内転勤",
        "介護",
        "興行",
        "技能",
        "特定技能",
        "技能実習",
        "文化活動",
        "留学",
        "研修",
        "家族滞在",
        "特定活動",
        "永住者",
        "日本人の配偶者等",
        "永住者の配偶者等",
        "定住者",
        "特別永住者",
    }
)

_PACKAGE = "jichitai.demo_data"


@dataclass(frozen=True, slots=True)
class Machiaza:
    """One 町字 of a municipality: demo code, name, katakana reading and postcode if known."""

    code: str
    name: str
    kana: str
    postcode: str | None

    @property
    def lg_code(self) -> str:
        """The 6-digit 地方公共団体コード the code starts with."""
        return self.code.partition("-")[0]


@dataclass(frozen=True, slots=True)
class FamilyName:
    """A surname and its katakana reading; ``ivs`` marks names holding a variation sequence."""

    name: str
    kana: str
    ivs: bool = False


@dataclass(frozen=True, slots=True)
class GivenName:
    """A given name, its katakana reading and the era it is typical of, if any."""

    name: str
    kana: str
    era: Era | None = None


@dataclass(frozen=True, slots=True)
class Alias:
    """A 通称 registered for a foreign resident, with its katakana reading."""

    name: str
    kana: str


@dataclass(frozen=True, slots=True)
class ForeignResident:
    """A synthetic foreign resident: alphabetic name, 国籍・地域, 在留資格, sex and 通称."""

    name: str
    nationality: str
    residence_status: str
    sex: Sex
    alias: Alias | None = None


@dataclass(frozen=True, slots=True)
class NamePools:
    """All name pools of the synthetic population."""

    family_names: tuple[FamilyName, ...]
    given_names_male: tuple[GivenName, ...]
    given_names_female: tuple[GivenName, ...]
    foreign_residents: tuple[ForeignResident, ...]

    def given_names(self, sex: Sex, era: Era | None = None) -> tuple[GivenName, ...]:
        """Given names for ``sex``, narrowed to ``era`` plus the era-less ones when one is given."""
        pool = self.given_names_male if sex == "M" else self.given_names_female
        if era is None:
            return pool
        return tuple(g for g in pool if g.era in (era, None))


def era_for_year(year: int) -> Era:
    """The name-pool era for a birth year; years before 昭和 use the 昭和 pool."""
    if year >= 2019:
        return "reiwa"
    if year >= 1989:
        return "heisei"
    return "showa"


def _load(filename: str) -> Any:
    text = resources.files(_PACKAGE).joinpath(filename).read_text(encoding="utf-8")
    return json.loads(text)


def _str(item: dict[str, Any], key: str) -> str:
    value = item.get(key)
    if not isinstance(value, str) or not value:
        raise ValueError(f"{key!r} must be a non-empty string in {item!r}")
    return value


def _optional_str(item: dict[str, Any], key: str) -> str | None:
    return None if item.get(key) is None else _str(item, key)


def _choice(item: dict[str, Any], key: str, allowed: tuple[str, ...] | frozenset[str]) -> str:
    value = _str(item, key)
    if value not in allowed:
        raise ValueError(f"{key!r} is {value!r}, expected one of {sorted(allowed)}")
    return value


@cache
def _machiaza_table() -> dict[str, tuple[Machiaza, ...]]:
    raw = cast(dict[str, list[dict[str, Any]]], _load("machiaza.json"))
    return {
        lg_code: tuple(
            Machiaza(
                code=_str(e, "code"),
                name=_str(e, "name"),
                kana=_str(e, "kana"),
                postcode=_optional_str(e, "postcode"),
            )
            for e in entries
        )
        for lg_code, entries in raw.items()
    }


def lg_codes() -> tuple[str, ...]:
    """The lg_codes that have 町字 data, in file order."""
    return tuple(_machiaza_table())


def machiaza(lg_code: str) -> list[Machiaza]:
    """The 町字 of one demo municipality; KeyError for an lg_code without data."""
    try:
        return list(_machiaza_table()[lg_code])
    except KeyError:
        raise KeyError(f"no 町字 data for lg_code {lg_code!r}") from None


def _given(e: dict[str, Any]) -> GivenName:
    era = e.get("era")
    return GivenName(
        name=_str(e, "name"),
        kana=_str(e, "kana"),
        era=None if era is None else cast(Era, _choice(e, "era", ERAS)),
    )


def _foreign(e: dict[str, Any]) -> ForeignResident:
    alias = e.get("alias")
    return ForeignResident(
        name=_str(e, "name"),
        nationality=_str(e, "nationality"),
        residence_status=_choice(e, "residence_status", RESIDENCE_STATUSES),
        sex=cast(Sex, _choice(e, "sex", _SEXES)),
        alias=None if alias is None else Alias(name=_str(alias, "name"), kana=_str(alias, "kana")),
    )


@cache
def name_pools() -> NamePools:
    """The name pools, parsed once and shared (every part is immutable)."""
    raw = cast(dict[str, list[dict[str, Any]]], _load("names.json"))
    return NamePools(
        family_names=tuple(
            FamilyName(name=_str(e, "name"), kana=_str(e, "kana"), ivs=e.get("ivs") is True)
            for e in raw["family_names"]
        ),
        given_names_male=tuple(_given(e) for e in raw["given_names_male"]),
        given_names_female=tuple(_given(e) for e in raw["given_names_female"]),
        foreign_residents=tuple(_foreign(e) for e in raw["foreign_residents"]),
    )
