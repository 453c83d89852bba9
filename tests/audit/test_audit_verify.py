"""`ecny audit verify`: offline, from the files alone. Every kind of tampering is
found, and the first bad row is named with its file and line."""

from __future__ import annotations

import csv
import io
import json
import shutil
from datetime import UTC, datetime

import pytest

from wallets.audit import digest as dg
from wallets.audit import export as ex
from wallets.audit.verify.journal import _as_dict, _fast_csv, _fast_json, _JournalChecks
from wallets.audit.verify.report import Check
from wallets.core import db as dbmod
from wallets.core.config import Settings
from wallets.core.principal import SYSTEM
from wallets.ledger.journal import HASH_TIME_FORMAT, entry_hash
from wallets.retail import payments
from wallets.seed import seed_demo


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """One unfiltered export of the demo plus a few payments (SQLite): every test
    tampers with its own copy. Journal line n+1 holds seq n."""
    root = tmp_path_factory.mktemp("verify")
    url = f"sqlite:///{root / 'ledger.sqlite3'}"
    dbmod.upgrade(url)
    db = dbmod.Database(url)
    seed_demo(db, Settings(database_url=url))
    key = dg.load_or_create_key(root / "cb.pem")
    (root / "early-digest.json").write_text(json.dumps(db.read(dg.take, key).as_dict()))
    for src, dst, fen, ref in (
        (1, 2, 1234, "tea, with a comma"),
        (2, 6, 50000, None),
        (9, 1, 7, "line\nbreak"),
        # Read as written: a CSV cell's CR LF is its own, not a line's end.
        # One fen: the least amount a row may hold.
        (1, 9, 1, "cr\r\nlf"),
    ):
        db.write(payments.pay, payments.PaymentRequest(src, dst, fen, ref), SYSTEM)
    ex.export(db, root / "export", ex.parse_filters(), key)
    (root / "cb.pub").write_text(dg.public_key_pem(key))
    db.dispose()
    return root


@pytest.fixture
def export_dir(base, tmp_path):
    target = tmp_path / "export"
    shutil.copytree(base / "export", target)
    return target


@pytest.fixture
def pub(base):
    return base / "cb.pub"


def _lines(path):
    return path.read_text(encoding="utf-8").split("\n")


def _rows(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _write_rows(path, rows):
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=ex.JOURNAL_FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")


def _line_of(path, seq: int) -> int:
    """The line a journal row starts on (a reference may hold a line break)."""
    lines = _lines(path)
    return next(n for n, line in enumerate(lines, start=1) if line.startswith(f"{seq},"))


def _first_bad(output: str) -> str:
    return next(line for line in output.splitlines() if line.startswith("first bad row: "))[
        len("first bad row: ") :
    ]


def test_an_untouched_export_verifies(export_dir, pub, cli, base, monkeypatch, tmp_path):
    out = cli("audit", "verify", export_dir, "--public-key", pub)
    assert "EXPORT VERIFIED" in out and "[FAIL]" not in out
    assert "the key given" in out
    assert "lies outside this filtered export" not in out  # complete: the chain is checked
    # Without --public-key, on the central bank's side: its own key file.
    monkeypatch.setenv("ECNY_SIGNING_KEY", str(base / "cb.pem"))
    out = cli("audit", "verify", export_dir)
    assert "this installation's central bank key" in out and "EXPORT VERIFIED" in out
    # Another installation's key is not the signer's.
    monkeypatch.setenv("ECNY_SIGNING_KEY", str(tmp_path / "other" / "cb.pem"))
    dg.load_or_create_key(tmp_path / "other" / "cb.pem")
    out = cli("audit", "verify", export_dir, code=1)
    assert "EXPORT VERIFIED" not in out and "not the key given" in out
    # With no key at all the verdict is never "verified": refused, or
    # UNAUTHENTICATED on request.
    monkeypatch.setenv("ECNY_SIGNING_KEY", str(tmp_path / "none" / "cb.pem"))
    assert "no --public-key" in cli("audit", "verify", export_dir, code=2)
    assert not (tmp_path / "none").exists()  # verify makes no key
    out = cli("audit", "verify", export_dir, "--integrity-only")
    assert "UNAUTHENTICATED" in out and "EXPORT VERIFIED" not in out


def _forge(export_dir, tmp_path, index=None):
    """Edit an amount (of the journal row at ``index``; default: the payment of
    wallet 1 to wallet 2 at the same operator, so that the ledger's invariants
    still hold), re-hash the chain, re-sign digest and manifest with a key of
    one's own and put that key in the manifest: an export that is intact."""
    from wallets.audit.export import manifest_message

    path = export_dir / "journal.csv"
    rows = _rows(path)
    if index is None:
        index = next(i for i, r in enumerate(rows) if r["reference"] == "tea, with a comma")
    rows[index]["amount"], rows[index]["amount_fen"] = "1.00", "100"
    prev = rows[index - 1]["hash"]
    for r in rows[index:]:
        r["prev_hash"] = prev
        r["hash"] = prev = _own_hash(r)
    _write_rows(path, rows)
    sums = {}
    for r in rows:
        sums.setdefault(r["debit_account"], [0, 0])[0] += int(r["amount_fen"])
        sums.setdefault(r["credit_account"], [0, 0])[1] += int(r["amount_fen"])
    balances = _rows(export_dir / "balances.csv")
    for b in balances:
        d, c = sums.get(b["code"], [0, 0])
        for k, fen in (("debits", d), ("credits", c), ("balance", c - d)):
            b[k + "_fen"] = str(fen)
            b[k] = ("-" if fen < 0 else "") + f"{abs(fen) // 100}.{abs(fen) % 100:02d}"
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=ex.BALANCE_FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(balances)
    (export_dir / "balances.csv").write_text(buf.getvalue(), encoding="utf-8")
    for name in ["journal.jsonl"] + [
        p.relative_to(export_dir).as_posix() for p in (export_dir / "camt053").iterdir()
    ]:
        (export_dir / name).unlink()
    manifest = json.loads((export_dir / "manifest.json").read_text())
    manifest["files"] = [
        f
        for f in manifest["files"]
        if f["name"]
        in ("journal.csv", "balances.csv", "audit_events.csv", "identity_reveals.jsonl")
    ]
    size, sha = ex.file_digest(path)
    next(f for f in manifest["files"] if f["name"] == "journal.csv").update(bytes=size, sha256=sha)
    size, sha = ex.file_digest(export_dir / "balances.csv")
    next(f for f in manifest["files"] if f["name"] == "balances.csv").update(bytes=size, sha256=sha)
    totals = {}
    for r in rows:
        t = totals.setdefault(r["asset"], [0, 0])
        t[0] += 1
        t[1] += int(r["amount_fen"])
    manifest["control_totals"] = {
        a: {"count": n, "amount": f"{fen // 100}.{fen % 100:02d}", "amount_fen": fen}
        for a, (n, fen) in sorted(totals.items())
    }
    manifest["range"]["last_hash"] = prev
    mine = dg.load_or_create_key(tmp_path / "forger.pem")
    digest = dg.sign(mine, len(rows), prev, manifest["digest"]["time"]).as_dict()
    manifest["digest"] = digest
    manifest["head"] = {"sequence": len(rows), "hash": prev}
    manifest.pop("signature")
    manifest["signature"] = {
        "algorithm": "Ed25519",
        "value": dg.sign_bytes(mine, manifest_message(manifest)),
    }
    (export_dir / "manifest.json").write_text(json.dumps(manifest))


def test_a_forged_export_resigned_with_its_own_key_is_not_verified(
    export_dir, pub, tmp_path, cli, base, monkeypatch
):
    """Issue 14 item 20: a forger re-signs with a key placed inside the export."""
    _forge(export_dir, tmp_path)
    # Intact, by the key it names: without the central bank's key no "verified".
    monkeypatch.setenv("ECNY_SIGNING_KEY", str(tmp_path / "none" / "cb.pem"))
    out = cli("audit", "verify", export_dir, code=2)
    assert "EXPORT VERIFIED" not in out and "no --public-key" in out
    # The central bank's own key file (no --public-key) refuses the forgery.
    monkeypatch.setenv("ECNY_SIGNING_KEY", str(base / "cb.pem"))
    out = cli("audit", "verify", export_dir, code=1)
    assert "EXPORT VERIFIED" not in out and "not the key given" in out
    monkeypatch.delenv("ECNY_SIGNING_KEY")
    out = cli("audit", "verify", export_dir, "--integrity-only")
    assert "EXPORT VERIFIED" not in out
    assert out.splitlines()[-1].startswith("UNAUTHENTICATED: the export is intact")
    # With the central bank's key the forgery is refused.
    out = cli("audit", "verify", export_dir, "--public-key", pub, code=1)
    assert "digest.public_key is not the key given" in out
    assert "EXPORT DOES NOT VERIFY" in out


def test_a_resigned_forgery_that_breaks_the_invariants_is_found_without_the_key(
    export_dir, tmp_path, cli
):
    """SPEC.md §9: verify checks that the invariants hold. One leg of an issuance
    made smaller, the chain re-hashed and the export re-signed: every file is
    intact, but the vault is below zero and what is outstanding is not what the
    tier-2 accounts hold, which even --integrity-only finds in balances.csv."""
    rows = _rows(export_dir / "journal.csv")
    index = next(
        i
        for i, r in enumerate(rows)
        if r["kind"] == "issuance" and r["credit_account"].endswith(":VAULT")
    )
    vault = rows[index]["credit_account"]
    _forge(export_dir, tmp_path, index)
    out = cli("audit", "verify", export_dir, "--integrity-only", code=1)
    assert "[FAIL] balances:" in out and "EXPORT DOES NOT VERIFY" in out
    line = next(
        n
        for n, row in enumerate(_lines(export_dir / "balances.csv"), 1)
        if row.startswith(f"{vault},")
    )
    assert _first_bad(out).startswith(f"balances.csv:{line}: {vault}: -")
    assert "below zero" in _first_bad(out)
    assert "balances.csv: e-CNY outstanding 45000000.00, but vaults, wallets" in out


def test_an_edited_amount_is_found_at_its_line(export_dir, pub, cli):
    path = export_dir / "journal.csv"
    lines = _lines(path)
    row = lines[6].split(",")  # seq 6
    row[6], row[7] = "1.00", "100"  # amount, amount_fen
    lines[6] = ",".join(row)
    path.write_text("\n".join(lines), encoding="utf-8")
    out = cli("audit", "verify", export_dir, "--public-key", pub, code=1)
    assert _first_bad(out).startswith("journal.csv:7: seq 6: the hash does not recompute")
    assert "EXPORT DOES NOT VERIFY" in out


def test_an_amount_edited_in_decimal_only_is_found(export_dir, pub, cli):
    path = export_dir / "journal.csv"
    lines = _lines(path)
    row = lines[3].split(",")
    row[6] = row[6].replace(".00", ".01")
    lines[3] = ",".join(row)
    path.write_text("\n".join(lines), encoding="utf-8")
    out = cli("audit", "verify", export_dir, "--public-key", pub, code=1)
    assert _first_bad(out).startswith("journal.csv:4: seq 3: amount")


def test_a_removed_row_is_found(export_dir, pub, cli):
    path = export_dir / "journal.csv"
    lines = _lines(path)
    del lines[10]  # seq 10
    path.write_text("\n".join(lines), encoding="utf-8")
    out = cli("audit", "verify", export_dir, "--public-key", pub, code=1)
    assert _first_bad(out) == "journal.csv:11: seq 11 follows seq 9: entry 10 is missing"


def test_a_removed_last_row_is_found(export_dir, pub, cli):
    path = export_dir / "journal.csv"
    rows = _rows(path)
    _write_rows(path, rows[:-1])
    out = cli("audit", "verify", export_dir, "--public-key", pub, code=1)
    last = _line_of(path, len(rows) - 1)
    n, end, head = len(rows), rows[-2]["hash"][:16], rows[-1]["hash"][:16]
    assert (
        f"\n  journal.csv:{last}: the chain ends at seq {n - 1} hash {end}... but the signed head"
        f" is seq {n} hash {head}...\n" in out
    )
    assert "lies outside this filtered export" not in out  # complete: a row is missing


def test_an_inserted_row_is_found(export_dir, pub, cli):
    """A forged row with a well-formed hash that chains to the row before it:
    the row after it no longer fits."""
    path = export_dir / "journal.csv"
    rows = _rows(path)
    forged = dict(rows[4], amount="999.00", amount_fen="99900", seq=str(int(rows[4]["seq"]) + 1))
    forged["prev_hash"] = rows[4]["hash"]
    forged["hash"] = _own_hash(forged)
    _write_rows(path, rows[:5] + [forged] + rows[5:])
    out = cli("audit", "verify", export_dir, "--public-key", pub, code=1)
    assert _first_bad(out).startswith(
        "journal.csv:8: seq 6 after seq 6 (line 7): rows are reordered, repeated or inserted"
    )


def test_a_duplicated_row_is_found(export_dir, pub, cli):
    path = export_dir / "journal.csv"
    lines = _lines(path)
    lines.insert(4, lines[3])
    path.write_text("\n".join(lines), encoding="utf-8")
    out = cli("audit", "verify", export_dir, "--public-key", pub, code=1)
    assert _first_bad(out).startswith("journal.csv:5: seq 3 after seq 3 (line 4)")


def test_swapped_rows_are_found(export_dir, pub, cli):
    path = export_dir / "journal.csv"
    lines = _lines(path)
    lines[12], lines[13] = lines[13], lines[12]
    path.write_text("\n".join(lines), encoding="utf-8")
    out = cli("audit", "verify", export_dir, "--public-key", pub, code=1)
    assert _first_bad(out) == (
        "journal.csv:13: seq 13 (line 13) and seq 12 (line 14) are out of order: "
        "entry 12 comes after entry 13"
    )
    assert "missing" not in out and "after seq 13" not in out


def test_rows_far_apart_swapped_are_out_of_order_and_a_real_gap_is_missing(export_dir, pub, cli):
    path = export_dir / "journal.csv"
    lines = _lines(path)
    lines[5], lines[9] = lines[9], lines[5]  # seq 5 and seq 9
    del lines[14]  # seq 14
    path.write_text("\n".join(lines), encoding="utf-8")
    out = cli("audit", "verify", export_dir, "--public-key", pub, code=1)
    # The finding names both entries by seq (not a seq by a line number).
    assert _first_bad(out) == (
        "journal.csv:6: seq 9 (line 6) and seq 6 (line 7) are out of order: "
        "entry 6 comes after entry 9"
    )
    assert "journal.csv:15: seq 15 follows seq 13: entry 14 is missing" in out


def test_a_rewritten_chain_does_not_end_at_the_signed_head(export_dir, pub, cli):
    """The attacker changes a row, recomputes every hash after it and fixes the
    manifest's figures — but cannot sign the new head."""
    path = export_dir / "journal.csv"
    rows = _rows(path)
    rows[7]["amount"], rows[7]["amount_fen"] = "1.00", "100"
    prev = rows[6]["hash"]
    for r in rows[7:]:
        r["prev_hash"] = prev
        r["hash"] = prev = _own_hash(r)
    _write_rows(path, rows)
    (export_dir / "journal.jsonl").unlink()
    manifest = json.loads((export_dir / "manifest.json").read_text())
    manifest["files"] = [f for f in manifest["files"] if f["name"] != "journal.jsonl"]
    size, sha = ex.file_digest(path)
    next(f for f in manifest["files"] if f["name"] == "journal.csv").update(bytes=size, sha256=sha)
    manifest["range"]["last_hash"] = prev
    (export_dir / "manifest.json").write_text(json.dumps(manifest))
    out = cli("audit", "verify", export_dir, "--public-key", pub, code=1)
    assert f"journal.csv:{_line_of(path, len(rows))}: the chain ends at seq {len(rows)}" in out
    assert "but the signed head is" in out
    assert "the manifest's signature does not verify" in out


def test_an_edited_manifest_is_found(export_dir, pub, cli):
    path = export_dir / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["control_totals"]["ECNY"]["amount_fen"] += 1
    path.write_text(json.dumps(manifest, indent=2))
    out = cli("audit", "verify", export_dir, "--public-key", pub, code=1)
    assert "manifest.json: the manifest's signature does not verify" in out
    assert "manifest.json: control_totals.ECNY is" in out


def test_an_edited_row_count_in_the_manifest_is_found(export_dir, pub, cli):
    path = export_dir / "manifest.json"
    manifest = json.loads(path.read_text())
    next(f for f in manifest["files"] if f["name"] == "journal.csv")["rows"] -= 1
    path.write_text(json.dumps(manifest, indent=2))
    out = cli("audit", "verify", export_dir, "--public-key", pub, code=1)
    assert "journal.csv: " in out and "rows, the manifest says" in out


def test_a_wrong_public_key_is_refused(export_dir, tmp_path, cli):
    other = tmp_path / "other.pub"
    other.write_text(dg.public_key_pem(dg.load_or_create_key(tmp_path / "other.pem")))
    out = cli("audit", "verify", export_dir, "--public-key", other, code=1)
    assert "digest.public_key is not the key given" in out
    assert (
        "digest: the signature over sequence" in out and "does not verify with the key given" in out
    )


def test_a_key_in_base64_is_accepted_and_garbage_is_refused(export_dir, pub, tmp_path, cli):
    import base64

    from cryptography.hazmat.primitives import serialization

    raw = dg.load_public_key(pub.read_text()).public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    b64 = tmp_path / "cb.b64"
    b64.write_text(base64.b64encode(raw).decode())
    assert "EXPORT VERIFIED" in cli("audit", "verify", export_dir, "--public-key", b64)
    junk = tmp_path / "junk"
    junk.write_text("not a key")
    assert "not an Ed25519 public key" in cli(
        "audit", "verify", export_dir, "--public-key", junk, code=1
    )


def test_an_edited_jsonl_row_is_found(export_dir, pub, cli):
    path = export_dir / "journal.jsonl"
    lines = _lines(path)
    row = json.loads(lines[4])
    row["to_wallet"] = 13
    lines[4] = json.dumps(row)
    path.write_text("\n".join(lines), encoding="utf-8")
    out = cli("audit", "verify", export_dir, "--public-key", pub, code=1)
    assert _first_bad(out) == "journal.jsonl:5: differs from journal.csv line 6 in to_wallet"


def test_an_edited_reference_is_found_though_no_hash_covers_it(export_dir, pub, cli):
    """Transfer fields are outside the entry hash; the file's SHA-256 in the signed
    manifest covers them."""
    path = export_dir / "journal.csv"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("tea, with a comma", "tea, with a pomma"), encoding="utf-8")
    out = cli("audit", "verify", export_dir, "--public-key", pub, code=1)
    assert "journal.csv: SHA-256 differs from the manifest" in out


def test_an_edited_balance_is_found(export_dir, pub, cli):
    path = export_dir / "balances.csv"
    lines = _lines(path)
    i = next(n for n, line in enumerate(lines) if line.startswith("W:1:ECNY,"))
    row = lines[i].split(",")
    row[6], row[9] = (
        str(int(row[6].split(".")[0]) + 1) + ".00",
        str(int(row[9]) + 100),
    )  # credits, credits_fen
    lines[i] = ",".join(row)
    path.write_text("\n".join(lines), encoding="utf-8")
    out = cli("audit", "verify", export_dir, "--public-key", pub, code=1)
    assert f"balances.csv:{i + 1}: W:1:ECNY:" in out


def test_an_edited_statement_is_found(export_dir, pub, cli):
    path = export_dir / "camt053" / "1.xml"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace("<CdtDbtInd>DBIT</CdtDbtInd>", "<CdtDbtInd>CRDT</CdtDbtInd>", 1),
        encoding="utf-8",
    )
    out = cli("audit", "verify", export_dir, "--public-key", pub, code=1)
    assert "camt053/1.xml: closing balance is not opening balance plus booked entries" in out


def test_an_invalid_statement_is_found_at_its_line(export_dir, pub, cli):
    path = export_dir / "camt053" / "2.xml"
    lines = _lines(path)
    i = next(n for n, line in enumerate(lines) if "<Ntry" in line)
    lines[i] = lines[i].replace("<Sts><Cd>BOOK</Cd></Sts>", "<Sts><Cd>BOOKED</Cd></Sts>")
    path.write_text("\n".join(lines), encoding="utf-8")
    out = cli("audit", "verify", export_dir, "--public-key", pub, code=1)
    assert f"camt053/2.xml:{i + 1}: not a valid camt.053.001.08 statement" in out


def test_missing_and_extra_files_are_found(export_dir, pub, cli):
    (export_dir / "camt053" / "3.xml").unlink()
    (export_dir / "notes.txt").write_text("hello")
    out = cli("audit", "verify", export_dir, "--public-key", pub, code=1)
    assert "camt053/3.xml: listed in the manifest but missing" in out
    assert "notes.txt: not listed in the manifest" in out


def test_not_an_export(tmp_path, cli):
    assert "manifest.json: missing" in cli("audit", "verify", tmp_path, "--integrity-only", code=1)


def test_an_earlier_digest_is_still_in_the_chain(export_dir, base, pub, cli):
    early = base / "early-digest.json"
    seq = json.loads(early.read_text())["sequence"]
    out = cli("audit", "verify", export_dir, "--public-key", pub, "--digest", early)
    assert "[ok] earlier digests: 1 earlier digest(s)" in out and "EXPORT VERIFIED" in out
    # A digest whose head was edited no longer carries a valid signature.
    forged = json.loads(early.read_text())
    forged["head_hash"] = "f" * 64
    (export_dir.parent / "forged.json").write_text(json.dumps(forged))
    out = cli(
        "audit",
        "verify",
        export_dir,
        "--public-key",
        pub,
        "--digest",
        export_dir.parent / "forged.json",
        code=1,
    )
    assert f"digest: digest of seq {seq}" in out and "signature does not verify" in out


def test_a_chain_rewritten_since_an_earlier_digest_is_found(export_dir, base, pub, cli):
    """Rewriting history before a head that someone kept a digest of is found at the
    kept head's row, even when the attacker re-signs nothing and fixes everything else."""
    early = base / "early-digest.json"
    seq = json.loads(early.read_text())["sequence"]
    path = export_dir / "journal.csv"
    rows = _rows(path)
    rows[2]["amount"], rows[2]["amount_fen"] = "1.00", "100"
    prev = rows[1]["hash"]
    for r in rows[2:]:
        r["prev_hash"] = prev
        r["hash"] = prev = _own_hash(r)
    _write_rows(path, rows)
    out = cli("audit", "verify", export_dir, "--public-key", pub, "--digest", early, code=1)
    assert f"journal.csv:{_line_of(path, seq)}: seq {seq} has hash" in out
    assert "the chain was rewritten since" in out


def test_a_malformed_row_is_named(export_dir, pub, cli):
    path = export_dir / "journal.csv"
    lines = _lines(path)
    lines[2] = "two" + lines[2][1:]
    path.write_text("\n".join(lines), encoding="utf-8")
    out = cli("audit", "verify", export_dir, "--public-key", pub, code=1)
    assert _first_bad(out) == "journal.csv:3: malformed row: seq is not an integer: 'two'"
    assert out.count("\n  journal.csv:3:") == 1  # reported once, though read twice


def test_without_csv_the_jsonl_chain_is_checked(export_dir, pub, cli):
    (export_dir / "journal.csv").unlink()
    manifest = json.loads((export_dir / "manifest.json").read_text())
    manifest["files"] = [f for f in manifest["files"] if f["name"] != "journal.csv"]
    (export_dir / "manifest.json").write_text(json.dumps(manifest))
    path = export_dir / "journal.jsonl"
    lines = _lines(path)
    row = json.loads(lines[8])
    row["amount_fen"] += 1
    row["amount"] = f"{row['amount_fen'] // 100}.{row['amount_fen'] % 100:02d}"
    lines[8] = json.dumps(row)
    path.write_text("\n".join(lines), encoding="utf-8")
    out = cli("audit", "verify", export_dir, "--public-key", pub, code=1)
    assert (
        _first_bad(out)
        == "journal.jsonl:9: seq 9: the hash does not recompute from the row (the row was changed)"
    )
    assert "manifest.json: the manifest's signature does not verify" in out


def test_an_edited_statement_entry_is_named(export_dir, pub, cli):
    """Issue 14 item 23: a statement's bad entry is named by its NtryRef and place."""
    path = export_dir / "camt053" / "1.xml"
    lines = _lines(path)
    entry_lines = [n for n, line in enumerate(lines) if line.startswith("<Ntry")]
    i = entry_lines[1]  # the second entry
    ref = lines[i].split("<NtryRef>")[1].split("<")[0]
    amount = lines[i].split('<Amt Ccy="CNY">')[1].split("<")[0]
    lines[i] = lines[i].replace(f">{amount}<", ">0.01<")
    path.write_text("\n".join(lines), encoding="utf-8")
    out = cli("audit", "verify", export_dir, "--public-key", pub, code=1)
    assert f"camt053/1.xml:{i + 1}: entry NtryRef {ref} (entry 2 of the statement): 0.01 " in out, (
        out
    )
    assert f"but the journal's entry {ref} is {amount}" in out


def test_a_row_missing_from_the_jsonl_copy_is_named_in_the_csv(export_dir, pub, cli):
    path = export_dir / "journal.jsonl"
    lines = [line for line in _lines(path) if line]
    path.write_text("\n".join(lines[:-1]) + "\n", encoding="utf-8")
    out = cli("audit", "verify", export_dir, "--public-key", pub, code=1)
    line = _line_of(export_dir / "journal.csv", json.loads(lines[-1])["seq"])
    assert f"journal.csv:{line}: a row that journal.jsonl does not have" in out


def test_the_fast_paths_read_every_well_formed_row_as_the_checked_reading_does(export_dir):
    """Every row of an untouched export takes the fast path (none falls back to the
    slower reading), and the fast path gives what the checked reading gives."""
    checks = _JournalChecks(export_dir, None, [])
    with open(export_dir / "journal.csv", newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        next(reader)
        csv_rows = [raw for raw in reader if raw]
    json_rows = [json.loads(line) for line in _lines(export_dir / "journal.jsonl") if line.strip()]
    assert len(csv_rows) == len(json_rows) > 10
    for n, (raw_csv, raw_json) in enumerate(zip(csv_rows, json_rows, strict=True), start=2):
        typed_csv = checks._typed(_as_dict(raw_csv), "journal.csv", n, None, from_csv=True)
        typed_json = checks._typed(raw_json, "journal.jsonl", n, None, from_csv=False)
        assert _fast_csv(raw_csv) == typed_csv != {}
        assert _fast_json(raw_json) == typed_json == typed_csv
    assert checks.report.problems == []


def test_a_row_beyond_the_signed_head_is_named_at_its_line(export_dir, pub, cli):
    path = export_dir / "journal.csv"
    rows = _rows(path)
    last = rows[-1]
    extra = dict(last, seq=str(int(last["seq"]) + 1), prev_hash=last["hash"])
    extra["hash"] = _own_hash(extra)
    _write_rows(path, [*rows, extra])
    out = cli("audit", "verify", export_dir, "--public-key", pub, code=1)
    line = _line_of(path, int(extra["seq"]))
    assert (
        f"journal.csv:{line}: seq {extra['seq']} is beyond the signed head (seq {len(rows)})" in out
    )


def test_a_filtered_export_whose_last_row_is_the_head_seq_with_another_hash(export_dir, pub, cli):
    """Not complete: the rows need not reach the signed head, but a last row of the
    head's seq must carry its hash; the finding names that row's line."""
    manifest_path = export_dir / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["complete"] = False
    manifest_path.write_text(json.dumps(manifest))
    path = export_dir / "journal.csv"
    rows = _rows(path)
    rows[-1]["hash"] = "0" * 64
    _write_rows(path, rows)
    out = cli("audit", "verify", export_dir, "--public-key", pub, code=1)
    line = _line_of(path, len(rows))
    assert f"journal.csv:{line}: the last row is the signed head's seq but not its hash" in out


def test_the_copies_are_compared_over_every_row(export_dir, pub, cli):
    out = cli("audit", "verify", export_dir, "--public-key", pub)
    n = len(_rows(export_dir / "journal.csv"))
    assert (
        f"[ok] journal copies: journal.jsonl and journal.csv compared row by row ({n} rows)" in out
    )
    totals: dict[str, list[int]] = {}
    for r in _rows(export_dir / "journal.csv"):
        t = totals.setdefault(r["asset"], [0, 0])
        t[0] += 1
        t[1] += int(r["amount_fen"])
    detail = ", ".join(
        f"{a}: {n} entries, {fen // 100}.{fen % 100:02d}" for a, (n, fen) in sorted(totals.items())
    )
    assert f"\n[ok] control totals: {detail}\n" in out


def test_a_row_only_the_jsonl_copy_has_is_named_at_its_line(export_dir, pub, cli):
    path = export_dir / "journal.csv"
    rows = _rows(path)
    _write_rows(path, rows[:-1])
    out = cli("audit", "verify", export_dir, "--public-key", pub, code=1)
    line = len([x for x in _lines(export_dir / "journal.jsonl") if x])
    assert f"journal.jsonl:{line}: a row that journal.csv does not have" in out
    compared = f"journal.jsonl and journal.csv compared row by row ({line} rows)"
    assert f"[FAIL] journal copies: {compared}" in out


def test_a_jsonl_line_that_is_not_an_object_is_named(export_dir, pub, cli):
    path = export_dir / "journal.jsonl"
    lines = _lines(path)
    row = json.loads(lines[4])
    lines[4] = "[1, 2]"
    path.write_text("\n".join(lines), encoding="utf-8")
    out = cli("audit", "verify", export_dir, "--public-key", pub, code=1)
    assert "journal.jsonl:5: not a JSON object: not an object" in out
    # The copies are compared up to that line, named there too.
    assert "journal.jsonl:5: differs from journal.csv line 6 in " in out
    assert (
        "[FAIL] journal copies: journal.jsonl and journal.csv compared row by row (5 rows)" in out
    )
    # Fields of a row that no hash covers, edited in one copy: each named.
    lines[4] = json.dumps({**row, "kind": "refund", "to_operator": "X"})
    path.write_text("\n".join(lines), encoding="utf-8")
    out = cli("audit", "verify", export_dir, "--public-key", pub, code=1)
    assert "journal.jsonl:5: differs from journal.csv line 6 in kind, to_operator\n" in out


def test_a_manifest_that_lists_no_journal_is_named(export_dir, pub, cli):
    manifest_path = export_dir / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["files"] = [
        f for f in manifest["files"] if f["name"] not in ("journal.csv", "journal.jsonl")
    ]
    manifest_path.write_text(json.dumps(manifest))
    (export_dir / "journal.csv").unlink()
    (export_dir / "journal.jsonl").unlink()
    out = cli("audit", "verify", export_dir, "--public-key", pub, code=1)
    assert "manifest.json: lists no journal file (journal.csv or journal.jsonl)" in out
    assert "[FAIL] journal chain" in out


def test_a_csv_row_read_the_slow_way_has_no_value_for_its_empty_fields(export_dir):
    """A row the fast path leaves (here an extra trailing cell, which the checked
    reading ignores as csv.DictReader does) reads its empty optional fields as
    None, as the fast path and journal.jsonl do."""
    checks = _JournalChecks(export_dir, None, [])
    with open(export_dir / "journal.csv", newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        next(reader)
        raw = next(r for r in reader if r and r[ex.JOURNAL_FIELDS.index("from_wallet")] == "")
    slow = checks._typed(_as_dict([*raw, "extra"]), "journal.csv", 2, None, from_csv=True)
    assert slow == _fast_csv(raw) and slow["from_wallet"] is None


def test_the_kinds_the_verifier_lets_go_below_zero_are_the_ledgers(base):
    """balances.csv carries no may_go_negative: the verifier's NEGATIVE_KINDS must
    be exactly the kinds the ledger creates with it (the demo has one of each
    operator account, the central bank's, a casino's chip issuance, wallets)."""
    from wallets.core.schema import accounts
    from wallets.ledger.accounts import HOLDING_KINDS, NEGATIVE_KINDS

    db = dbmod.Database(f"sqlite:///{base / 'ledger.sqlite3'}")
    try:
        rows = db.read(
            lambda tx: tx.conn.execute(
                accounts.select().with_only_columns(accounts.c.kind, accounts.c.may_go_negative)
            ).all()
        )
    finally:
        db.dispose()
    kinds = {kind for kind, _ in rows}
    assert kinds >= NEGATIVE_KINDS
    assert {"vault", "wallet", "holds", "offline", "offline_pending"} <= kinds
    assert all(bool(negative) == (kind in NEGATIVE_KINDS) for kind, negative in rows), rows
    assert not set(HOLDING_KINDS) & NEGATIVE_KINDS


def _a_row(export_dir) -> tuple[list[str], dict]:
    """A journal row with no wallets, as journal.csv and journal.jsonl hold it."""
    with open(export_dir / "journal.csv", newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        next(reader)
        raw = next(r for r in reader if r and r[ex.JOURNAL_FIELDS.index("from_wallet")] == "")
    seq = int(raw[0])
    lines = [line for line in _lines(export_dir / "journal.jsonl") if line.strip()]
    return raw, next(json.loads(x) for x in lines if json.loads(x)["seq"] == seq)


@pytest.mark.parametrize(
    ("field", "csv_cell", "csv_problem", "json_value", "json_problem"),
    [
        ("kind", "", "kind is empty", "", "kind is empty"),
        ("posted_at", "", "posted_at is empty", None, "posted_at is empty"),
        (
            "amount_fen",
            "1.5",
            "amount_fen is not an integer: '1.5'",
            "150",
            "amount_fen is not an integer: '150'",
        ),
        ("seq", "X7", "seq is not an integer: 'X7'", True, "seq is not an integer: True"),
        (
            "to_wallet",
            "-",
            "to_wallet is not an integer: '-'",
            2.0,
            "to_wallet is not an integer: 2.0",
        ),
    ],
)
def test_the_checked_reading_names_each_malformed_field(
    export_dir, field, csv_cell, csv_problem, json_value, json_problem
):
    raw, row = _a_row(export_dir)
    i = ex.JOURNAL_FIELDS.index(field)
    for name, bad, problem in (
        ("journal.csv", _as_dict([*raw[:i], csv_cell, *raw[i + 1 :]]), csv_problem),
        ("journal.jsonl", {**row, field: json_value}, json_problem),
    ):
        checks, c = _JournalChecks(export_dir, None, []), Check("journal chain")
        assert checks._typed(bad, name, 9, c, from_csv=name == "journal.csv") == {}
        got = [(p.file, p.line, p.message) for p in checks.report.problems]
        assert not c.ok and got == [(name, 9, f"malformed row: {problem}")]


def test_the_checked_reading_takes_signed_integers_and_quoted_text_as_written(export_dir):
    """The fast paths leave a negative integer and a reference written with the
    CSV's leading quote to the checked reading: it reads them (the chain's checks
    then judge the values), and unquotes the CSV's reference alone."""
    raw, row = _a_row(export_dir)
    checks, c = _JournalChecks(export_dir, None, []), Check("journal chain")
    fields = ex.JOURNAL_FIELDS
    cells = dict(zip(fields, raw, strict=True))
    cells.update(amount_fen="-5", kind="'payment", reference="''=quoted")
    assert _fast_csv(list(cells.values())) is None
    got = checks._typed(_as_dict(list(cells.values())), "journal.csv", 2, c, from_csv=True)
    assert (got["amount_fen"], got["kind"], got["reference"]) == (-5, "'payment", "'=quoted")
    json_row = {**row, "amount_fen": -5, "reference": "'=as is", "kind": "'payment"}
    assert _fast_json(json_row) is not None  # a JSON int is read as it is, negative too
    got = checks._typed(json_row, "journal.jsonl", 2, c, from_csv=False)
    assert (got["amount_fen"], got["kind"], got["reference"]) == (-5, "'payment", "'=as is")
    assert c.ok and checks.report.problems == []


_NOT_FOR_THE_FAST_JSON = {
    "seq": ["1", True, None],
    "transfer_id": [None, 2.0],
    "amount_fen": [1.5, "100", False],
    "kind": [5, ""],
    "debit_account": [None, ""],
    "credit_account": [1, ""],
    "asset": [None, ""],
    "amount": [1.0, ""],
    "posted_at": [0, ""],
    "prev_hash": [None, ""],
    "hash": [[], ""],
    "from_wallet": ["3", 2.5, True],
    "to_wallet": ["3", 1.0],
    "from_operator": [5, False],
    "to_operator": [5, []],
    "reference": [5, {}],
}
_NOT_FOR_THE_FAST_CSV = {
    "seq": ["x", "", "-1", "1.0"],
    "transfer_id": ["", "²"],
    "amount_fen": ["1.5", "-100"],
    "kind": [""],
    "debit_account": [""],
    "credit_account": [""],
    "asset": [""],
    "amount": [""],
    "posted_at": [""],
    "prev_hash": [""],
    "hash": [""],
    "from_wallet": ["a", "-1"],
    "to_wallet": ["b", " 2"],
}


def test_the_fast_paths_leave_every_unusual_field_to_the_checked_reading(export_dir):
    """One field of a well-formed row made unusual (another type, empty, signed)
    and the fast path gives up (None), so that the checked reading names it."""
    raw, row = _a_row(export_dir)
    assert _fast_json(row) is not None and _fast_csv(raw) is not None
    for field, values in _NOT_FOR_THE_FAST_JSON.items():
        for value in values:
            assert _fast_json({**row, field: value}) is None, (field, value)
    for field, values in _NOT_FOR_THE_FAST_CSV.items():
        i = ex.JOURNAL_FIELDS.index(field)
        for value in values:
            assert _fast_csv([*raw[:i], value, *raw[i + 1 :]]) is None, (field, value)


def test_the_fast_paths_take_a_row_with_no_optional_field(export_dir):
    """Neither wallets, nor operators, nor a reference: still a well-formed row,
    read by the fast paths as the checked reading reads it."""
    raw, row = _a_row(export_dir)
    checks = _JournalChecks(export_dir, None, [])
    optional = ("from_wallet", "to_wallet", "from_operator", "to_operator", "reference")
    bare_json = {**row, **dict.fromkeys(optional)}
    typed = checks._typed(bare_json, "journal.jsonl", 2, None, from_csv=False)
    assert typed != {} and all(typed[k] is None for k in optional)
    assert _fast_json(bare_json) == typed
    bare_csv = ["" if k in optional else v for k, v in zip(ex.JOURNAL_FIELDS, raw, strict=True)]
    assert (
        _fast_csv(bare_csv)
        == checks._typed(_as_dict(bare_csv), "journal.csv", 2, None, from_csv=True)
        == typed
    )


@pytest.mark.parametrize("header", ["", "seq,transfer_id,kind\n"])
def test_a_journal_without_its_header_is_named_at_line_1(export_dir, pub, cli, header):
    path = export_dir / "journal.csv"
    path.write_text(header, encoding="utf-8")
    out = cli("audit", "verify", export_dir, "--public-key", pub, code=1)
    assert f"\n  journal.csv:1: header is not {','.join(ex.JOURNAL_FIELDS)}\n" in out
    assert "[FAIL] journal chain" in out


def test_an_untouched_export_is_read_by_the_fast_paths_alone(export_dir, monkeypatch):
    """Each row at the line it starts on (a reference may hold a line break), and
    none read the slow way."""

    def slow(*args, **kw):
        raise AssertionError("a well-formed row was read the slow way")

    monkeypatch.setattr(_JournalChecks, "_typed", slow)
    checks, c = _JournalChecks(export_dir, None, []), Check("journal chain")
    csv_rows = list(checks._rows("journal.csv", c))
    json_rows = list(checks._rows("journal.jsonl", c))
    assert c.ok and checks.report.problems == []
    path = export_dir / "journal.csv"
    assert [r.line for r in csv_rows] == [_line_of(path, r.values["seq"]) for r in csv_rows]
    assert [r.line for r in json_rows] == list(range(1, len(json_rows) + 1))
    assert [r.values for r in csv_rows] == [r.values for r in json_rows]
    assert len(csv_rows) == len(_rows(path)) > 10


def test_blank_lines_and_extra_cells_leave_the_rows_as_they_are(export_dir, pub, cli):
    """csv.DictReader's reading: a blank line is skipped, a cell beyond the fields
    ignored; the rows still chain, and the copies still agree."""
    path = export_dir / "journal.csv"
    lines = path.read_bytes().decode().split("\n")  # a reference's CR LF kept
    line = _line_of(path, 5)
    lines[line - 1] += ",extra"
    lines.insert(line + 3, "")
    path.write_bytes("\n".join(lines).encode())
    out = cli("audit", "verify", export_dir, "--public-key", pub, code=1)
    n = len([x for x in _lines(export_dir / "journal.jsonl") if x])
    assert f"[ok] journal chain: journal.csv: {n} rows, seq 1..{n}; ends at the signed head" in out
    assert "[ok] journal copies" in out
    assert "EXPORT DOES NOT VERIFY: 1 problem(s)" in out  # the file changed, no more
    assert _first_bad(out) == "journal.csv: SHA-256 differs from the manifest: the file was changed"


def _jsonl_only(export_dir):
    (export_dir / "journal.csv").unlink()
    manifest = json.loads((export_dir / "manifest.json").read_text())
    manifest["files"] = [f for f in manifest["files"] if f["name"] != "journal.csv"]
    (export_dir / "manifest.json").write_text(json.dumps(manifest))
    return export_dir / "journal.jsonl"


def test_a_jsonl_journal_is_read_the_slow_way_past_a_bad_line(export_dir, pub, cli):
    path = _jsonl_only(export_dir)
    lines = path.read_bytes().decode().split("\n")
    n = len([x for x in lines if x])
    lines[4] = "[1, 2]"
    row = json.loads(lines[8])
    lines[8] = json.dumps({**row, "seq": str(row["seq"])})
    path.write_bytes("\n".join(lines).encode())
    out = cli("audit", "verify", export_dir, "--public-key", pub, code=1)
    problems = [x.strip() for x in out.splitlines() if x.startswith("  journal.jsonl:")]
    assert "journal.jsonl:5: not a JSON object: not an object" in problems
    assert "journal.jsonl:9: malformed row: seq is not an integer: '9'" in problems
    # Every other row was read: the two bad ones are all that is missing.
    assert f"  journal.jsonl: {n - 2} rows, the manifest says {n}" in out


def test_a_row_of_no_amount_and_a_row_of_another_time_format_are_named(export_dir, pub, cli):
    path = export_dir / "journal.csv"
    rows = _rows(path)
    rows[3].update(amount="0.00", amount_fen="0")
    rows[6]["posted_at"] = rows[6]["posted_at"].replace("T", " ")
    _write_rows(path, rows)
    out = cli("audit", "verify", export_dir, "--public-key", pub, code=1)
    assert _first_bad(out) == "journal.csv:5: seq 4: amount 0.00 does not match amount_fen 0"
    at = rows[6]["posted_at"]
    assert f"\n  journal.csv:8: seq 7: posted_at {at!r} is not {HASH_TIME_FORMAT}\n" in out
    # The rows after it still chain to it: nothing is missing, nothing out of order.
    assert "missing" not in out and "out of order" not in out


def test_a_first_row_off_the_genesis_hash_and_a_chain_without_its_start(export_dir, pub, cli):
    path = export_dir / "journal.csv"
    rows = _rows(path)
    rows[0]["prev_hash"] = "1" * 64
    _write_rows(path, rows)
    out = cli("audit", "verify", export_dir, "--public-key", pub, code=1)
    assert "\n  journal.csv:2: seq 1 does not start from the genesis hash\n" in out
    _write_rows(path, rows[2:])
    out = cli("audit", "verify", export_dir, "--public-key", pub, code=1)
    msg = "journal.csv:2: the chain starts at seq 3, not 1: rows are missing before it"
    assert _first_bad(out) == msg


def test_a_gap_told_at_the_next_row_whatever_that_row_is(export_dir, pub, cli):
    """A gap (seq 5, then 8) is told at the next row: out of order when that row
    lies inside it (named before the late row's own problems, where the gap is);
    missing, then repeated, when it is seq 5 or seq 8 again."""
    path = export_dir / "journal.csv"
    rows = _rows(path)
    late = dict(rows[5], amount_fen="1", amount="0.01")  # seq 6, its hash broken too
    _write_rows(path, [*rows[:5], rows[7], late, *rows[8:]])
    out = cli("audit", "verify", export_dir, "--public-key", pub, code=1)
    swapped = "seq 8 (line 7) and seq 6 (line 8) are out of order: entry 6 comes after entry 8"
    changed = "journal.csv:8: seq 6: the hash does not recompute from the row"
    assert out.index(swapped) < out.index(changed)
    for again in (rows[4], rows[7]):  # seq 5 or seq 8 after the gap
        _write_rows(path, [*rows[:5], rows[7], again, *rows[8:]])
        out = cli("audit", "verify", export_dir, "--public-key", pub, code=1)
        assert "journal.csv:7: seq 8 follows seq 5: entry 6..7 is missing" in out
        assert f"journal.csv:8: seq {again['seq']} after seq 8 (line 7): rows are reordered" in out
        assert "out of order" not in out


def _own_hash(r: dict) -> str:
    posted = datetime.strptime(r["posted_at"], HASH_TIME_FORMAT).replace(tzinfo=UTC)
    return entry_hash(
        int(r["seq"]),
        int(r["transfer_id"]),
        r["debit_account"],
        r["credit_account"],
        r["asset"],
        int(r["amount_fen"]),
        posted,
        r["prev_hash"],
    )


def _rehashed(rows: list[dict], start: int) -> list[dict]:
    """The rows from index ``start`` on hashed again, each chained to the one before."""
    for i in range(start, len(rows)):
        rows[i]["prev_hash"] = rows[i - 1]["hash"]
        rows[i]["hash"] = _own_hash(rows[i])
    return rows


def test_each_fault_between_two_rows_is_named_at_the_second(export_dir, pub, cli):
    """Rows whose own hashes recompute, but that do not follow the row before:
    another prev_hash, an earlier transfer, a transfer's fields differing between
    its entries, a transfer's entries apart."""
    path = export_dir / "journal.csv"
    rows = _rows(path)
    # Three consecutive entries of one transfer (an issuance's): rows k-1, k, k+1.
    k = next(
        i
        for i in range(1, len(rows) - 1)
        if rows[i - 1]["transfer_id"] == rows[i]["transfer_id"] == rows[i + 1]["transfer_id"]
    )
    tid, seq, line = rows[k]["transfer_id"], int(rows[k]["seq"]), k + 2
    assert seq == k + 1

    def verify(tampered: list[dict]) -> str:
        _write_rows(path, tampered)
        return cli("audit", "verify", export_dir, "--public-key", pub, code=1)

    tampered = [dict(r) for r in rows]
    tampered[k]["prev_hash"] = "2" * 64
    tampered[k]["hash"] = _own_hash(tampered[k])
    out = verify(tampered)
    assert (
        f"\n  journal.csv:{line}: seq {seq} does not chain to seq {seq - 1} (line {line - 1}):"
        " its prev_hash is not that row's hash\n" in out
    )

    tampered = [dict(r) for r in rows]
    tampered[k]["transfer_id"] = str(int(tid) - 1)
    out = verify(_rehashed(tampered, k))
    assert (
        f"\n  journal.csv:{line}: transfer {int(tid) - 1} after transfer {tid}: out of order\n"
        in out
    )

    tampered = [dict(r) for r in rows]
    tampered[k].update(kind="refund", reference="x")  # not hashed: only the comparison finds them
    out = verify(tampered)
    assert (
        f"\n  journal.csv:{line}: transfer {tid}: kind, reference differ from its row at line {line - 1}\n"
        in out
    )

    out = verify([*rows[:k], *rows[k + 1 :]])  # the middle entry gone
    assert f"\n  journal.csv:{line}: transfer {tid}: its entries are not consecutive\n" in out


def test_control_totals_of_an_asset_the_journal_does_not_hold_are_named(export_dir, pub, cli):
    manifest_path = export_dir / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["control_totals"]["HKD"] = {"count": 1, "amount": "1.00", "amount_fen": 100}
    ecny = manifest["control_totals"]["ECNY"]
    manifest["control_totals"]["ECNY"] = {**ecny, "count": ecny["count"] + 1}
    manifest_path.write_text(json.dumps(manifest))
    out = cli("audit", "verify", export_dir, "--public-key", pub, code=1)
    listed = {**ecny, "count": ecny["count"] + 1}
    assert f"\n  manifest.json: control_totals.ECNY is {listed}, the journal's is {ecny}\n" in out
    want = "manifest.json: control_totals.HKD is {'count': 1, 'amount': '1.00', 'amount_fen': 100}"
    assert f"\n  {want}, the journal's is None\n" in out
    assert "[FAIL] control totals" in out


def test_a_gap_before_the_last_row_is_told_at_the_end(export_dir, pub, cli):
    path = export_dir / "journal.csv"
    rows = _rows(path)
    _write_rows(path, [*rows[:-2], rows[-1]])
    out = cli("audit", "verify", export_dir, "--public-key", pub, code=1)
    n, line = len(rows), _line_of(path, len(rows))
    assert f"\n  journal.csv:{line}: seq {n} follows seq {n - 2}: entry {n - 1} is missing\n" in out


def test_a_journal_file_on_disk_but_not_listed_is_not_the_one_read(export_dir, pub, cli):
    manifest = json.loads((export_dir / "manifest.json").read_text())
    manifest["files"] = [f for f in manifest["files"] if f["name"] != "journal.csv"]
    (export_dir / "manifest.json").write_text(json.dumps(manifest))
    out = cli("audit", "verify", export_dir, "--public-key", pub, code=1)
    n = len(_rows(export_dir / "journal.csv"))
    assert (
        f"[ok] journal chain: journal.jsonl: {n} rows, seq 1..{n}; ends at the signed head" in out
    )


def test_a_filtered_export_short_of_the_head_says_what_cannot_be_checked(export_dir, pub, cli):
    manifest_path = export_dir / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["complete"] = False
    manifest["range"]["last_seq"] = 999  # and a range that is not the rows'
    manifest_path.write_text(json.dumps(manifest))
    path = export_dir / "journal.csv"
    rows = _rows(path)
    _write_rows(path, rows[:-1])
    out = cli("audit", "verify", export_dir, "--public-key", pub, code=1)
    n = len(rows)
    assert (
        f"journal chain: journal.csv: {n - 1} rows, seq 1..{n - 1}; signed head is seq {n}" in out
    )
    assert f"\n  manifest.json: range.last_seq is 999, the journal's is {n - 1}\n" in out
    assert (
        f"journal chain: the signed head (seq {n}) lies outside this filtered export's rows, so"
        " whether these rows lead to it cannot be checked; each row's hash, the runs of"
        " consecutive rows, the files and the totals are checked" in out
    )
    assert "the chain ends at" not in out and "signed head's seq but not its hash" not in out
