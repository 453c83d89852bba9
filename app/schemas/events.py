"""The event feed and webhook endpoints (docs/events.md)."""

from __future__ import annotations

from marshmallow import fields, validate

from wallets.core.outbox import TYPES
from wallets.events.endpoints import MAX_URL_LENGTH

from .common import Id32PageArgs, IdPageArgs, Integer, Output, Pattern, StrictSchema, no_controls

_TYPE = "(?:" + "|".join(t.replace(".", "\\.") for t in TYPES) + ")"
# One event type or several, comma-separated (what the schema states is what
# the feed takes: an unknown type does not match).
TYPE_LIST_PATTERN = f"^{_TYPE}(?:,{_TYPE})*$"
_PORT = "(?:[0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])"
# An http(s) URL: an IPv6 literal or an ASCII host name (RFC 3986's reg-name
# characters), an optional port, then a path, query or fragment without
# spaces or control characters. No credentials (no @ before the path).
URL_PATTERN = (
    r"^https?://(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~%!$&'()*+,;=-]+)"
    f"(?::{_PORT})?"
    r"(?:[/?#][^\s\x00-\x1f\x7f]*)?$"
)


class EventListArgs(IdPageArgs):
    type = fields.String(
        validate=[validate.Length(max=1000), Pattern(TYPE_LIST_PATTERN)],
        metadata={
            "description": "Only events of these types, comma-separated: " + ", ".join(TYPES),
            "example": "transfer.posted,hold.expired",
        },
    )


class EventOut(Output):
    id = Integer(metadata={"description": "In commit order; the feed's cursor"})
    type = fields.String(metadata={"description": "One of docs/events.md's types"})
    timestamp = fields.DateTime(metadata={"description": "Sandbox time of the change"})
    data = fields.Dict(metadata={"description": "The object, as the API renders it"})


class WebhookEndpointCreate(StrictSchema):
    url = fields.String(
        required=True,
        validate=[validate.Length(min=1, max=MAX_URL_LENGTH), Pattern(URL_PATTERN)],
        metadata={
            "description": "http(s) URL on a host of ECNY_WEBHOOK_ALLOWED_HOSTS "
            "(default: loopback only), without credentials",
            "example": "http://127.0.0.1:8000/webhooks",
        },
    )
    event_types = fields.List(
        fields.String(validate=validate.OneOf(TYPES)),
        allow_none=True,
        validate=validate.Length(min=1, max=len(TYPES)),
        metadata={"description": "The types to send; absent or null: every type"},
    )
    description = fields.String(allow_none=True, validate=[validate.Length(max=500), no_controls])


class WebhookEndpointOut(Output):
    id = Integer()
    url = fields.String()
    description = fields.String(allow_none=True)
    event_types = fields.List(fields.String(), allow_none=True)
    status = fields.String(metadata={"description": "enabled or disabled"})
    disabled_reason = fields.String(allow_none=True)
    failures = Integer(metadata={"description": "Failed attempts in a row"})
    created_at = fields.DateTime()
    secret = fields.String(
        allow_none=True,
        metadata={
            "description": "The signing secret (whsec_...): only in the answer that makes "
            "or rotates it; null elsewhere and in a replay with the same Idempotency-Key"
        },
    )


class WebhookEndpointListArgs(Id32PageArgs):
    pass


class DeliveryListArgs(IdPageArgs):
    status = fields.String(validate=validate.OneOf(["pending", "succeeded", "failed"]))


class DeliveryOut(Output):
    id = Integer()
    endpoint_id = Integer()
    event_id = Integer()
    event_type = fields.String()
    status = fields.String(metadata={"description": "pending, succeeded or failed"})
    attempts = Integer()
    next_attempt_at = fields.DateTime(
        allow_none=True, metadata={"description": "Pending only: when it is due (sandbox time)"}
    )
    last_attempt_at = fields.DateTime(allow_none=True, metadata={"description": "Sandbox time"})
    response_status = Integer(allow_none=True)
    latency_ms = Integer(allow_none=True)
    error = fields.String(allow_none=True)
    manual = fields.Boolean(metadata={"description": "A manual redelivery"})
    created_at = fields.DateTime()
