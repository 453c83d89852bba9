"""Schemas of /v1/alerts: alerts of the supervision rules."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from wallets.core.schema import MAX_ID

from .common import IdPageArgs, Integer, Pattern, StrictSchema, no_controls


class AlertOut(Schema):
    id = Integer()
    type = fields.String(
        metadata={
            "description": "ltr, structuring, minimal_play, mainland_wallet, "
            "mainland_yearly_cap, or another rule's"
        }
    )
    status = fields.String(metadata={"description": "open, acknowledged, escalated or dismissed"})
    casino = fields.String(attribute="casino_ref", allow_none=True)
    wallet = Integer(attribute="wallet_id", allow_none=True)
    operator = fields.String(attribute="operator_code", allow_none=True)
    raised_at = fields.DateTime()
    due_at = fields.DateTime(
        allow_none=True, metadata={"description": "When an STR is due (suspicions only)"}
    )
    overdue = fields.Boolean()
    summary = fields.String()
    evidence = fields.Dict()
    acknowledged_at = fields.DateTime(allow_none=True)
    resolved_at = fields.DateTime(allow_none=True)
    str_reference = fields.String(allow_none=True)
    filed_late = fields.Boolean(allow_none=True)
    note = fields.String(allow_none=True)


class AlertListArgs(IdPageArgs):
    casino = fields.String(validate=validate.Length(max=16))
    type = fields.String(validate=Pattern(r"^[a-z_]{1,32}$"))
    status = fields.String(
        validate=validate.OneOf(["open", "acknowledged", "escalated", "dismissed"])
    )
    overdue = fields.Boolean()
    wallet = Integer(validate=validate.Range(min=1, max=MAX_ID))


class EscalateBody(StrictSchema):
    note = fields.String(validate=[validate.Length(max=1000), no_controls])


class DismissBody(StrictSchema):
    reason = fields.String(required=True, validate=[validate.Length(min=1, max=1000), no_controls])
