"""The inhabitant tax's documents, built from an assessment, rendered with the real renderer and
read back out of the PDF: 課税証明書・非課税証明書・納税通知書・特別徴収税額決定通知書."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import re
import uuid
from typing import Any

import pytest
from pypdf import PdfReader

from core import audit
from core.crypto import TenantKeys
from core.scoping import TenantContext, TenantId
from core.uow import UnitOfWork
from forms import manifest, service
from forms.batch import BatchRenderer
from forms.catalog import CATALOG, FormKind, spec
from forms.engine import Renderer, qr_data_uri
from forms.service import DocumentService, IssueRequest
from jichitai.state import AppState
from tax.documents import (
    Addressee,
    DocumentContent,
    certificate,
    certificate_kind,
    levy_names,
    ordinary_due_dates,
    special_collection_notice,
    tax_notice,
)
from tax.rules.assessment import Assessment, assess
from tax.rules.collection import ordinary_collection, special_collection
from tax.rules.exemption import EXEMPTION_REASON_LABELS, ExemptionReason
from tenancy import repository as tenancy_repo
from tenancy.parameters import CertificateFees
from tests.helpers import new_tenant
from tests.tax.factories import case, dependent, spouse

SOURCES = manifest.verified_sources()
SERIAL = "162116-2026-0000001"
TAXPAYER = Addressee(
    name="射水 太郎",
    kana="イミズ タロウ",
    birth_date=dt.date(1985, 5, 1),
    address="富山県射水市新開発410番地1",
)
NOTICE_DATE = dt.date(2026, 6, 10)
ISSUED_ON = "令和8年11月27日"
EMPLOYER = "株式会社射水製作所"
SUBJECT = uuid.UUID("0b6f1c2e-8a51-4c1e-9d2b-6f0a3c9e7d41")
SENTENCES = {kind: spec(kind).certification for kind in CATALOG}


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer(sources=SOURCES)


def _worked_example(**over: Any) -> Assessment:
    """tax.md's worked example: FY2026, single, 1級地, standard prefecture → 240,500."""
    return assess(case(salary=5_000_000, social_insurance=750_000, **over))


def _exempt() -> Assessment:
    """Salary 100万 (給与所得 35万) is under the single person's 均等割 limit of 45万."""
    return assess(case(salary=1_000_000, social_insurance=100_000))


def _context(content: DocumentContent, serial: str = SERIAL) -> dict[str, Any]:
    return {
        "issuer": {
            "name": "射水市",
            "prefecture": "富山県",
            "title": "射水市長",
            "mayor_name": "夏野 元志",
            "seal": None,
        },
        "document": {
            "serial": serial,
            "issued_on": "2026-11-27",
            "issued_on_text": ISSUED_ON,
            "reissue": False,
            "sample": False,
            "acting_issuer": None,
            "qr": qr_data_uri(f"https://jichitai.example/verify/{serial}"),
        },
        "record": content.record,
    }


def _pages(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def _render(renderer: Renderer, content: DocumentContent) -> list[str]:
    return _pages(renderer.render(spec(content.kind), _context(content)))


def _lines(pages: list[str]) -> list[str]:
    return [line.strip() for page in pages for line in page.splitlines()]


def _row(pages: list[str], label: str) -> list[str]:
    """The figures of the table row that starts with ``label`` (the first such row)."""
    for line in _lines(pages):
        if line.split(" ")[0] == label:
            return line.split(" ")[1:]
    raise AssertionError(f"no row {label!r} in {pages}")


def _yen(text: str) -> int:
    return int(text.replace(",", ""))


def _flat(pages: list[str]) -> str:
    """The text without line breaks and spaces (letter spacing, and the full-width spaces)."""
    return "".join(pages).replace(" ", "").replace("　", "").replace("\n", "")


def _under(pages: list[str], header: str) -> list[str]:
    """The figures on the line below the header line that starts with ``header``."""
    lines = _lines(pages)
    at = next(n for n, line in enumerate(lines) if line.startswith(header))
    return lines[at + 1].split(" ")


# --- 所得・課税証明書 ----------------------------------------------------------------------------


def test_the_certificate_prints_the_worked_example(renderer: Renderer) -> None:
    a = _worked_example()
    content = certificate(a, TAXPAYER, municipality="射水市")
    assert content.kind == FormKind.TAX_CERTIFICATE
    pages = _render(renderer, content)
    assert len(pages) == 1
    text = _flat(pages)
    assert "所得・課税証明書" in text
    assert "令和8年度（令和7年中の所得）市民税・都民税" in text
    assert "富山県射水市新開発410番地1（令和8年1月1日現在）" in text
    assert "射水太郎（イミズタロウ）生年月日昭和60年5月1日" in text
    assert "使用目的" not in text
    assert _row(pages, "給与") == ["5,000,000", "3,560,000"]
    assert _row(pages, "公的年金等") == ["0", "0"]
    for kind in ("事業", "不動産", "雑（公的年金等以外）", "所得金額調整控除額"):
        assert _row(pages, kind) == ["0"]
    assert _row(pages, "総所得金額等") == ["3,560,000"]
    assert _row(pages, "合計所得金額") == ["3,560,000"]
    assert _row(pages, "社会保険料控除") == ["750,000"]
    assert _row(pages, "基礎控除") == ["430,000"]
    for deduction in (
        "配偶者控除",
        "配偶者特別控除",
        "扶養控除",
        "特定親族特別控除",
        "障害者控除",
        "寡婦控除",
        "ひとり親控除",
        "勤労学生控除",
    ):
        assert _row(pages, deduction) == ["0"]
    assert _row(pages, "所得控除額の合計") == ["1,180,000"]
    assert _row(pages, "区分") == ["市民税", "都民税", "合計"]
    assert _row(pages, "課税標準額") == ["2,380,000"]
    assert _row(pages, "算出所得割額") == ["142,800", "95,200", "238,000"]
    assert _row(pages, "調整控除額") == ["1,500", "1,000", "2,500"]
    assert _row(pages, "所得割額") == ["141,300", "94,200", "235,500"]
    assert _row(pages, "均等割額") == ["3,000", "1,000", "4,000"]
    assert _row(pages, "計") == ["144,300", "95,200", "239,500"]
    assert _row(pages, "森林環境税（国税）") == ["1,000"]
    assert _row(pages, "年税額") == ["240,500"]
    assert "控除対象配偶者無本人該当区分該当なし" in text
    assert "非課税" not in text


def test_the_certification_is_on_the_last_page_only_and_the_serial_on_every_page(
    renderer: Renderer,
) -> None:
    # An address long enough to push the certification onto a second page.
    long_address = dataclasses.replace(TAXPAYER, address="富山県射水市新開発410番地1" * 60)
    pages = _render(renderer, certificate(_worked_example(), long_address))
    assert len(pages) == 2
    sentence = SENTENCES[FormKind.TAX_CERTIFICATE]
    assert [sentence in p.replace(" ", "") for p in pages] == [False, True]
    assert _flat(pages).count(sentence) == 1
    assert all(f"発行番号 {SERIAL}" in p for p in pages)
    assert [p.replace(" ", "").count("射水市長　夏野元志") for p in pages] == [0, 1]
    assert ISSUED_ON in pages[-1].replace(" ", "")
    assert "この証明書の真正性は" in pages[-1].replace(" ", "")
    # Page numbers are the document's own.
    assert ["1 / 2" in pages[0], "2 / 2" in pages[1]] == [True, True]


def test_the_purpose_adds_exactly_its_line(renderer: Renderer) -> None:
    a = _worked_example()
    without = certificate(a, TAXPAYER)
    with_purpose = certificate(a, TAXPAYER, purpose="児童手当の申請")
    assert {k for k in without.record if without.record[k] != with_purpose.record[k]} == {"purpose"}
    plain, purposed = _lines(_render(renderer, without)), _lines(_render(renderer, with_purpose))
    assert [line for line in purposed if line not in plain] == ["使用目的 児童手当の申請"]
    assert [line for line in plain if line not in purposed] == []


def test_the_certificate_counts_spouse_and_dependants(renderer: Renderer) -> None:
    a = assess(
        case(
            salary=6_000_000,
            spouse=spouse(income=0),
            dependents=(
                dependent(10),
                dependent(20),
                dependent(75, lives_with=True),
                dependent(17),
            ),
        )
    )
    pages = _render(renderer, certificate(a, TAXPAYER))
    text = _flat(pages)
    assert "控除対象配偶者有" in text
    assert "一般1人特定1人老人1人（うち同居老親等1人）年少1人特定親族0人" in text
    assert _row(pages, "配偶者控除") == ["330,000"]
    assert _row(pages, "扶養控除")[0] == f"{a.deductions.dependent_deduction:,}"


def test_an_exempt_taxpayer_gets_a_non_taxable_certificate(renderer: Renderer) -> None:
    a = _exempt()
    assert a.exemption.reason == ExemptionReason.PER_CAPITA_LIMIT
    content = certificate(a, TAXPAYER, municipality="射水市")
    assert content.kind == certificate_kind(a) == FormKind.NON_TAXABLE_CERTIFICATE
    pages = _render(renderer, content)
    text = _flat(pages)
    assert "非課税証明書" in text
    assert "所得・課税証明書" not in text
    assert "令和8年度の市民税・都民税は、非課税です。" in text
    assert "非課税の理由：合計所得金額が均等割の非課税限度額以下のため非課税" in text
    assert SENTENCES[FormKind.NON_TAXABLE_CERTIFICATE] in text
    # The income is still certified; every levy is zero.
    assert _row(pages, "給与") == ["1,000,000", "350,000"]
    for label in ("算出所得割額", "調整控除額", "所得割額", "均等割額", "計"):
        assert _row(pages, label) == ["0", "0", "0"]
    assert _row(pages, "森林環境税（国税）") == ["0"]
    assert _row(pages, "年税額") == ["0"]


def test_livelihood_assistance_is_the_reason_printed(renderer: Renderer) -> None:
    a = assess(case(salary=3_000_000, livelihood_assistance=True))
    text = _flat(_render(renderer, certificate(a, TAXPAYER)))
    reason = EXEMPTION_REASON_LABELS[ExemptionReason.LIVELIHOOD_ASSISTANCE]
    assert f"非課税の理由：{reason}" in text
    assert "非課税です。" in text


def test_income_levy_only_exemption_is_a_tax_certificate_with_a_remark(
    renderer: Renderer,
) -> None:
    # 3級地, one child: 均等割 limit 82.8万 < 給与所得 105万 ≤ 所得割 limit 112万.
    a = assess(case(grade=3, salary=1_700_000, dependents=(dependent(10),)))
    assert a.exemption.reason == ExemptionReason.INCOME_LEVY_LIMIT
    content = certificate(a, TAXPAYER)
    assert content.kind == FormKind.TAX_CERTIFICATE
    pages = _render(renderer, content)
    assert _row(pages, "所得割額") == ["0", "0", "0"]
    assert _row(pages, "均等割額") == ["3,000", "1,000", "4,000"]
    assert _row(pages, "年税額") == ["5,000"]
    label = EXEMPTION_REASON_LABELS[ExemptionReason.INCOME_LEVY_LIMIT]
    assert f"備考：{label}" in _flat(pages)
    assert "非課税です" not in _flat(pages)


def test_the_relief_near_the_limit_is_explained(renderer: Renderer) -> None:
    """地方税法附則3条の3: 所得割 cut to 総所得金額等 − 限度額, so the rows need a word."""
    # Two children under 16: 所得割 limit 147万, 給与所得 153万 → 所得割 at most 60,000.
    a = assess(case(salary=2_300_000, dependents=(dependent(5), dependent(8))))
    assert a.income_levy.relief > 0
    assert a.income_levy.total == 60_000
    for content in (
        certificate(a, TAXPAYER),
        tax_notice(a, TAXPAYER, ordinary_collection(a.total), NOTICE_DATE),
    ):
        pages = _render(renderer, content)
        assert _row(pages, "所得割額") == ["36,000", "24,000", "60,000"]
        assert "地方税法附則第3条の3の規定により減額しています。" in _flat(pages)
    plain = _flat(_render(renderer, certificate(_worked_example(), TAXPAYER)))
    assert "附則第3条の3" not in plain


def test_no_my_number_anywhere() -> None:
    """番号法19条: these documents have no use for 個人番号, so nothing can carry it."""
    assert {f.name for f in dataclasses.fields(Addressee)} == {
        "name",
        "kana",
        "birth_date",
        "address",
    }
    a = _worked_example()
    for kind in (FormKind.TAX_CERTIFICATE, FormKind.TAX_NOTICE):
        source = SOURCES[spec(kind).template] + SOURCES["_tax_tables.html"]
        assert "my_number" not in source
        assert "個人番号" not in source
    content = certificate(a, TAXPAYER)
    assert "個人番号" not in repr(content.record)
    assert not re.search(r"\d{12}", repr(content.record))


# --- 納税通知書 (普通徴収) ---------------------------------------------------------------------


def test_the_notice_prints_four_instalments_summing_to_the_annual_amount(
    renderer: Renderer,
) -> None:
    a = _worked_example()
    schedule = ordinary_collection(a.total)
    content = tax_notice(a, TAXPAYER, schedule, NOTICE_DATE, municipality="射水市")
    assert content.kind == FormKind.TAX_NOTICE
    pages = _render(renderer, content)
    assert len(pages) == 1
    text = _flat(pages)
    assert "納税通知書" in text
    assert "射水太郎様" in text
    assert "令和8年度市民税・都民税（普通徴収）" in text
    assert _row(pages, "年税額") == ["240,500"]
    assert _row(pages, "所得割額") == ["141,300", "94,200", "235,500"]
    assert _row(pages, "期別") == ["第1期", "第2期", "第3期", "第4期", "合計"]
    # 2026-10-31 is a Saturday and 2027-01-31 a Sunday (地方税法20条の5第2項).
    assert _row(pages, "納期限") == [
        "令和8年6月30日",
        "令和8年8月31日",
        "令和8年11月2日",
        "令和9年2月1日",
    ]
    *instalments, total = (_yen(x) for x in _row(pages, "納付額"))
    assert instalments == [60_500, 60_000, 60_000, 60_000]
    assert instalments == [amount for _m, amount in schedule.instalments]
    assert sum(instalments) == total == a.total == 240_500


def test_the_notice_is_dated_by_its_notice_date_and_gives_notice_under_the_law(
    renderer: Renderer,
) -> None:
    a = _worked_example()
    content = tax_notice(a, TAXPAYER, ordinary_collection(a.total), NOTICE_DATE)
    pages = _render(renderer, content)
    text = _flat(pages)
    sentence = SENTENCES[FormKind.TAX_NOTICE]
    assert "地方税法第319条の2の規定により通知します" in sentence
    assert text.count(sentence) == 1
    assert sentence in pages[-1].replace(" ", "")
    assert "令和8年6月10日" in text
    assert ISSUED_ON not in text  # the issue date of the batch run is not the notice date
    assert "この通知書の真正性は" in text
    assert f"発行番号{SERIAL}" in text
    # Without the municipality the levies carry the statute's names.
    assert "令和8年度市町村民税・都民税（普通徴収）" in text


def test_the_notice_carries_the_appeal_instructions(renderer: Renderer) -> None:
    """行政不服審査法82条・行政事件訴訟法46条: where, within when, and 審査請求前置."""
    a = _worked_example()
    text = _flat(
        _render(renderer, tax_notice(a, TAXPAYER, ordinary_collection(a.total), NOTICE_DATE))
    )
    assert "教示" in text
    assert "翌日から起算して3か月以内に、射水市長に対して審査請求をすることができます" in text
    assert "地方税法第19条の12の規定により、上記1の審査請求に対する裁決を経た後でなければ" in text
    assert "6か月以内に、射水市を被告として（訴訟において射水市を代表する者は射水市長" in text
    assert "審査請求があった日から3か月を経過しても裁決がないとき" in text
    assert "1年を経過したときは審査請求をすることが" in text


def test_the_notice_of_part_of_the_tax_says_where_the_rest_goes(renderer: Renderer) -> None:
    a = _worked_example()
    schedule = ordinary_collection(40_500)
    pages = _render(renderer, tax_notice(a, TAXPAYER, schedule, NOTICE_DATE))
    *instalments, total = (_yen(x) for x in _row(pages, "納付額"))
    assert sum(instalments) == total == 40_500
    assert "年税額240,500円のうち、200,000円は特別徴収により納付していただきます。" in _flat(pages)
    whole = _render(renderer, tax_notice(a, TAXPAYER, ordinary_collection(a.total), NOTICE_DATE))
    assert "のうち" not in _flat(whole)


def test_the_notice_refuses_a_schedule_over_the_tax() -> None:
    a = _worked_example()
    with pytest.raises(ValueError, match="年税額"):
        tax_notice(a, TAXPAYER, ordinary_collection(a.total + 1_000), NOTICE_DATE)
    with pytest.raises(ValueError, match="納期限"):
        tax_notice(a, TAXPAYER, ordinary_collection(a.total), NOTICE_DATE, due_dates=[NOTICE_DATE])


def test_ordinance_due_dates_are_printed_as_given(renderer: Renderer) -> None:
    a = _worked_example()
    dates = [
        dt.date(2026, 7, 15),
        dt.date(2026, 9, 15),
        dt.date(2026, 11, 16),
        dt.date(2027, 2, 15),
    ]
    content = tax_notice(a, TAXPAYER, ordinary_collection(a.total), NOTICE_DATE, due_dates=dates)
    assert _row(_render(renderer, content), "納期限") == [
        "令和8年7月15日",
        "令和8年9月15日",
        "令和8年11月16日",
        "令和9年2月15日",
    ]


@pytest.mark.parametrize(
    ("fiscal_year", "expected"),
    [
        (
            2026,
            (dt.date(2026, 6, 30), dt.date(2026, 8, 31), dt.date(2026, 11, 2), dt.date(2027, 2, 1)),
        ),
        # 2025-08-31 is a Sunday, 2026-01-31 a Saturday.
        (
            2025,
            (dt.date(2025, 6, 30), dt.date(2025, 9, 1), dt.date(2025, 10, 31), dt.date(2026, 2, 2)),
        ),
    ],
)
def test_standard_due_dates_move_past_the_weekend(
    fiscal_year: int, expected: tuple[dt.date, ...]
) -> None:
    dates = ordinary_due_dates(fiscal_year)
    assert dates == expected
    assert all(d.weekday() < 5 for d in dates)


# --- 特別徴収税額決定通知書 (納税義務者用) --------------------------------------------------------


def test_the_special_collection_notice_prints_twelve_months(renderer: Renderer) -> None:
    a = _worked_example()
    schedule = special_collection(a.total)
    content = special_collection_notice(
        a, TAXPAYER, schedule, dt.date(2026, 5, 15), employer_name=EMPLOYER, municipality="射水市"
    )
    assert content.kind == FormKind.SPECIAL_COLLECTION_NOTICE
    pages = _render(renderer, content)
    assert len(pages) == 1
    text = _flat(pages)
    assert "特別徴収税額決定通知書（納税義務者用）" in text
    assert f"特別徴収義務者{EMPLOYER}" in text
    assert "令和8年6月から令和9年5月までの給与から" in text
    assert _row(pages, "年税額") == ["240,500"]
    first_half = _row(pages, "6月")
    second_half = _row(pages, "12月")
    assert first_half == ["7月", "8月", "9月", "10月", "11月"]
    assert second_half == ["1月", "2月", "3月", "4月", "5月"]
    amounts = [_yen(x) for header in ("6月 7月", "12月 1月") for x in _under(pages, header)]
    assert len(amounts) == 12
    assert amounts == [amount for _m, amount in schedule.monthly]
    assert amounts[0] == 20_500
    assert amounts[1:] == [20_000] * 11
    assert sum(amounts) == a.total
    assert _row(pages, "特別徴収税額（年額）") == ["240,500"]
    assert "令和8年5月15日" in text
    assert "地方税法第321条の4の規定により通知します" in text
    assert "射水市長に対して審査請求をすることができます" in text
    assert text.count(SENTENCES[FormKind.SPECIAL_COLLECTION_NOTICE]) == 1


def test_special_collection_of_part_of_the_tax(renderer: Renderer) -> None:
    a = assess(case(salary=5_000_000, pension=1_500_000, social_insurance=750_000, age=66))
    withheld = a.total - 30_000
    pages = _render(
        renderer,
        special_collection_notice(
            a, TAXPAYER, special_collection(withheld), NOTICE_DATE, employer_name=EMPLOYER
        ),
    )
    assert _row(pages, "特別徴収税額（年額）") == [f"{withheld:,}"]
    assert f"年税額{a.total:,}円のうち、30,000円は普通徴収により納付していただきます" in _flat(
        pages
    )
    with pytest.raises(ValueError, match="特別徴収税額"):
        special_collection_notice(
            a, TAXPAYER, special_collection(a.total + 100), NOTICE_DATE, employer_name=EMPLOYER
        )


# --- names, catalog -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prefecture", "municipality", "expected"),
    [
        ("富山県", "射水市", ("市民税", "県民税")),
        ("富山県", "舟橋村", ("村民税", "県民税")),
        ("東京都", "千代田区", ("特別区民税", "都民税")),
        ("北海道", "ニセコ町", ("町民税", "道民税")),
        ("大阪府", "大阪市", ("市民税", "府民税")),
        ("京都府", None, ("市町村民税", "府民税")),
    ],
)
def test_levy_names(prefecture: str, municipality: str | None, expected: tuple[str, str]) -> None:
    names = levy_names(prefecture, municipality)
    assert (names["municipal"], names["prefectural"]) == expected


def test_the_catalog_kinds_and_fees() -> None:
    fees = CertificateFees(tax_certificate=350)
    assert spec(FormKind.TAX_CERTIFICATE).title == "所得・課税証明書"
    assert spec(FormKind.NON_TAXABLE_CERTIFICATE).title == "非課税証明書"
    assert spec(FormKind.TAX_CERTIFICATE).fee(fees) == 350
    assert spec(FormKind.NON_TAXABLE_CERTIFICATE).fee(fees) == 350
    # Notices are sent, never sold.
    assert spec(FormKind.TAX_NOTICE).fee(fees) == 0
    assert spec(FormKind.SPECIAL_COLLECTION_NOTICE).fee(fees) == 0
    assert spec(FormKind.RESIDENT_RECORD_COPY).fee(fees) == 300
    for kind in (FormKind.TAX_NOTICE, FormKind.SPECIAL_COLLECTION_NOTICE):
        assert spec(kind).noun == "通知書"
    assert {spec(k).template for k in CATALOG} <= set(manifest.load())


# --- in batch and at the counter -------------------------------------------------------------


def test_notices_in_batch_keep_their_own_serials_and_figures() -> None:
    taxed = [_worked_example(), assess(case(salary=4_000_000)), assess(case(salary=8_000_000))]
    contents = [
        tax_notice(
            a,
            dataclasses.replace(TAXPAYER, name=f"納税 {n}郎"),
            ordinary_collection(a.total),
            NOTICE_DATE,
        )
        for n, a in enumerate(taxed, 1)
    ]
    contexts = [_context(c, f"162116-2026-{n:07d}") for n, c in enumerate(contents, 1)]
    with BatchRenderer(SOURCES, workers=1) as batch:
        pdf = batch.one_pdf(FormKind.TAX_NOTICE, contexts, chunk=1)
    pages = _pages(pdf)
    assert len(pages) == len(taxed)
    for n, (page, a) in enumerate(zip(pages, taxed, strict=True), 1):
        assert f"162116-2026-{n:07d}" in page
        assert f"納税 {n}郎" in page
        *instalments, total = (_yen(x) for x in _row([page], "納付額"))
        assert sum(instalments) == total == a.total


def test_the_certificate_is_issued_signed_and_verifiable(state: AppState) -> None:
    tenant_id = new_tenant(state)
    a = _worked_example(prefecture="沖縄県")
    with UnitOfWork(state.session_factory) as uow:
        uow.set_tenant(TenantContext(TenantId(tenant_id)))
        session = uow.session
        municipality = tenancy_repo.municipality_by_id(session, tenant_id)
        assert municipality is not None
        issuer = service.issuer_for(session, municipality)
        content = certificate(a, TAXPAYER, purpose="児童手当の申請", municipality=issuer.name)
        documents = DocumentService(
            session,
            TenantKeys(session, state.ring),
            state.renderer,
            audit.Actor("staff", "tests.tax"),
            base_url="https://jichitai.example",
            today=dt.date(2026, 11, 27),
        )
        (issued,) = documents.issue(
            IssueRequest(
                form=content.kind,
                record=content.record,
                subject_ids=[SUBJECT],
                requester_type="self",
                requester_name=TAXPAYER.name,
                purpose="児童手当の申請",
                fee_per_copy=spec(content.kind).fee(CertificateFees()),
            ),
            issuer,
        )
        uow.commit()
    assert issued.title == "所得・課税証明書"
    assert issued.fee == 300
    pages = _pages(issued.pdf)
    assert _row(pages, "区分") == ["村民税", "県民税", "合計"]
    assert _row(pages, "年税額") == ["240,500"]
    assert f"発行番号 {issued.serial}" in pages[-1]
    with UnitOfWork(state.session_factory) as uow:
        verification = service.verify(uow.session, state.ring, issued.serial, pdf=issued.pdf)
    assert verification.status == "genuine"
    assert verification.title == "所得・課税証明書"
