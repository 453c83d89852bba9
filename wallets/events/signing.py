"""Webhook signatures, as the Standard Webhooks specification says
(https://www.standardwebhooks.com): ``webhook-id``, ``webhook-timestamp``
(Unix seconds of the attempt, wall time) and ``webhook-signature``
(``v1,<base64 HMAC-SHA256 of "id.timestamp.body">``, several separated by
spaces while a rotated secret still signs). The ``standardwebhooks``
package does the signing and the verifying."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

__all__ = ["WebhookVerificationError", "headers", "message_id", "new_secret", "sign", "verify"]

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32  # the specification asks for 24 to 64
# How far a webhook-timestamp may be from the receiver's clock (the package's own).
TOLERANCE = timedelta(minutes=5)


def new_secret() -> str:
    """A new signing secret: ``whsec_`` and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def message_id(event_id: int) -> str:
    """The ``webhook-id`` of an event: the same for every attempt and every
    redelivery of it, to every endpoint; receivers deduplicate on it."""
    return f"evt_{event_id}"


def sign(secrets_: Iterable[str], msg_id: str, at: datetime, body: str) -> str:
    """The ``webhook-signature`` value: one ``v1,`` signature per secret."""
    return " ".join(Webhook(s).sign(msg_id, at, body) for s in secrets_)


def headers(secrets_: Iterable[str], msg_id: str, at: datetime, body: str) -> dict[str, str]:
    """The three headers of one attempt sent at ``at`` (wall time)."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": sign(secrets_, msg_id, at, body),
        "content-type": "application/json",
    }


def verify(
    secret: str, body: bytes | str, received: Mapping[str, str], now: datetime | None = None
) -> None:
    """Check a received webhook: its signature over id, timestamp and body
    with ``secret``, and its timestamp within five minutes of ``now``
    (default: the wall clock). Raises :class:`WebhookVerificationError`."""
    text = body.decode() if isinstance(body, bytes) else body
    lowered = {k.lower(): v for k, v in received.items()}
    msg_id = lowered.get("webhook-id")
    stamp = lowered.get("webhook-timestamp")
    signature = lowered.get("webhook-signature")
    if not (msg_id and stamp and signature):
        raise WebhookVerificationError("missing webhook-id, webhook-timestamp or webhook-signature")
    try:
        at = datetime.fromtimestamp(int(stamp), tz=UTC)
    except (ValueError, OverflowError, OSError):
        raise WebhookVerificationError("webhook-timestamp is not Unix seconds") from None
    now = now or datetime.now(UTC)
    if abs(now - at) > TOLERANCE:
        raise WebhookVerificationError("webhook-timestamp too far from now")
    expected = Webhook(secret).sign(msg_id, at, text)
    if not any(secrets.compare_digest(expected, given) for given in signature.split(" ")):
        raise WebhookVerificationError("no matching signature")
