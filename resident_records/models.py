"""Resident-register tables. Every table is tenant-scoped (RLS) and keyed ``(tenant_id, …)``.

History is append-only: ``resident_record_versions`` and ``residency_events`` are never updated
or deleted; ``resident_current`` is a projection of the newest version of each person, rebuilt
from the versions at will, kept for fast search.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime, utcnow
from core.ids import new_id
from core.scoping import TenantScoped


# Search keys compare by code point, so that a kana prefix is a plain range on the index; text
# range operators are leakproof and keep the index usable under row-level security (LIKE is not).
def _search_key(length: int) -> String:
    # SQLite compares text with memcmp (BINARY) already; PostgreSQL needs COLLATE "C".
    return String(length).with_variant(String(length, collation="C"), "postgresql")  # type: ignore[return-value]


# Associated data of every 個人番号 ciphertext and blind index (binds them to this field).
MY_NUMBER_CONTEXT = "resident.my_number"


class PersonKind(enum.StrEnum):
    RESIDENT = "resident"  # 住民 (or 除票 once removed)
    NON_RESIDENT = "non_resident"  # 住登外者: taxpayers etc. who live elsewhere


class RecordStatus(enum.StrEnum):
    RESIDENT = "resident"
    REMOVED = "removed"  # 除票
    VOIDED = "voided"  # the entry itself was cancelled (取消 of the event that created it)
    NON_RESIDENT = "non_resident"


class Sex(enum.StrEnum):
    MALE = "male"
    FEMALE = "female"


class EventKind(enum.StrEnum):
    MOVE_IN = "move_in"
    CARD_MOVE_IN = "card_move_in"
    IMMIGRATION = "immigration"
    BIRTH = "birth"
    EX_OFFICIO_ENTRY = "ex_officio_entry"
    MOVE_WITHIN = "move_within"
    MOVE_OUT = "move_out"
    MOVE_OUT_CONFIRMED = "move_out_confirmed"
    EMIGRATION = "emigration"
    DEATH = "death"
    EX_OFFICIO_REMOVAL = "ex_officio_removal"
    EX_OFFICIO_CORRECTION = "ex_officio_correction"
    CLERICAL_CORRECTION = "clerical_correction"  # 誤記修正
    HOUSEHOLD_SPLIT = "household_split"
    HOUSEHOLD_MERGE = "household_merge"
    HEAD_CHANGE = "head_change"
    HOUSEHOLD_CHANGE = "household_change"
    NAME_CHANGE = "name_change"
    FORMER_SURNAME_CHANGE = "former_surname_change"
    ALIAS_CHANGE = "alias_change"
    CANCELLATION = "cancellation"  # 取消
    NON_RESIDENT_REGISTRATION = "non_resident_registration"


EVENT_LABELS: dict[str, str] = {
    EventKind.MOVE_IN: "転入",
    EventKind.CARD_MOVE_IN: "特例転入",
    EventKind.IMMIGRATION: "国外転入",
    EventKind.BIRTH: "出生",
    EventKind.EX_OFFICIO_ENTRY: "職権記載",
    EventKind.MOVE_WITHIN: "転居",
    EventKind.MOVE_OUT: "転出",
    EventKind.MOVE_OUT_CONFIRMED: "転出確定",
    EventKind.EMIGRATION: "国外転出",
    EventKind.DEATH: "死亡",
    EventKind.EX_OFFICIO_REMOVAL: "職権消除",
    EventKind.EX_OFFICIO_CORRECTION: "職権修正",
    EventKind.CLERICAL_CORRECTION: "誤記修正",
    EventKind.HOUSEHOLD_SPLIT: "世帯分離",
    EventKind.HOUSEHOLD_MERGE: "世帯合併",
    EventKind.HEAD_CHANGE: "世帯主変更",
    EventKind.HOUSEHOLD_CHANGE: "世帯変更",
    EventKind.NAME_CHANGE: "氏名変更",
    EventKind.FORMER_SURNAME_CHANGE: "旧氏変更",
    EventKind.ALIAS_CHANGE: "通称変更",
    EventKind.CANCELLATION: "取消",
    EventKind.NON_RESIDENT_REGISTRATION: "住登外登録",
}


class Machiaza(TenantScoped, Base):
    """町字 master of one municipality: the only addresses a record may carry."""

    __tablename__ = "machiaza"

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    kana: Mapped[str] = mapped_column(String(120))
    postcode: Mapped[str | None] = mapped_column(String(8))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class NumberSequence(TenantScoped, Base):
    """Per-municipality counters for 宛名番号 and 世帯番号 (J:130: sequential per municipality)."""

    __tablename__ = "number_sequences"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    next_value: Mapped[int] = mapped_column(Integer)


class Person(TenantScoped, Base):
    """宛名: one human being known to the municipality, resident or not."""

    __tablename__ = "persons"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    atena_number: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        Index("ix_persons_tenant_id_atena_number", "tenant_id", "atena_number", unique=True),
    )


class Household(TenantScoped, Base):
    """世帯. Membership lives on the members' record versions.

    ``version`` guards edits: every change of membership is a compare-and-set
    ``UPDATE … WHERE version = <the version the clerk read>``, so of two concurrent edits one
    wins and the other gets 409 (see ``service._claim_household``).
    """

    __tablename__ = "households"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    household_number: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __table_args__ = (
        Index(
            "ix_households_tenant_id_household_number", "tenant_id", "household_number", unique=True
        ),
    )


class ResidencyEvent(TenantScoped, Base):
    """異動: one notification or ex-officio action, with its three dates (J:210)."""

    __tablename__ = "residency_events"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(40))
    effective_on: Mapped[dt.date] = mapped_column(Date)  # 異動日
    notified_on: Mapped[dt.date | None] = mapped_column(Date)  # 届出日
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)  # 処理日
    recorded_by: Mapped[str] = mapped_column(String(64))
    late_days: Mapped[int] = mapped_column(Integer, default=0)  # > 0: notified late (法52条)
    household_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    person_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    cancels_event_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    __table_args__ = (
        Index("ix_residency_events_tenant_id_recorded_at", "tenant_id", "recorded_at"),
        Index("ix_residency_events_tenant_id_cancels_event_id", "tenant_id", "cancels_event_id"),
        {"info": {"append_only": True}},
    )


class ResidentRecordVersion(TenantScoped, Base):
    """One version of a person's record (住民票). Append-only; bitemporal.

    ``effective_on`` is the valid-time axis (異動日), ``recorded_at`` the transaction-time axis
    (処理日). The record "as of D, as known at T" is the version with the greatest
    (effective_on, recorded_at) among those with effective_on ≤ D and recorded_at ≤ T, so a
    correction (same effective_on, later recorded_at) supersedes without erasing.
    """

    __tablename__ = "resident_record_versions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    person_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    event_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    event_kind: Mapped[str] = mapped_column(String(40))
    effective_on: Mapped[dt.date] = mapped_column(Date)
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(16))
    # The person's data as of this version (法7条 and the standard's items).
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    household_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    my_number_cipher: Mapped[bytes | None] = mapped_column(LargeBinary)
    # Copied out of ``data`` so that population statistics "as of any date" run in SQL, and
    # the batches' reads of the register on a day (who heads which household) read no JSON.
    machiaza_code: Mapped[str | None] = mapped_column(String(16))
    birth_date: Mapped[dt.date | None] = mapped_column(Date)
    sex: Mapped[str | None] = mapped_column(String(8))
    is_foreign: Mapped[bool] = mapped_column(Boolean, default=False)
    relationship: Mapped[str | None] = mapped_column(String(40))  # 続柄

    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "person_id"], ["persons.tenant_id", "persons.id"]),
        ForeignKeyConstraint(
            ["tenant_id", "event_id"], ["residency_events.tenant_id", "residency_events.id"]
        ),
        Index(
            "ix_resident_record_versions_tenant_id_person_id",
            "tenant_id",
            "person_id",
            "effective_on",
            "recorded_at",
        ),
        Index(
            "ix_resident_record_versions_tenant_id_household_id",
            "tenant_id",
            "household_id",
            "effective_on",
        ),
        Index("ix_resident_record_versions_tenant_id_event_id", "tenant_id", "event_id"),
        Index("ix_resident_record_versions_tenant_id_effective_on", "tenant_id", "effective_on"),
        {"info": {"append_only": True}},
    )


# The prefix-searched keys of ``resident_current`` and the columns their indexes carry.
SEARCH_KEYS = ("kana_key", "given_kana_key", "name_key")
SEARCH_INCLUDES = ["status", "resident_from", "resident_until"]


class ResidentCurrent(TenantScoped, Base):
    """Projection: each person's newest known version, flattened for search and lists."""

    __tablename__ = "resident_current"

    person_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    version_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    atena_number: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    resident_from: Mapped[dt.date | None] = mapped_column(Date)
    resident_until: Mapped[dt.date | None] = mapped_column(Date)  # removal date, incl. planned
    household_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    relationship: Mapped[str | None] = mapped_column(String(40))
    family_name: Mapped[str] = mapped_column(String(100))
    given_name: Mapped[str] = mapped_column(String(100))
    kana_key: Mapped[str] = mapped_column(_search_key(200))
    given_kana_key: Mapped[str] = mapped_column(_search_key(100))
    name_key: Mapped[str] = mapped_column(_search_key(200))
    birth_date: Mapped[dt.date | None] = mapped_column(Date)
    sex: Mapped[str | None] = mapped_column(String(8))
    is_foreign: Mapped[bool] = mapped_column(Boolean, default=False)
    machiaza_code: Mapped[str | None] = mapped_column(String(16))
    banchi: Mapped[str | None] = mapped_column(String(60))
    juminhyo_code: Mapped[str | None] = mapped_column(String(11))
    my_number_index: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "person_id"], ["persons.tenant_id", "persons.id"]),
        # The name searches' indexes carry what "a resident on the day" tests (PostgreSQL
        # INCLUDE): the capped count of a prefix is an index-only scan, not a heap page per match.
        *(
            Index(
                f"ix_resident_current_tenant_id_{key}",
                "tenant_id",
                key,
                postgresql_include=SEARCH_INCLUDES,
            )
            for key in SEARCH_KEYS
        ),
        Index("ix_resident_current_tenant_id_birth_date", "tenant_id", "birth_date"),
        Index(
            "ix_resident_current_tenant_id_machiaza_code", "tenant_id", "machiaza_code", "banchi"
        ),
        Index("ix_resident_current_tenant_id_household_id", "tenant_id", "household_id"),
        Index("ix_resident_current_tenant_id_juminhyo_code", "tenant_id", "juminhyo_code"),
        Index("ix_resident_current_tenant_id_my_number_index", "tenant_id", "my_number_index"),
        Index("ix_resident_current_tenant_id_atena_number", "tenant_id", "atena_number"),
    )


class RegisterAlert(TenantScoped, Base):
    """Something staff must act on: a head change to decide, a late notification to report."""

    __tablename__ = "register_alerts"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(40))
    message: Mapped[str] = mapped_column(Text)
    household_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    event_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    resolved_by_event_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)

    __table_args__ = (
        Index("ix_register_alerts_tenant_id_resolved_at", "tenant_id", "resolved_at"),
    )


class ProtectionMeasure(TenantScoped, Base):
    """DV等支援措置 (事務処理要領 第5-10): blocks copies and third-party viewing of a person.

    In force from ``started_on`` to ``ends_on`` inclusive (one year, extendable from one month
    before the end) unless ``ended_on`` is set; the end is automatic, by date.
    """

    __tablename__ = "protection_measures"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    person_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    category: Mapped[str] = mapped_column(String(40))
    started_on: Mapped[dt.date] = mapped_column(Date)
    ends_on: Mapped[dt.date] = mapped_column(Date)
    ended_on: Mapped[dt.date | None] = mapped_column(Date)
    extensions: Mapped[int] = mapped_column(Integer, default=0)
    # Who the person is protected from, so a request by them can be recognised; never printed.
    aggressor: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    origin_lg_code: Mapped[str | None] = mapped_column(String(6))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "person_id"], ["persons.tenant_id", "persons.id"]),
        Index("ix_protection_measures_tenant_id_person_id", "tenant_id", "person_id"),
    )
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class ProtectionRelease(TenantScoped, Base):
    """A supervisor's release of one protected person for one issuance, after review (J:410).

    Valid for a short while and used once: the serial of the document it allowed is kept.
    """

    __tablename__ = "protection_releases"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    person_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    released_by: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    used_serial: Mapped[str | None] = mapped_column(String(32))
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "person_id"], ["persons.tenant_id", "persons.id"]),
        Index("ix_protection_releases_tenant_id_person_id", "tenant_id", "person_id"),
    )


class MoveTransfer(TenantScoped, Base):
    """Electronic move-out data (転出証明書情報) delivered by another member of the deployment.

    Owned by the destination: the source writes it into the destination's tenant once, through
    ``resident_records.transfers``, and can never read it back.
    """

    __tablename__ = "move_transfers"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    source_lg_code: Mapped[str] = mapped_column(String(6))
    source_name: Mapped[str] = mapped_column(String(60))
    source_event_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    planned_move_out_on: Mapped[dt.date] = mapped_column(Date)
    destination_address: Mapped[str] = mapped_column(String(300))
    persons: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    used_event_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_move_transfers_tenant_id_used_at", "tenant_id", "used_at"),)


class MoveInNotice(TenantScoped, Base):
    """転入通知 (法9条1項) received from the destination member; confirms the move-out."""

    __tablename__ = "move_in_notices"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    source_event_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    destination_lg_code: Mapped[str] = mapped_column(String(6))
    destination_name: Mapped[str] = mapped_column(String(60))
    person_ids: Mapped[list[str]] = mapped_column(JSON)
    moved_in_on: Mapped[dt.date] = mapped_column(Date)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmation_event_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
