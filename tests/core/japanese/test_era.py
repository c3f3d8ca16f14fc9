from datetime import date, datetime
from itertools import pairwise

import pytest

from core.japanese import era as era_module
from core.japanese.era import (
    ERAS,
    HEISEI,
    MEIJI,
    REIWA,
    SHOWA,
    TAISHO,
    Era,
    JapaneseDate,
    JapaneseDateError,
    fiscal_year_label,
    from_japanese,
    get_era,
    parse,
    to_japanese,
)

# (Gregorian date, era, era year, month, day): the first and last day of every era.
BOUNDARIES = [
    (date(1868, 10, 23), MEIJI, 1, 10, 23),
    (date(1912, 7, 29), MEIJI, 45, 7, 29),
    (date(1912, 7, 30), TAISHO, 1, 7, 30),
    (date(1926, 12, 24), TAISHO, 15, 12, 24),
    (date(1926, 12, 25), SHOWA, 1, 12, 25),
    (date(1989, 1, 7), SHOWA, 64, 1, 7),
    (date(1989, 1, 8), HEISEI, 1, 1, 8),
    (date(2019, 4, 30), HEISEI, 31, 4, 30),
    (date(2019, 5, 1), REIWA, 1, 5, 1),
]


class TestEraTable:
    def test_codes_letters_and_names(self):
        assert [(e.name, e.short, e.code) for e in ERAS] == [
            ("明治", "M", 1),
            ("大正", "T", 2),
            ("昭和", "S", 3),
            ("平成", "H", 4),
            ("令和", "R", 5),
        ]

    def test_each_era_ends_the_day_before_the_next_starts(self):
        for prev, nxt in pairwise(ERAS):
            assert prev.end is not None
            assert (nxt.start - prev.end).days == 1

    def test_parse_window_reaches_at_most_the_next_era_first_day(self):
        for prev, nxt in pairwise(ERAS):
            assert prev.last_day_accepted_when_parsing in (prev.end, nxt.start)
        assert MEIJI.last_day_accepted_when_parsing == date(1912, 7, 30)
        assert TAISHO.last_day_accepted_when_parsing == date(1926, 12, 25)
        assert SHOWA.last_day_accepted_when_parsing == date(1989, 1, 7)
        assert HEISEI.last_day_accepted_when_parsing == date(2019, 4, 30)
        assert REIWA.end is None
        assert REIWA.last_day_accepted_when_parsing is None

    def test_era_is_immutable(self):
        with pytest.raises(AttributeError):
            REIWA.name = "x"  # type: ignore[misc]

    @pytest.mark.parametrize(
        ("key", "expected"),
        [
            ("令和", REIWA),
            ("令", REIWA),
            ("R", REIWA),
            ("r", REIWA),
            ("Ｈ", HEISEI),
            ("㍻", HEISEI),
            (3, SHOWA),
            (1, MEIJI),
            (TAISHO, TAISHO),
        ],
    )
    def test_get_era(self, key, expected):
        assert get_era(key) is expected

    @pytest.mark.parametrize("key", ["慶応", "X", "", 0, 6])
    def test_get_era_unknown(self, key):
        with pytest.raises(JapaneseDateError, match="元号"):
            get_era(key)


class TestToJapanese:
    @pytest.mark.parametrize(("d", "era", "year", "month", "day"), BOUNDARIES)
    def test_boundaries(self, d, era, year, month, day):
        assert to_japanese(d) == JapaneseDate(era, year, month, day)

    def test_new_era_wins_on_changeover_day(self):
        assert to_japanese(date(1912, 7, 30)).format() == "大正元年7月30日"
        assert to_japanese(date(1926, 12, 25)).format() == "昭和元年12月25日"

    def test_datetime_is_accepted(self):
        assert to_japanese(datetime(2019, 5, 1, 0, 0, 1)).format() == "令和元年5月1日"

    def test_before_meiji_raises(self):
        with pytest.raises(JapaneseDateError, match="1868年10月23日より前"):
            to_japanese(date(1868, 10, 22))

    def test_ordinary_dates(self):
        assert to_japanese(date(2025, 4, 1)).format() == "令和7年4月1日"
        assert to_japanese(date(1945, 8, 15)).format() == "昭和20年8月15日"
        assert to_japanese(date(2000, 2, 29)).format() == "平成12年2月29日"


class TestFormat:
    def test_kanji(self):
        assert JapaneseDate(REIWA, 7, 4, 1).format() == "令和7年4月1日"
        assert str(JapaneseDate(REIWA, 7, 4, 1)) == "令和7年4月1日"

    def test_gannen(self):
        assert JapaneseDate(REIWA, 1, 5, 1).format() == "令和元年5月1日"
        assert JapaneseDate(REIWA, 1, 5, 1).format(gannen=False) == "令和1年5月1日"

    def test_short(self):
        assert JapaneseDate(REIWA, 7, 4, 1).format("short") == "R07.04.01"
        assert JapaneseDate(REIWA, 1, 5, 1).format("short") == "R01.05.01"
        assert JapaneseDate(SHOWA, 64, 1, 7).format(style="short") == "S64.01.07"

    def test_unknown_style(self):
        with pytest.raises(ValueError, match="表示形式"):
            JapaneseDate(REIWA, 7, 4, 1).format("iso")  # type: ignore[arg-type]

    def test_to_date_round_trip(self):
        assert JapaneseDate(HEISEI, 31, 4, 30).to_date() == date(2019, 4, 30)


class TestFromJapanese:
    @pytest.mark.parametrize(("d", "era", "year", "month", "day"), BOUNDARIES)
    def test_boundaries(self, d, era, year, month, day):
        assert from_japanese(era, year, month, day) == d
        assert from_japanese(era.name, year, month, day) == d

    def test_old_era_accepted_on_changeover_day(self):
        assert from_japanese("明治", 45, 7, 30) == date(1912, 7, 30)
        assert from_japanese("大正", 15, 12, 25) == date(1926, 12, 25)

    @pytest.mark.parametrize(
        ("era", "year", "month", "day", "message"),
        [
            ("昭和", 64, 1, 8, "昭和64年1月8日は存在しない日付です。"),
            ("平成", 31, 5, 1, "平成31年5月1日は存在しない日付です。"),
            ("明治", 45, 7, 31, "明治45年7月31日は存在しない日付です。"),
            ("大正", 15, 12, 26, "大正15年12月26日は存在しない日付です。"),
            ("平成", 1, 1, 7, "平成元年1月7日は存在しない日付です。"),
            ("令和", 1, 4, 30, "令和元年4月30日は存在しない日付です。"),
            ("明治", 1, 10, 22, "明治元年10月22日は存在しない日付です。"),
            ("令和", 7, 2, 29, "令和7年2月29日は存在しない日付です。"),
            ("令和", 7, 13, 1, "令和7年13月1日は存在しない日付です。"),
            ("令和", 7, 4, 31, "令和7年4月31日は存在しない日付です。"),
            ("令和", 0, 4, 1, "令和0年4月1日は存在しない日付です。"),
            ("昭和", 65, 1, 1, "昭和65年1月1日は存在しない日付です。"),
        ],
    )
    def test_nonexistent_dates(self, era, year, month, day, message):
        with pytest.raises(JapaneseDateError) as excinfo:
            from_japanese(era, year, month, day)
        assert str(excinfo.value) == message

    def test_error_is_value_error(self):
        with pytest.raises(ValueError, match="存在しない日付"):
            from_japanese("昭和", 64, 1, 8)

    def test_leap_day(self):
        assert from_japanese("令和", 6, 2, 29) == date(2024, 2, 29)

    def test_unknown_era(self):
        with pytest.raises(JapaneseDateError, match="「慶応」は元号として認識できません。"):
            from_japanese("慶応", 4, 1, 1)


class TestParse:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("令和7年4月1日", date(2025, 4, 1)),
            ("令和元年5月1日", date(2019, 5, 1)),
            ("R7.4.1", date(2025, 4, 1)),
            ("R07.04.01", date(2025, 4, 1)),
            ("r07.04.01", date(2025, 4, 1)),
            ("H31.4.30", date(2019, 4, 30)),
            ("S64.1.7", date(1989, 1, 7)),
            ("H1.1.8", date(1989, 1, 8)),
            ("T1-7-30", date(1912, 7, 30)),
            ("M45/7/29", date(1912, 7, 29)),
            ("令和７年４月１日", date(2025, 4, 1)),
            ("Ｒ０７．０４．０１", date(2025, 4, 1)),
            ("明治45年7月30日", date(1912, 7, 30)),
            ("大正15年12月25日", date(1926, 12, 25)),
            ("大正元年7月30日", date(1912, 7, 30)),
            ("昭和元年12月25日", date(1926, 12, 25)),
            ("平成元年1月8日", date(1989, 1, 8)),
            ("明治元年10月23日", date(1868, 10, 23)),
            ("  令和 7年 4月 1日  ", date(2025, 4, 1)),
            ("令和　７年　４月　１日", date(2025, 4, 1)),
            ("昭64.1.7", date(1989, 1, 7)),
            ("平成31.4.30", date(2019, 4, 30)),
            ("昭和64年1月7日", date(1989, 1, 7)),
            ("平31年4月30日", date(2019, 4, 30)),
            ("㋿7年4月1日", date(2025, 4, 1)),
            ("㍻31年4月30日", date(2019, 4, 30)),
        ],
    )
    def test_accepted(self, text, expected):
        assert parse(text) == expected

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("昭和64年1月8日", "昭和64年1月8日は存在しない日付です。"),
            ("平成31年5月1日", "平成31年5月1日は存在しない日付です。"),
            ("H31.5.1", "平成31年5月1日は存在しない日付です。"),
            ("S64.01.08", "昭和64年1月8日は存在しない日付です。"),
            ("令和7年2月30日", "令和7年2月30日は存在しない日付です。"),
        ],
    )
    def test_nonexistent(self, text, message):
        with pytest.raises(JapaneseDateError) as excinfo:
            parse(text)
        assert str(excinfo.value) == message

    @pytest.mark.parametrize(
        "text",
        [
            "",
            "2025-04-01",
            "令和7年4月",
            "令和七年四月一日",
            "X7.4.1",
            "R7.4-1",
            "令和7年4月1日です",
        ],
    )
    def test_unparseable(self, text):
        with pytest.raises(JapaneseDateError, match="和暦の日付として解釈できません"):
            parse(text)

    @pytest.mark.parametrize(("d", "era", "year", "month", "day"), BOUNDARIES)
    def test_round_trip_both_styles(self, d, era, year, month, day):
        jd = to_japanese(d)
        assert parse(jd.format()) == d
        assert parse(jd.format("short")) == d
        assert parse(jd.format(gannen=False)) == d


class TestFiscalYearLabel:
    @pytest.mark.parametrize(
        ("fy", "label"),
        [
            (2025, "令和7年度"),
            (2020, "令和2年度"),
            (2019, "令和元年度"),
            (2018, "平成30年度"),
            (1989, "平成元年度"),
            (1988, "昭和63年度"),
            (1926, "昭和元年度"),
            (1912, "大正元年度"),
            (1868, "明治元年度"),
        ],
    )
    def test_labels(self, fy, label):
        assert fiscal_year_label(fy) == label

    def test_without_gannen(self):
        assert fiscal_year_label(2019, gannen=False) == "令和1年度"

    @pytest.mark.parametrize("fy", [1867, 0, -5])
    def test_out_of_range(self, fy):
        with pytest.raises(JapaneseDateError, match="年度は和暦の年度に変換できません"):
            fiscal_year_label(fy)


def test_module_exports_era_type():
    assert isinstance(era_module.REIWA, Era)
    assert era_module.ERAS[-1] is REIWA
