"""Staff and operator authentication: passwords, lock-out, web sessions, API tokens.

The order of checks is fixed so that nobody learns what exists elsewhere: no credentials → 401,
wrong role → 403, then records are loaded through the tenant filter → 404.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from core import audit
from core.errors import Forbidden, Unauthenticated
from core.scoping import TenantContext, TenantId, set_context
from core.security import hash_secret, new_secret, verify_password
from tenancy import repository as repo
from tenancy.models import (
    ApiToken,
    Municipality,
    MunicipalityStatus,
    OperatorAccount,
    Role,
    Staff,
    WebSession,
)

OPERATOR = "operator"
TOKEN_PREFIX = "jct"  # noqa: S105 (a public prefix, not a secret)
_TOKEN_RE = re.compile(r"^jct_(\d{6})_([A-Za-z0-9_-]{32,64})$")

LOGIN_FAILED = "団体コード、ユーザーIDまたはパスワードが正しくありません。"
ACCOUNT_LOCKED = (
    "ログインの失敗が続いたため、一時的にロックされています。しばらくしてから再度お試しください。"
)


@dataclass(frozen=True)
class Principal:
    """The authenticated caller of one request."""

    kind: str  # staff / operator / api_token
    id: uuid.UUID
    display_name: str
    roles: frozenset[str] = field(default_factory=frozenset)
    tenant_id: TenantId | None = None
    lg_code: str | None = None
    municipality_name: str | None = None
    session_id_hash: str | None = None
    csrf_token: str | None = None

    @property
    def is_operator(self) -> bool:
        return self.kind == OPERATOR

    @property
    def actor(self) -> audit.Actor:
        return audit.Actor(self.kind, str(self.id))

    def require_role(self, *roles: str) -> None:
        """403 unless the caller holds one of ``roles``."""
        if not self.roles.intersection(roles):
            raise Forbidden()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _is_locked(locked_until: dt.datetime | None) -> bool:
    return locked_until is not None and locked_until > _now()


def _register_failure(account: Staff | OperatorAccount, max_failures: int, minutes: int) -> None:
    account.failed_logins += 1
    if account.failed_logins >= max_failures:
        account.locked_until = _now() + dt.timedelta(minutes=minutes)
        account.failed_logins = 0


def login_staff(
    session: Session,
    lg_code: str,
    login_id: str,
    password: str,
    *,
    max_failures: int,
    lockout_minutes: int,
) -> tuple[Municipality, Staff]:
    """Check a staff member's password; count failures and lock the account after too many."""
    municipality = repo.municipality_by_code(session, lg_code)
    if municipality is None or municipality.status != MunicipalityStatus.ACTIVE:
        verify_password(None, password)
        raise Unauthenticated(LOGIN_FAILED, code="login_failed")
    set_context(session, TenantContext(TenantId(municipality.id)))
    staff = repo.staff_by_login(session, login_id)
    if staff is None or not staff.active:
        verify_password(None, password)
        raise Unauthenticated(LOGIN_FAILED, code="login_failed")
    if _is_locked(staff.locked_until):
        audit.record(session, actor=audit.Actor("staff", str(staff.id)), action="auth.login_locked")
        raise Unauthenticated(ACCOUNT_LOCKED, code="account_locked")
    if not verify_password(staff.password_hash, password):
        _register_failure(staff, max_failures, lockout_minutes)
        audit.record(
            session,
            actor=audit.Actor("staff", str(staff.id)),
            action="auth.login_failed",
            details={"locked": staff.locked_until is not None},
        )
        raise Unauthenticated(LOGIN_FAILED, code="login_failed")
    staff.failed_logins = 0
    staff.locked_until = None
    audit.record(session, actor=audit.Actor("staff", str(staff.id)), action="auth.login")
    return municipality, staff


def login_operator(
    session: Session, login_id: str, password: str, *, max_failures: int, lockout_minutes: int
) -> OperatorAccount:
    """Check a data-center operator's password, with the same lock-out as staff."""
    op = repo.operator_by_login(session, login_id)
    if op is None or not op.active:
        verify_password(None, password)
        raise Unauthenticated(LOGIN_FAILED, code="login_failed")
    if _is_locked(op.locked_until):
        raise Unauthenticated(ACCOUNT_LOCKED, code="account_locked")
    if not verify_password(op.password_hash, password):
        _register_failure(op, max_failures, lockout_minutes)
        raise Unauthenticated(LOGIN_FAILED, code="login_failed")
    op.failed_logins = 0
    op.locked_until = None
    return op


def start_web_session(
    session: Session,
    *,
    kind: str,
    principal_id: uuid.UUID,
    tenant_id: int | None,
    lifetime: dt.timedelta,
) -> tuple[str, WebSession]:
    """Create a server-side session; the cookie carries only a random id (its hash is stored)."""
    raw = new_secret()
    ws = WebSession(
        id_hash=hash_secret(raw),
        principal_kind=kind,
        tenant_id=tenant_id,
        principal_id=principal_id,
        csrf_token=new_secret(24),
        expires_at=_now() + lifetime,
    )
    session.add(ws)
    session.flush()
    return raw, ws


def end_web_session(session: Session, raw: str) -> None:
    ws = repo.web_session(session, hash_secret(raw))
    if ws is not None and ws.ended_at is None:
        ws.ended_at = _now()


def resolve_web_session(session: Session, raw: str, idle: dt.timedelta) -> Principal:
    """The principal of a session cookie; idle or ended sessions are refused (401)."""
    ws = repo.web_session(session, hash_secret(raw))
    now = _now()
    if ws is None or ws.ended_at is not None or ws.expires_at <= now:
        raise Unauthenticated(
            "ログインの有効期限が切れました。再度ログインしてください。", code="session_expired"
        )
    if ws.last_seen_at + idle <= now:
        ws.ended_at = now
        raise Unauthenticated(
            "一定時間操作がなかったため、ログアウトしました。", code="session_timeout"
        )
    # Refresh at most once a minute so that reads do not each write.
    if now - ws.last_seen_at > dt.timedelta(minutes=1):
        ws.last_seen_at = now
    if ws.principal_kind == OPERATOR:
        op = session.get(OperatorAccount, ws.principal_id)
        if op is None or not op.active:
            raise Unauthenticated()
        return Principal(
            kind=OPERATOR,
            id=op.id,
            display_name=op.display_name,
            roles=frozenset({OPERATOR}),
            session_id_hash=ws.id_hash,
            csrf_token=ws.csrf_token,
        )
    assert ws.tenant_id is not None
    municipality = repo.municipality_by_id(session, ws.tenant_id)
    if municipality is None or municipality.status != MunicipalityStatus.ACTIVE:
        raise Unauthenticated()
    set_context(session, TenantContext(TenantId(municipality.id)))
    staff = repo.staff_by_id(session, ws.principal_id)
    if staff is None or not staff.active:
        raise Unauthenticated()
    return _staff_principal(municipality, staff, ws)


def _staff_principal(m: Municipality, staff: Staff, ws: WebSession | None) -> Principal:
    return Principal(
        kind="staff",
        id=staff.id,
        display_name=staff.display_name,
        roles=frozenset(staff.roles),
        tenant_id=TenantId(m.id),
        lg_code=m.lg_code,
        municipality_name=m.name,
        session_id_hash=ws.id_hash if ws else None,
        csrf_token=ws.csrf_token if ws else None,
    )


def principal_for_staff(session: Session, m: Municipality, staff: Staff) -> Principal:
    return _staff_principal(m, staff, None)


def issue_token(
    session: Session,
    municipality: Municipality,
    *,
    name: str,
    role: str,
    created_by: str,
    expires_at: dt.datetime | None = None,
) -> tuple[ApiToken, str]:
    """Mint a bearer token for the current tenant. The plain token is returned once only."""
    secret = new_secret(32)
    plain = f"{TOKEN_PREFIX}_{municipality.lg_code}_{secret}"
    token = ApiToken(
        token_hash=hash_secret(plain),
        name=name,
        role=role,
        created_by=created_by,
        expires_at=expires_at,
    )
    session.add(token)
    session.flush()
    return token, plain


def resolve_token(session: Session, plain: str) -> Principal:
    """The principal of a bearer token: its tenant comes from the token, checked by its hash."""
    match = _TOKEN_RE.match(plain)
    if match is None:
        raise Unauthenticated("アクセストークンの形式が正しくありません。", code="malformed_token")
    municipality = repo.municipality_by_code(session, match.group(1))
    invalid = Unauthenticated("アクセストークンが無効です。", code="invalid_token")
    if municipality is None or municipality.status != MunicipalityStatus.ACTIVE:
        raise invalid
    set_context(session, TenantContext(TenantId(municipality.id)))
    token = repo.token_by_hash(session, hash_secret(plain))
    now = _now()
    if token is None or token.revoked_at is not None:
        raise invalid
    if token.expires_at is not None and token.expires_at <= now:
        raise invalid
    if token.last_used_at is None or now - token.last_used_at > dt.timedelta(minutes=1):
        token.last_used_at = now
    return Principal(
        kind="api_token",
        id=token.id,
        display_name=token.name,
        roles=frozenset({token.role}),
        tenant_id=TenantId(municipality.id),
        lg_code=municipality.lg_code,
        municipality_name=municipality.name,
    )


ALL_STAFF_ROLES = frozenset(r.value for r in Role)
