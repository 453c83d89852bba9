"""API keys: random, shown once, stored only as a SHA-256 hash.

A key is 32 random bytes, so a fast hash is enough: there is nothing to
brute-force that a slow hash would protect.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from ..core import errors, outbox
from ..core.db import Database, Tx, inserted_id
from ..core.principal import (
    CASINO_REF_RE,
    MERCHANT,
    OPERATOR,
    ROLES,
    SUPERVISOR,
    SYSTEM,
    Principal,
    a_role,
)
from ..core.schema import api_keys, operators, webhook_endpoints
from ..tier1 import operators as ops

KEY_PREFIX = "ecny_"


@dataclass(frozen=True)
class NewKey:
    id: int
    key: str  # the secret: shown once, never stored
    role: str
    operator_code: str | None
    casino_ref: str | None
    label: str | None


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create(
    tx: Tx,
    role: str,
    *,
    operator_code: str | None = None,
    casino_ref: str | None = None,
    label: str | None = None,
) -> NewKey:
    def invalid(field: str, msg: str) -> errors.DomainError:
        return errors.DomainError(
            errors.VALIDATION_FAILED, f"{field}: {msg}", errors={field: [msg]}
        )

    if role not in ROLES:
        raise invalid("role", f"must be one of {', '.join(ROLES)}")
    operator_id = None
    if role == OPERATOR:
        if not operator_code:
            raise invalid("operator", "an operator key needs its operator")
        operator_id = ops.get(tx, operator_code, SYSTEM).id
    elif operator_code:
        raise invalid("operator", f"{a_role(role)} key is not scoped to an operator")
    if role in (MERCHANT, SUPERVISOR):
        if not casino_ref:
            raise invalid("casino", f"{a_role(role)} key needs its casino")
        refs = casino_ref.split(",")
        if role == MERCHANT and len(refs) > 1:
            raise invalid("casino", "a merchant key is for one casino")
        bad = [r for r in refs if not CASINO_REF_RE.fullmatch(r)]
        if bad or len(set(refs)) != len(refs):
            raise invalid(
                "casino",
                "casino references (comma-separated for a supervisor of several), "
                "each 2-16 capitals, digits or _, starting with a capital, no repeats",
            )
    elif casino_ref:
        raise invalid("casino", f"{a_role(role)} key is not scoped to a casino")
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    inserted = tx.conn.execute(
        api_keys.insert().values(
            key_hash=hash_key(secret),
            prefix=secret[:12],
            role=role,
            operator_id=operator_id,
            casino_ref=casino_ref,
            label=label,
            created_at=tx.now(),
        )
    )
    key_id = inserted_id(inserted)
    _emit(tx, "api_key.created", key_id)
    return NewKey(key_id, secret, role, operator_code, casino_ref, label)


def document(row: Any) -> dict[str, Any]:
    """A key as ``GET /v1/keys`` renders it (``KeyListOut``): never the secret nor its hash."""
    return {
        "id": row.id,
        "role": row.role,
        "operator": row.operator_code,
        "casino": row.casino_ref,
        "label": row.label,
        "created_at": row.created_at,
        "revoked_at": row.revoked_at,
    }


def _emit(tx: Tx, type_: str, key_id: int) -> None:
    """A key's event: the admin's only (docs/events.md#who-sees-what)."""
    (row,) = list_keys(tx, after=key_id - 1, limit=1)
    outbox.emit(tx, outbox.Event(type_, document(row)))


def authenticate(tx: Tx, secret: str) -> Principal | None:
    return authenticate_hash(tx, hash_key(secret))


def authenticate_hash(tx: Tx, key_hash: str) -> Principal | None:
    """The principal of a key known by its hash (the console keeps only the hash
    in its session cookie, never the key); None once the key is revoked."""
    return _principal(tx.rows(_AUTHENTICATE, key_hash=key_hash), key_hash)


def authenticate_in(db: Database, secret: str) -> Principal | None:
    """:func:`authenticate` as one statement of its own (every API request's first read)."""
    key_hash = hash_key(secret)
    return _principal(db.peek(_AUTHENTICATE, key_hash=key_hash), key_hash)


def _principal(rows: Sequence[Any], key_hash: str) -> Principal | None:
    # The lookup is by hash (an index probe leaks nothing about the secret);
    # the constant-time comparison guards against a collation or a prefix match.
    if not rows or not hmac.compare_digest(rows[0][1], key_hash):
        return None
    key_id, _, role, operator_id, operator_code, casino_ref = rows[0]
    return Principal(
        role=role,
        key_id=key_id,
        operator_id=operator_id,
        operator_code=operator_code,
        casino_ref=casino_ref,
    )


# Compiled once, run at the driver (Database.peek): every request's first read.
_AUTHENTICATE = (
    sa.select(
        api_keys.c.id,
        api_keys.c.key_hash,
        api_keys.c.role,
        api_keys.c.operator_id,
        operators.c.code,
        api_keys.c.casino_ref,
    )
    .select_from(api_keys.outerjoin(operators, operators.c.id == api_keys.c.operator_id))
    .where(api_keys.c.key_hash == sa.bindparam("key_hash"), api_keys.c.revoked_at.is_(None))
)


@dataclass(frozen=True)
class RevokedKey:
    id: int
    role: str
    operator_code: str | None
    casino_ref: str | None
    label: str | None
    revoked_at: object


def revoke(tx: Tx, key_id: int) -> RevokedKey:
    """Revoke a key: from now on it authenticates nothing. Its row stays, so
    the audit log's key ids keep meaning something."""
    row = tx.conn.execute(
        sa.select(api_keys, operators.c.code.label("operator_code"))
        .outerjoin(operators, operators.c.id == api_keys.c.operator_id)
        .where(api_keys.c.id == key_id)
        # Locked: of two revocations at once, the second sees the first's (PostgreSQL).
        .with_for_update(of=api_keys)
    ).first()
    if row is None:
        raise errors.DomainError(errors.API_KEY_NOT_FOUND, f"no API key {key_id}")
    if row.revoked_at is not None:
        raise errors.DomainError(
            errors.API_KEY_ALREADY_REVOKED,
            f"API key {key_id} was revoked at {row.revoked_at.isoformat()}",
            revoked_at=row.revoked_at.isoformat(),
        )
    now = tx.now()
    tx.conn.execute(
        api_keys.update()
        .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    # The webhook endpoints it made stop with it (docs/events.md#endpoints): a
    # key of the same scope, or the admin, may enable them again.
    tx.conn.execute(
        webhook_endpoints.update()
        .where(
            webhook_endpoints.c.api_key_id == key_id,
            webhook_endpoints.c.status == "enabled",
        )
        .values(status="disabled", disabled_reason=f"its API key {key_id} was revoked")
    )
    _emit(tx, "api_key.revoked", key_id)
    return RevokedKey(row.id, row.role, row.operator_code, row.casino_ref, row.label, now)


def list_keys(tx: Tx, *, after: int | None, limit: int) -> Sequence[sa.Row]:
    """The keys by id: what each may do, never the secret nor its hash."""
    k = api_keys
    stmt = (
        sa.select(
            k.c.id,
            k.c.role,
            operators.c.code.label("operator_code"),
            k.c.casino_ref,
            k.c.label,
            k.c.created_at,
            k.c.revoked_at,
        )
        .outerjoin(operators, operators.c.id == k.c.operator_id)
        .order_by(k.c.id)
        .limit(limit)
    )
    if after is not None:
        stmt = stmt.where(k.c.id > after)
    return tx.conn.execute(stmt).all()
