"""Signed checkpoints of the journal head, published for auditors to hold.

A checkpoint is a digest (digest.py) that the sandbox keeps: the last journal
entry's ``seq`` and ``hash`` at a sandbox time, signed by the central bank's
Ed25519 key over the same canonical JSON as the digest. They are taken

- on a schedule of the sandbox clock: periods of ``Settings.checkpoint_hours``
  hours that start at 00:00 sandbox time (UTC+8); the first API write that
  commits in a period whose checkpoint is not taken yet takes it, in a
  transaction of its own right after that write (one per period: the
  ``period`` column is unique);
- on every export, of the head the export signed (its manifest's digest).

``GET /v1/audit/checkpoints`` and ``ecny audit checkpoints list`` list them.
An auditor who keeps the list can later check it against the database
(:func:`verify_held`, ``ecny audit checkpoints verify``) or against an export
(``ecny audit verify --digest``): a rewrite of the journal at or before a held
checkpoint's entry no longer meets its signed hash, even when the rewriter
re-hashed the whole chain.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ..core import errors, outbox
from ..core.clock import SANDBOX_TZ
from ..core.db import Database, Tx, inserted_id
from ..core.schema import accounts, checkpoints, journal_entries, ledger_head
from ..ledger.journal import GENESIS_HASH, entry_hash
from . import digest as dg

log = logging.getLogger(__name__)

SCHEDULE, EXPORT = "schedule", "export"
REASONS = (SCHEDULE, EXPORT)
# Periods are counted from this instant: 00:00 sandbox time (UTC+8).
PERIOD_ORIGIN = datetime(1970, 1, 1, tzinfo=SANDBOX_TZ)
CHAIN_YIELD_PER = 5000


def period_of(now: datetime, hours: int) -> int:
    """The number of the ``hours``-long period of sandbox time that holds ``now``."""
    return int((now - PERIOD_ORIGIN) // timedelta(hours=hours))


def as_dict(row: sa.Row) -> dict:
    return {
        "id": row.id,
        "sequence": row.sequence,
        "head_hash": row.head_hash,
        "time": row.time,
        "signature": row.signature,
        "public_key_sha256": row.public_key_sha256,
        "algorithm": dg.ALGORITHM,
        "reason": row.reason,
        "export_id": row.export_id,
    }


# ---- the chain itself ----------------------------------------------------------


@dataclass(frozen=True)
class ChainBreak:
    seq: int
    message: str


def _codes(tx: Tx) -> dict[int, str]:
    return dict(tx.conn.execute(sa.select(accounts.c.id, accounts.c.code)).all())


def first_break(
    tx: Tx,
    upto: int | None = None,
    *,
    start_seq: int = 0,
    start_hash: str = GENESIS_HASH,
    yield_per: int = CHAIN_YIELD_PER,
) -> ChainBreak | None:
    """The first journal entry after ``start_seq`` (whose hash is ``start_hash``)
    up to ``upto`` (default: the recorded head) whose hash does not recompute
    from its columns or does not link to the entry before; None if all hold.
    Streams the journal: memory stays flat."""
    return walk(tx, upto, start_seq=start_seq, start_hash=start_hash, yield_per=yield_per).broken


@dataclass(frozen=True)
class Walk:
    """Where a recompute of the chain got to: the last entry that holds
    (``seq``, ``hash``), and the first that does not (None if none)."""

    broken: ChainBreak | None
    seq: int
    hash: str


def walk(
    tx: Tx,
    upto: int | None = None,
    *,
    start_seq: int = 0,
    start_hash: str = GENESIS_HASH,
    yield_per: int = CHAIN_YIELD_PER,
) -> Walk:
    """Recompute the chain from after ``start_seq`` (hash ``start_hash``) up to
    ``upto`` (default: the recorded head), as :func:`first_break` says."""
    head = tx.conn.execute(sa.select(ledger_head).where(ledger_head.c.id == 1)).one()
    upto = head.last_seq if upto is None else upto
    codes = _codes(tx)
    je = journal_entries
    prev, expected = start_hash, start_seq + 1
    rows = tx.conn.execute(
        sa.select(je)
        .where(je.c.seq > start_seq, je.c.seq <= upto)
        .order_by(je.c.seq)
        .execution_options(yield_per=yield_per)
    )

    def broken(seq: int, message: str) -> Walk:
        return Walk(ChainBreak(seq, message), expected - 1, prev)

    try:
        for r in rows:
            if r.seq != expected:
                return broken(expected, f"entry {expected} is missing (next is {r.seq})")
            if r.prev_hash != prev:
                return broken(
                    r.seq, f"entry {r.seq} does not link to entry {r.seq - 1}: prev_hash differs"
                )
            h = entry_hash(
                r.seq,
                r.transfer_id,
                codes[r.debit_account_id],
                codes[r.credit_account_id],
                r.asset,
                r.amount,
                r.posted_at,
                prev,
            )
            if r.hash != h:
                return broken(r.seq, f"entry {r.seq}: its hash does not recompute from its columns")
            prev, expected = h, expected + 1
    finally:
        rows.close()
    if expected - 1 != upto:
        return broken(expected, f"entry {expected} is missing (the head is {upto})")
    if upto == head.last_seq and prev != head.last_hash:
        return broken(upto, f"the recorded head is not entry {upto}'s hash")
    return Walk(None, upto, prev)


def check_chain(
    tx: Tx,
    upto: int | None = None,
    yield_per: int = CHAIN_YIELD_PER,
    *,
    start: tuple[int, str] = (0, GENESIS_HASH),
) -> tuple[int, str]:
    """Refuse (ledger_chain_broken) when the chain up to ``upto`` does not
    recompute (from ``start``, an entry's (seq, hash) already verified); the
    (seq, hash) it verified up to."""
    done = walk(tx, upto, start_seq=start[0], start_hash=start[1], yield_per=yield_per)
    broken = done.broken
    if broken is not None:
        raise errors.DomainError(
            errors.LEDGER_CHAIN_BROKEN,
            f"the journal's hash chain does not recompute: first bad entry {broken.seq}: "
            f"{broken.message}",
            seq=broken.seq,
        )
    return done.seq, done.hash


# ---- taking them -----------------------------------------------------------------


def record(
    tx: Tx,
    signed: dg.Digest,
    reason: str,
    *,
    period: int | None = None,
    export_id: str | None = None,
) -> dict:
    new_id = inserted_id(
        tx.conn.execute(
            checkpoints.insert().values(
                sequence=signed.sequence,
                head_hash=signed.head_hash,
                time=signed.time,
                signature=signed.signature,
                public_key_sha256=signed.public_key_sha256,
                reason=reason,
                period=period,
                export_id=export_id,
            )
        )
    )
    taken = as_dict(tx.conn.execute(sa.select(checkpoints).where(checkpoints.c.id == new_id)).one())
    # Seen as GET /v1/audit/checkpoints is: the central bank, the auditor, the admin.
    outbox.emit(tx, outbox.Event("audit.checkpoint_taken", taken, central_bank=True))
    return taken


def record_export(db: Database, manifest_digest: dict, export_id: str) -> dict:
    """The checkpoint of an export: the head its manifest signed."""
    signed = dg.Digest(
        **{k: manifest_digest[k] for k in dg.Digest.__dataclass_fields__ if k in manifest_digest}
    )
    return db.write(lambda tx: record(tx, signed, EXPORT, export_id=export_id))


def _due(tx: Tx, hours: int) -> int | None:
    """The current period of sandbox time if it has no scheduled checkpoint yet:
    whatever periods have one, so that a clock set back into a period without
    one takes it (the ``period`` column is unique: one per period)."""
    period = period_of(tx.now(), hours)
    # A period's checkpoint, once written, never changes: the periods known to
    # have one cost no query (Tx.cached, by the length of a period), so that
    # asking costs nothing on every write after the period's checkpoint.
    taken = tx.cached(f"checkpoint_period_{hours}h", [period], _taken_periods)
    return period if period not in taken else None


def _taken_periods(tx: Tx, periods: list[int]) -> dict[int, bool]:
    rows = tx.conn.execute(
        sa.select(checkpoints.c.period).where(checkpoints.c.period.in_(periods))
    ).all()
    return {row.period: True for row in rows}


def _last(tx: Tx) -> sa.Row | None:
    return tx.conn.execute(
        sa.select(checkpoints.c.sequence, checkpoints.c.head_hash)
        .order_by(checkpoints.c.sequence.desc(), checkpoints.c.id.desc())
        .limit(1)
    ).first()


def _verify_since_last(tx: Tx, hours: int) -> Walk | None:
    """In a read transaction: if a checkpoint is due, recompute the chain since
    the last checkpoint up to the head this transaction sees (None: none due).
    The chain before the last checkpoint is what held checkpoints check
    (verify_held)."""
    if _due(tx, hours) is None:
        return None
    last = _last(tx)
    start = (last.sequence, last.head_hash) if last is not None else (0, GENESIS_HASH)
    return walk(tx, start_seq=start[0], start_hash=start[1])


def _take_scheduled(
    tx: Tx, key: Ed25519PrivateKey, hours: int, verified: tuple[int, str]
) -> dict | None:
    """In the write: still due? Then recompute only the entries appended since
    ``verified`` (the head a read transaction recomputed up to), and sign."""
    period = _due(tx, hours)
    if period is None:
        return None
    broken = first_break(tx, start_seq=verified[0], start_hash=verified[1])
    if broken is not None:
        log.error("no checkpoint taken: the journal's hash chain is broken: %s", broken.message)
        return None
    return record(tx, dg.take(tx, key), SCHEDULE, period=period)


def is_due(tx: Tx, hours: int) -> bool:
    """Whether the current period of sandbox time still lacks its scheduled
    checkpoint: asked inside a write's own transaction (one small query), so
    that the write costs no transaction more when none is due."""
    return hours > 0 and _due(tx, hours) is not None


def take_if_due(db: Database, key_path: Path, hours: int) -> dict | None:
    """Take the checkpoint of the current period of sandbox time if it is not
    taken yet. The chain since the last checkpoint is recomputed in a read
    transaction (on SQLite it blocks no writer, however long the journal); the
    write that signs re-checks that one is still due and recomputes only the
    few entries appended since. Never raises: a write that triggered it has
    committed already; a failure is logged."""
    if hours <= 0:
        return None
    try:
        done = db.read(_verify_since_last, hours)
        if done is None:
            return None
        if done.broken is not None:
            log.error(
                "no checkpoint taken: the journal's hash chain is broken: %s",
                done.broken.message,
            )
            return None
        key = dg.load_or_create_key(key_path)
        return db.write(_take_scheduled, key, hours, (done.seq, done.hash))
    except sa.exc.IntegrityError:
        return None  # another process took this period's checkpoint first
    except Exception:  # noqa: BLE001 - the write it follows has committed
        log.exception("could not take the scheduled checkpoint")
        return None


def take_now(db: Database, key: Ed25519PrivateKey, hours: int) -> dict:
    """A checkpoint now, whatever the schedule (``ecny audit checkpoints take``):
    the chain must recompute first."""
    return db.write(take_now_in, key, hours)


def take_now_in(tx: Tx, key: Ed25519PrivateKey, hours: int) -> dict:
    """:func:`take_now` in a write transaction of the caller's (with its audit event)."""
    check_chain(tx)
    period = _due(tx, hours) if hours > 0 else None
    return record(tx, dg.take(tx, key), SCHEDULE if period is not None else EXPORT, period=period)


def list_checkpoints(tx: Tx, *, after: int | None, limit: int) -> list[dict]:
    """Checkpoints, oldest first (``after``: those after this id)."""
    stmt = sa.select(checkpoints).order_by(checkpoints.c.id).limit(limit)
    if after is not None:
        stmt = stmt.where(checkpoints.c.id > after)
    return [as_dict(r) for r in tx.conn.execute(stmt)]


def iter_all(tx: Tx) -> Iterable[dict]:
    after = None
    while True:
        page = list_checkpoints(tx, after=after, limit=500)
        yield from page
        if len(page) < 500:
            return
        after = page[-1]["id"]


# ---- checking held ones -------------------------------------------------------------


@dataclass
class HeldReport:
    ok: bool = True
    lines: list[str] = field(default_factory=list)

    def fail(self, message: str) -> None:
        self.ok = False
        self.lines.append(f"[FAIL] {message}")


def load_held(data: object) -> list[dict]:
    """Held checkpoints from JSON: a list, a page ``{"items": [...]}`` of
    ``GET /v1/audit/checkpoints``, or one digest."""
    if isinstance(data, dict) and isinstance(data.get("items"), list):
        data = data["items"]
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list) or not all(isinstance(d, dict) for d in data):
        raise ValueError("not a checkpoint, a list of them, or a page of them")
    return data


def _label(c: dict) -> str:
    ident = f"checkpoint {c['id']}" if c.get("id") is not None else "digest"
    return f"{ident} (seq {c.get('sequence')}, {c.get('time')})"


def verify_held(tx: Tx, held: list[dict], public_key: Ed25519PublicKey) -> HeldReport:
    """Check held checkpoints against the database: each carries a valid
    signature by ``public_key``, and the journal entry it names still has the
    hash it signed; and the chain recomputes. Names the entry where they part."""
    report = HeldReport()
    head = tx.conn.execute(sa.select(ledger_head).where(ledger_head.c.id == 1)).one()
    je = journal_entries
    good_before: int | None = 0
    checked = 0
    for c in sorted(held, key=lambda d: d.get("sequence") or 0):
        label = _label(c)
        if not dg.signature_valid(c, public_key):
            report.fail(f"{label}: its signature does not verify with the key given")
            continue
        seq = int(c["sequence"])
        checked += 1
        if seq == 0:
            continue
        if seq > head.last_seq:
            report.fail(
                f"{label}: the journal ends at entry {head.last_seq}, before entry {seq}: "
                "it was truncated"
            )
            good_before = None
            continue
        found = tx.conn.execute(sa.select(je.c.hash).where(je.c.seq == seq)).scalar()
        if found is None:
            report.fail(f"{label}: entry {seq} is missing from the journal")
            good_before = None
        elif found != c["head_hash"]:
            since = (
                f" after entry {good_before} (the last held checkpoint that still holds)"
                if good_before
                else ""
            )
            report.fail(
                f"{label}: entry {seq} has hash {found[:16]}... in the database, but the "
                f"checkpoint signed {str(c['head_hash'])[:16]}...: the journal was rewritten "
                f"at or before entry {seq}{since}"
            )
            good_before = None
        elif good_before is not None:
            good_before = seq
    broken = first_break(tx)
    if broken is not None:
        report.fail(f"the journal's hash chain: first bad entry {broken.seq}: {broken.message}")
    if report.ok:
        report.lines.append(
            f"[ok] {checked} held checkpoint(s): signatures valid, and the journal "
            f"(head seq {head.last_seq}) still passes through each"
        )
        report.lines.append("CHECKPOINTS HOLD")
    else:
        report.lines.append("CHECKPOINTS DO NOT HOLD: the database was rewritten")
    return report
