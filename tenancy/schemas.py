"""Pydantic schemas of the tenancy API (XCreate / XUpdate / XRead)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints
from pydantic_core import PydanticCustomError

from core.japanese.checkdigits import is_valid_lg_code
from tenancy.models import MunicipalityKind, Role
from tenancy.parameters import TenantParameters


def _check_lg_code(value: str) -> str:
    if not is_valid_lg_code(value):
        raise PydanticCustomError(
            "invalid_lg_code",
            "団体コードの検査数字が一致しません。6桁の団体コードを確認してください。",
        )
    return value


LgCode = Annotated[str, StringConstraints(pattern=r"^\d{6}$"), AfterValidator(_check_lg_code)]
LoginId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]{3,64}$")]
Password = Annotated[str, StringConstraints(min_length=12, max_length=256)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class Schema(BaseModel):
    model_config = ConfigDict(extra="forbid", from_attributes=True)


class MunicipalityCreate(Schema):
    lg_code: LgCode
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
    prefecture: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=8)]
    kind: MunicipalityKind


class MunicipalityRead(Schema):
    lg_code: str
    name: str
    prefecture: str
    kind: str
    status: str
    in_continuity_mode: bool = False


class ContinuityDeclare(Schema):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class StaffCreate(Schema):
    login_id: LoginId
    display_name: Name
    password: Password
    roles: Annotated[list[Role], Field(min_length=1, max_length=7)]


class StaffUpdate(Schema):
    version: int
    display_name: Name | None = None
    roles: Annotated[list[Role], Field(min_length=1, max_length=7)] | None = None
    active: bool | None = None
    password: Password | None = None


class StaffRead(Schema):
    id: uuid.UUID
    login_id: str
    display_name: str
    roles: list[str]
    active: bool
    locked: bool = False
    version: int


class TokenCreate(Schema):
    name: Name
    role: Role
    expires_at: dt.datetime | None = None


class TokenRead(Schema):
    id: uuid.UUID
    name: str
    role: str
    created_at: dt.datetime
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None
    last_used_at: dt.datetime | None


class TokenIssued(TokenRead):
    token: str = Field(description="この値は一度だけ表示されます。安全に保管してください。")


class ParametersRead(Schema):
    version: int
    parameters: TenantParameters


class ParametersUpdate(Schema):
    version: int = Field(description="読み込んだ時点の版（楽観的排他制御）")
    parameters: dict[str, Any]
    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = None


class Me(Schema):
    kind: str
    display_name: str
    roles: list[str]
    lg_code: str | None
    municipality_name: str | None


class AuditEntryRead(Schema):
    seq: int
    occurred_at: dt.datetime
    actor_kind: str
    actor_id: str
    acting_tenant_id: int | None
    action: str
    subject_type: str | None
    subject_id: str | None
    purpose: str | None
    request_id: str | None
    details: dict[str, Any]
