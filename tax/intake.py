"""Income intake from 給与支払報告書 and 申告 files (issue 6 item 2): CSV and JSON, all-or-nothing.

Pure parsing and validation: nothing here touches a database. A file is either accepted as a
whole (``IntakeResult.records``) or rejected with every error found (``IntakeResult.errors``),
each naming its line (CSV: physical line, the header is line 1; JSON: 1-based index of the
record) and the column, with a Japanese reason. ``docs/tax-intake.md`` documents the format.

CSV: UTF-8 (a BOM is accepted), comma separated, RFC 4180 quoting, one header row naming every
column below exactly once (any order), then one row per income record. JSON: a list of objects
with the same keys; a missing key or ``null`` counts as an empty cell.

Columns (``*`` = required):

* ``fiscal_year`` * — 年度 (e.g. 2026); the income is that of the previous calendar year.
* ``document`` * — ``salary_report`` (給与支払報告書) or ``declaration`` (申告).
* ``atena_number`` — 宛名番号, 10 digits (9 + the modulus-11 check digit), as the register gives it.
* ``my_number`` — 個人番号, 12 digits with its check digit (spaces/hyphens allowed). At least
  one of ``atena_number`` and ``my_number`` is required. A 個人番号 is never put into an error.
* ``name`` * — 氏名. ``name_kana`` * — フリガナ (katakana or hiragana; stored as katakana).
* ``birth_date`` * — 生年月日, ISO (1985-04-01) or 和暦 (昭和60年4月1日, S60.4.1).
* ``address`` * — 住所.
* ``employer_name`` / ``employer_corporate_number`` — 給与支払者 and its 法人番号 (13 digits with
  check digit): required for ``salary_report``, must be empty for ``declaration``.
* ``income_kind`` * — salary / public_pension / business / real_estate / miscellaneous
  (``salary_report`` rows must be ``salary``). ``revenue`` * — yen, integer ≥ 0: 収入金額 for
  salary and public_pension, 所得金額 for the others (as in :mod:`tax.simulation`).
* ``social_insurance`` — 社会保険料 paid, yen, integer ≥ 0 (empty = 0).
* ``special_collection`` — 特別徴収 (true/false or 1/0; empty = false); only a
  ``salary_report`` may ask for it.

Two records with the same fiscal year, person (宛名番号, else 個人番号), employer and income
kind are duplicates; the later one is rejected.
"""

from __future__ import annotations

import csv
import datetime as dt
import enum
import io
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from stdnum.jp import cn as _corporate_number

from core.inputs import MAX_YEN
from core.japanese.checkdigits import is_valid_m11, is_valid_my_number
from core.japanese.era import JapaneseDateError
from core.japanese.era import parse as parse_japanese_date
from core.japanese.kana import is_kana, normalize_kana
from tax.rules.facts import IncomeKind

__all__ = [
    "COLUMNS",
    "DocumentKind",
    "IncomeRecord",
    "IntakeError",
    "IntakeResult",
    "format_csv",
    "parse_csv",
    "parse_csv_bytes",
    "parse_json",
]

MIN_FISCAL_YEAR = 2000
MAX_FISCAL_YEAR = 2100
MAX_NAME_LENGTH = 100
MAX_ADDRESS_LENGTH = 200
# More rows than any municipality receives in one file; keeps memory bounded.
MAX_RECORDS = 1_000_000


class DocumentKind(enum.StrEnum):
    """The document an income record comes from."""

    SALARY_REPORT = "salary_report"  # 給与支払報告書 (地方税法317条の6)
    DECLARATION = "declaration"  # 市町村民税の申告 (地方税法317条の2)


# Column → Japanese label used in every error message.
COLUMNS: dict[str, str] = {
    "fiscal_year": "年度",
    "document": "書類の種類",
    "atena_number": "宛名番号",
    "my_number": "個人番号",
    "name": "氏名",
    "name_kana": "フリガナ",
    "birth_date": "生年月日",
    "address": "住所",
    "employer_name": "給与支払者名",
    "employer_corporate_number": "給与支払者の法人番号",
    "income_kind": "所得の種類",
    "revenue": "収入金額",
    "social_insurance": "社会保険料",
    "special_collection": "特別徴収",
}

_INCOME_KIND_LABELS = "salary / public_pension / business / real_estate / miscellaneous"
_MY_NUMBER_SEPARATORS_RE = re.compile("[ -]")
_IDENTIFIER_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,39}")
_VERBATIM_COLUMNS = frozenset({"name", "address", "employer_name"})
_TRUE = frozenset({"true", "1"})
_FALSE = frozenset({"false", "0", ""})

Yen = Annotated[int, Field(strict=True, ge=0, le=MAX_YEN)]
E = TypeVar("E", bound=enum.StrEnum)


class IncomeRecord(BaseModel):
    """One income of one person from a 給与支払報告書 or a 申告."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    fiscal_year: Annotated[int, Field(ge=MIN_FISCAL_YEAR, le=MAX_FISCAL_YEAR)]
    document: DocumentKind
    atena_number: str | None = Field(default=None, pattern=r"^[0-9]{10}$")
    # repr=False keeps the 個人番号 out of reprs, logs and assertion messages.
    my_number: str | None = Field(default=None, pattern=r"^[0-9]{12}$", repr=False)
    name: str
    name_kana: str
    birth_date: dt.date
    address: str
    employer_name: str | None = None
    employer_corporate_number: str | None = Field(default=None, pattern=r"^[0-9]{13}$")
    income_kind: IncomeKind
    revenue: Yen
    social_insurance: Yen = 0
    special_collection: bool = False


class IntakeError(BaseModel):
    """One reason a file was rejected; ``line`` is the CSV line or the JSON record index."""

    model_config = ConfigDict(frozen=True)

    line: int
    column: str | None
    reason: str

    def __str__(self) -> str:
        where = f"{self.line}行目"
        if self.column is not None:
            where += f" {self.column}（{COLUMNS.get(self.column, self.column)}）"
        return f"{where}: {self.reason}"


class IntakeResult(BaseModel):
    """Either every record of the file or the errors; never both."""

    model_config = ConfigDict(frozen=True)

    records: tuple[IncomeRecord, ...] = ()
    errors: tuple[IntakeError, ...] = ()
    # The line (CSV) or 1-based index (JSON) of each record, parallel to ``records``.
    lines: tuple[int, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.errors


class _RowErrors:
    def __init__(self, line: int) -> None:
        self.line = line
        self.errors: list[IntakeError] = []

    def add(self, column: str | None, reason: str) -> None:
        self.errors.append(IntakeError(line=self.line, column=column, reason=reason))


def _label(column: str) -> str:
    return f"{COLUMNS[column]}（{column}）"


def _text(row: Mapping[str, str], column: str) -> str:
    value = row.get(column, "")
    # NFKC would replace CJK compatibility ideographs (﨑 → 崎), so names keep their characters;
    # codes, numbers and dates are folded (full-width digits → ASCII).
    if column not in _VERBATIM_COLUMNS:
        value = unicodedata.normalize("NFKC", value)
    return value.strip()


def _required(row: Mapping[str, str], column: str, errors: _RowErrors) -> str | None:
    value = _text(row, column)
    if not value:
        errors.add(column, f"{_label(column)}を入力してください。")
        return None
    return value


def _integer(
    row: Mapping[str, str], column: str, errors: _RowErrors, *, default: int | None = None
) -> int | None:
    value = _text(row, column)
    if not value and default is not None:
        return default
    if not value:
        errors.add(column, f"{_label(column)}を入力してください。")
        return None
    if not (value.isascii() and value.isdigit()):
        errors.add(column, f"{_label(column)}は0以上の整数（円、カンマなし）で入力してください。")
        return None
    amount = int(value)
    if amount > MAX_YEN:
        errors.add(column, f"{_label(column)}が大きすぎます（上限 {MAX_YEN:,} 円）。")
        return None
    return amount


def _fiscal_year(row: Mapping[str, str], errors: _RowErrors) -> int | None:
    value = _required(row, "fiscal_year", errors)
    if value is None:
        return None
    if not (value.isascii() and value.isdigit() and len(value) == 4):
        errors.add(
            "fiscal_year", f"{_label('fiscal_year')}は西暦4桁（例: 2026）で入力してください。"
        )
        return None
    year = int(value)
    if not MIN_FISCAL_YEAR <= year <= MAX_FISCAL_YEAR:
        errors.add(
            "fiscal_year",
            f"{_label('fiscal_year')}は{MIN_FISCAL_YEAR}から{MAX_FISCAL_YEAR}の間で入力してください。",
        )
        return None
    return year


def _choice(
    row: Mapping[str, str], column: str, enum_type: type[E], allowed: str, errors: _RowErrors
) -> E | None:
    value = _required(row, column, errors)
    if value is None:
        return None
    try:
        return enum_type(value)
    except ValueError:
        errors.add(column, f"{_label(column)}は {allowed} のいずれかを指定してください。")
        return None


def _person(row: Mapping[str, str], errors: _RowErrors) -> tuple[str | None, str | None]:
    atena = _text(row, "atena_number") or None
    # Never interpolate the 個人番号 (or anything derived from it) into a message.
    my_number = _MY_NUMBER_SEPARATORS_RE.sub("", _text(row, "my_number")) or None
    if atena is None and my_number is None:
        errors.add(None, "宛名番号（atena_number）または個人番号（my_number）を入力してください。")
    if atena is not None:
        if not (atena.isascii() and atena.isdigit() and len(atena) == 10):
            errors.add("atena_number", "宛名番号（atena_number）は10桁の数字で入力してください。")
            atena = None
        elif not is_valid_m11(atena):
            errors.add("atena_number", "宛名番号（atena_number）の検査数字が正しくありません。")
            atena = None
    if my_number is not None:
        if not (my_number.isascii() and my_number.isdigit() and len(my_number) == 12):
            errors.add("my_number", "個人番号（my_number）は12桁の数字で入力してください。")
            my_number = None
        elif not is_valid_my_number(my_number):
            errors.add("my_number", "個人番号の検査用数字が正しくありません。")
            my_number = None
    return atena, my_number


def _birth_date(
    row: Mapping[str, str], fiscal_year: int | None, errors: _RowErrors
) -> dt.date | None:
    value = _required(row, "birth_date", errors)
    if value is None:
        return None
    try:
        born = dt.date.fromisoformat(value)
    except ValueError:
        try:
            born = parse_japanese_date(value)
        except JapaneseDateError:
            errors.add(
                "birth_date",
                f"{_label('birth_date')}は 1985-04-01 または 昭和60年4月1日 の形式で"
                "入力してください。",
            )
            return None
    if fiscal_year is not None and born > dt.date(fiscal_year - 1, 12, 31):
        errors.add(
            "birth_date",
            f"{_label('birth_date')}が所得の年（{fiscal_year - 1}年）の12月31日より後です。",
        )
        return None
    return born


def _bounded_text(
    row: Mapping[str, str], column: str, limit: int, errors: _RowErrors
) -> str | None:
    value = _required(row, column, errors)
    if value is None:
        return None
    if len(value) > limit:
        errors.add(column, f"{_label(column)}は{limit}文字以内で入力してください。")
        return None
    if _has_control(value):
        errors.add(column, f"{_label(column)}に改行や制御文字は使えません。")
        return None
    return value


def _has_control(value: str) -> bool:
    return any(unicodedata.category(c) == "Cc" for c in value)


def _name_kana(row: Mapping[str, str], errors: _RowErrors) -> str | None:
    value = _required(row, "name_kana", errors)
    if value is None:
        return None
    if not is_kana(value):
        errors.add(
            "name_kana", f"{_label('name_kana')}はカタカナまたはひらがなで入力してください。"
        )
        return None
    kana = normalize_kana(value)
    if len(kana) > MAX_NAME_LENGTH:
        errors.add(
            "name_kana", f"{_label('name_kana')}は{MAX_NAME_LENGTH}文字以内で入力してください。"
        )
        return None
    return kana


def _employer(
    row: Mapping[str, str], document: DocumentKind | None, errors: _RowErrors
) -> tuple[str | None, str | None]:
    name = _text(row, "employer_name") or None
    number = _text(row, "employer_corporate_number") or None
    if document is DocumentKind.DECLARATION:
        for column, value in (("employer_name", name), ("employer_corporate_number", number)):
            if value is not None:
                errors.add(column, f"申告（declaration）では{_label(column)}は空欄にしてください。")
        return None, None
    if document is not DocumentKind.SALARY_REPORT:
        return None, None
    if name is None:
        errors.add("employer_name", f"給与支払報告書では{_label('employer_name')}が必要です。")
    elif len(name) > MAX_NAME_LENGTH:
        errors.add(
            "employer_name",
            f"{_label('employer_name')}は{MAX_NAME_LENGTH}文字以内で入力してください。",
        )
        name = None
    column = "employer_corporate_number"
    if number is None:
        errors.add(column, f"給与支払報告書では{_label(column)}が必要です。")
    elif not (number.isascii() and number.isdigit() and len(number) == 13):
        errors.add(column, f"{_label(column)}は13桁の数字で入力してください。")
        number = None
    elif not _corporate_number.is_valid(number):
        errors.add(column, f"{_label(column)}の検査用数字が正しくありません。")
        number = None
    return name, number


def _special_collection(
    row: Mapping[str, str], document: DocumentKind | None, errors: _RowErrors
) -> bool | None:
    value = _text(row, "special_collection").lower()
    if value in _TRUE:
        if document is DocumentKind.DECLARATION:
            errors.add(
                "special_collection",
                f"申告（declaration）では{_label('special_collection')}は指定できません。",
            )
            return None
        return True
    if value in _FALSE:
        return False
    errors.add(
        "special_collection",
        f"{_label('special_collection')}は true / false（または 1 / 0）で入力してください。",
    )
    return None


def _record(row: Mapping[str, str], line: int) -> tuple[IncomeRecord | None, list[IntakeError]]:
    """Validate one row (地方税法317条の2, 317条の6); every column's error is reported."""
    errors = _RowErrors(line)
    fiscal_year = _fiscal_year(row, errors)
    document = _choice(row, "document", DocumentKind, "salary_report / declaration", errors)
    atena, my_number = _person(row, errors)
    name = _bounded_text(row, "name", MAX_NAME_LENGTH, errors)
    name_kana = _name_kana(row, errors)
    birth_date = _birth_date(row, fiscal_year, errors)
    address = _bounded_text(row, "address", MAX_ADDRESS_LENGTH, errors)
    employer_name, employer_number = _employer(row, document, errors)
    income_kind = _choice(row, "income_kind", IncomeKind, _INCOME_KIND_LABELS, errors)
    if document is DocumentKind.SALARY_REPORT and income_kind not in (None, IncomeKind.SALARY):
        errors.add("income_kind", "給与支払報告書の所得の種類（income_kind）は salary です。")
    revenue = _integer(row, "revenue", errors)
    social_insurance = _integer(row, "social_insurance", errors, default=0)
    special_collection = _special_collection(row, document, errors)
    if errors.errors:
        return None, errors.errors
    # Every value was checked above; the model validates the types once more.
    record = IncomeRecord.model_validate(
        {
            "fiscal_year": fiscal_year,
            "document": document,
            "atena_number": atena,
            "my_number": my_number,
            "name": name,
            "name_kana": name_kana,
            "birth_date": birth_date,
            "address": address,
            "employer_name": employer_name,
            "employer_corporate_number": employer_number,
            "income_kind": income_kind,
            "revenue": revenue,
            "social_insurance": social_insurance,
            "special_collection": special_collection,
        }
    )
    return record, []


def _duplicate_key(record: IncomeRecord) -> tuple[object, ...]:
    person = ("atena", record.atena_number) if record.atena_number else ("my", record.my_number)
    return (record.fiscal_year, person, record.employer_corporate_number, record.income_kind)


def _collect(
    rows: Iterable[tuple[int, Mapping[str, str]]], unit: str, prior: list[IntakeError]
) -> IntakeResult:
    """All records, or every error (``prior`` ones from reading the file included) by line."""
    records: list[IncomeRecord] = []
    lines: list[int] = []
    errors: list[IntakeError] = list(prior)
    seen: dict[tuple[object, ...], int] = {}
    for line, row in rows:
        record, row_errors = _record(row, line)
        errors.extend(row_errors)
        if record is None:
            continue
        key = _duplicate_key(record)
        if key in seen:
            errors.append(
                IntakeError(
                    line=line,
                    column=None,
                    reason=f"{seen[key]}{unit}と重複しています（年度・本人・給与支払者・所得の種類が同じ）。",
                )
            )
            continue
        seen[key] = line
        records.append(record)
        lines.append(line)
    if errors:
        return IntakeResult(errors=tuple(sorted(errors, key=lambda e: e.line)))
    if not records:
        return IntakeResult(
            errors=(IntakeError(line=1, column=None, reason="データがありません。"),)
        )
    return IntakeResult(records=tuple(records), lines=tuple(lines))


def _failure(line: int, reason: str, column: str | None = None) -> IntakeResult:
    return IntakeResult(errors=(IntakeError(line=line, column=column, reason=reason),))


def _echoable(name: str) -> bool:
    """Whether an unknown column name may be quoted back: a headerless file would otherwise
    put the first record's data (perhaps a 個人番号) into the message."""
    return _IDENTIFIER_RE.fullmatch(name) is not None


def _header_errors(header: list[str]) -> list[IntakeError]:
    errors: list[IntakeError] = []
    names = [h.strip() for h in header]
    for name in dict.fromkeys(names):
        if name not in COLUMNS:
            where = f"「{name}」" if _echoable(name) else f"（{names.index(name) + 1}列目）"
            errors.append(
                IntakeError(line=1, column=None, reason=f"見出しに不明な列{where}があります。")
            )
        elif names.count(name) > 1:
            errors.append(
                IntakeError(
                    line=1, column=name, reason=f"見出しの列 {_label(name)} が重複しています。"
                )
            )
    for column in COLUMNS:
        if column not in names:
            errors.append(
                IntakeError(
                    line=1, column=column, reason=f"見出しに列 {_label(column)} がありません。"
                )
            )
    return errors


def parse_csv(text: str) -> IntakeResult:
    """Parse a CSV intake file (地方税法317条の2, 317条の6); any error rejects the whole file."""
    text = text.removeprefix("\ufeff")
    if not text.strip():
        return _failure(1, "ファイルが空です。")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
        header_errors = _header_errors(header)
        if header_errors:
            return IntakeResult(errors=tuple(header_errors))
        columns = [h.strip() for h in header]
        rows: list[tuple[int, Mapping[str, str]]] = []
        errors: list[IntakeError] = []
        line = reader.line_num + 1
        for fields in reader:
            start, line = line, reader.line_num + 1
            if not fields or fields == [""]:
                continue  # a blank line
            if len(rows) + len(errors) >= MAX_RECORDS:
                return _failure(start, f"行数が多すぎます（上限 {MAX_RECORDS:,} 行）。")
            if len(fields) != len(columns):
                errors.append(
                    IntakeError(
                        line=start,
                        column=None,
                        reason=f"列の数が正しくありません（{len(columns)}列必要ですが{len(fields)}列あります）。",
                    )
                )
                continue
            rows.append((start, dict(zip(columns, fields, strict=True))))
    except csv.Error:
        # The csv module's message may quote the row; give a fixed reason instead.
        return _failure(reader.line_num, "CSVの形式が正しくありません（引用符の閉じ忘れなど）。")
    return _collect(rows, "行目", errors)


def parse_csv_bytes(data: bytes) -> IntakeResult:
    """Decode a CSV intake file as UTF-8 (BOM allowed) and parse it with :func:`parse_csv`."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return _failure(line, "ファイルの文字コードが UTF-8 ではありません。")
    return parse_csv(text)


def _json_cell(value: Any) -> str | None:
    """A JSON value as the text of a CSV cell; None if the type is not allowed."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | str):
        return str(value)
    return None


def parse_json(text: str) -> IntakeResult:
    """Parse a JSON intake file (地方税法317条の2, 317条の6); any error rejects the whole file."""
    text = text.removeprefix("\ufeff")
    if not text.strip():
        return _failure(1, "ファイルが空です。")
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        line = exc.lineno if isinstance(exc, json.JSONDecodeError) else 1
        return _failure(line, "JSONの形式が正しくありません。")
    if not isinstance(data, list):
        return _failure(1, "JSONはレコードの配列（[...]）で指定してください。")
    if len(data) > MAX_RECORDS:
        return _failure(MAX_RECORDS + 1, f"件数が多すぎます（上限 {MAX_RECORDS:,} 件）。")
    rows: list[tuple[int, Mapping[str, str]]] = []
    errors: list[IntakeError] = []
    for index, item in enumerate(data, start=1):
        if not isinstance(item, dict):
            errors.append(
                IntakeError(
                    line=index, column=None, reason="レコードはオブジェクトで指定してください。"
                )
            )
            continue
        row: dict[str, str] = {}
        for key, value in item.items():
            if key not in COLUMNS:
                errors.append(
                    IntakeError(
                        line=index,
                        column=None,
                        reason=f"不明な項目{f'「{key}」' if _echoable(key) else ''}があります。",
                    )
                )
                continue
            cell = _json_cell(value)
            if cell is None:
                errors.append(
                    IntakeError(
                        line=index,
                        column=key,
                        reason=f"{_label(key)}は文字列・整数・真偽値・null のいずれかで"
                        "指定してください。",
                    )
                )
                continue
            row[key] = cell
        # A record with an unknown key or a value of the wrong type is not validated further,
        # so the same column is not reported twice.
        if not (errors and errors[-1].line == index):
            rows.append((index, row))
    return _collect(rows, "件目", errors)


def _cells(record: IncomeRecord) -> dict[str, str]:
    values = record.model_dump(mode="json")
    cells: dict[str, str] = {}
    for column in COLUMNS:
        value = values[column]
        if value is None:
            cells[column] = ""
        elif isinstance(value, bool):
            cells[column] = "true" if value else "false"
        else:
            cells[column] = str(value)
    return cells


def format_csv(records: Iterable[IncomeRecord]) -> str:
    """Write records in the intake CSV format (header + one row each) that parse_csv reads."""
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, fieldnames=list(COLUMNS), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(_cells(r) for r in records)
    return out.getvalue()
