"""Income intake files (issue 6 item 2): CSV/JSON parsing, all-or-nothing, errors by line."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.jp import cn

from core.japanese.checkdigits import my_number_check_digit, with_m11
from tax.intake import (
    COLUMNS,
    DocumentKind,
    IncomeRecord,
    IntakeResult,
    format_csv,
    parse_csv,
    parse_csv_bytes,
    parse_json,
)
from tax.rules.facts import IncomeKind

ATENA = with_m11("123456789")
ATENA_2 = with_m11("123456788")
MY_NUMBER_BODY = "12345678901"
MY_NUMBER = f"{MY_NUMBER_BODY}{my_number_check_digit(MY_NUMBER_BODY)}"
BAD_MY_NUMBER = f"{MY_NUMBER_BODY}{(my_number_check_digit(MY_NUMBER_BODY) + 1) % 10}"


def corporate(body: str) -> str:
    return f"{cn.calc_check_digit(body)}{body}"


CORP = corporate("700110005901")

HEADER = ",".join(COLUMNS)


def row(**overrides: object) -> dict[str, object]:
    values: dict[str, object] = {
        "fiscal_year": 2026,
        "document": "salary_report",
        "atena_number": ATENA,
        "my_number": "",
        "name": "山田 太郎",
        "name_kana": "ヤマダ タロウ",
        "birth_date": "1985-04-01",
        "address": "富山県富山市新桜町7-38",
        "employer_name": "株式会社サンプル",
        "employer_corporate_number": CORP,
        "income_kind": "salary",
        "revenue": 5_000_000,
        "social_insurance": 750_000,
        "special_collection": "true",
    }
    values.update(overrides)
    return values


DECLARATION = row(
    document="declaration",
    atena_number="",
    my_number=MY_NUMBER,
    name="佐藤 花子",
    name_kana="さとう はなこ",
    birth_date="昭和30年1月2日",
    employer_name="",
    employer_corporate_number="",
    income_kind="public_pension",
    revenue=2_000_000,
    social_insurance="",
    special_collection="false",
)


def csv_text(*rows: dict[str, object], header: bool = True) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if header:
        writer.writerow(COLUMNS)
    writer.writerows([r[c] for c in COLUMNS] for r in rows)
    return out.getvalue()


def json_text(*rows: dict[str, object]) -> str:
    def value(v: object) -> object:
        if v == "":
            return None
        if v in ("true", "false"):
            return v == "true"
        return v

    return json.dumps([{k: value(v) for k, v in r.items()} for r in rows], ensure_ascii=False)


def only_error(result: IntakeResult) -> tuple[int, str | None, str]:
    assert result.records == ()
    assert len(result.errors) == 1, result.errors
    error = result.errors[0]
    return error.line, error.column, error.reason


def test_valid_csv_and_json_give_equal_records() -> None:
    from_csv = parse_csv(csv_text(row(), DECLARATION))
    from_json = parse_json(json_text(row(), DECLARATION))
    assert from_csv.ok
    assert from_json.ok
    assert from_csv.records == from_json.records
    salary, pension = from_csv.records
    assert salary == IncomeRecord(
        fiscal_year=2026,
        document=DocumentKind.SALARY_REPORT,
        atena_number=ATENA,
        name="山田 太郎",
        name_kana="ヤマダ タロウ",
        birth_date=dt.date(1985, 4, 1),
        address="富山県富山市新桜町7-38",
        employer_name="株式会社サンプル",
        employer_corporate_number=CORP,
        income_kind=IncomeKind.SALARY,
        revenue=5_000_000,
        social_insurance=750_000,
        special_collection=True,
    )
    assert pension.my_number == MY_NUMBER
    assert pension.atena_number is None
    assert pension.name_kana == "サトウ ハナコ"
    assert pension.birth_date == dt.date(1955, 1, 2)
    assert pension.social_insurance == 0
    assert pension.special_collection is False
    # The 個人番号 never shows in a repr.
    assert MY_NUMBER not in repr(pension)


@pytest.mark.parametrize(
    ("overrides", "column", "fragment"),
    [
        ({"fiscal_year": "R8"}, "fiscal_year", "年度"),
        ({"document": "receipt"}, "document", "書類の種類"),
        ({"atena_number": "12345678901"}, "atena_number", "10桁"),
        ({"atena_number": ATENA[:-1] + str((int(ATENA[-1]) + 1) % 10)}, "atena_number", "検査"),
        ({"atena_number": ""}, None, "宛名番号"),
        ({"name": ""}, "name", "氏名"),
        ({"name_kana": "Yamada"}, "name_kana", "フリガナ"),
        ({"birth_date": "1985/13/01"}, "birth_date", "生年月日"),
        ({"birth_date": "2026-01-01"}, "birth_date", "12月31日"),
        ({"address": ""}, "address", "住所"),
        ({"employer_name": ""}, "employer_name", "給与支払者名"),
        ({"employer_corporate_number": "123"}, "employer_corporate_number", "13桁"),
        (
            {"employer_corporate_number": "1" + CORP[1:] if CORP[0] != "1" else "2" + CORP[1:]},
            "employer_corporate_number",
            "検査用数字",
        ),
        ({"income_kind": "lottery"}, "income_kind", "所得の種類"),
        ({"income_kind": "business"}, "income_kind", "salary"),
        ({"revenue": "-1"}, "revenue", "収入金額"),
        ({"revenue": "1,000"}, "revenue", "収入金額"),
        ({"revenue": ""}, "revenue", "収入金額"),
        ({"social_insurance": "abc"}, "social_insurance", "社会保険料"),
        ({"special_collection": "maybe"}, "special_collection", "特別徴収"),
    ],
)
def test_bad_row_reports_its_line_and_column(
    overrides: dict[str, object], column: str | None, fragment: str
) -> None:
    # The bad row is the third record: CSV line 4 (header is line 1), JSON record 3.
    second = row(atena_number=ATENA_2)
    bad = row(atena_number=with_m11("123456787"), **{"name": "鈴木 一郎"}) | overrides
    for result, line in (
        (parse_csv(csv_text(row(), second, bad)), 4),
        (parse_json(json_text(row(), second, bad)), 3),
    ):
        assert only_error(result)[:2] == (line, column)
        assert fragment in only_error(result)[2]
        assert str(result.errors[0]).startswith(f"{line}行目")


def test_declaration_rules() -> None:
    employer = dict(DECLARATION, employer_corporate_number=CORP)
    assert only_error(parse_csv(csv_text(employer)))[:2] == (2, "employer_corporate_number")
    special = dict(DECLARATION, special_collection="true")
    assert only_error(parse_csv(csv_text(special)))[:2] == (2, "special_collection")


def test_my_number_is_never_echoed() -> None:
    result = parse_csv(csv_text(dict(DECLARATION, my_number=BAD_MY_NUMBER)))
    line, column, reason = only_error(result)
    assert (line, column) == (2, "my_number")
    assert reason == "個人番号の検査用数字が正しくありません。"
    short = dict(DECLARATION, my_number=MY_NUMBER[:-1])
    for each in (
        result,
        parse_csv(csv_text(short)),
        parse_json(json_text(dict(DECLARATION, my_number=BAD_MY_NUMBER))),
    ):
        text = " ".join(str(e) for e in each.errors) + repr(each)
        assert MY_NUMBER_BODY not in text
        assert BAD_MY_NUMBER not in text
    # A file without its header row: the first record is not quoted back as column names.
    headerless = csv_text(DECLARATION, header=False)
    text = " ".join(str(e) for e in parse_csv(headerless).errors)
    assert "見出しに不明な列（4列目）" in text
    assert MY_NUMBER not in text


def test_all_errors_are_reported_and_no_record_is_kept() -> None:
    text = csv_text(row(revenue="x"), row(atena_number=ATENA_2), row(name="", birth_date="?"))
    result = parse_csv(text)
    assert result.records == ()
    assert [(e.line, e.column) for e in result.errors] == [
        (2, "revenue"),
        (4, "name"),
        (4, "birth_date"),
    ]


def test_duplicate_record_is_rejected() -> None:
    result = parse_csv(csv_text(row(), row(revenue=1), DECLARATION))
    line, column, reason = only_error(result)
    assert (line, column) == (3, None)
    assert "2行目と重複" in reason
    # Another employer or another kind is not a duplicate.
    other = row(employer_corporate_number=corporate("700110005902"))
    assert parse_csv(csv_text(row(), other)).ok


def test_header_missing_extra_and_duplicate_columns() -> None:
    missing = parse_csv(HEADER.replace(",revenue", "") + "\n")
    assert [(e.line, e.column) for e in missing.errors] == [(1, "revenue")]
    extra = parse_csv(HEADER + ",note\n")
    assert [(e.line, e.column) for e in extra.errors] == [(1, None)]
    assert "note" in extra.errors[0].reason
    twice = parse_csv(HEADER + ",name\n")
    assert [(e.line, e.column) for e in twice.errors] == [(1, "name")]


def test_header_order_is_free_and_row_length_is_checked() -> None:
    columns = list(reversed(COLUMNS))
    record = row()
    text = ",".join(columns) + "\n" + ",".join(str(record[c]) for c in columns) + "\n"
    assert parse_csv(text).records == parse_csv(csv_text(record)).records
    short = csv_text(row()).rstrip("\n") + "\n2026,declaration\n"
    assert only_error(parse_csv(short))[:2] == (3, None)


def test_bom_is_accepted() -> None:
    text = csv_text(row())
    assert parse_csv("\ufeff" + text).records == parse_csv(text).records
    assert parse_csv_bytes(("\ufeff" + text).encode()).ok
    assert parse_json("\ufeff" + json_text(row())).ok


@pytest.mark.parametrize("text", ["", "\ufeff", "\n\n"])
def test_empty_file_is_an_error(text: str) -> None:
    assert only_error(parse_csv(text))[0] == 1
    assert only_error(parse_json(text))[0] == 1
    assert "空" in only_error(parse_csv(text))[2]


def test_header_only_and_empty_list_are_errors() -> None:
    assert "データがありません" in only_error(parse_csv(HEADER + "\n"))[2]
    assert "データがありません" in only_error(parse_json("[]"))[2]


def test_not_utf8() -> None:
    data = csv_text(row()).encode("cp932")
    line, _, reason = only_error(parse_csv_bytes(data))
    assert line == 2
    assert "UTF-8 ではありません" in reason


def test_multiline_field_counts_physical_lines() -> None:
    # A quoted name spanning two lines: the next record starts on line 5, not 4.
    multiline = row(atena_number=ATENA_2, name="山田\n次郎")
    last = row(atena_number=with_m11("123456787"), revenue="x")
    result = parse_csv(csv_text(row(), multiline, last))
    assert [(e.line, e.column) for e in result.errors] == [(3, "name"), (5, "revenue")]


def test_unterminated_quote_is_rejected() -> None:
    text = csv_text(row()) + '2026,"salary_report\n'
    result = parse_csv(text)
    assert result.records == ()
    assert result.errors


def test_json_shape_errors() -> None:
    assert only_error(parse_json("{"))[2] == "JSONの形式が正しくありません。"
    assert "配列" in only_error(parse_json("{}"))[2]
    assert only_error(parse_json(json.dumps([row(), 1])))[:2] == (2, None)
    extra = dict(row(), note="x")
    assert "note" in only_error(parse_json(json.dumps([extra])))[2]
    floats = dict(row(), revenue=1.5)
    assert only_error(parse_json(json.dumps([floats])))[:2] == (1, "revenue")


# Hypothesis: any valid record survives format_csv → parse_csv unchanged.
_TEXT = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cc", "Cs", "Zl", "Zp"),
        blacklist_characters="\ufeff",
    ),
    min_size=1,
    max_size=30,
).filter(lambda s: s == s.strip() and s.strip() != "")
_KANA = st.lists(
    st.sampled_from("アイウエオカキクケコガギサシスセソタチツテトナニヌネノンー"),
    min_size=1,
    max_size=15,
).map("".join)
_YEN = st.integers(min_value=0, max_value=100_000_000_000)


@st.composite
def records(draw: st.DrawFn) -> IncomeRecord:
    fiscal_year = draw(st.integers(min_value=2000, max_value=2100))
    document = draw(st.sampled_from(DocumentKind))
    atena = draw(st.none() | st.from_regex(r"[0-9]{9}", fullmatch=True).map(with_m11))
    my_number = None
    if atena is None or draw(st.booleans()):
        body = draw(st.from_regex(r"[0-9]{11}", fullmatch=True))
        my_number = f"{body}{my_number_check_digit(body)}"
    salary = document is DocumentKind.SALARY_REPORT
    return IncomeRecord(
        fiscal_year=fiscal_year,
        document=document,
        atena_number=atena,
        my_number=my_number,
        name=draw(_TEXT),
        name_kana=draw(_KANA),
        birth_date=draw(
            st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(fiscal_year - 1, 12, 31))
        ),
        address=draw(_TEXT),
        employer_name=draw(_TEXT) if salary else None,
        employer_corporate_number=(
            corporate(draw(st.from_regex(r"[0-9]{12}", fullmatch=True))) if salary else None
        ),
        income_kind=IncomeKind.SALARY if salary else draw(st.sampled_from(IncomeKind)),
        revenue=draw(_YEN),
        social_insurance=draw(_YEN),
        special_collection=draw(st.booleans()) if salary else False,
    )


@settings(max_examples=200, deadline=None)
@given(records())
def test_any_valid_record_round_trips_through_csv(record: IncomeRecord) -> None:
    result = parse_csv(format_csv([record]))
    assert result.errors == ()
    assert result.records == (record,)
