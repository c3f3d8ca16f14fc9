"""Register dates: the forms of 標準仕様書 1.1.8 (J:80) and their printing per 1.1.9 (J:90)."""

from datetime import date

import pytest

from resident_records.rules.register_dates import (
    FORMAT_MESSAGE,
    DateKind,
    RegisterDate,
    RegisterDateError,
    parse_register_date,
)

# (entered text, kind, representative value): the fourteen 不詳日 forms of J:80, in its order,
# written with several eras and a Western year.
UNCERTAIN_FORMS: list[tuple[str, DateKind, date | None]] = [
    ("令和5年頃", DateKind.ABOUT_YEAR, date(2023, 1, 1)),
    ("昭和30年4月頃", DateKind.ABOUT_MONTH, date(1955, 4, 1)),
    ("平成2年10月15日頃", DateKind.ABOUT_DAY, date(1990, 10, 15)),
    ("推定大正10年3月5日", DateKind.ESTIMATED_DAY, date(1921, 3, 5)),
    ("推定明治40年8月", DateKind.ESTIMATED_MONTH, date(1907, 8, 1)),
    ("令和3年春", DateKind.SEASON, date(2021, 3, 1)),
    ("昭和20年8月上旬", DateKind.EARLY_MONTH, date(1945, 8, 1)),
    ("昭和20年8月中旬頃", DateKind.MID_MONTH, date(1945, 8, 11)),
    ("年月日不詳", DateKind.UNKNOWN, None),
    ("昭和15年 月日不詳", DateKind.DAY_UNKNOWN_IN_YEAR, date(1940, 1, 1)),
    ("昭和15年11月 日不詳", DateKind.DAY_UNKNOWN_IN_MONTH, date(1940, 11, 1)),
    ("令和2年10月3日から11月2日頃までの間", DateKind.RANGE_BETWEEN, date(2020, 10, 3)),
    ("令和2年10月推定3日から9日までの間", DateKind.RANGE_ESTIMATED_DAYS, date(2020, 10, 3)),
    ("令和2年10月3日頃から9日頃までの間", DateKind.RANGE_ABOUT, date(2020, 10, 3)),
]

MORE_UNCERTAIN: list[tuple[str, DateKind, date | None]] = [
    ("昭和30年夏", DateKind.SEASON, date(1955, 6, 1)),
    ("昭和30年秋", DateKind.SEASON, date(1955, 9, 1)),
    ("昭和30年冬", DateKind.SEASON, date(1955, 12, 1)),
    ("昭和20年8月上旬頃", DateKind.EARLY_MONTH, date(1945, 8, 1)),
    ("昭和20年8月中旬", DateKind.MID_MONTH, date(1945, 8, 11)),
    ("昭和20年8月下旬", DateKind.LATE_MONTH, date(1945, 8, 21)),
    ("昭和20年8月下旬頃", DateKind.LATE_MONTH, date(1945, 8, 21)),
    ("昭和15年　月日不詳", DateKind.DAY_UNKNOWN_IN_YEAR, date(1940, 1, 1)),
    ("昭和15年月日不詳", DateKind.DAY_UNKNOWN_IN_YEAR, date(1940, 1, 1)),
    ("昭和15年11月日不詳", DateKind.DAY_UNKNOWN_IN_MONTH, date(1940, 11, 1)),
    ("令和元年頃", DateKind.ABOUT_YEAR, date(2019, 5, 1)),  # 令和 began on 5月1日
    ("明治元年頃", DateKind.ABOUT_YEAR, date(1868, 10, 23)),
    ("令和元年春", DateKind.SEASON, date(2019, 5, 1)),
    ("平成31年春", DateKind.SEASON, date(2019, 3, 1)),
    ("令和５年３月頃", DateKind.ABOUT_MONTH, date(2023, 3, 1)),
    ("平成3年2月29日頃", DateKind.ABOUT_DAY, date(1991, 2, 28)),
    ("令和2年12月20日から12月31日頃までの間", DateKind.RANGE_BETWEEN, date(2020, 12, 20)),
]

WESTERN_UNCERTAIN = [
    ("1980年頃", DateKind.ABOUT_YEAR, date(1980, 1, 1), "昭和55年頃"),
    ("1980年4月頃", DateKind.ABOUT_MONTH, date(1980, 4, 1), "昭和55年4月頃"),
    ("1980年4月5日頃", DateKind.ABOUT_DAY, date(1980, 4, 5), "昭和55年4月5日頃"),
    ("推定1980年4月5日", DateKind.ESTIMATED_DAY, date(1980, 4, 5), "推定昭和55年4月5日"),
    ("推定1980年4月", DateKind.ESTIMATED_MONTH, date(1980, 4, 1), "推定昭和55年4月"),
    ("1980年秋", DateKind.SEASON, date(1980, 9, 1), "昭和55年秋"),
    ("1980年4月上旬", DateKind.EARLY_MONTH, date(1980, 4, 1), "昭和55年4月上旬"),
    ("1980年4月中旬頃", DateKind.MID_MONTH, date(1980, 4, 11), "昭和55年4月中旬頃"),
    ("1980年 月日不詳", DateKind.DAY_UNKNOWN_IN_YEAR, date(1980, 1, 1), "昭和55年 月日不詳"),
    ("1980年4月 日不詳", DateKind.DAY_UNKNOWN_IN_MONTH, date(1980, 4, 1), "昭和55年4月 日不詳"),
    (
        "1980年4月1日から5月2日頃までの間",
        DateKind.RANGE_BETWEEN,
        date(1980, 4, 1),
        "昭和55年4月1日から5月2日頃までの間",
    ),
    (
        "1980年4月推定1日から9日までの間",
        DateKind.RANGE_ESTIMATED_DAYS,
        date(1980, 4, 1),
        "昭和55年4月推定1日から9日までの間",
    ),
    (
        "1980年4月1日頃から9日頃までの間",
        DateKind.RANGE_ABOUT,
        date(1980, 4, 1),
        "昭和55年4月1日頃から9日頃までの間",
    ),
    # The era of a Western year is the era of the representative date.
    ("1989年頃", DateKind.ABOUT_YEAR, date(1989, 1, 1), "昭和64年頃"),
    ("1989年3月頃", DateKind.ABOUT_MONTH, date(1989, 3, 1), "平成元年3月頃"),
    ("2019年冬", DateKind.SEASON, date(2019, 12, 1), "令和元年冬"),
    ("１９８０年４月頃", DateKind.ABOUT_MONTH, date(1980, 4, 1), "昭和５５年４月頃"),
]

# (entered text, value, 和暦 print, Western print)
EXACT = [
    ("令和7年4月1日", date(2025, 4, 1), "令和7年4月1日", "2025年4月1日"),
    ("令和元年5月1日", date(2019, 5, 1), "令和元年5月1日", "2019年5月1日"),
    ("令和1年5月1日", date(2019, 5, 1), "令和元年5月1日", "2019年5月1日"),
    ("令和７年４月１日", date(2025, 4, 1), "令和7年4月1日", "2025年4月1日"),
    ("令和07年04月01日", date(2025, 4, 1), "令和7年4月1日", "2025年4月1日"),
    ("平成元年1月8日", date(1989, 1, 8), "平成元年1月8日", "1989年1月8日"),
    ("昭和64年1月7日", date(1989, 1, 7), "昭和64年1月7日", "1989年1月7日"),
    ("平成31年4月30日", date(2019, 4, 30), "平成31年4月30日", "2019年4月30日"),
    ("明治元年10月23日", date(1868, 10, 23), "明治元年10月23日", "1868年10月23日"),
    ("平成4年2月29日", date(1992, 2, 29), "平成4年2月29日", "1992年2月29日"),
    # The last day of 明治 and of 大正 as old registers write them (J:80): kept in that era.
    ("明治45年7月30日", date(1912, 7, 30), "明治45年7月30日", "1912年7月30日"),
    ("大正元年7月30日", date(1912, 7, 30), "大正元年7月30日", "1912年7月30日"),
    ("大正15年12月25日", date(1926, 12, 25), "大正15年12月25日", "1926年12月25日"),
    ("1955-04-01", date(1955, 4, 1), "昭和30年4月1日", "1955年4月1日"),
    ("１９５５－０４－０１", date(1955, 4, 1), "昭和30年4月1日", "1955年4月1日"),
    ("1955/4/1", date(1955, 4, 1), "昭和30年4月1日", "1955年4月1日"),
    ("1980年4月1日", date(1980, 4, 1), "昭和55年4月1日", "1980年4月1日"),
    ("1912-07-30", date(1912, 7, 30), "大正元年7月30日", "1912年7月30日"),
    ("2019-05-01", date(2019, 5, 1), "令和元年5月1日", "2019年5月1日"),
]

# (entered text, value, 和暦 print, Western print)
NON_CALENDAR = [
    ("平成3年2月29日", date(1991, 2, 28), "平成3年2月29日", "1991年2月29日"),
    ("令和5年2月30日", date(2023, 2, 28), "令和5年2月30日", "2023年2月30日"),
    ("昭和50年4月31日", date(1975, 4, 30), "昭和50年4月31日", "1975年4月31日"),
    ("平成３年２月２９日", date(1991, 2, 28), "平成３年２月２９日", "１９９１年２月２９日"),
    ("1991年2月29日", date(1991, 2, 28), "平成3年2月29日", "1991年2月29日"),
    ("1991-02-29", date(1991, 2, 28), "平成3年2月29日", "1991年2月29日"),
]

GARBAGE = [
    "abc",
    "令和",
    "令和7年",
    "令和7年4月",
    "7年4月1日",
    "80年頃",
    "令和7年4月1日ごろ",
    "令和7年4月1日頃頃",
    "令和7年 4月1日",
    "頃",
    "推定",
    "不詳",
    "年月日",
    "生年月日不詳",
    "令和7年4月末",
    "令和7年年末",
    "慶応3年頃",
    "R07.04.01",
    "2025-04/01",
    "2025-13",
    "20250401",
    "令和7年4月1日から",
    "令和7年4月1日から4月2日までの間",
    "令和7年4月推定1日から4月9日までの間",
    "'; DROP TABLE persons; --",
]


class TestUncertainForms:
    @pytest.mark.parametrize(("text", "kind", "value"), UNCERTAIN_FORMS + MORE_UNCERTAIN)
    def test_accepted_and_printed_as_entered(self, text, kind, value):
        parsed = parse_register_date(text)
        assert parsed.text == text
        assert parsed.kind is kind
        assert parsed.value == value
        assert parsed.western is False
        assert parsed.is_uncertain
        assert parsed.format_japanese() == text

    def test_the_fourteen_forms_of_j80_are_all_covered(self):
        kinds = {kind for _, kind, _ in UNCERTAIN_FORMS}
        assert len(UNCERTAIN_FORMS) == 14
        assert len(kinds) == 14
        # 下旬 shares the form of 上旬/中旬, so the enum has one kind more than J:80 has forms.
        uncertain_kinds = set(DateKind) - {DateKind.EXACT, DateKind.NON_CALENDAR}
        assert uncertain_kinds == kinds | {DateKind.LATE_MONTH}

    @pytest.mark.parametrize(("text", "kind", "value"), UNCERTAIN_FORMS + MORE_UNCERTAIN)
    def test_rejected_where_only_calendar_dates_are_allowed(self, text, kind, value):
        with pytest.raises(RegisterDateError, match="不詳日はこの項目には入力できません"):
            parse_register_date(text, allow_uncertain=False)

    @pytest.mark.parametrize(("text", "kind", "value", "japanese"), WESTERN_UNCERTAIN)
    def test_western_year(self, text, kind, value, japanese):
        parsed = parse_register_date(text)
        assert (parsed.kind, parsed.value, parsed.western) == (kind, value, True)
        assert parsed.format_western() == text
        # J:90: screens and certificates show 和暦; only the year is converted.
        assert parsed.format_japanese() == japanese

    @pytest.mark.parametrize(
        ("text", "western"),
        [
            ("昭和55年頃", "1980年頃"),
            ("令和元年頃", "2019年頃"),
            ("推定昭和55年4月", "推定1980年4月"),
            ("昭和55年4月1日から5月2日頃までの間", "1980年4月1日から5月2日頃までの間"),
            ("昭和５５年４月頃", "１９８０年４月頃"),
            ("年月日不詳", "年月日不詳"),
        ],
    )
    def test_era_year_printed_in_western_calendar(self, text, western):
        assert parse_register_date(text).format_western() == western

    def test_surrounding_whitespace_is_dropped_but_nothing_inside(self):
        parsed = parse_register_date("　昭和15年 月日不詳 ")
        assert parsed.text == "昭和15年 月日不詳"
        assert parsed.format_japanese() == "昭和15年 月日不詳"

    def test_unknown_has_no_value(self):
        parsed = parse_register_date("年月日不詳")
        assert parsed.value is None
        assert parsed.age_on(date(2025, 1, 1)) is None
        assert parsed.format_western() == "年月日不詳"


class TestCalendarDates:
    @pytest.mark.parametrize(("text", "value", "japanese", "western"), EXACT)
    def test_exact(self, text, value, japanese, western):
        for allow_uncertain in (True, False):
            parsed = parse_register_date(text, allow_uncertain=allow_uncertain)
            assert parsed.kind is DateKind.EXACT
            assert parsed.value == value
            assert not parsed.is_uncertain
            assert parsed.text == text
            assert parsed.format_japanese() == japanese
            assert parsed.format_western() == western

    def test_western_flag_follows_the_input_calendar(self):
        assert parse_register_date("1980-02-29").western is True
        assert parse_register_date("1980年2月29日").western is True
        assert parse_register_date("昭和55年2月29日").western is False

    @pytest.mark.parametrize(("text", "value", "japanese", "western"), NON_CALENDAR)
    def test_non_calendar_accepted_where_uncertain_dates_are(self, text, value, japanese, western):
        parsed = parse_register_date(text, allow_uncertain=True)
        assert parsed.kind is DateKind.NON_CALENDAR
        assert parsed.value == value
        assert not parsed.is_uncertain
        assert parsed.format_japanese() == japanese
        assert parsed.format_western() == western

    @pytest.mark.parametrize(("text", "value", "japanese", "western"), NON_CALENDAR)
    def test_non_calendar_rejected_elsewhere(self, text, value, japanese, western):
        with pytest.raises(RegisterDateError, match="暦上存在しない日付です"):
            parse_register_date(text, allow_uncertain=False)

    def test_non_calendar_default_is_accepted(self):
        assert parse_register_date("平成3年2月29日").kind is DateKind.NON_CALENDAR


class TestRejected:
    @pytest.mark.parametrize("text", GARBAGE)
    def test_garbage(self, text):
        with pytest.raises(RegisterDateError) as info:
            parse_register_date(text)
        assert str(info.value) == FORMAT_MESSAGE
        assert "日付の形式が正しくありません" in str(info.value)

    @pytest.mark.parametrize("text", ["", "   ", "\u3000"])
    def test_empty(self, text):
        with pytest.raises(RegisterDateError, match="日付を入力してください"):
            parse_register_date(text)

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("令和5年13月1日", "月が正しくありません"),
            ("令和5年0月1日", "月が正しくありません"),
            ("令和5年13月頃", "月が正しくありません"),
            ("令和5年2月32日", "日が正しくありません"),
            ("令和5年2月0日", "日が正しくありません"),
            ("令和5年2月0日頃", "日が正しくありません"),
            ("令和0年1月1日", "年が正しくありません"),
            ("0000-01-01", "年が正しくありません"),
            ("昭和64年1月8日", "昭和の期間にありません"),
            ("平成31年5月1日", "平成の期間にありません"),
            ("令和元年4月30日", "令和の期間にありません"),
            ("明治45年7月31日", "明治の期間にありません"),
            ("明治元年10月22日", "明治の期間にありません"),
            ("平成32年頃", "平成の期間にありません"),
            ("昭和64年春", "昭和の期間にありません"),
            ("平成31年冬", "平成の期間にありません"),
            ("令和元年4月頃", "令和の期間にありません"),
            ("令和元年2月29日", "令和の期間にありません"),
            ("平成31年4月20日から5月2日頃までの間", "平成の期間にありません"),
            ("令和5年3月10日から3月1日頃までの間", "期間の終わりが始まりより前"),
            ("令和5年3月推定10日から1日までの間", "期間の終わりが始まりより前"),
        ],
    )
    def test_impossible_values(self, text, message):
        with pytest.raises(RegisterDateError, match=message) as info:
            parse_register_date(text)
        assert f"「{text}」" in str(info.value)

    def test_era_range_is_explained(self):
        with pytest.raises(RegisterDateError) as info:
            parse_register_date("昭和64年1月8日")
        assert "昭和64年1月7日まで" in str(info.value)

    def test_long_input_is_not_echoed(self):
        text = "令和" + "9" * 200 + "年頃"
        with pytest.raises(RegisterDateError) as info:
            parse_register_date(text)
        assert "9999" not in str(info.value)

    def test_is_a_value_error(self):
        assert issubclass(RegisterDateError, ValueError)

    def test_pre_meiji_date_cannot_print_in_japanese_era(self):
        parsed = parse_register_date("1850-01-01")
        assert parsed.format_western() == "1850年1月1日"
        with pytest.raises(RegisterDateError, match="和暦で表示できません"):
            parsed.format_japanese()


class TestStorage:
    @pytest.mark.parametrize(
        "text",
        [t for t, _, _ in UNCERTAIN_FORMS]
        + [t for t, *_ in EXACT]
        + [t for t, *_ in NON_CALENDAR]
        + [t for t, *_ in WESTERN_UNCERTAIN],
    )
    def test_json_round_trip(self, text):
        parsed = parse_register_date(text)
        stored = parsed.to_json()
        assert stored["text"] == text
        assert stored["kind"] == parsed.kind.value
        assert stored["western"] is parsed.western
        assert RegisterDate.from_json(stored) == parsed

    def test_json_shape(self):
        assert parse_register_date("昭和30年頃").to_json() == {
            "text": "昭和30年頃",
            "value": "1955-01-01",
            "kind": "about_year",
            "western": False,
        }
        assert parse_register_date("年月日不詳").to_json() == {
            "text": "年月日不詳",
            "value": None,
            "kind": "unknown",
            "western": False,
        }

    @pytest.mark.parametrize(
        "data",
        [
            {},
            {"text": "昭和30年頃", "value": "1955-01-01", "kind": "about_year"},
            {"text": "昭和30年頃", "value": "1955-01-01", "kind": "sometime", "western": False},
            {"text": "昭和30年頃", "value": "1955-13-01", "kind": "about_year", "western": False},
            {"text": "昭和30年頃", "value": 1955, "kind": "about_year", "western": False},
            {"text": "昭和30年頃", "value": "1955-06-01", "kind": "about_year", "western": False},
            {"text": "昭和30年頃", "value": "1955-01-01", "kind": "exact", "western": False},
            {"text": "昭和30年頃", "value": "1955-01-01", "kind": "about_year", "western": True},
            {"text": "いつか", "value": "1955-01-01", "kind": "about_year", "western": False},
        ],
    )
    def test_corrupted_json_is_refused(self, data):
        with pytest.raises(RegisterDateError):
            RegisterDate.from_json(data)

    def test_inconsistent_object_cannot_be_built(self):
        with pytest.raises(RegisterDateError):
            RegisterDate(
                text="昭和30年頃", value=date(1955, 1, 1), kind=DateKind.EXACT, western=False
            )

    def test_frozen(self):
        parsed = parse_register_date("昭和30年頃")
        with pytest.raises(AttributeError):
            parsed.text = "昭和31年頃"  # type: ignore[misc]


class TestAge:
    @pytest.mark.parametrize(
        ("text", "on", "age"),
        [
            ("昭和30年4月1日", date(2025, 3, 31), 69),
            ("昭和30年4月1日", date(2025, 4, 1), 70),
            ("1955-04-01", date(1955, 4, 1), 0),
            ("平成4年2月29日", date(2025, 2, 28), 32),
            ("平成4年2月29日", date(2025, 3, 1), 33),
            # A non-calendar 2月29日 keeps its own anniversary, not that of 2月28日.
            ("平成3年2月29日", date(2025, 2, 28), 33),
            ("平成3年2月29日", date(2025, 3, 1), 34),
            ("平成3年2月29日", date(1991, 2, 28), 0),
            ("昭和30年頃", date(2025, 1, 1), 70),
            ("昭和30年4月中旬頃", date(2025, 4, 10), 69),
            ("昭和30年4月中旬頃", date(2025, 4, 11), 70),
        ],
    )
    def test_age_on(self, text, on, age):
        assert parse_register_date(text).age_on(on) == age

    def test_age_before_birth_is_an_error(self):
        with pytest.raises(RegisterDateError, match="基準日が生年月日より前です"):
            parse_register_date("令和7年4月1日").age_on(date(2025, 3, 31))
