"""国民健康保険税 納税通知書 in batch: issued, rendered, read back and verifiable."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

from pypdf import PdfReader
from sqlalchemy import func, select

from core.crypto import TenantKeys
from core.uow import UnitOfWork
from forms import service as forms_service
from forms.batch import BatchRenderer
from forms.models import IssuedDocument
from forms.signing import VerificationCode
from nhi import notices
from nhi.models import CoverageKind
from nhi.service import Qualifications
from tenancy import repository as tenancy_repo
from tests.nhi.assessment_support import (
    ACTOR,
    HEAD_BIRTH,
    HEAD_SALARY,
    current,
    family_persons,
    incomes,
    move_in,
    run,
    salary,
)
from tests.resident_records.test_service import _new_env, person


def _flat(text: str) -> str:
    return text.replace(" ", "").replace("　", "").replace("\n", "")


def _text(pdf: bytes) -> str:
    return _flat("".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages))


def _printed_items(context: dict[str, Any]) -> list[str]:
    """Every item the notice prints from its record, the frame's serial and certification."""
    r = context["record"]
    items = [
        context["document"]["serial"],
        r["taxpayer"]["name"],
        r["taxpayer"]["kana"],
        r["taxpayer"]["address"],
        r["fiscal_year"]["label"],
        r["fiscal_year"]["income_year"],
        "国民健康保険税（普通徴収）",
        r["notice_date"],
        r["reduction"]["income"],
        f"被保険者等{r['reduction']['persons']}人",
        r["reduction"]["label"],
        *r["components"],
        r["annual"],
        "年税額",
        "教示",
        "審査請求",
        "行政事件訴訟法第8条第2項",
        "この処分があった日の翌日から起算して1年を経過したとき",
    ]
    if r["correction"]:
        items.append(r["correction"])
    for m in r["members"]:
        items += [m["name"], m["birth"], m["role"], m["period"]]
        items.append(f"{m['months']}（{m['care_months']}）")
    for row in r["rows"]:
        items += [row["label"], *row["values"]]
    for i in r["instalments"]:
        items += [i["term"], i["due"], i["amount"]]
    return [_flat(str(item)) for item in items]


def _issue(state: Any, env: Any) -> list[dict[str, Any]]:
    with UnitOfWork(state.session_factory) as uow:
        uow.set_tenant(env.ctx)
        municipality = tenancy_repo.municipality_by_id(uow.session, env.tenant_id)
        assert municipality is not None
        issuer = forms_service.issuer_for(uow.session, municipality)
        documents = forms_service.DocumentService(
            uow.session,
            TenantKeys(uow.session, state.ring),
            state.renderer,
            ACTOR,
            base_url="https://jichitai.example",
            today=dt.date(2026, 7, 1),
        )
        contexts = notices.issue(documents, 2026, issuer)
        uow.commit()
    return contexts


def test_the_years_notices_are_issued_in_batch_and_read_back(state: Any) -> None:
    env = _new_env(state)
    family = move_in(env, family_persons(), dt.date(2025, 4, 1))
    incomes(env, [salary(env, family.person_ids[0], HEAD_BIRTH, HEAD_SALARY)])
    # A 擬制世帯主: the 80-year-old head is in 後期高齢者医療, his son is insured.
    nominal = move_in(
        env,
        [
            person(given_name="次郎", birth_date="1945-05-01"),
            person(given_name="三郎", relationship="子", birth_date="1985-05-01"),
        ],
        dt.date(2025, 4, 1),
    )
    run(env)
    contexts = _issue(state, env)
    assert len(contexts) == 2
    with BatchRenderer(state.form_sources, workers=1) as batch:
        pdf = batch.one_pdf(notices.FORM, contexts)
    text = _text(pdf)
    a = current(env, family.household_ids[0])
    b = current(env, nominal.household_ids[0])
    assert a is not None and b is not None
    assert "国民健康保険税納税通知書" in text
    assert "射水太郎様" in text and "射水花子" in text and "射水一郎" in text
    assert "射水次郎様" in text and "擬制世帯主" in text
    assert f"{a.total:,}" in text and f"{b.total:,}" in text
    for label in ("医療分", "後期高齢者支援金分", "介護納付金分", "子ども・子育て支援金分"):
        assert label in text
    for label in ("所得割額", "均等割額（軽減前）", "平等割額（軽減前）", "賦課限度額", "第8期"):
        assert label in text
    assert f"{a.instalments[0]:,}" in text and "令和8年7月31日" in text
    assert "教示" in text and "審査請求" in text
    # Each notice is in the issuance log and its printed code verifies.
    serial = contexts[0]["document"]["serial"]
    assert serial in text
    with UnitOfWork(state.session_factory) as uow:
        uow.set_tenant(env.ctx)
        logged = uow.session.scalar(select(func.count()).select_from(IssuedDocument))
        row = forms_service.by_serial(uow.session, serial)
        assert row is not None and row.form_kind == "nhi_premium_notice"
        code = VerificationCode(serial, row.content_hash, row.signature)
    assert logged == 2
    with UnitOfWork(state.session_factory) as uow:
        verdict = forms_service.verify(
            uow.session, state.ring, serial, digest=code.digest, signature=code.signature
        )
    assert verdict.status == "genuine"


def test_nothing_to_send_before_the_run(state: Any) -> None:
    env = _new_env(state)
    move_in(env, family_persons(), dt.date(2025, 4, 1))
    assert _issue(state, env) == []


def _corrected_notice(state: Any, env: Any, joins_employee_insurance: Any) -> dict[str, Any]:
    """The year's run, then a member joining employee insurance on 20 August (a 更正): the one
    notice to send."""
    run(env)
    with UnitOfWork(state.session_factory, state.bus) as uow:
        uow.set_tenant(env.ctx)
        Qualifications(uow.session, ACTOR, uow.publish).record_cover(
            joins_employee_insurance, CoverageKind.EMPLOYEE_INSURANCE_JOINED, dt.date(2026, 8, 20)
        )
        uow.commit()
    (context,) = _issue(state, env)
    return context


def _one_page_with_every_item(state: Any, context: dict[str, Any]) -> None:
    with BatchRenderer(state.form_sources, workers=1) as batch:
        pdf = batch.one_pdf(notices.FORM, [context])
    text = _text(pdf)
    missing = [item for item in _printed_items(context) if item not in text]
    assert missing == []
    assert len(PdfReader(io.BytesIO(pdf)).pages) == 1


def test_a_household_of_four_prints_every_item_on_one_page(state: Any) -> None:
    env = _new_env(state)
    # Four insured with every component, a 5割 reduction (a low salary), a child before school
    # (未就学児 row) and a mid-year correction (更正 row): the busiest common notice.
    household = move_in(
        env,
        [
            *family_persons(),
            person(given_name="二郎", relationship="子", birth_date="2022-06-01"),
        ],
        dt.date(2025, 4, 1),
    )
    incomes(env, [salary(env, household.person_ids[0], HEAD_BIRTH, 2_000_000)])
    context = _corrected_notice(state, env, household.person_ids[2])
    record = context["record"]
    assert len(record["members"]) == 4 and len(record["components"]) == 4
    assert len(record["instalments"]) == 8 and record["correction"]
    labels = {row["label"] for row in record["rows"]}
    assert {"7割・5割・2割軽減額", "未就学児の均等割軽減額"} <= labels
    _one_page_with_every_item(state, context)


def test_a_period_names_its_era_once_unless_the_era_changes() -> None:
    assert notices.period_text(2026, 0, 11) == "令和8年4月〜9年3月"
    assert notices.period_text(2026, 6, 6) == "令和8年10月〜8年10月"
    assert notices.period_text(2019, 0, 11) == "平成31年4月〜令和2年3月"  # 改元 on 1 May 2019


def _worst_case_context(state: Any) -> dict[str, Any]:
    """The busiest notice a real household can get: a 擬制世帯主 (in 後期高齢者医療, a member row
    with the mark and the reduction-line sentence), four insured (a son over 40 with a salary
    over the caps: 限度超過額 row; his wife; two children, one before school: 未就学児 row), every
    component, a mid-year correction (更正) and 資産割.

    The assessment never reads 固定資産税額 (nhi.assessment_service stores no ``asset_tax`` among
    a member's facts, so a real run cannot produce 資産割 even with an ``asset_rate``): the
    資産割額 row is added to the real context in the shape nhi.notices.premium_notice gives it,
    after 所得割額, with figures of the size a 資産割 town's give."""
    env = _new_env(state)
    household = move_in(
        env,
        [
            person(given_name="次郎", given_name_kana="ジロウ", birth_date="1945-05-01"),
            person(
                given_name="三郎",
                given_name_kana="サブロウ",
                relationship="子",
                birth_date="1976-05-01",
            ),
            person(
                given_name="美和子",
                given_name_kana="ミワコ",
                sex="female",
                relationship="子の妻",
                birth_date="1981-07-07",
            ),
            person(
                given_name="一郎",
                given_name_kana="イチロウ",
                relationship="子の子",
                birth_date="2008-01-10",
            ),
            person(
                given_name="二郎",
                given_name_kana="ジロウ",
                relationship="子の子",
                birth_date="2022-06-01",
            ),
        ],
        dt.date(2025, 4, 1),
    )
    incomes(env, [salary(env, household.person_ids[1], HEAD_BIRTH, 30_000_000)])
    context = _corrected_notice(state, env, household.person_ids[2])
    record = context["record"]
    assert record["nominal_head"] and record["correction"]
    assert len(record["members"]) == 5 and len(record["components"]) == 4
    assert len(record["instalments"]) == 8
    labels = [row["label"] for row in record["rows"]]
    assert {"未就学児の均等割軽減額", "限度超過額"} <= set(labels)
    assert "資産割額" not in labels and "7割・5割・2割軽減額" not in labels
    asset = {"label": "資産割額", "values": ["123,400", "28,700", "31,500", "0"], "strong": False}
    record["rows"].insert(labels.index("所得割額") + 1, asset)
    return context


def test_the_worst_real_notice_prints_every_item_on_one_page(state: Any) -> None:
    # 7割・5割・2割軽減 (low income) and 限度超過 (income over the cap) never meet in a household:
    # this is every other optional row at once.
    _one_page_with_every_item(state, _worst_case_context(state))


def test_even_every_optional_row_at_once_fits_one_page(state: Any) -> None:
    # Not a real household (a reduction and a cap excess together): the theoretical worst, the
    # reduction row added in nhi.notices' shape before the 未就学児 row.
    context = _worst_case_context(state)
    rows = context["record"]["rows"]
    at = [row["label"] for row in rows].index("未就学児の均等割軽減額")
    reduction = ["126,840", "26,460", "34,280", "3,780"]
    rows.insert(at, {"label": "7割・5割・2割軽減額", "values": reduction, "strong": False})
    _one_page_with_every_item(state, context)
