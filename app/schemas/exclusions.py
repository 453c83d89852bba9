"""Schemas of /v1/exclusions: the exclusion list."""

from __future__ import annotations

from marshmallow import fields, validate

from wallets.casino import exclusions

from .common import (
    Id32PageArgs,
    Integer,
    Output,
    Pattern,
    StrictSchema,
    casino_ref_field,
    one_of,
)


class ExclusionCreate(StrictSchema):
    holder_id = fields.String(required=True, validate=Pattern(r"^[A-Za-z0-9_.:-]{1,64}$"))
    kind = fields.String(required=True, validate=validate.OneOf(exclusions.KINDS))
    starts_on = fields.Date(metadata={"description": "Default: today (UTC+8)"})
    ends_on = fields.Date(required=True, metadata={"description": "Last day, inclusive"})
    casino = casino_ref_field("Only this casino (default: every casino)")


class ExclusionOut(Output):
    id = Integer()
    holder_id = fields.String()
    casino = fields.String(attribute="casino_ref", allow_none=True)
    kind = one_of(exclusions.KINDS)
    starts_on = fields.Date()
    ends_on = fields.Date()
    status = one_of(exclusions.STATUSES, metadata={"description": "On the sandbox's today"})
    requested_at = fields.DateTime()
    revocation_requested_at = fields.DateTime(allow_none=True)
    revoked_from = fields.DateTime(allow_none=True)


class ExclusionListArgs(Id32PageArgs):
    holder_id = fields.String(validate=validate.Length(max=64))
