"""Schemas of the resident register: the record's items, event commands, API reads.

Validators give one Japanese message per field; the stable machine-readable part is the error
type (``invalid_kana``, ``invalid_my_number`` …) that the API returns in ``details``.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
import uuid
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints
from pydantic_core import PydanticCustomError

from core.japanese.checkdigits import is_valid_juminhyo_code, is_valid_my_number
from core.japanese.kana import is_kana, normalize_kana, strip_variation_selectors
from resident_records.models import Sex
from resident_records.rules.register_dates import RegisterDateError, parse_register_date
from resident_records.rules.relationship import RelationshipError, validate_relationship


def _check_text(value: str) -> str:
    # Names keep their Ideographic Variation Sequences intact (行政事務標準文字); what is refused
    # is anything invisible that could hide in a certificate: control and format characters.
    for ch in strip_variation_selectors(value):
        if unicodedata.category(ch) in {"Cc", "Cf", "Cs", "Co", "Cn"}:
            raise PydanticCustomError(
                "control_character", "制御文字など表示できない文字が含まれています。"
            )
    return value


def _check_kana(value: str) -> str:
    normalized = normalize_kana(value).strip()
    if not normalized or not is_kana(normalized):
        raise PydanticCustomError(
            "invalid_kana", "振り仮名はカタカナ（またはひらがな）で入力してください。"
        )
    return normalized


def _check_my_number(value: str) -> str:
    digits = value.replace(" ", "").replace("-", "")
    # The message never repeats the number: 個人番号 must not reach a log or an error text.
    if not is_valid_my_number(digits):
        raise PydanticCustomError(
            "invalid_my_number",
            "個人番号は12桁の数字で、検査用数字が正しいものを入力してください。",
        )
    return digits


def _check_juminhyo_code(value: str) -> str:
    if not is_valid_juminhyo_code(value):
        raise PydanticCustomError(
            "invalid_juminhyo_code", "住民票コードは11桁の数字で入力してください。"
        )
    return value


def _check_register_date(value: str) -> str:
    try:
        return parse_register_date(value, allow_uncertain=True).text
    except RegisterDateError as exc:
        raise PydanticCustomError("invalid_register_date", str(exc)) from None


def _check_relationship(value: str) -> str:
    try:
        return validate_relationship(value)
    except RelationshipError as exc:
        raise PydanticCustomError("invalid_relationship", str(exc)) from None


Text = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
    AfterValidator(_check_text),
]
LongText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=300),
    AfterValidator(_check_text),
]
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=50),
    AfterValidator(_check_text),
]
Kana = Annotated[str, StringConstraints(min_length=1, max_length=100), AfterValidator(_check_kana)]
MyNumber = Annotated[str, StringConstraints(max_length=20), AfterValidator(_check_my_number)]
JuminhyoCode = Annotated[
    str, StringConstraints(pattern=r"^\d{11}$"), AfterValidator(_check_juminhyo_code)
]
RegisterDateText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=60),
    AfterValidator(_check_register_date),
]
Relationship = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=40),
    AfterValidator(_check_relationship),
]
MachiazaCode = Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z-]{1,16}$")]
Banchi = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=60),
    AfterValidator(_check_text),
]


class Schema(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


FOREIGN_CATEGORIES = ("中長期在留者", "特別永住者", "一時庇護許可者", "仮滞在許可者", "経過滞在者")


class ForeignResidentInput(Schema):
    """法30条の45: the items recorded for a foreign resident."""

    name_alphabet: Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z ,.'-]{0,99}$")]
    nationality: Text
    category: Literal["中長期在留者", "特別永住者", "一時庇護許可者", "仮滞在許可者", "経過滞在者"]
    residence_status: Text | None = None
    period_of_stay: Text | None = None
    stay_expires_on: dt.date | None = None
    residence_card_number: (
        Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}\d{8}[A-Z]{2}$")] | None
    ) = None
    alias_name: Name | None = None
    alias_name_kana: Kana | None = None


class Entitlements(Schema):
    """Flags the record carries for other business areas (法7条 10号〜11号の2)."""

    nhi: bool = False
    late_elderly: bool = False
    long_term_care: bool = False
    national_pension: bool = False
    basic_pension_number: Annotated[str, StringConstraints(pattern=r"^\d{10}$")] | None = None
    child_allowance: bool = False
    elector: bool = False


class PersonInput(Schema):
    """One person as entered at the counter (from the 届出 and the move-out certificate)."""

    family_name: Name
    given_name: Name
    family_name_kana: Kana | None = None
    given_name_kana: Kana | None = None
    former_surname: Name | None = None
    former_surname_kana: Kana | None = None
    birth_date: RegisterDateText
    sex: Sex
    relationship: Relationship
    honseki: LongText | None = None
    koseki_head: Name | None = None
    my_number: MyNumber | None = None
    juminhyo_code: JuminhyoCode | None = None
    foreign: ForeignResidentInput | None = None
    entitlements: Entitlements = Field(default_factory=Entitlements)


class AddressInput(Schema):
    machiaza_code: MachiazaCode
    banchi: Banchi
    katagaki: (
        Annotated[
            str,
            StringConstraints(strip_whitespace=True, max_length=100),
            AfterValidator(_check_text),
        ]
        | None
    ) = None


class EventBase(Schema):
    """The dates every notification carries (J:210)."""

    effective_on: dt.date = Field(description="異動日")
    notified_on: dt.date | None = Field(default=None, description="届出日（省略時は本日）")
    notifier: Name | None = Field(default=None, description="届出人")
    memo: Annotated[str, StringConstraints(max_length=500)] | None = None


class HouseholdRef(Schema):
    household_id: uuid.UUID
    version: int = Field(description="読み込んだ時点の世帯の版（楽観的排他制御）")


class MoveInCommand(EventBase):
    """転入 / 国外転入 / 職権記載: new persons enter the register at an address."""

    persons: Annotated[list[PersonInput], Field(min_length=1, max_length=30)]
    address: AddressInput
    previous_address: LongText = Field(description="従前の住所（国外転入は国名）")
    join_household: HouseholdRef | None = None
    move_out_certificate: dict[str, str] | None = Field(
        default=None, description="転出証明書の記載事項（発行団体・番号・転出予定日など）"
    )
    transfer_id: uuid.UUID | None = Field(
        default=None, description="電子的な転出情報（同一クラウド内）"
    )


class TransferMoveInCommand(EventBase):
    """転入 from another member's electronic move-out data (persons come from the transfer)."""

    address: AddressInput
    card: bool = Field(default=False, description="マイナンバーカードによる特例転入")
    join_household: HouseholdRef | None = None
    relationships: dict[uuid.UUID, Relationship] | None = Field(
        default=None, description="転出元の住民ごとに続柄を変える場合（転出元の宛名ID → 続柄）"
    )


class ProtectionStart(Schema):
    """支援措置の開始 (申出の受理)."""

    category: Literal["DV", "ストーカー行為等", "児童虐待等", "その他"]
    started_on: dt.date
    aggressor: dict[str, Annotated[str, StringConstraints(max_length=200)]] = Field(
        default_factory=dict, description="加害者の氏名・住所など（交付請求の判定に用いる）"
    )


class ProtectionChange(Schema):
    version: int
    ended_on: dt.date | None = None


class ProtectionRead(Schema):
    id: uuid.UUID
    person_id: uuid.UUID
    category: str
    started_on: dt.date
    ends_on: dt.date
    ended_on: dt.date | None
    extensions: int
    in_force: bool
    origin_lg_code: str | None
    version: int


class DisclosureCheck(Schema):
    """A request for a copy or a viewing, checked against protection measures first."""

    requester_type: Literal["本人", "同一世帯", "代理人", "第三者", "職務上請求", "公用"]
    requester_name: Name | None = None
    purpose: LongText | None = None


class TransferRead(Schema):
    id: uuid.UUID
    source_lg_code: str
    source_name: str
    planned_move_out_on: dt.date
    destination_address: str
    persons: list[dict[str, Any]]
    created_at: dt.datetime
    used_at: dt.datetime | None


class NonResidentCommand(Schema):
    """住登外者の登録: a person who lives elsewhere but with whom the municipality deals
    (a taxpayer owning land here, a former resident receiving benefits …)."""

    family_name: Name
    given_name: Name
    family_name_kana: Kana | None = None
    given_name_kana: Kana | None = None
    birth_date: RegisterDateText
    sex: Sex
    address: LongText = Field(description="現住所（他団体・国外）")
    my_number: MyNumber | None = None
    foreign: ForeignResidentInput | None = None
    reason: LongText = Field(description="登録の理由（課税・給付など）")


class BirthCommand(EventBase):
    """出生: a child enters an existing household; 異動日 is the date of birth."""

    person: PersonInput
    household: HouseholdRef


class MoveWithinCommand(EventBase):
    """転居: persons move to another address in the municipality."""

    person_ids: Annotated[list[uuid.UUID], Field(min_length=1, max_length=30)]
    address: AddressInput
    household: HouseholdRef
    new_household_relationships: dict[uuid.UUID, Relationship] | None = Field(
        default=None, description="一部の世帯員だけが転居して新しい世帯を作る場合の続柄"
    )


class MoveOutCommand(EventBase):
    """転出 / 国外転出: persons leave; 異動日 is the planned date (転出予定日)."""

    person_ids: Annotated[list[uuid.UUID], Field(min_length=1, max_length=30)]
    household: HouseholdRef
    destination_address: LongText
    destination_lg_code: Annotated[str, StringConstraints(pattern=r"^\d{6}$")] | None = None


class MoveOutConfirmCommand(Schema):
    """転出確定: the destination's move-in notice gives the actual date."""

    person_ids: Annotated[list[uuid.UUID], Field(min_length=1, max_length=30)]
    moved_in_on: dt.date
    destination_lg_code: Annotated[str, StringConstraints(pattern=r"^\d{6}$")] | None = None


class DeathCommand(EventBase):
    """死亡: 異動日 is the date of death (the text keeps an uncertain form when given)."""

    person_id: uuid.UUID
    household: HouseholdRef
    date_of_death_text: RegisterDateText | None = None


class RemovalCommand(EventBase):
    """職権消除."""

    person_id: uuid.UUID
    household: HouseholdRef
    reason: LongText


class HouseholdSplitCommand(EventBase):
    """世帯分離: some members form a new household at the same address."""

    household: HouseholdRef
    relationships: dict[uuid.UUID, Relationship] = Field(
        description="新しい世帯に移る人とその続柄（世帯主を1人含む）"
    )


class HouseholdMergeCommand(EventBase):
    """世帯合併: every member of ``merged`` joins ``household``."""

    household: HouseholdRef
    merged: HouseholdRef
    relationships: dict[uuid.UUID, Relationship]


class HeadChangeCommand(EventBase):
    """世帯主変更: a new head and every member's 続柄 relative to them."""

    household: HouseholdRef
    relationships: dict[uuid.UUID, Relationship]


class HouseholdChangeCommand(EventBase):
    """世帯変更: members move from one household to another existing one."""

    household: HouseholdRef
    target: HouseholdRef
    relationships: dict[uuid.UUID, Relationship]


class CorrectionCommand(EventBase):
    """職権修正 / 誤記修正: corrected items of one person (the wrong entry stays in history)."""

    person_id: uuid.UUID
    changes: dict[str, Any] = Field(
        min_length=1, description="修正する項目と値（PersonInput の項目名）"
    )
    reason: LongText


class NameChangeCommand(EventBase):
    """氏名・旧氏・通称の変更."""

    person_id: uuid.UUID
    family_name: Name | None = None
    given_name: Name | None = None
    family_name_kana: Kana | None = None
    given_name_kana: Kana | None = None
    former_surname: Name | None = None
    former_surname_kana: Kana | None = None
    alias_name: Name | None = None
    alias_name_kana: Kana | None = None


class CancelCommand(Schema):
    """取消: undo an event by appending restoring entries (history is never deleted, J:980)."""

    reason: LongText


# --- reads --------------------------------------------------------------------------------


class ResidentSummary(Schema):
    person_id: uuid.UUID
    atena_number: str
    status: str
    family_name: str
    given_name: str
    kana: str
    birth_date: str | None
    sex: str | None
    address: str | None
    household_id: uuid.UUID | None
    relationship: str | None
    resident_until: dt.date | None
    protected: bool


class ResidentRecordRead(Schema):
    person_id: uuid.UUID
    atena_number: str
    version_id: uuid.UUID
    status: str
    effective_on: dt.date
    recorded_at: dt.datetime
    event_kind: str
    household_id: uuid.UUID | None
    household_number: str | None
    data: dict[str, Any]
    my_number_masked: str | None
    address: str | None


class HouseholdRead(Schema):
    household_id: uuid.UUID
    household_number: str
    version: int
    address: str | None
    members: list[ResidentSummary]


class EventResult(Schema):
    event_id: uuid.UUID
    kind: str
    label: str
    effective_on: dt.date
    notified_on: dt.date | None
    late_days: int
    person_ids: list[uuid.UUID]
    household_ids: list[uuid.UUID]
    alerts: list[str]


class StatisticsRead(Schema):
    as_of: dt.date
    total: int
    by_sex: dict[str, int]
    by_age_band: dict[str, int]
    by_machiaza: dict[str, int]
    japanese: int
    foreign: int
    households: int
