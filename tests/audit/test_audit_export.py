"""Exports: the files, their contents and the manifest, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path

import sqlalchemy as sa
from lxml import etree

from wallets.audit import digest as dg
from wallets.audit import export as ex
from wallets.audit.verify import verify_export
from wallets.ledger.journal import GENESIS_HASH, entry_hash

NS = {"c": ex.CAMT_NS}


def _csv(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _day(demo) -> None:
    """A few payments on top of the demo, one across operators, with awkward references."""
    w = demo.demo_wallets
    demo.ok(
        "POST",
        "/v1/transfers",
        key="ICBC",
        json={
            "from_wallet": w["a"],
            "to_wallet": w["b"],
            "amount": "12.34",
            "reference": 'tea, "oolong" ; 第二行 — 12,5%',
        },
    )
    demo.ok(
        "POST",
        "/v1/transfers",
        key="ICBC",
        json={"from_wallet": w["a"], "to_wallet": w["c"], "amount": "100.00", "reference": "rent"},
    )
    demo.ok(
        "POST",
        "/v1/transfers",
        key="BOC",
        json={"from_wallet": w["c"], "to_wallet": w["a"], "amount": "0.01"},
    )
    demo.ok("POST", f"/v1/wallets/{w['b']}/defund", key="ICBC", json={"amount": "50.00"})


def test_unfiltered_export_holds_the_whole_chain_and_verifies(
    demo, tmp_path, signing_key, camt_schema
):
    _day(demo)
    out = tmp_path / "export"
    result = ex.export(demo.db, out, ex.parse_filters(), signing_key)
    m = json.loads((out / "manifest.json").read_text())
    assert m == result.manifest and m["complete"] is True

    journal = _csv(out / "journal.csv")
    n = demo.journal_count()
    assert [int(r["seq"]) for r in journal] == list(range(1, n + 1))
    assert journal[0]["prev_hash"] == GENESIS_HASH
    with demo.db.engine.connect() as conn:
        db_rows = conn.exec_driver_sql(
            "SELECT seq, hash, amount FROM journal_entries ORDER BY seq"
        ).all()
    assert [(int(r["seq"]), r["hash"], int(r["amount_fen"])) for r in journal] == [
        tuple(r) for r in db_rows
    ]
    # Each row carries what its hash covers, and recomputes with the ledger's own function.
    from datetime import UTC, datetime

    for r in journal:
        posted = datetime.strptime(r["posted_at"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
        assert r["hash"] == entry_hash(
            int(r["seq"]),
            int(r["transfer_id"]),
            r["debit_account"],
            r["credit_account"],
            r["asset"],
            int(r["amount_fen"]),
            posted,
            r["prev_hash"],
        )
    tea = next(r for r in journal if r["amount"] == "12.34")
    assert tea["reference"] == 'tea, "oolong" ; 第二行 — 12,5%' and tea["kind"] == "payment"
    assert tea["from_wallet"] == str(demo.demo_wallets["a"]) and tea["from_operator"] == "ICBC"

    jsonl = [json.loads(line) for line in (out / "journal.jsonl").read_text().splitlines()]
    assert len(jsonl) == n and jsonl[0]["amount_fen"] == int(journal[0]["amount_fen"])
    assert {k: str(v) if v is not None else "" for k, v in jsonl[5].items()} == journal[5]

    # The manifest: rows, sizes, SHA-256, range, control totals, signed digest.
    files = {f["name"]: f for f in m["files"]}
    for name, f in files.items():
        assert ex.file_digest(out / name) == (f["bytes"], f["sha256"])
    assert files["journal.csv"]["rows"] == files["journal.jsonl"]["rows"] == n
    assert m["range"]["first_seq"] == 1 and m["range"]["last_seq"] == n == m["digest"]["sequence"]
    assert m["range"]["last_hash"] == m["digest"]["head_hash"] == journal[-1]["hash"]
    ecny = [r for r in journal if r["asset"] == "ECNY"]
    assert m["control_totals"]["ECNY"] == {
        "count": len(ecny),
        "amount_fen": sum(int(r["amount_fen"]) for r in ecny),
        "amount": m["control_totals"]["ECNY"]["amount"],
    }
    assert dg.signature_valid(m["digest"], signing_key.public_key())

    # Balances: every account, equal to the ledger's own totals at the head.
    balances = {r["code"]: r for r in _csv(out / "balances.csv")}
    with demo.db.engine.connect() as conn:
        stored = {
            r.code: r
            for r in conn.execute(
                sa.text("SELECT code, debits_posted, credits_posted FROM accounts")
            )
        }
    assert set(balances) == set(stored)
    for code, r in balances.items():
        assert (int(r["debits_fen"]), int(r["credits_fen"])) == (
            stored[code].debits_posted,
            stored[code].credits_posted,
        )
    a = demo.demo_wallets["a"]
    assert balances[f"W:{a}:ECNY"]["balance"] == demo.balance(a) == "887.67"

    # One camt.053 per wallet, valid against the XSD, with the wallet's entries.
    statements = sorted((out / "camt053").glob("*.xml"))
    assert [p.name for p in statements] == [f"{w}.xml" for w in sorted(demo.demo_wallets.values())]
    for p in statements:
        camt_schema.assertValid(etree.parse(str(p)))
    doc = etree.parse(str(out / "camt053" / f"{a}.xml"))
    assert doc.findtext(".//c:Acct/c:Id/c:Othr/c:Id", namespaces=NS) == f"W:{a}:ECNY"
    bals = {
        b.findtext("c:Tp/c:CdOrPrtry/c:Cd", namespaces=NS): (
            b.findtext("c:Amt", namespaces=NS),
            b.findtext("c:CdtDbtInd", namespaces=NS),
        )
        for b in doc.iterfind(".//c:Bal", namespaces=NS)
    }
    assert bals == {"OPBD": ("0.00", "CRDT"), "CLBD": ("887.67", "CRDT")}
    entries = doc.findall(".//c:Ntry", namespaces=NS)
    assert [
        (
            e.findtext("c:Amt", namespaces=NS),
            e.findtext("c:CdtDbtInd", namespaces=NS),
            e.findtext("c:Sts/c:Cd", namespaces=NS),
        )
        for e in entries
    ] == [
        ("1000.00", "CRDT", "BOOK"),
        ("12.34", "DBIT", "BOOK"),
        ("100.00", "DBIT", "BOOK"),
        ("0.01", "CRDT", "BOOK"),
    ]
    assert entries[0].find("c:Amt", namespaces=NS).get("Ccy") == "CNY"
    assert (
        entries[1].findtext(".//c:RmtInf/c:Ustrd", namespaces=NS)
        == 'tea, "oolong" ; 第二行 — 12,5%'
    )
    ref = entries[1].findtext("c:AcctSvcrRef", namespaces=NS)
    assert ref == f"{tea['transfer_id']}/{tea['seq']}"
    assert entries[1].findtext(".//c:Refs/c:TxId", namespaces=NS) == tea["transfer_id"]
    assert entries[1].findtext("c:BkTxCd/c:Prtry/c:Cd", namespaces=NS) == "payment"

    report = verify_export(out, signing_key.public_key())
    assert report.ok, report.lines()


def test_filters_select_whole_transfers_and_still_verify(demo, tmp_path, signing_key, camt_schema):
    _day(demo)
    w = demo.demo_wallets
    # By wallet: every transfer from or to it, all of its entries; one statement.
    out = tmp_path / "wallet"
    ex.export(demo.db, out, ex.parse_filters(wallet=w["c"]), signing_key)
    rows = _csv(out / "journal.csv")
    assert {r["kind"] for r in rows} == {"funding", "payment"}
    assert all(str(w["c"]) in (r["from_wallet"], r["to_wallet"]) for r in rows)
    assert (
        len([r for r in rows if r["amount"] == "100.00"]) == 3
    )  # a cross-operator payment's three legs
    assert [p.name for p in (out / "camt053").glob("*.xml")] == [f"{w['c']}.xml"]
    assert [r["code"] for r in _csv(out / "balances.csv")] == [f"W:{w['c']}:ECNY"]
    report = verify_export(out, signing_key.public_key())
    assert report.ok, report.lines()
    assert json.loads((out / "manifest.json").read_text())["complete"] is False

    # By operator: BOC's transfers; statements of its wallets only.
    out = tmp_path / "boc"
    ex.export(demo.db, out, ex.parse_filters(operator="BOC", formats="jsonl,camt053"), signing_key)
    assert not (out / "journal.csv").exists()
    rows = [json.loads(x) for x in (out / "journal.jsonl").read_text().splitlines()]
    assert rows and all("BOC" in (r["from_operator"], r["to_operator"]) for r in rows)
    assert [p.name for p in (out / "camt053").glob("*.xml")] == [f"{w['c']}.xml"]
    report = verify_export(out, signing_key.public_key())
    assert report.ok, report.lines()

    # By time: only what was posted in the window; statements open at the balance before it.
    demo.ok("PUT", "/v1/sandbox/clock", json={"now": "2030-01-01T10:00:00+08:00"}, status=200)
    demo.ok(
        "POST",
        "/v1/transfers",
        key="ICBC",
        json={"from_wallet": w["a"], "to_wallet": w["b"], "amount": "7.00"},
    )
    demo.ok("PUT", "/v1/sandbox/clock", json={"now": "2030-01-02T10:00:00+08:00"}, status=200)
    demo.ok(
        "POST",
        "/v1/transfers",
        key="ICBC",
        json={"from_wallet": w["a"], "to_wallet": w["b"], "amount": "8.00"},
    )
    out = tmp_path / "day"
    ex.export(demo.db, out, ex.parse_filters("2030-01-01", "2030-01-02"), signing_key)
    rows = _csv(out / "journal.csv")
    assert [r["amount"] for r in rows] == ["7.00"]
    doc = etree.parse(str(out / "camt053" / f"{w['a']}.xml"))
    camt_schema.assertValid(doc)
    bals = {
        b.findtext("c:Tp/c:CdOrPrtry/c:Cd", namespaces=NS): b.findtext("c:Amt", namespaces=NS)
        for b in doc.iterfind(".//c:Bal", namespaces=NS)
    }
    assert bals == {"OPBD": "887.67", "CLBD": "880.67"}
    report = verify_export(out, signing_key.public_key())
    assert report.ok, report.lines()


def test_open_holds_appear_as_a_held_balance(demo, tmp_path, signing_key, camt_schema):
    """A hold's funds leave the wallet's account for the operator's escrow by a
    booked entry of kind "hold"; what is still held at the statement's end is a
    proprietary HELD balance."""
    from wallets.core.principal import SYSTEM
    from wallets.retail import holds

    a, b = demo.demo_wallets["a"], demo.demo_wallets["b"]
    open_hold = demo.db.write(
        lambda tx: holds.create(tx, SYSTEM, from_wallet_id=a, to_wallet_id=b, amount=2500)
    )
    voided = demo.db.write(
        lambda tx: holds.create(tx, SYSTEM, from_wallet_id=a, to_wallet_id=b, amount=100)
    )
    demo.db.write(holds.void, voided.id, SYSTEM)
    out = tmp_path / "holds"
    ex.export(demo.db, out, ex.parse_filters(wallet=a), signing_key)
    doc = etree.parse(str(out / "camt053" / f"{a}.xml"))
    camt_schema.assertValid(doc)
    kinds = [
        (
            e.findtext("c:BkTxCd/c:Prtry/c:Cd", namespaces=NS),
            e.findtext("c:Amt", namespaces=NS),
            e.findtext("c:CdtDbtInd", namespaces=NS),
            e.findtext("c:Sts/c:Cd", namespaces=NS),
        )
        for e in doc.iterfind(".//c:Ntry", namespaces=NS)
    ]
    assert kinds[-3:] == [
        ("hold", "25.00", "DBIT", "BOOK"),
        ("hold", "1.00", "DBIT", "BOOK"),
        ("void", "1.00", "CRDT", "BOOK"),
    ]
    bals = {
        b.findtext("c:Tp/c:CdOrPrtry/c:Cd", namespaces=NS)
        or b.findtext("c:Tp/c:CdOrPrtry/c:Prtry", namespaces=NS): b.findtext("c:Amt", namespaces=NS)
        for b in doc.iterfind(".//c:Bal", namespaces=NS)
    }
    assert bals == {"OPBD": "0.00", "CLBD": "975.00", "HELD": "25.00"}
    assert open_hold.status == "pending"
    assert verify_export(out, signing_key.public_key()).ok


def test_bad_filters_are_refused(demo, tmp_path, signing_key):
    import pytest

    from wallets.core.errors import DomainError

    for kwargs, code in (
        ({"operator": "NOPE"}, "operator_not_found"),
        ({"wallet": 999}, "wallet_not_found"),
        ({"from_": "yesterday"}, "validation_failed"),
        ({"from_": "2030-01-02", "to": "2030-01-01"}, "validation_failed"),
        ({"formats": "csv,pdf"}, "validation_failed"),
    ):
        with pytest.raises(DomainError) as err:
            ex.export(
                demo.db, tmp_path / code / str(len(kwargs)), ex.parse_filters(**kwargs), signing_key
            )
        assert err.value.code == code
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(DomainError, match="not empty"):
        ex.export(demo.db, tmp_path / "full", ex.parse_filters(), signing_key)


def _wait(demo, job_id: int, key="auditor") -> dict:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job = demo.ok("GET", f"/v1/audit/exports/{job_id}", key=key)
        if job["status"] in ("succeeded", "failed"):
            return job
        time.sleep(0.05)
    raise AssertionError(f"export job {job_id} did not finish: {job}")


def test_export_job_through_the_api(demo, tmp_path):
    _day(demo)
    r = demo.post("/v1/audit/exports", {"formats": ["csv", "camt053"]}, key="auditor", idem="exp-1")
    assert r.status_code == 202, r.get_data(as_text=True)
    job = r.get_json()
    assert job["status"] == "queued" and r.headers["Location"] == f"/v1/audit/exports/{job['id']}"
    job = _wait(demo, job["id"])
    assert job["status"] == "succeeded", job
    names = [f["name"] for f in job["files"]]
    assert (
        names[:3] == ["manifest.json", "journal.csv", "balances.csv"]
        and "audit_events.csv" in names
    )
    assert job["head_seq"] == demo.journal_count()

    # Download every file; each matches its listed size and SHA-256; then verify offline.
    import hashlib

    local = tmp_path / "download"
    for f in job["files"]:
        got = demo.get(f"/v1/audit/exports/{job['id']}/files/{f['name']}", key="auditor")
        assert got.status_code == 200, f["name"]
        assert len(got.data) == f["bytes"] and hashlib.sha256(got.data).hexdigest() == f["sha256"]
        (local / f["name"]).parent.mkdir(parents=True, exist_ok=True)
        (local / f["name"]).write_bytes(got.data)
    assert (
        demo.get(f"/v1/audit/exports/{job['id']}/files/journal.csv", key="auditor").mimetype
        == "text/csv"
    )
    pem = demo.ok("GET", "/v1/audit/digest", key="auditor")["public_key"]
    report = verify_export(local, dg.load_public_key(pem))
    assert report.ok, report.lines()

    # The job's manifest lists the audit log of the writes so far, this POST included.
    events = _csv(local / "audit_events.csv")
    assert events[-1]["path"] == "/v1/audit/exports" and events[-1]["status"] == "202"

    # A replay names the same job; no second job runs.
    again = demo.post(
        "/v1/audit/exports", {"formats": ["csv", "camt053"]}, key="auditor", idem="exp-1"
    )
    assert again.status_code == 202 and again.get_json()["id"] == job["id"]


def test_a_retry_starts_an_export_job_its_first_request_left_queued(demo, monkeypatch):
    """The job's row committed but the process never started it (it stopped, or
    the COMMIT's answer was lost): a retry with the same Idempotency-Key
    answers the same job and starts it; a job runs once however often it is
    started."""
    from wallets.audit.export import jobs
    from wallets.services import exports

    real_start = exports.start
    monkeypatch.setattr(exports, "start", lambda *args: None)
    first = demo.post("/v1/audit/exports", {"formats": ["csv"]}, key="auditor", idem="exp-lost")
    job_id = first.get_json()["id"]
    assert demo.ok("GET", f"/v1/audit/exports/{job_id}", key="auditor")["status"] == "queued"
    monkeypatch.setattr(exports, "start", real_start)
    again = demo.post("/v1/audit/exports", {"formats": ["csv"]}, key="auditor", idem="exp-lost")
    assert again.status_code == 202 and again.headers.get("Idempotent-Replayed") == "true"
    assert again.get_json()["id"] == job_id
    assert _wait(demo, job_id)["status"] == "succeeded"
    # Started again, a finished job is left as it is.
    cfg = demo.app.extensions["ecny"]["settings"]
    before = demo.ok("GET", f"/v1/audit/exports/{job_id}", key="auditor")
    ran = jobs.run_job(demo.db, job_id, cfg.export_dir, cfg.signing_key_path)
    assert ran.status == "succeeded"
    assert demo.ok("GET", f"/v1/audit/exports/{job_id}", key="auditor") == before


def test_export_job_errors_and_roles(demo):
    assert demo.get("/v1/audit/exports/999", key="auditor").get_json()["code"] == "export_not_found"
    r = demo.post("/v1/audit/exports", {"wallet": 999}, key="admin")
    assert r.status_code == 404 and r.get_json()["code"] == "wallet_not_found"
    r = demo.post("/v1/audit/exports", {"formats": ["pdf"]}, key="admin")
    assert r.status_code == 422 and "formats.0" in r.get_json()["errors"]
    r = demo.post("/v1/audit/exports", {"from": "2030-01-01T00:00:00"}, key="admin")
    assert r.status_code == 422 and "from" in r.get_json()["errors"]
    for role in ("ICBC", "central_bank"):
        assert demo.post("/v1/audit/exports", {}, key=role).status_code == 403
        assert demo.get("/v1/audit/exports/1", key=role).status_code == 403
    # A job that has not run: its files are not ready.
    from wallets.audit import export as exmod
    from wallets.core.principal import SYSTEM

    job = demo.db.write(exmod.create_job, exmod.parse_filters(), SYSTEM)
    r = demo.get(f"/v1/audit/exports/{job.id}/files/journal.csv", key="auditor")
    assert r.status_code == 409 and r.get_json()["code"] == "export_not_ready"
    settings = demo.app.extensions["ecny"]["settings"]
    stale = exmod.job_directory(settings.export_dir, job.id)
    stale.mkdir(parents=True)
    (stale / "left-over.csv").write_text("from a previous database")
    done = exmod.run_job(demo.db, job.id, settings.export_dir, settings.signing_key_path)
    assert done.status == "succeeded", done.error
    assert not (stale / "left-over.csv").exists()
    # A job that fails says why.
    bad = demo.db.write(exmod.create_job, exmod.parse_filters(), SYSTEM)
    (settings.export_dir.parent / "not-a-key.pem").write_text("garbage")
    failed = exmod.run_job(
        demo.db, bad.id, settings.export_dir, settings.export_dir.parent / "not-a-key.pem"
    )
    assert failed.status == "failed" and "cannot read the signing key" in failed.error
    assert demo.get(f"/v1/audit/exports/{bad.id}", key="auditor").get_json()["status"] == "failed"
    for name in ("nope.csv", "../manifest.json", "camt053/../../x"):
        r = demo.get(f"/v1/audit/exports/{job.id}/files/{name}", key="auditor")
        assert r.status_code == 404, name


def test_digest_endpoint_and_roles(demo):
    d = demo.ok("GET", "/v1/audit/digest", key="auditor")
    assert d["algorithm"] == "Ed25519" and d["sequence"] == demo.journal_count()
    assert dg.signature_valid(d, dg.load_public_key(d["public_key"]))
    assert demo.ok("GET", "/v1/audit/digest", key="central_bank")["public_key"] == d["public_key"]
    assert demo.get("/v1/audit/digest", key="ICBC").status_code == 403
    key_path = demo.app.extensions["ecny"]["settings"].signing_key_path
    assert key_path.stat().st_mode & 0o777 == 0o600
