"""The offline payment voucher's format (docs/offline.md#vouchers): its
canonical encoding, its id, and its Ed25519 signature by the paying purse's
device. One definition, for the server that checks vouchers and for the
device side of the client (``app.client.OfflineDevice``) that makes them.

The canonical encoding is JSON with sorted keys and no spaces, UTF-8:

    {"amount":"12.50","counter":3,"payee":7,"payer":5,"time":"2026-03-02T02:00:00Z","type":"ecny.offline.voucher"}

``amount`` is a decimal string with two decimals (fen, as the API prints
amounts), ``time`` UTC to the second with a ``Z``. The signature is over
those bytes; the voucher's id is their SHA-256 (hex). A purse's unload
statement (its last counter) is signed the same way:

    {"counter":3,"purse":5,"type":"ecny.offline.unload"}
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from datetime import UTC, datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ..ledger.money import format_amount

VOUCHER_TYPE = "ecny.offline.voucher"
UNLOAD_TYPE = "ecny.offline.unload"
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
TIME_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")


def _canonical(document: dict) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


def format_time(at: datetime) -> str:
    return at.astimezone(UTC).strftime(TIME_FORMAT)


def parse_time(text: str) -> datetime:
    """A voucher's time: UTC to the second with a ``Z``, and nothing else."""
    if not isinstance(text, str) or not TIME_RE.fullmatch(text):
        raise ValueError('must be UTC to the second, such as "2026-03-02T02:00:00Z"')
    return datetime.strptime(text, TIME_FORMAT).replace(tzinfo=UTC)


def voucher_message(payer: int, payee: int, amount: int, counter: int, at: datetime) -> bytes:
    """The bytes a voucher's signature is over (``amount`` in fen)."""
    return _canonical(
        {
            "amount": format_amount(amount),
            "counter": counter,
            "payee": payee,
            "payer": payer,
            "time": format_time(at),
            "type": VOUCHER_TYPE,
        }
    )


def unload_message(purse: int, counter: int) -> bytes:
    """The bytes a purse's unload statement (its last counter) is signed over."""
    return _canonical({"counter": counter, "purse": purse, "type": UNLOAD_TYPE})


def voucher_id(message: bytes) -> str:
    return hashlib.sha256(message).hexdigest()


def parse_device_key(text: str) -> bytes:
    """An Ed25519 public key: its 32 raw bytes in standard base64 (44 characters)."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise ValueError("must be the key's 32 bytes in base64") from exc
    if len(raw) != 32 or base64.b64encode(raw).decode() != text:
        raise ValueError("must be the key's 32 bytes in base64")
    return raw


def verify(device_key: str, message: bytes, signature: str) -> bool:
    """Whether ``signature`` (base64 of 64 bytes) is the device's over ``message``."""
    try:
        sig = base64.b64decode(signature, validate=True)
        Ed25519PublicKey.from_public_bytes(parse_device_key(device_key)).verify(sig, message)
    except (binascii.Error, ValueError, TypeError, InvalidSignature):
        return False
    return True


def sign(private_key: Ed25519PrivateKey, message: bytes) -> str:
    return base64.b64encode(private_key.sign(message)).decode()


def public_key_text(private_key: Ed25519PrivateKey) -> str:
    raw = private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return base64.b64encode(raw).decode()
