"""The demo reference data: 町字 masters of the nine members and the synthetic name pools."""

from __future__ import annotations

import re
from importlib import resources

import pytest

from core.japanese.kana import has_ivs, is_kana
from jichitai.demo import MEMBERS
from jichitai.demo_data.loader import (
    RESIDENCE_STATUSES,
    ForeignResident,
    Machiaza,
    NamePools,
    era_for_year,
    lg_codes,
    machiaza,
    name_pools,
)

FULL_WIDTH_KATAKANA = re.compile("[\u30a1-\u30fa\u30fc]+( [\u30a1-\u30fa\u30fc]+)*")
POSTCODE = re.compile(r"\d{3}-\d{4}")
IVS = re.compile("[\U000e0100-\U000e01ef]")
DEMO_LG_CODES = [code for code, *_ in MEMBERS]


def _is_katakana(s: str) -> bool:
    return is_kana(s) and FULL_WIDTH_KATAKANA.fullmatch(s) is not None


def all_machiaza() -> list[Machiaza]:
    return [m for code in lg_codes() for m in machiaza(code)]


@pytest.fixture(scope="module")
def pools() -> NamePools:
    return name_pools()


def test_json_files_ship_as_package_data() -> None:
    folder = resources.files("jichitai.demo_data")
    assert folder.joinpath("machiaza.json").is_file()
    assert folder.joinpath("names.json").is_file()


def test_every_demo_municipality_has_machiaza() -> None:
    assert sorted(lg_codes()) == sorted(DEMO_LG_CODES)
    for code in DEMO_LG_CODES:
        entries = machiaza(code)
        assert entries, code
        # 舟橋村 has only ten 大字; the others have at least fifteen here.
        assert len(entries) >= (9 if code == "163210" else 15), code


def test_machiaza_codes_are_unique_and_carry_their_lg_code() -> None:
    entries = all_machiaza()
    codes = [m.code for m in entries]
    assert len(codes) == len(set(codes))
    for code in lg_codes():
        for m in machiaza(code):
            assert re.fullmatch(rf"{code}-\d{{4}}", m.code), m
            assert m.lg_code == code


def test_machiaza_names_are_unique_within_a_municipality() -> None:
    for code in lg_codes():
        names = [m.name for m in machiaza(code)]
        assert len(names) == len(set(names)), code


def test_machiaza_kana_is_full_width_katakana() -> None:
    for m in all_machiaza():
        assert _is_katakana(m.kana), m


def test_machiaza_postcodes_are_well_formed_when_known() -> None:
    entries = all_machiaza()
    assert sum(m.postcode is not None for m in entries) > len(entries) * 0.9
    for m in entries:
        assert m.postcode is None or POSTCODE.fullmatch(m.postcode), m


def test_known_machiaza_are_there() -> None:
    imizu = {m.name: m for m in machiaza("162116")}
    assert imizu["大門"].kana == "ダイモン"
    assert imizu["大門"].postcode == "939-0232"
    assert {m.name for m in machiaza("163210")} >= {"舟橋", "仏生寺", "古海老江", "竹内"}


def test_machiaza_of_an_unknown_lg_code_raises() -> None:
    with pytest.raises(KeyError):
        machiaza("131016")


def test_machiaza_returns_a_fresh_list() -> None:
    first = machiaza("162060")
    first.clear()
    assert machiaza("162060")


def test_pools_are_non_empty_without_duplicates(pools: NamePools) -> None:
    for pool in (pools.family_names, pools.given_names_male, pools.given_names_female):
        assert len(pool) >= 100
        names = [n.name for n in pool]
        assert len(names) == len(set(names))
    residents = [f.name for f in pools.foreign_residents]
    assert len(residents) >= 30
    assert len(residents) == len(set(residents))


def test_name_kana_is_full_width_katakana(pools: NamePools) -> None:
    for pool in (pools.family_names, pools.given_names_male, pools.given_names_female):
        for n in pool:
            assert _is_katakana(n.kana), n


def test_ivs_surnames_really_hold_a_variation_sequence(pools: NamePools) -> None:
    flagged = [f for f in pools.family_names if f.ivs]
    assert len(flagged) >= 3
    for f in flagged:
        assert IVS.search(f.name), f
        assert has_ivs(f.name)
    assert not [f for f in pools.family_names if not f.ivs and IVS.search(f.name)]
    names = {f.name for f in pools.family_names}
    assert {"髙橋", "高橋", "葛\U000e0100城"} <= names


def test_common_toyama_surnames_are_in_the_pool(pools: NamePools) -> None:
    names = {f.name for f in pools.family_names}
    for name in ("山本", "林", "吉田", "山田", "中川", "山口", "松井", "清水", "森", "高田"):
        assert name in names


def test_given_names_cover_every_era(pools: NamePools) -> None:
    for sex in ("M", "F"):
        for era in ("showa", "heisei", "reiwa"):
            narrowed = pools.given_names(sex, era)
            assert len(narrowed) >= 20
            assert all(g.era in (era, None) for g in narrowed)
    assert pools.given_names("F") == pools.given_names_female


@pytest.mark.parametrize(
    ("year", "era"),
    [(1920, "showa"), (1988, "showa"), (1989, "heisei"), (2018, "heisei"), (2019, "reiwa")],
)
def test_era_for_year(year: int, era: str) -> None:
    assert era_for_year(year) == era


def test_foreign_residents_are_plausible(pools: NamePools) -> None:
    residents: tuple[ForeignResident, ...] = pools.foreign_residents
    for r in residents:
        assert r.residence_status in RESIDENCE_STATUSES, r
        assert r.sex in ("M", "F")
        assert re.fullmatch(r"[A-Z]+( [A-Z]+)*", r.name), r
        if r.alias is not None:
            assert _is_katakana(r.alias.kana), r
    nationalities = {r.nationality for r in residents}
    assert {"ベトナム", "中国", "フィリピン", "ブラジル", "ネパール", "インドネシア", "韓国"} <= (
        nationalities
    )
    assert {r.residence_status for r in residents} >= {"技能実習", "特定技能", "特別永住者"}
