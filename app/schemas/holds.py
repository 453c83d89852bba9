"""Schemas of /v1/holds: two-phase payments."""

from __future__ import annotations

from marshmallow import fields, validate

from wallets.core.schema import MAX_ID
from wallets.retail import holds

from .common import (
    Amount,
    IdPageArgs,
    Integer,
    Output,
    StrictSchema,
    one_of,
    reference_field,
    wallet_id,
)
from .transfers import TransferOut


class HoldCreate(StrictSchema):
    from_wallet = wallet_id(required=True)
    to_wallet = wallet_id(required=True)
    amount = Amount(required=True)
    timeout_seconds = Integer(
        strict=True,
        load_default=3600,
        validate=validate.Range(min=1, max=30 * 86400),
        metadata={
            "description": "Seconds of sandbox time until the hold expires (default 3600); "
            "a conditional payment's deadline: when a `time` one completes, by when a "
            "`confirmation` one must be confirmed"
        },
    )
    reference = reference_field()
    condition = fields.String(
        validate=validate.OneOf(holds.CONDITIONS),
        metadata={
            "description": "A conditional payment (docs/programmable.md): `time` completes at "
            "the deadline, `confirmation` when `confirmer_wallet`'s operator confirms"
        },
    )
    confirmer_wallet = wallet_id(
        metadata={"description": "The third party who confirms (condition `confirmation`)"}
    )


class CaptureBody(StrictSchema):
    amount = Amount(metadata={"description": "Default: the whole hold; the rest is released"})


class HoldOut(Output):
    id = Integer()
    from_wallet = Integer(attribute="from_wallet_id")
    to_wallet = Integer(attribute="to_wallet_id")
    amount = Amount()
    captured = Amount()
    status = one_of(holds.STATUSES)
    reference = fields.String(allow_none=True)
    created_at = fields.DateTime()
    expires_at = fields.DateTime()
    resolved_at = fields.DateTime(allow_none=True)
    condition = one_of(holds.CONDITIONS, allow_none=True)
    confirmer_wallet = Integer(attribute="confirmer_wallet_id", allow_none=True)
    transfers = fields.List(fields.Nested(TransferOut))


class HoldListArgs(IdPageArgs):
    wallet = Integer(required=True, validate=validate.Range(min=1, max=MAX_ID))
    status = fields.String(validate=validate.OneOf(holds.STATUSES))
