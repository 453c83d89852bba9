"""Schemas of the sandbox itself: its clock, API keys, health."""

from __future__ import annotations

from marshmallow import fields, validate

from wallets.core.clock import CLOCK_MAX, CLOCK_MIN
from wallets.core.principal import ROLES

from .common import Id32PageArgs, Instant, Integer, Output, StrictSchema, no_controls, one_of


class ClockOut(Output):
    now = fields.DateTime(metadata={"description": "Sandbox time (UTC)"})
    local_now = fields.DateTime(
        metadata={"description": "Sandbox time in UTC+8 (Asia/Shanghai, Asia/Macau)"}
    )
    fixed = fields.Boolean(
        metadata={"description": "true: time stands still until set or advanced"}
    )


class ClockSet(StrictSchema):
    now = Instant(
        required=True,
        minimum=CLOCK_MIN,
        maximum=CLOCK_MAX,
        metadata={"example": "2026-01-01T09:00:00+08:00", "description": "The new sandbox time"},
    )
    fixed = fields.Boolean(load_default=True)


class ClockAdvance(StrictSchema):
    seconds = Integer(
        strict=True, required=True, validate=validate.Range(min=0, max=10 * 366 * 86400)
    )


class KeyCreate(StrictSchema):
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    operator = fields.String(validate=validate.Length(max=32))
    casino = fields.String(
        validate=validate.Length(max=64),
        metadata={
            "description": "merchant: its casino's ref; supervisor: its casinos' refs, comma-separated",
            "example": "COTAI",
        },
    )
    label = fields.String(validate=[validate.Length(max=200), no_controls])


class KeyOut(Output):
    id = Integer()
    key = fields.String(
        allow_none=True,
        metadata={
            "description": "The secret. Shown once; only its hash is stored (null in a"
            " replay of the request with the same Idempotency-Key)"
        },
    )
    role = one_of(ROLES)
    operator = fields.String(attribute="operator_code", allow_none=True)
    casino = fields.String(attribute="casino_ref", allow_none=True)
    label = fields.String(allow_none=True)


class KeyRevokedOut(Output):
    id = Integer()
    role = one_of(ROLES)
    operator = fields.String(attribute="operator_code", allow_none=True)
    casino = fields.String(attribute="casino_ref", allow_none=True)
    label = fields.String(allow_none=True)
    revoked_at = fields.AwareDateTime()


class KeyListOut(Output):
    id = Integer()
    role = one_of(ROLES)
    operator = fields.String(attribute="operator_code", allow_none=True)
    casino = fields.String(attribute="casino_ref", allow_none=True)
    label = fields.String(allow_none=True)
    created_at = fields.DateTime(metadata={"description": "Sandbox time"})
    revoked_at = fields.DateTime(allow_none=True)


class KeyListArgs(Id32PageArgs):
    pass


class SandboxReset(StrictSchema):
    template = fields.String(
        load_default="empty",
        validate=validate.OneOf(("empty", "demo")),
        metadata={
            "description": "empty: as a freshly migrated database; demo: as a fresh"
            " `ecny seed demo`"
        },
    )


class SandboxResetOut(Output):
    template = one_of(("empty", "demo"))
    generation = Integer(metadata={"description": "How many times the sandbox was reset"})
    revoked_keys = Integer(
        metadata={"description": "The operator, merchant and supervisor keys the reset revoked"}
    )
    keys = fields.List(
        fields.Nested(KeyOut),
        metadata={
            "description": "The keys the template made (demo: its operators', its casino's,"
            " and an admin, central bank or auditor key only where none was left), each"
            " shown once (`key` null in a replay with the same Idempotency-Key)"
        },
    )


class HealthOut(Output):
    status = fields.String()
    database = fields.String()
    migration = fields.String(allow_none=True)
