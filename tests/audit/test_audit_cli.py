"""`ecny audit digest | public-key | export | verify` on the database of DATABASE_URL,
and the signing key: created once, private, shared by concurrent processes."""

from __future__ import annotations

import json
import stat
import threading

import pytest

from wallets.audit import digest as dg
from wallets.core.config import Settings


@pytest.fixture
def cli_env(tmp_path, monkeypatch, cli):
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("ECNY_SIGNING_KEY", str(tmp_path / "secret" / "cb.pem"))
    cli("db", "upgrade")
    cli("seed", "demo")
    return tmp_path


def test_settings_from_env(tmp_path):
    s = Settings.from_env(
        {"ECNY_SIGNING_KEY": str(tmp_path / "k.pem"), "ECNY_EXPORT_DIR": str(tmp_path / "x")}
    )
    assert s.signing_key_path == tmp_path / "k.pem" and s.export_dir == tmp_path / "x"
    default = Settings.from_env({})
    assert (
        default.signing_key_path.name == "central-bank-ed25519.pem"
        and default.export_dir.name == "exports"
    )
    assert default.signing_key_path.parent.name == "var"


def test_digest_public_key_export_verify(cli_env, cli, monkeypatch):
    digest = json.loads(cli("audit", "digest"))
    assert digest["algorithm"] == "Ed25519" and digest["sequence"] > 0
    key_path = cli_env / "secret" / "cb.pem"
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    pem = cli("audit", "public-key")
    assert pem.startswith("-----BEGIN PUBLIC KEY-----") and pem == digest["public_key"]
    (cli_env / "cb.pub").write_text(pem)
    (cli_env / "digest.json").write_text(json.dumps(digest))

    out = cli("audit", "export", "--out", cli_env / "full", "--quiet")
    assert "exported" in out and f"signed head: seq {digest['sequence']}" in out
    verified = cli(
        "audit",
        "verify",
        cli_env / "full",
        "--public-key",
        cli_env / "cb.pub",
        "--digest",
        cli_env / "digest.json",
    )
    assert "EXPORT VERIFIED" in verified
    # SPEC §9's `ecny audit verify DIR`: where the export was made, the
    # installation's own central bank key is the one checked against.
    verified = cli("audit", "verify", cli_env / "full")
    assert "this installation's central bank key" in verified and "EXPORT VERIFIED" in verified
    journal = cli_env / "full" / "journal.csv"
    lines = journal.read_text().split("\n")
    lines[3] = lines[3].replace(",", ";", 1)
    journal.write_text("\n".join(lines))
    out = cli("audit", "verify", cli_env / "full", code=1)
    assert "EXPORT VERIFIED" not in out and "journal.csv" in out

    out = cli(
        "audit",
        "export",
        "--out",
        cli_env / "mo",
        "--operator",
        "BOCMO",
        "--formats",
        "jsonl,camt053",
        "--from",
        "2000-01-01",
        "--to",
        "2100-01-01",
    )
    files = json.loads((cli_env / "mo" / "manifest.json").read_text())["files"]
    assert {f["name"] for f in files} >= {
        "journal.jsonl",
        "balances.csv",
        "camt053/9.xml",
        "camt053/13.xml",
    }
    assert "journal.csv" not in {f["name"] for f in files}
    assert "EXPORT VERIFIED" in cli(
        "audit", "verify", cli_env / "mo", "--public-key", cli_env / "cb.pub"
    )

    assert "is not empty" in cli("audit", "export", "--out", cli_env / "full", code=1)
    assert "no operator NOPE" in cli(
        "audit", "export", "--out", cli_env / "x", "--operator", "NOPE", code=1
    )
    assert "formats" in cli("audit", "export", "--out", cli_env / "y", "--formats", "pdf", code=1)
    bad_key = cli_env / "bad.pem"
    bad_key.write_text("garbage")
    monkeypatch.setenv("ECNY_SIGNING_KEY", str(bad_key))
    assert "cannot read the signing key" in cli("audit", "digest", code=1)


def test_the_key_is_created_once_even_by_racing_processes(tmp_path):
    path = tmp_path / "k" / "cb.pem"
    keys, barrier = [], threading.Barrier(8)

    def load():
        barrier.wait()
        keys.append(dg.public_key_fingerprint(dg.load_or_create_key(path)))

    threads = [threading.Thread(target=load) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(keys)) == 1 and len(keys) == 8
    assert [p.name for p in path.parent.iterdir()] == ["cb.pem"]  # no temporary file left
    assert dg.public_key_fingerprint(dg.load_or_create_key(path)) == keys[0]


def test_signatures_bind_every_signed_field(tmp_path):
    key = dg.load_or_create_key(tmp_path / "k.pem")
    d = dg.sign(key, 7, "ab" * 32, "2026-01-01T00:00:00+00:00").as_dict()
    public = dg.load_public_key(d["public_key"])
    assert dg.signature_valid(d, public)
    for field, value in (
        ("sequence", 8),
        ("head_hash", "cd" * 32),
        ("time", "2026-01-01T00:00:01+00:00"),
        ("signature", "AAAA"),
    ):
        assert not dg.signature_valid(dict(d, **{field: value}), public), field
    other = dg.load_or_create_key(tmp_path / "other.pem").public_key()
    assert not dg.signature_valid(d, other)
    with pytest.raises(ValueError):
        dg.load_public_key("-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n")


def _cli_events(tmp_path) -> list[dict]:
    import os

    from tests.conftest import make_sandbox

    sb = make_sandbox(os.environ["DATABASE_URL"], tmp_path / "reader")
    try:
        return sb.get("/v1/audit/events?method=CLI&limit=500").get_json()["items"]
    finally:
        sb.db.dispose()


def test_checkpoints_take_and_export_are_in_the_audit_log(cli_env, cli):
    taken = json.loads(cli("audit", "checkpoints", "take"))
    cli("audit", "export", "--out", cli_env / "full", "--quiet", "--operator", "ICBC")
    cli("audit", "export", "--out", cli_env / "full", "--quiet", code=1)  # not empty: refused
    cli("audit", "export", "--out", cli_env / "x", "--operator", "NOPE", code=1)
    manifest = json.loads((cli_env / "full" / "manifest.json").read_text())
    events = [e for e in _cli_events(cli_env) if e["path"].startswith("ecny audit")]
    assert [(e["path"], e["outcome"], e["resource"], e["error_code"]) for e in events] == [
        ("ecny audit checkpoints take", "succeeded", str(taken["id"]), None),
        ("ecny audit export", "succeeded", manifest["export_id"], None),
        ("ecny audit export", "refused", None, "validation_failed"),
        ("ecny audit export", "refused", None, "operator_not_found"),
    ]
    assert all(e["method"] == "CLI" and e["role"] == "cli" for e in events)
    assert '"operator":"ICBC"' in events[1]["summary"]


def test_a_refused_checkpoint_is_in_the_audit_log(cli_env, cli, monkeypatch):
    from wallets.audit import checkpoints as cp
    from wallets.core.errors import LEDGER_CHAIN_BROKEN, DomainError

    def broken(tx, *args, **kwargs):
        raise DomainError(LEDGER_CHAIN_BROKEN, "the journal's hash chain does not recompute")

    monkeypatch.setattr(cp, "check_chain", broken)
    assert "does not recompute" in cli("audit", "checkpoints", "take", code=1)
    (event,) = [e for e in _cli_events(cli_env) if e["path"] == "ecny audit checkpoints take"]
    assert event["outcome"] == "refused" and event["error_code"] == "ledger_chain_broken"


def test_verify_prints_filters_as_json_and_export_draws_no_bars_off_a_terminal(cli_env):
    from click.testing import CliRunner

    from app.cli import main

    result = CliRunner().invoke(
        main, ["audit", "export", "--out", str(cli_env / "mo"), "--operator", "BOCMO"]
    )
    assert result.exit_code == 0, result.output
    assert result.stderr == ""  # stderr is no terminal here: no progress bars
    result = CliRunner().invoke(main, ["audit", "verify", str(cli_env / "mo"), "--integrity-only"])
    line = next(x for x in result.output.splitlines() if "filtered" in x)
    shown = line[line.index("filtered ") + len("filtered ") : line.rindex("}") + 1]
    assert json.loads(shown)["operator"] == "BOCMO" and "None" not in line
