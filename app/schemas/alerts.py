"""Schemas of /v1/alerts: alerts of the supervision rules."""

from __future__ import annotations

from marshmallow import fields, validate

from wallets.core.schema import MAX_ID
from wallets.supervision import alerts

from .common import IdPageArgs, Integer, Output, Pattern, StrictSchema, no_controls, one_of


class AlertOut(Output):
    id = Integer()
    type = one_of(alerts.TYPES, metadata={"description": "The rule that raised it (docs/macau.md)"})
    status = one_of(alerts.STATUSES)
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
    status = fields.String(validate=validate.OneOf(alerts.STATUSES))
    overdue = fields.Boolean()
    wallet = Integer(validate=validate.Range(min=1, max=MAX_ID))


class EscalateBody(StrictSchema):
    note = fields.String(validate=[validate.Length(max=1000), no_controls])


class DismissBody(StrictSchema):
    reason = fields.String(required=True, validate=[validate.Length(min=1, max=1000), no_controls])
