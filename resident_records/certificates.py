"""Issuing the register's certificates (J:1000–J:1050): who may ask for what, and what prints.

The rules here decide the content; ``forms.service`` turns it into a signed, logged PDF. Items
the standard lets a requester choose (世帯主・続柄, 本籍・筆頭者, 住民票コード, 個人番号, the
foreign-resident items, 履歴, フリガナ) are omitted unless asked for, and 個人番号 and 住民票コード
are never given to a third party (法12条の3, 番号法19条).
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from collections.abc import Sequence
from typing import Annotated, Any, Literal

import jaconv
from pydantic import Field, StringConstraints, model_validator
from pydantic_core import PydanticCustomError
from sqlalchemy.orm import Session

from core import audit
from core.crypto import TenantKeys
from core.errors import NotFound, ValidationFailed
from core.scoping import require_context
from forms.catalog import FormKind, spec
from forms.service import DocumentService, Issued, Issuer, IssueRequest
from resident_records import protection, queries
from resident_records import repository as repo
from resident_records.models import (
    EVENT_LABELS,
    MY_NUMBER_CONTEXT,
    ProtectionRelease,
    RecordStatus,
    ResidentRecordVersion,
)
from resident_records.rules.register_dates import RegisterDate
from resident_records.rules.relationship import HEAD
from resident_records.schemas import Schema
from tenancy.parameters import TenantParameters

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Purpose = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=200)]
RELEASE_MINUTES = 30
SEX_LABELS = {"male": "男", "female": "女"}


class RequesterType(enum.StrEnum):
    SELF = "self"  # 本人 (法12条)
    HOUSEHOLD_MEMBER = "household_member"  # 同一世帯の者 (法12条)
    AGENT = "agent"  # 代理人 (委任状)
    THIRD_PARTY = "third_party"  # 第三者 (法12条の3第1項)
    PROFESSIONAL = "professional"  # 職務上請求 (法12条の3第2項)
    OFFICIAL = "official"  # 公用請求 (法12条の2)


REQUESTER_LABELS = {
    RequesterType.SELF: "本人",
    RequesterType.HOUSEHOLD_MEMBER: "同一世帯の者",
    RequesterType.AGENT: "代理人",
    RequesterType.THIRD_PARTY: "第三者",
    RequesterType.PROFESSIONAL: "職務上請求",
    RequesterType.OFFICIAL: "公用請求",
}
# Requesters to whom the register never discloses 個人番号 or 住民票コード.
OUTSIDERS = {RequesterType.THIRD_PARTY, RequesterType.PROFESSIONAL, RequesterType.OFFICIAL}


class Requester(Schema):
    type: RequesterType
    name: Text = Field(description="請求者の氏名（法人・機関はその名称）")
    authorisation: bool = Field(default=False, description="代理人: 委任状を確認した")
    purpose: Purpose | None = Field(default=None, description="請求事由（第三者・職務上・公用）")
    profession: (
        Literal[
            "弁護士",
            "司法書士",
            "土地家屋調査士",
            "税理士",
            "社会保険労務士",
            "弁理士",
            "海事代理士",
            "行政書士",
        ]
        | None
    ) = None
    registration_number: Annotated[str, StringConstraints(max_length=30)] | None = None


class CertificateOptions(Schema):
    """Items omitted unless asked for (J:1000)."""

    head_and_relationship: bool = Field(default=False, description="世帯主・続柄")
    honseki: bool = Field(default=False, description="本籍・筆頭者")
    juminhyo_code: bool = Field(default=False, description="住民票コード")
    my_number: bool = Field(default=False, description="個人番号")
    foreign_items: bool = Field(
        default=False,
        description="国籍・地域、区分、在留資格、在留期間等、満了日、在留カード等番号",
    )
    history: bool = Field(default=False, description="異動の履歴")
    kana: bool = Field(default=False, description="フリガナ（J:1020）")


class ResidentCertificateRequest(Schema):
    """住民票の写し / 記載事項証明書 / 除票の写し."""

    kind: Literal["resident_record_copy", "resident_record_extract", "removed_record_copy"]
    person_ids: Annotated[list[uuid.UUID], Field(min_length=1, max_length=30)]
    layout: Literal["individual", "household"] = Field(
        default="individual", description="individual: 個人票 / household: 世帯連記式"
    )
    requester: Requester
    options: CertificateOptions = Field(default_factory=CertificateOptions)
    copies: int = Field(default=1, ge=1, le=10)
    release_ids: list[uuid.UUID] = Field(default_factory=list, description="支援措置の解除")

    @model_validator(mode="after")
    def _distinct(self) -> ResidentCertificateRequest:
        if len(set(self.person_ids)) != len(self.person_ids):
            raise PydanticCustomError("duplicate_person", "同じ住民が重複して指定されています。")
        return self


class MoveOutCertificateRequest(Schema):
    """転出証明書 (再交付) / 転出証明書に準ずる証明書 for the persons of one move-out."""

    person_ids: Annotated[list[uuid.UUID], Field(min_length=1, max_length=30)]
    requester: Requester
    equivalent: bool = Field(default=False, description="転出証明書に準ずる証明書")
    reissue_of: Annotated[str, StringConstraints(max_length=32)] | None = Field(
        default=None, description="再交付: 元の発行番号"
    )
    release_ids: list[uuid.UUID] = Field(default_factory=list)


DamageLevel = Literal[
    "全壊", "大規模半壊", "中規模半壊", "半壊", "準半壊", "準半壊に至らない（一部損壊）"
]


class DisasterDamageRequest(Schema):
    """罹災証明書 (災害対策基本法90条の2): the survey's finding for a household's dwelling."""

    person_id: uuid.UUID = Field(description="申請者（世帯主）")
    requester: Requester
    disaster_name: Text
    occurred_on: dt.date
    property_address: (
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None
    ) = None
    damage_level: DamageLevel
    remarks: Annotated[str, StringConstraints(max_length=200)] | None = None
    copies: int = Field(default=1, ge=1, le=10)


class ReleaseRequest(Schema):
    reason: Purpose = Field(description="解除の理由（責任者の判断）")


# --- rules -----------------------------------------------------------------------------------


def _field_error(field: str, message: str, code: str) -> ValidationFailed:
    return ValidationFailed(message, code=code, details={"fields": {field: message}})


def check_requester(requester: Requester) -> None:
    """Who may ask and what they must show (住民基本台帳法12条, 12条の2, 12条の3)."""
    t = requester.type
    if t == RequesterType.AGENT and not requester.authorisation:
        raise _field_error(
            "requester.authorisation",
            "代理人からの請求には委任状の確認が必要です。",
            "authorisation_required",
        )
    if t in OUTSIDERS and not requester.purpose:
        raise _field_error(
            "requester.purpose", "この請求には請求事由の記載が必要です。", "purpose_required"
        )
    if t == RequesterType.PROFESSIONAL and not (
        requester.profession and requester.registration_number
    ):
        raise _field_error(
            "requester.registration_number",
            "職務上請求には資格の種類と登録番号が必要です。",
            "professional_registration_required",
        )


def check_options(requester: Requester, options: CertificateOptions) -> None:
    """個人番号 and 住民票コード are never disclosed to outsiders (法12条の3第7項, 番号法19条)."""
    if requester.type not in OUTSIDERS:
        return
    if options.my_number:
        raise _field_error(
            "options.my_number",
            "第三者・職務上・公用の請求には個人番号を記載できません。",
            "my_number_not_for_outsider",
        )
    if options.juminhyo_code:
        raise _field_error(
            "options.juminhyo_code",
            "第三者・職務上・公用の請求には住民票コードを記載できません。",
            "juminhyo_code_not_for_outsider",
        )


def household_order_key(relationship: str | None, birth: str | None, atena: str) -> tuple[Any, ...]:
    """世帯連記式の並び順 (J:1010): head, spouse, children, their families, parents, others."""
    rel = relationship or ""
    if rel == HEAD:
        rank = (1, 1)
    elif rel in {"妻", "夫", "妻（未届）", "夫（未届）"}:
        rank = (1, 2)
    elif rel == "子":
        rank = (1, 3)
    elif rel.startswith("子"):
        rank = (2, rel.count("の"))
    elif rel in {"父", "母"}:
        rank = (3, 1)
    elif rel in {"兄", "姉", "弟", "妹"}:
        rank = (3, 2)
    elif rel.startswith(("父の", "母の")):
        rank = (3, 3)
    elif rel == "縁故者":
        rank = (4, 2)
    elif rel == "同居人":
        rank = (4, 3)
    else:
        rank = (4, 1)
    return (*rank, birth or "9999", atena)


# --- content ---------------------------------------------------------------------------------


def _date_text(value: str | None, foreign: bool) -> str:
    if not value:
        return ""
    day = dt.date.fromisoformat(value)
    if foreign:
        return f"{day.year}年{day.month}月{day.day}日"
    from core.japanese.era import to_japanese

    return to_japanese(day).format()


def _kana(data: dict[str, Any]) -> str | None:
    parts = [data.get("family_name_kana") or "", data.get("given_name_kana") or ""]
    text = "　".join(p for p in parts if p)
    return jaconv.hira2kata(text) if text else None


class Issuance:
    """The certificate use cases of the register, for the tenant of the session's context."""

    def __init__(self, documents: DocumentService, keys: TenantKeys, params: TenantParameters):
        self.documents = documents
        self.session = documents.session
        self.keys = keys
        self.params = params
        self.today = documents.today
        self.actor = documents.actor
        # Under mutual aid: the helping member, printed and logged beside the stricken one.
        self.acting_name: str | None = None

    # -- protection ----------------------------------------------------------------------------

    def _check_protection(
        self, person_ids: Sequence[uuid.UUID], requester: Requester, release_ids: list[uuid.UUID]
    ) -> tuple[list[ProtectionRelease], protection.ProtectedPersonBlocked | None]:
        """DV等支援措置 (J:410): refused and logged unless a supervisor released this person."""
        protected = protection.protected_ids(self.session, person_ids, self.today)
        if not protected:
            return [], None
        releases = protection.usable_releases(self.session, release_ids, self.today)
        released = {r.person_id for r in releases}
        for person_id in sorted(protected - released):
            blocked = protection.check_disclosure(
                self.session,
                self.actor,
                person_id,
                requester_type=requester.type.value,
                requester_name=requester.name,
                purpose=requester.purpose,
                on=self.today,
            )
            if blocked is not None:
                return [], blocked
        return [r for r in releases if r.person_id in protected], None

    # -- 住民票の写し等 ----------------------------------------------------------------------------

    def _entries(
        self, kind: FormKind, person_ids: Sequence[uuid.UUID]
    ) -> list[tuple[uuid.UUID, str, ResidentRecordVersion]]:
        now = dt.datetime.now(dt.UTC)
        out = []
        for person_id in person_ids:
            person = repo.person(self.session, person_id)
            # The entry in force today: a planned move-out not yet reached is left out (J:1000).
            version = (
                repo.version_as_of(self.session, person_id, self.today, now) if person else None
            )
            if person is None or version is None or version.status == RecordStatus.VOIDED:
                raise NotFound("指定された住民は見つかりません。", code="resident_not_found")
            removed = version.status == RecordStatus.REMOVED
            if kind == FormKind.REMOVED_RECORD_COPY and not removed:
                raise _field_error(
                    "person_ids",
                    "除票の写しは、住民票が消除された方についてのみ発行できます。",
                    "not_removed",
                )
            if kind != FormKind.REMOVED_RECORD_COPY and removed:
                raise _field_error(
                    "person_ids",
                    "住民票が消除されているため、除票の写しを請求してください。",
                    "record_removed",
                )
            out.append((person_id, person.atena_number, version))
        return out

    def _person(
        self,
        version: ResidentRecordVersion,
        options: CertificateOptions,
        *,
        with_removal: bool,
    ) -> dict[str, Any]:
        data = version.data
        foreign = data.get("foreign")
        name = f"{data['family_name']}　{data['given_name']}".strip("　")
        if foreign:
            alphabet = foreign.get("name_alphabet") or ""
            name = (
                alphabet if name.replace("　", " ").strip() == alphabet else f"{alphabet}　{name}"
            )
        birth = RegisterDate.from_json(data["birth_date"])
        p: dict[str, Any] = {
            "name": name,
            "kana": _kana(data) if options.kana else None,
            "birth_date": birth.format_western() if foreign else birth.format_japanese(),
            "sex": SEX_LABELS.get(data.get("sex") or "", ""),
            "became_resident_on": _date_text(data.get("became_resident_on"), bool(foreign)),
            "address_since": _date_text(data.get("address_since"), bool(foreign)),
            "notified_on": _date_text(data.get("notified_on"), bool(foreign)),
            "previous_address": data.get("previous_address") or "",
        }
        if data.get("former_surname"):
            former = data["former_surname"]
            if options.kana and data.get("former_surname_kana"):
                former += f"　（{jaconv.hira2kata(data['former_surname_kana'])}）"
            p["former_surname"] = former
        if options.head_and_relationship:
            p["relationship"] = data.get("relationship") or ""
        if options.honseki and not foreign:
            p["honseki"] = data.get("honseki") or "なし"
            p["koseki_head"] = data.get("koseki_head") or ""
        if options.juminhyo_code:
            p["juminhyo_code"] = data.get("juminhyo_code") or ""
        if options.my_number and version.my_number_cipher is not None:
            p["my_number"] = self.keys.decrypt(version.my_number_cipher, context=MY_NUMBER_CONTEXT)
        if foreign:
            f: dict[str, Any] = {}
            if foreign.get("alias_name"):
                f["alias"] = foreign["alias_name"]
            if options.foreign_items:
                f.update(
                    nationality=foreign.get("nationality") or "",
                    category=foreign.get("category") or "",
                    card_number=foreign.get("residence_card_number") or "",
                )
                if foreign.get("residence_status"):
                    f.update(
                        residence_status=foreign["residence_status"],
                        period_of_stay=foreign.get("period_of_stay") or "",
                        expires_on=_date_text(foreign.get("stay_expires_on"), True),
                    )
            p["foreign"] = f
        removal = data.get("removal") or {}
        if with_removal and version.status == RecordStatus.REMOVED:
            p["removal"] = {
                "reason": f"{removal.get('reason') or '消除'}日",
                "on": _date_text(removal.get("removed_on"), bool(foreign)),
                "destination": removal.get("destination_address") or "",
            }
        if options.history:
            p["history"] = [
                {
                    "effective_on": _date_text(v.effective_on.isoformat(), bool(foreign)),
                    "event": EVENT_LABELS.get(v.event_kind, v.event_kind),
                    "notified_on": _date_text(v.data.get("notified_on"), bool(foreign)),
                    "note": queries.address_text(self.session, v.data) or "",
                }
                for v in repo.versions(self.session, version.person_id)
                if v.recorded_at <= version.recorded_at
            ]
        return p

    def _omitted(self, options: CertificateOptions, any_foreign: bool) -> list[str]:
        labels = [
            ("head_and_relationship", "世帯主・続柄"),
            ("honseki", "本籍・筆頭者"),
            ("juminhyo_code", "住民票コード"),
            ("my_number", "個人番号"),
        ]
        if any_foreign:
            labels.append(("foreign_items", "国籍・地域等"))
        return [label for key, label in labels if not getattr(options, key)]

    def resident_record(
        self, req: ResidentCertificateRequest, issuer: Issuer, *, preview: bool = False
    ) -> tuple[list[Issued], bytes | None, protection.ProtectedPersonBlocked | None]:
        """住民票の写し・記載事項証明書・除票の写し (法12条, J:1000)."""
        check_requester(req.requester)
        check_options(req.requester, req.options)
        kind = FormKind(req.kind)
        entries = self._entries(kind, req.person_ids)
        releases, blocked = self._check_protection(req.person_ids, req.requester, req.release_ids)
        if blocked is not None:
            return [], None, blocked
        households = {v.household_id for _p, _a, v in entries}
        if req.layout == "household" and len(households) != 1:
            raise _field_error(
                "layout",
                "世帯連記式は同じ世帯の方だけを記載できます。",
                "household_layout_mixed",
            )
        entries.sort(
            key=lambda e: household_order_key(
                e[2].data.get("relationship"),
                e[2].birth_date.isoformat() if e[2].birth_date else None,
                e[1],
            )
        )
        removed_form = kind == FormKind.REMOVED_RECORD_COPY
        persons = [self._person(v, req.options, with_removal=removed_form) for _p, _a, v in entries]
        first = entries[0][2]
        record: dict[str, Any] = {
            "layout": req.layout,
            "address": self._address(issuer, first.data),
            "persons": persons,
            "omitted": self._omitted(
                req.options, any(v.data.get("foreign") for _p, _a, v in entries)
            ),
        }
        household_id = first.household_id if req.layout == "household" else None
        if req.options.head_and_relationship:
            record["head_name"] = self._head_name(first)
        fee = spec(kind).fee(self.params.fees)
        request = IssueRequest(
            form=kind,
            record=record,
            subject_ids=[p for p, _a, _v in entries],
            requester_type=req.requester.type.value,
            requester_name=req.requester.name,
            purpose=req.requester.purpose,
            options={
                **req.options.model_dump(),
                "layout": req.layout,
                "releases": [str(r.id) for r in releases],
            },
            fee_per_copy=0 if req.requester.type == RequesterType.OFFICIAL else fee,
            copies=req.copies,
            household_id=household_id,
        )
        if preview:
            return [], self.documents.preview(request, issuer), None
        issued = self.documents.issue(request, issuer, acting_name=self.acting_name)
        protection.use_releases(self.session, releases, issued[0].serial)
        return issued, None, None

    def _address(self, issuer: Issuer, data: dict[str, Any]) -> str:
        """The address as certificates print it: prefecture, municipality, 町字, 番地 (方書)."""
        code = data.get("machiaza_code") or ""
        machiaza = repo.machiaza(self.session, code) if code else None
        text = f"{issuer.prefecture}{issuer.name}{machiaza.name if machiaza else code}"
        text += data.get("banchi") or ""
        katagaki = data.get("katagaki")
        return f"{text}　{katagaki}" if katagaki else text

    def _head_name(self, version: ResidentRecordVersion, on: dt.date | None = None) -> str:
        if version.household_id is None:
            return ""
        for member in repo.household_members(self.session, version.household_id, on or self.today):
            if member.relationship == HEAD:
                return f"{member.family_name}　{member.given_name}"
        return ""

    # -- 転出証明書 --------------------------------------------------------------------------------

    def move_out(
        self, req: MoveOutCertificateRequest, issuer: Issuer
    ) -> tuple[list[Issued], protection.ProtectedPersonBlocked | None]:
        """転出証明書 (令23条), its 再交付, and 転出証明書に準ずる証明書 (令24条の2)."""
        check_requester(req.requester)
        if req.requester.type in OUTSIDERS:
            raise _field_error(
                "requester.type",
                "転出証明書は本人・同一世帯の者・代理人にのみ交付できます。",
                "move_out_certificate_requester",
            )
        now = dt.datetime.now(dt.UTC)
        versions = []
        for person_id in req.person_ids:
            latest = repo.latest_version(self.session, person_id)
            removal = (latest.data.get("removal") or {}) if latest else {}
            if (
                latest is None
                or latest.status != RecordStatus.REMOVED
                or not removal.get("planned_move_out_on")
            ):
                raise _field_error(
                    "person_ids",
                    "転出の届出がされていない方が含まれています。",
                    "no_move_out",
                )
            resident = repo.version_as_of(
                self.session, person_id, latest.effective_on - dt.timedelta(days=1), now
            )
            versions.append((latest, resident or latest))
        if req.reissue_of is not None:
            from forms.service import by_serial

            original = by_serial(self.session, req.reissue_of)
            # A reissue replaces the certificate of the same persons, never someone else's.
            if (
                original is None
                or original.form_kind != FormKind.MOVE_OUT_CERTIFICATE
                or set(original.subject_ids) != {str(p) for p in req.person_ids}
            ):
                raise _field_error(
                    "reissue_of", "再交付の元になる転出証明書が見つかりません。", "no_original"
                )
        releases, blocked = self._check_protection(req.person_ids, req.requester, req.release_ids)
        if blocked is not None:
            return [], blocked
        latest0, before0 = versions[0]
        removal0 = latest0.data.get("removal") or {}
        foreign_any = False
        persons = []
        for _latest, before in sorted(
            versions,
            key=lambda lv: household_order_key(
                lv[1].data.get("relationship"), lv[1].data.get("birth_date", {}).get("value"), ""
            ),
        ):
            data = before.data
            foreign = data.get("foreign")
            foreign_any = foreign_any or bool(foreign)
            entitlements = data.get("entitlements") or {}
            birth = RegisterDate.from_json(data["birth_date"])
            p: dict[str, Any] = {
                "name": f"{data['family_name']}　{data['given_name']}",
                "kana": _kana(data),
                "birth_date": birth.format_western() if foreign else birth.format_japanese(),
                "sex": SEX_LABELS.get(data.get("sex") or "", ""),
                "relationship": data.get("relationship") or "",
                "juminhyo_code": data.get("juminhyo_code") or "",
                "entitlements": {
                    k: ("有" if entitlements.get(k) else "無")
                    for k in (
                        "nhi",
                        "late_elderly",
                        "long_term_care",
                        "national_pension",
                        "child_allowance",
                    )
                },
            }
            if not foreign:
                p["honseki"] = data.get("honseki") or "なし"
                p["koseki_head"] = data.get("koseki_head") or ""
            else:
                p["foreign"] = {
                    "nationality": foreign.get("nationality") or "",
                    "residence_status": foreign.get("residence_status") or "",
                    "card_number": foreign.get("residence_card_number") or "",
                }
            persons.append(p)
        record = {
            "address": self._address(issuer, before0.data),
            # The household as it was the day before the move-out took effect.
            "head_name": self._head_name(before0, latest0.effective_on - dt.timedelta(days=1)),
            "destination": removal0.get("destination_address") or "",
            "planned_on": _date_text(removal0.get("planned_move_out_on"), foreign_any),
            "moved_out_on": _date_text(removal0.get("removed_on"), foreign_any)
            if removal0.get("move_out_confirmed_on")
            else "",
            "notified_on": _date_text(latest0.data.get("notified_on"), foreign_any),
            "persons": persons,
        }
        kind = FormKind.MOVE_OUT_EQUIVALENT if req.equivalent else FormKind.MOVE_OUT_CERTIFICATE
        issued = self.documents.issue(
            IssueRequest(
                form=kind,
                record=record,
                subject_ids=req.person_ids,
                requester_type=req.requester.type.value,
                requester_name=req.requester.name,
                purpose=req.requester.purpose,
                options={"releases": [str(r.id) for r in releases]},
                fee_per_copy=self.params.fees.move_out_certificate,
                household_id=before0.household_id,
                reissue_of=req.reissue_of,
            ),
            issuer,
            acting_name=self.acting_name,
        )
        protection.use_releases(self.session, releases, issued[0].serial)
        return issued, None

    # -- 罹災証明書 --------------------------------------------------------------------------------

    def disaster_damage(self, req: DisasterDamageRequest, issuer: Issuer) -> list[Issued]:
        """罹災証明書 (災害対策基本法90条の2): issued without delay to a stricken household."""
        check_requester(req.requester)
        if req.occurred_on > self.today:
            raise _field_error(
                "occurred_on", "発生日に未来の日付は指定できません。", "future_occurred_on"
            )
        latest = repo.latest_version(self.session, req.person_id)
        if latest is None or latest.status == RecordStatus.VOIDED:
            raise NotFound("指定された住民は見つかりません。", code="resident_not_found")
        # The certificate prints the address: a protected person's is not disclosed either.
        _releases, blocked = self._check_protection([req.person_id], req.requester, [])
        if blocked is not None:
            raise blocked
        address = self._address(issuer, latest.data)
        record = {
            "applicant": f"{latest.data['family_name']}　{latest.data['given_name']}",
            "address": address,
            "disaster_name": req.disaster_name,
            "occurred_on": _date_text(req.occurred_on.isoformat(), False),
            "property_address": req.property_address or address,
            "damage_level": req.damage_level,
            "remarks": req.remarks or "",
        }
        return self.documents.issue(
            IssueRequest(
                form=FormKind.DISASTER_DAMAGE,
                record=record,
                subject_ids=[req.person_id],
                requester_type=req.requester.type.value,
                requester_name=req.requester.name,
                purpose=req.requester.purpose,
                fee_per_copy=self.params.fees.disaster_damage_certificate,
                copies=req.copies,
                household_id=latest.household_id,
            ),
            issuer,
            acting_name=self.acting_name,
        )


def release(
    session: Session, actor: audit.Actor, person_id: uuid.UUID, reason: str, today: dt.date
) -> ProtectionRelease:
    """A supervisor's release of one protected person for one issuance (J:410)."""
    require_context(session)
    if repo.person(session, person_id) is None:
        raise NotFound("指定された住民は見つかりません。", code="resident_not_found")
    if not protection.protected_ids(session, [person_id], today):
        raise _field_error("person_id", "この方には支援措置が設定されていません。", "not_protected")
    return protection.release(session, actor, person_id, reason, minutes=RELEASE_MINUTES)
