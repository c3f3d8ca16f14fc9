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


def _text(pdf: bytes) -> str:
    pages = [p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages]
    return "".join(pages).replace(" ", "").replace("　", "").replace("\n", "")


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
