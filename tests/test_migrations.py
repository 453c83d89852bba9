"""The schema reaches databases only through Alembic; models and migrations agree."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from wallets.core import db as dbmod
from wallets.core import schema


def _diff(url: str):
    engine = dbmod.make_engine(url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(
                conn, opts={"compare_type": True, "compare_server_default": True}
            )
            return compare_metadata(ctx, schema.metadata)
    finally:
        engine.dispose()


def _tables(url: str) -> set[str]:
    engine = dbmod.make_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'm.sqlite3'}"
    return request.getfixturevalue("pg_url")


def test_upgrade_downgrade_upgrade_and_models_agree(empty_url):
    dbmod.upgrade(empty_url)
    assert _diff(empty_url) == []
    assert _tables(empty_url) == set(schema.metadata.tables)
    dbmod.downgrade(empty_url, "base")
    assert _tables(empty_url) == set()
    dbmod.upgrade(empty_url)
    assert _diff(empty_url) == []
    engine = dbmod.make_engine(empty_url)
    assert dbmod.current_revision(engine) == dbmod.head_revision(empty_url)
    engine.dispose()


def test_journal_and_transfers_are_append_only(sandbox):
    sandbox.operator("ICBC")
    with sandbox.db.engine.connect() as conn:
        for stmt in (
            "UPDATE journal_entries SET amount = amount + 1",
            "DELETE FROM journal_entries",
            "UPDATE transfers SET amount = 1",
            "DELETE FROM transfers",
        ):
            with pytest.raises(sa.exc.DBAPIError, match="append-only"), conn.begin():
                conn.exec_driver_sql(stmt)


def test_migrations_keep_existing_data(empty_url):
    """Down one step and up again with a seeded ledger: nothing is lost."""
    from wallets.audit.reconcile import reconcile
    from wallets.core.config import Settings
    from wallets.seed import seed_demo

    dbmod.upgrade(empty_url)
    database = dbmod.Database(empty_url)
    seed_demo(database, Settings(database_url=empty_url))
    before = database.read(reconcile)
    database.dispose()
    dbmod.downgrade(empty_url, "-1")
    dbmod.upgrade(empty_url)
    database = dbmod.Database(empty_url)
    after = database.read(reconcile)
    database.dispose()
    assert before.ok and after.ok, [c.problems for c in after.checks]
    assert after.checks[5].figures["entries"] == before.checks[5].figures["entries"] > 0


def test_a_profile_document_of_the_sandboxs_own_gets_payment_codes(empty_url):
    """0006 adds the new required key casino.payment_codes to a stored document
    (with the macau figures), so that it still loads; its downgrade takes it out.
    0008 makes the single contributions share a list of one named share, and
    back."""
    import json

    import yaml

    from wallets.rules.profile import PROFILE_DIR, active_profile

    doc = yaml.safe_load((PROFILE_DIR / "macau.yaml").read_text())
    doc["name"] = "macau-own"
    del doc["casino"]["payment_codes"]
    doc["casino"]["tax"]["contributions"] = "0.05"  # the format before 0009
    del doc["alerts"]["holidays"]  # keys the parser before 0009 refuses
    for key in ("promoters", "third_party_payout", "chip_walking", "pooling"):
        del doc["casino"][key]
    for key in ("mop_per_hkd", "rates"):  # keys the parser before 0013 refuses
        del doc["fx"][key]
    del doc["anonymity"]  # and before 0010
    dbmod.upgrade(empty_url, "0005")
    engine = dbmod.make_engine(empty_url)
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE sandbox SET profile = 'macau-own', profile_document = :d WHERE id = 1"),
            {"d": json.dumps(doc, sort_keys=True, separators=(",", ":"))},
        )
    dbmod.upgrade(empty_url)
    database = dbmod.Database(empty_url)
    profile = database.read(active_profile)
    assert profile.name == "macau-own" and profile.casino.payment_code_required is True
    assert profile.casino.payment_code_lifetime_seconds == 60
    assert [(k.name, str(k.share)) for k in profile.casino.contributions] == [
        ("contributions", "0.05")
    ]
    database.dispose()
    dbmod.downgrade(empty_url, "0005")
    with engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT profile_document FROM sandbox")).scalar_one()
    engine.dispose()
    assert json.loads(stored) == json.loads(json.dumps(doc))


def test_0009_downgrade_leaves_a_document_the_old_parser_reads(tmp_path):
    """0009's downgrade sums the contributions back into one share AND takes out
    the keys its parser added (the parser before refuses unknown keys)."""
    import json

    import yaml

    from wallets.rules.profile import PROFILE_DIR

    url = f"sqlite:///{tmp_path / 'd.sqlite3'}"
    doc = yaml.safe_load((PROFILE_DIR / "macau.yaml").read_text())
    doc["name"] = "macau-own"
    for key in ("promoters", "third_party_payout", "chip_walking", "pooling"):
        assert key in doc["casino"], key  # the macau profile has every new key
    assert "holidays" in doc["alerts"]
    dbmod.upgrade(url)
    engine = dbmod.make_engine(url)
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE sandbox SET profile = 'macau-own', profile_document = :d WHERE id = 1"),
            {"d": json.dumps(doc, sort_keys=True, separators=(",", ":"), default=str)},
        )
    dbmod.downgrade(url, "0008_events")
    with engine.connect() as conn:
        stored = json.loads(
            conn.execute(sa.text("SELECT profile_document FROM sandbox")).scalar_one()
        )
    engine.dispose()
    assert set(stored["alerts"]) == {"str_due_working_days"}
    for key in ("promoters", "third_party_payout", "chip_walking", "pooling"):
        assert key not in stored["casino"]
    assert stored["casino"]["tax"]["contributions"] == "0.05"
    # Nothing else changed: the document is the one before 0009 (the old shape).
    expected = json.loads(json.dumps(doc, default=str))
    del expected["alerts"]["holidays"]
    for key in ("promoters", "third_party_payout", "chip_walking", "pooling"):
        del expected["casino"][key]
    for key in ("mop_per_hkd", "rates"):  # 0013's downgrade took them out
        del expected["fx"][key]
    del expected["anonymity"]  # 0010's downgrade took it out
    expected["casino"]["tax"]["contributions"] = "0.05"
    assert stored == expected


def test_0013_downgrade_takes_the_rate_table_out_of_a_document(tmp_path):
    """0013's downgrade takes fx.mop_per_hkd and fx.rates out of the sandbox's
    own document (the parser before refuses them); nothing else changes."""
    import json

    import yaml

    from wallets.rules.profile import PROFILE_DIR

    url = f"sqlite:///{tmp_path / 'd.sqlite3'}"
    doc = yaml.safe_load((PROFILE_DIR / "macau.yaml").read_text())
    doc["name"] = "macau-own"
    doc["fx"]["rates"] = [{"from": "2026-03-02T14:00:00+08:00", "mop_per_cny": "1.12"}]
    dbmod.upgrade(url)
    engine = dbmod.make_engine(url)
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE sandbox SET profile = 'macau-own', profile_document = :d WHERE id = 1"),
            {"d": json.dumps(doc, sort_keys=True, separators=(",", ":"))},
        )
    dbmod.downgrade(url, "0012_offline")  # 0013's down_revision
    with engine.connect() as conn:
        stored = json.loads(
            conn.execute(sa.text("SELECT profile_document FROM sandbox")).scalar_one()
        )
        columns = {c["name"] for c in sa.inspect(conn).get_columns("casinos")}
    engine.dispose()
    assert stored["fx"] == {"mop_per_cny": "1.10", "cny_per_usd": "7.20"}
    assert {k: v for k, v in stored.items() if k != "fx"} == {
        k: v for k, v in doc.items() if k != "fx"
    }
    assert "chip_currency" not in columns


def test_0010_downgrade_takes_the_anonymity_section_out_of_the_document(tmp_path):
    """The parser before 0010 refuses the key; the rest of the document stays."""
    import json

    import yaml

    from wallets.rules.profile import PROFILE_DIR, parse_profile

    url = f"sqlite:///{tmp_path / 'a.sqlite3'}"
    doc = yaml.safe_load((PROFILE_DIR / "default.yaml").read_text())
    doc["name"] = "default-own"
    doc["anonymity"]["legal_bases"] = ["court_order"]
    dbmod.upgrade(url)
    engine = dbmod.make_engine(url)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "UPDATE sandbox SET profile = 'default-own', profile_document = :d WHERE id = 1"
            ),
            {"d": json.dumps(doc, sort_keys=True, separators=(",", ":"))},
        )
    database = dbmod.Database(url)
    from wallets.rules.profile import active_profile

    assert database.read(active_profile).anonymity.legal_bases == ("court_order",)
    database.dispose()
    dbmod.downgrade(url, "0009_macau_depth")
    with engine.connect() as conn:
        stored = json.loads(
            conn.execute(sa.text("SELECT profile_document FROM sandbox")).scalar_one()
        )
    engine.dispose()
    expected = {k: v for k, v in doc.items() if k != "anonymity"}
    assert stored == expected
    assert parse_profile(stored).anonymity.legal_bases == ()  # what the old parser reads
    dbmod.upgrade(url)


def test_the_top_level_migrations_are_the_ones_the_package_runs():
    """SPEC.md §2's fixed top level has migrations/: it is the package's own
    (a link to wallets/migrations, which a wheel carries)."""
    from pathlib import Path

    top = Path(__file__).resolve().parent.parent / "migrations"
    assert (top / "env.py").is_file() and (top / "versions").is_dir()
    assert top.resolve() == dbmod.MIGRATIONS_DIR.resolve()
    versions = sorted(p.name for p in (top / "versions").glob("0*.py"))
    assert versions[0].startswith("0001_") and len(versions) >= 14
