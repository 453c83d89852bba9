"""Issue 14 item 21: no export over a chain that does not recompute; signed
checkpoints on a schedule of the sandbox clock and on every export; a held
history of checkpoints catches a rewrite of the database later."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from wallets.audit import checkpoints as cp
from wallets.audit import digest as dg
from wallets.audit import export as ex
from wallets.core.errors import DomainError
from wallets.core.schema import accounts, journal_entries, ledger_head
from wallets.ledger.journal import entry_hash


def _triggers(tx, enable: bool) -> None:
    """The journal's append-only triggers: off to play the attacker, on again after."""
    if tx.dialect == "postgresql":
        verb = "ENABLE" if enable else "DISABLE"
        tx.conn.exec_driver_sql(
            f"ALTER TABLE journal_entries {verb} TRIGGER journal_entries_append_only"
        )
    elif enable:
        tx.conn.exec_driver_sql(
            "CREATE TRIGGER journal_entries_no_update BEFORE UPDATE ON journal_entries "
            "BEGIN SELECT RAISE(ABORT, 'the journal_entries table is append-only'); END"
        )
    else:
        tx.conn.exec_driver_sql("DROP TRIGGER journal_entries_no_update")


def _rewrite(db, seq: int, *, rehash: bool, shift=timedelta(seconds=1)) -> None:
    """Move entry ``seq``'s posted_at (balances stay), and re-hash the chain
    from it to the head when ``rehash`` (what a careful attacker does)."""

    def run(tx):
        _triggers(tx, False)
        je = journal_entries
        codes = dict(tx.conn.execute(sa.select(accounts.c.id, accounts.c.code)).all())
        row = tx.conn.execute(sa.select(je).where(je.c.seq == seq)).one()
        tx.conn.execute(je.update().where(je.c.seq == seq).values(posted_at=row.posted_at + shift))
        if rehash:
            prev = row.prev_hash
            for r in tx.conn.execute(sa.select(je).where(je.c.seq >= seq).order_by(je.c.seq)).all():
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
                tx.conn.execute(je.update().where(je.c.seq == r.seq).values(prev_hash=prev, hash=h))
                prev = h
            tx.conn.execute(ledger_head.update().values(last_hash=prev))
        _triggers(tx, True)

    db.write(run)


def _pay(demo, amount="1.00", ref=None):
    w = demo.demo_wallets
    body = {"from_wallet": w["a"], "to_wallet": w["b"], "amount": amount}
    if ref is not None:
        body["reference"] = ref
    return demo.ok("POST", "/v1/transfers", key="ICBC", json=body)


def test_an_export_of_a_broken_chain_is_refused_naming_the_first_bad_entry(
    demo, tmp_path, signing_key, cli, monkeypatch
):
    _pay(demo)
    _rewrite(demo.db, 3, rehash=False)
    try:
        with pytest.raises(DomainError) as err:
            ex.export(demo.db, tmp_path / "out", ex.parse_filters(), signing_key)
        assert err.value.code == "ledger_chain_broken"
        assert "first bad entry 3" in err.value.detail
        assert not (tmp_path / "out" / "manifest.json").exists()
        # A filtered export is refused too: its rows may be intact, the chain is not.
        with pytest.raises(DomainError, match="first bad entry 3"):
            ex.export(demo.db, tmp_path / "out2", ex.parse_filters(operator="BOC"), signing_key)
        # The API's job fails with the code.
        r = demo.post("/v1/audit/exports", {}, key="auditor")
        assert r.status_code == 202
        job = _wait(demo, r.get_json()["id"])
        assert job["status"] == "failed" and job["error_code"] == "ledger_chain_broken"
        assert "first bad entry 3" in job["error"]
        # The CLI exits non-zero and names it.
        monkeypatch.setenv("DATABASE_URL", demo.db.engine.url.render_as_string(False))
        monkeypatch.setenv("ECNY_SIGNING_KEY", str(tmp_path / "cli-key.pem"))
        out = cli("audit", "export", "--out", tmp_path / "cli", "--quiet", code=1)
        assert "first bad entry 3" in out
    finally:
        _rewrite(demo.db, 3, rehash=False, shift=-timedelta(seconds=1))
    assert ex.export(demo.db, tmp_path / "ok", ex.parse_filters(), signing_key).manifest


def _wait(demo, job_id: int) -> dict:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job = demo.ok("GET", f"/v1/audit/exports/{job_id}", key="auditor")
        if job["status"] in ("succeeded", "failed"):
            return job
        time.sleep(0.05)
    raise AssertionError(job)


def _set_clock(demo, when: str) -> None:
    demo.ok("PUT", "/v1/sandbox/clock", json={"now": when})


def test_checkpoints_on_the_sandbox_clock_and_on_exports(demo, tmp_path):
    settings = demo.app.extensions["ecny"]["settings"]
    hours = settings.checkpoint_hours
    _set_clock(demo, "2030-01-01T01:00:00+08:00")
    page = demo.ok("GET", "/v1/audit/checkpoints", key="auditor")
    scheduled = [c for c in page["items"] if c["reason"] == "schedule"]
    assert scheduled, page  # the first write took the current period's
    last = scheduled[-1]
    # More writes in the same period: no new checkpoint.
    _pay(demo)
    _pay(demo)
    assert demo.ok("GET", "/v1/audit/checkpoints", key="auditor")["items"][-1]["id"] == last["id"]
    # The clock passes a boundary: the next write takes the new period's checkpoint,
    # of the head after that write.
    _set_clock(demo, f"2030-01-01T{hours + 1:02d}:00:00+08:00")
    items = demo.ok("GET", "/v1/audit/checkpoints", key="auditor")["items"]
    new = items[-1]
    assert new["id"] > last["id"] and new["reason"] == "schedule"
    assert new["sequence"] == demo.journal_count() and datetime.fromisoformat(
        new["time"]
    ) == datetime.fromisoformat(f"2030-01-01T{hours + 1:02d}:00:00+08:00")
    pem = demo.ok("GET", "/v1/audit/digest", key="auditor")["public_key"]
    key = dg.load_public_key(pem)
    assert all(dg.signature_valid(c, key) for c in items)
    # Every export publishes one, of the head it signed.
    r = demo.post("/v1/audit/exports", {"formats": ["csv"]}, key="auditor")
    job = _wait(demo, r.get_json()["id"])
    items = demo.ok("GET", "/v1/audit/checkpoints", key="central_bank")["items"]
    assert items[-1]["reason"] == "export" and items[-1]["export_id"] == f"JOB-{job['id']}"
    assert items[-1]["sequence"] == job["head_seq"] and items[-1]["head_hash"] == job["head_hash"]
    # Cursor pagination and roles.
    first = demo.ok("GET", "/v1/audit/checkpoints?limit=1", key="admin")
    assert len(first["items"]) == 1 and first["next_after"] == str(first["items"][0]["id"])
    rest = demo.ok("GET", f"/v1/audit/checkpoints?after={first['next_after']}", key="admin")
    assert [c["id"] for c in rest["items"]] == [c["id"] for c in items[1:]]
    assert demo.get("/v1/audit/checkpoints", key="ICBC").status_code == 403
    assert demo.get("/v1/audit/checkpoints?after=x", key="auditor").status_code in (400, 422)


def test_period_boundaries_are_sandbox_midnight_and_every_n_hours():
    from wallets.core.clock import SANDBOX_TZ

    at = datetime(2026, 12, 1, 0, 0, tzinfo=SANDBOX_TZ)
    assert cp.period_of(at, 6) == cp.period_of(at + timedelta(hours=5, minutes=59), 6)
    assert cp.period_of(at, 6) + 1 == cp.period_of(at + timedelta(hours=6), 6)
    assert cp.period_of(at - timedelta(microseconds=1), 24) + 1 == cp.period_of(at, 24)


def test_a_held_checkpoint_catches_a_rewritten_and_rehashed_database(
    demo, tmp_path, signing_key, cli, monkeypatch
):
    """Take a checkpoint; rewrite a journal row and re-hash the chain in the
    database directly: the chain recomputes, the held checkpoint does not meet it."""
    for i in range(3):
        _pay(demo, f"{i + 1}.00")
    db = demo.db
    held = [db.write(lambda tx: cp.record(tx, dg.take(tx, signing_key), cp.EXPORT))]
    seq = held[0]["sequence"]
    (tmp_path / "held.json").write_text(json.dumps({"items": held, "next_after": None}))
    (tmp_path / "cb.pub").write_text(dg.public_key_pem(signing_key))
    monkeypatch.setenv("DATABASE_URL", db.engine.url.render_as_string(False))
    out = cli(
        "audit",
        "checkpoints",
        "verify",
        tmp_path / "held.json",
        "--public-key",
        tmp_path / "cb.pub",
    )
    assert "CHECKPOINTS HOLD" in out

    # A complete export of the untouched ledger verifies against the held checkpoint too.
    ex.export(db, tmp_path / "before", ex.parse_filters(), signing_key)
    out = cli(
        "audit",
        "verify",
        tmp_path / "before",
        "--public-key",
        tmp_path / "cb.pub",
        "--digest",
        tmp_path / "held.json",
    )
    assert "EXPORT VERIFIED" in out
    # A checkpoint kept from after the export: not checkable there, not a failure.
    _pay(demo, "9.00")
    later = db.write(lambda tx: cp.record(tx, dg.take(tx, signing_key), cp.EXPORT))
    (tmp_path / "later.json").write_text(json.dumps([*held, later]))
    out = cli(
        "audit",
        "verify",
        tmp_path / "before",
        "--public-key",
        tmp_path / "cb.pub",
        "--digest",
        tmp_path / "later.json",
    )
    assert f"[not checkable] checkpoint {later['id']}" in out and "taken after this export" in out
    assert "EXPORT VERIFIED" in out

    _rewrite(db, seq - 2, rehash=True)
    try:
        assert db.read(cp.first_break) is None  # the attacker's chain recomputes
        out = cli(
            "audit",
            "checkpoints",
            "verify",
            tmp_path / "held.json",
            "--public-key",
            tmp_path / "cb.pub",
            code=1,
        )
        assert f"entry {seq} has hash" in out
        assert f"the journal was rewritten at or before entry {seq}" in out
        assert "CHECKPOINTS DO NOT HOLD" in out
        # An export taken now is signed (the chain recomputes), but the held
        # checkpoint catches it offline as well.
        ex.export(db, tmp_path / "after", ex.parse_filters(), signing_key)
        out = cli(
            "audit",
            "verify",
            tmp_path / "after",
            "--public-key",
            tmp_path / "cb.pub",
            "--digest",
            tmp_path / "held.json",
            code=1,
        )
        assert f"seq {seq} has hash" in out and "the chain was rewritten since" in out
    finally:
        _rewrite(db, seq - 2, rehash=True, shift=-timedelta(seconds=1))


def _clock_in_db(db, when: str) -> None:
    """Set the sandbox clock in the database directly (no API write, so no
    checkpoint is taken by the move itself)."""
    from wallets.core.schema import sandbox

    at = datetime.fromisoformat(when)
    db.write(lambda tx: tx.conn.execute(sandbox.update().values(clock_fixed=at)))


def test_a_scheduled_checkpoint_recomputes_the_chain_outside_its_write(demo, tmp_path, monkeypatch):
    """The first scheduled checkpoint recomputes the chain from genesis in a
    read transaction; the write that signs recomputes only the entries appended
    since that read."""
    # API writes take no checkpoint here: the test takes it, at a chosen moment.
    monkeypatch.setattr(cp, "is_due", lambda tx, hours: False)
    for i in range(5):
        _pay(demo, f"{i + 1}.00")
    db = demo.db
    db.write(lambda tx: tx.conn.execute(sa.delete(cp.checkpoints)))
    hours = demo.app.extensions["ecny"]["settings"].checkpoint_hours
    _clock_in_db(db, "2031-03-01T01:00:00+08:00")

    in_write: list[bool] = []
    walks: list[tuple[bool, int, int]] = []  # (in a write, from seq, to seq)
    real_write, real_read, real_walk = db.write, db.read, cp.walk

    def write(fn, *args, **kwargs):
        in_write.append(True)
        try:
            return real_write(fn, *args, **kwargs)
        finally:
            in_write.pop()

    def walk(tx, upto=None, *, start_seq=0, **kwargs):
        done = real_walk(tx, upto, start_seq=start_seq, **kwargs)
        walks.append((bool(in_write), start_seq, done.seq))
        return done

    appended = []

    def read(fn, *args, **kwargs):
        found = real_read(fn, *args, **kwargs)
        if fn is cp._verify_since_last and not appended:
            # Another writer commits between the recompute and the checkpoint's write.
            appended.append(_pay(demo, "0.50"))
        return found

    monkeypatch.setattr(db, "write", write)
    monkeypatch.setattr(db, "read", read)
    monkeypatch.setattr(cp, "walk", walk)
    seen_by_read = demo.journal_count()
    taken = cp.take_if_due(db, tmp_path / "k.pem", hours)
    head = demo.journal_count()
    assert appended and head > seen_by_read
    assert taken is not None and taken["reason"] == "schedule" and taken["sequence"] == head
    # From genesis in the read; in the write, only what was appended since.
    assert walks == [(False, 0, seen_by_read), (True, seen_by_read, head)]
    # A checkpoint of the period is there: none more.
    assert cp.take_if_due(db, tmp_path / "k.pem", hours) is None


def test_a_scheduled_checkpoint_after_many_entries_verifies_and_a_broken_chain_refuses(
    demo, tmp_path, monkeypatch
):
    monkeypatch.setattr(cp, "is_due", lambda tx, hours: False)
    for i in range(30):
        _pay(demo, f"{i + 1}.00")
    db = demo.db
    db.write(lambda tx: tx.conn.execute(sa.delete(cp.checkpoints)))
    hours = demo.app.extensions["ecny"]["settings"].checkpoint_hours
    key_path = tmp_path / "k.pem"
    _rewrite(db, 7, rehash=False)
    try:
        _clock_in_db(db, "2031-03-01T01:00:00+08:00")
        assert cp.take_if_due(db, key_path, hours) is None
        assert db.read(lambda tx: cp.list_checkpoints(tx, after=None, limit=10)) == []
    finally:
        _rewrite(db, 7, rehash=False, shift=-timedelta(seconds=1))
    taken = cp.take_if_due(db, key_path, hours)
    assert taken is not None and taken["sequence"] == demo.journal_count()
    assert dg.signature_valid(taken, dg.load_or_create_key(key_path).public_key())


def test_a_clock_set_back_into_a_period_without_a_checkpoint_takes_one(demo):
    """docs/macau.md sets the clock back to March after the README's December:
    a period that has no scheduled checkpoint gets one, later ones or not."""

    def scheduled():
        items = demo.ok("GET", "/v1/audit/checkpoints?limit=500", key="auditor")["items"]
        return [c for c in items if c["reason"] == "schedule"]

    _set_clock(demo, "2026-12-01T09:00:00+08:00")
    december = scheduled()[-1]
    assert december["time"].startswith("2026-12-01")
    _set_clock(demo, "2026-03-01T09:00:00+08:00")  # back, into a period with none
    march = scheduled()[-1]
    assert march["id"] > december["id"] and march["time"].startswith("2026-03-01")
    assert march["sequence"] == demo.journal_count()
    # Back into a period that has one already (December's): none more.
    _set_clock(demo, "2026-12-01T09:30:00+08:00")
    _pay(demo)
    assert scheduled()[-1]["id"] == march["id"]
