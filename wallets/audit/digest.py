"""The digest: the central bank's Ed25519 signature over the journal's head.

Whoever holds a digest can later prove that the chain it saw has not been
rewritten: recompute the chain up to ``sequence`` and compare with
``head_hash`` (Amazon QLDB's and immudb's model).

The signed message is the canonical JSON of ``{"sequence", "head_hash",
"time"}`` — keys sorted, no spaces, ASCII — so that anybody can rebuild it.
The private key lives in a file outside the database (``Settings.
signing_key_path``, mode 0600), created at first use: whoever can rewrite the
database cannot also re-sign what it says.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import sqlalchemy as sa
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ..core import errors
from ..core.db import Tx
from ..core.schema import ledger_head

ALGORITHM = "Ed25519"


@dataclass(frozen=True)
class Digest:
    sequence: int
    head_hash: str
    time: str  # sandbox time, ISO 8601 with offset
    signature: str  # base64 of the 64-byte Ed25519 signature
    public_key: str  # PEM (SubjectPublicKeyInfo)
    public_key_sha256: str  # of the raw 32-byte key: compare it out of band
    algorithm: str = ALGORITHM

    def as_dict(self) -> dict:
        return asdict(self)


def canonical_json(payload: object) -> bytes:
    """The one JSON encoding that is signed: sorted keys, no spaces, ASCII."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def signed_payload(sequence: int, head_hash: str, time: str) -> bytes:
    return canonical_json({"sequence": sequence, "head_hash": head_hash, "time": time})


# ---- keys ------------------------------------------------------------------


def load_or_create_key(path: Path) -> Ed25519PrivateKey:
    """The signing key at ``path``, created (mode 0600) if there is none yet.

    Creation is atomic: the key is written to a private temporary file and
    hard-linked into place, so two processes starting at once agree on one key.
    """
    path = Path(path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        new_key = Ed25519PrivateKey.generate()
        pem = new_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(pem)
            with contextlib.suppress(FileExistsError):  # another process won: use its key
                os.link(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise errors.DomainError(
            errors.SIGNING_KEY_UNAVAILABLE, f"cannot read the signing key {path}: {exc}"
        ) from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise errors.DomainError(
            errors.SIGNING_KEY_UNAVAILABLE, f"{path} does not hold an Ed25519 private key"
        )
    return key


def public_key_pem(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def public_key_fingerprint(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def load_public_key(text: str | bytes) -> Ed25519PublicKey:
    """A public key given as PEM, or as the base64 of its 32 raw bytes."""
    data = text.encode() if isinstance(text, str) else text
    try:
        if b"-----BEGIN" in data:
            key = serialization.load_pem_public_key(data)
            if not isinstance(key, Ed25519PublicKey):
                raise ValueError("not an Ed25519 public key")
            return key
        raw = base64.b64decode(data.strip(), validate=True)
        return Ed25519PublicKey.from_public_bytes(raw)
    except (ValueError, TypeError, binascii.Error) as exc:
        raise ValueError(f"not an Ed25519 public key (PEM or base64 of 32 bytes): {exc}") from exc


# ---- signing and checking --------------------------------------------------


def sign(key: Ed25519PrivateKey, sequence: int, head_hash: str, time: str) -> Digest:
    signature = key.sign(signed_payload(sequence, head_hash, time))
    return Digest(
        sequence=sequence,
        head_hash=head_hash,
        time=time,
        signature=base64.b64encode(signature).decode(),
        public_key=public_key_pem(key),
        public_key_sha256=public_key_fingerprint(key),
    )


def take(tx: Tx, key: Ed25519PrivateKey) -> Digest:
    """Sign the journal head as this transaction sees it, at sandbox time."""
    head = tx.conn.execute(sa.select(ledger_head).where(ledger_head.c.id == 1)).one()
    return sign(key, head.last_seq, head.last_hash, tx.now().isoformat())


def signature_valid(digest: dict, public_key: Ed25519PublicKey) -> bool:
    """Does ``digest`` (as a dict, e.g. from a manifest) carry a valid signature
    by ``public_key`` over its sequence, head hash and time?"""
    try:
        signature = base64.b64decode(digest["signature"], validate=True)
        payload = signed_payload(int(digest["sequence"]), digest["head_hash"], digest["time"])
        public_key.verify(signature, payload)
    except (InvalidSignature, KeyError, TypeError, ValueError, binascii.Error):
        return False
    return True


def sign_bytes(key: Ed25519PrivateKey, message: bytes) -> str:
    return base64.b64encode(key.sign(message)).decode()


def bytes_signature_valid(message: bytes, signature: str, public_key: Ed25519PublicKey) -> bool:
    try:
        public_key.verify(base64.b64decode(signature, validate=True), message)
    except (InvalidSignature, TypeError, ValueError, binascii.Error):
        return False
    return True
