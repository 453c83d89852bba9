"""Resetting the sandbox (SPEC.md §10; docs/api.md, "Resetting the sandbox"):
after a busy world, the world's tables are as in a freshly migrated database
(or a fresh demo seed), the testers' keys, audit log and webhook endpoints
stay, ids restart, and a replayed scenario gives the digest it gives on a
fresh database; caches of other processes do not outlive the reset."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from macau_world import advance, cage, macau_world

from app.cli import main
from app.client import Client
from app.scenario import report
from app.scenario.loader import load
from tests.conftest import _fresh_url
from tests.scenario.test_scenarios import DIGESTS, SCENARIOS
from wallets.core import db as dbmod
from wallets.core import errors, schema
from wallets.core.config import Settings
from wallets.ledger import accounts
from wallets.seed import seed_demo
from wallets.services import reset

# Kept tables (their rows compared apart) and the columns a reset cannot give
# the value a migration gave: the instant it ran, the generation.
KEPT = set(reset.KEPT)
IGNORED_COLUMNS = {("accounts", "created_at"), ("sandbox", "generation")}


def busy_world(sb) -> dict:
    """A Macau casino world with payments, holds, a casino day's play and
    close, alerts, an exclusion, a webhook endpoint of an operator and one of
    the admin, deferred net settlement and the clock moved."""
    w = macau_world(sb)
    sb.ok(
        "PUT",
        "/v1/settlement/settings",
        key="central_bank",
        json={"model": "deferred_net"},
        status=200,
    )
    player = sb.wallet("BOCMO", 1, fund="800000.00", region="MO")
    payee = sb.wallet("ICBC", 1, region="CN")
    sb.ok(
        "POST",
        "/v1/transfers",
        key="BOCMO",
        json={"from_wallet": player, "to_wallet": payee, "amount": "12.34"},
    )
    sb.ok(
        "POST",
        "/v1/holds",
        key="BOCMO",
        json={
            "from_wallet": player,
            "to_wallet": payee,
            "amount": "5.00",
            "timeout_seconds": 86400,
        },
    )
    cage(sb, "buy-ins", player, amount="1000.00")
    cage(sb, "buy-ins", player, amount="500000.00")  # a large buy-in: an alert
    sb.ok(
        "POST",
        "/v1/exclusions",
        key="supervisor",
        json={"holder_id": "P-1", "kind": "self", "ends_on": "2026-12-31", "casino": "COTAI"},
    )
    sb.ok("POST", "/v1/webhook-endpoints", key="BOCMO", json={"url": "http://127.0.0.1:9/op"})
    sb.ok("POST", "/v1/webhook-endpoints", json={"url": "http://127.0.0.1:9/admin"})
    advance(sb, 21 * 3600)  # the gaming day is over
    sb.ok("POST", "/v1/casinos/COTAI/gaming-days/2026-03-02/close", key="merchant")
    w.update(player=player, payee=payee)
    return w


def rows(engine: sa.Engine, table: str) -> list[tuple]:
    """A table's rows, without the columns a reset may not reproduce, sorted."""
    t = sa.Table(table, sa.MetaData(), autoload_with=engine)
    columns = [c for c in t.columns if (table, c.name) not in IGNORED_COLUMNS]
    with engine.connect() as conn:
        found = conn.execute(sa.select(*columns)).all()
    return sorted((tuple(r) for r in found), key=repr)


def table_names(engine: sa.Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names()) - {"alembic_version"}


@pytest.fixture
def fresh_url(request, backend, tmp_path):
    """Another freshly migrated database of the same backend."""
    folder = tmp_path / "fresh"
    folder.mkdir()
    url, cleanup = _fresh_url(request, backend, folder)
    yield url
    cleanup()


def do_reset(sb, template: str | None = None, key: str = "admin", **kw):
    body = {} if template is None else {"template": template}
    return sb.call("POST", "/v1/sandbox/reset", key, json=body, **kw)


def test_a_reset_leaves_a_freshly_migrated_world_and_the_testers_rows(sandbox, fresh_url):
    sb = sandbox
    busy_world(sb)
    with sb.db.engine.connect() as conn:
        audit_before = conn.execute(
            sa.select(sa.func.count()).select_from(schema.audit_events)
        ).scalar()
        keys_before = conn.execute(sa.select(schema.api_keys.c.id, schema.api_keys.c.role)).all()
        assert (
            conn.execute(sa.select(sa.func.count()).select_from(schema.journal_entries)).scalar()
            > 10
        )
        assert conn.execute(sa.select(sa.func.count()).select_from(schema.alerts)).scalar() >= 1
    r = do_reset(sb)
    assert r.status_code == 200, r.get_json()
    answer = r.get_json()
    assert answer == {"template": "empty", "generation": 1, "revoked_keys": 4, "keys": []}

    fresh = sa.create_engine(fresh_url)
    mine = sb.db.engine
    try:
        assert table_names(mine) == table_names(fresh)
        for table in sorted(table_names(mine) - KEPT - {"events", "event_head", "checkpoints"}):
            assert rows(mine, table) == rows(fresh, table), table
        # The reset, a write, takes the scheduled checkpoint of its period as the
        # first write on a fresh database would: of the genesis head.
        assert rows(fresh, "checkpoints") == []
        with mine.connect() as conn:
            taken = conn.execute(sa.select(schema.checkpoints)).all()
        assert [(c.id, c.sequence, c.head_hash, c.reason) for c in taken] in (
            [],
            [(1, 0, "0" * 64, "schedule")],
        )
        # The feed restarts with the reset's own event.
        found = [e[:2] for e in rows(mine, "events")]
        assert found[0] == (1, "sandbox.reset")
        assert found[1:] == [(2, "audit.checkpoint_taken")][: len(taken)]
        assert rows(mine, "event_head") == [(1, len(found))]
        assert rows(fresh, "event_head") == [(1, 0)]
        with mine.connect() as conn:
            assert conn.execute(sa.select(schema.sandbox.c.generation)).scalar() == 1
            # Keys: every row stays; the scoped ones revoked, the others valid.
            after = {
                r.id: r
                for r in conn.execute(
                    sa.select(
                        schema.api_keys.c.id,
                        schema.api_keys.c.role,
                        schema.api_keys.c.revoked_at,
                        schema.api_keys.c.operator_id,
                    )
                )
            }
            assert sorted(after) == sorted(k.id for k in keys_before)
            for key_id, role in keys_before:
                revoked = after[key_id].revoked_at is not None
                assert revoked == (role in ("operator", "merchant", "supervisor")), role
                assert after[key_id].operator_id is None
            # The audit log keeps its history and records the reset.
            audit = conn.execute(
                sa.select(schema.audit_events).order_by(schema.audit_events.c.id)
            ).all()
            assert len(audit) == audit_before + 1
            last = audit[-1]
            assert (last.method, last.path, last.status, last.role) == (
                "POST",
                "/v1/sandbox/reset",
                200,
                "admin",
            )
            # The admin's webhook endpoint stays, from the feed's start; the operator's goes.
            hooks = conn.execute(sa.select(schema.webhook_endpoints)).all()
            assert [(h.role, h.url, h.cursor) for h in hooks] == [
                ("admin", "http://127.0.0.1:9/admin", 0)
            ]
            assert (
                conn.execute(
                    sa.select(sa.func.count()).select_from(schema.idempotency_keys)
                ).scalar()
                == 0
            )
    finally:
        fresh.dispose()

    # The kept keys work, the revoked do not; the world is the default one.
    assert sb.ok("GET", "/v1/sandbox/clock")["fixed"] is False
    assert sb.ok("GET", "/v1/rules", key="auditor")["name"] == "default"
    assert sb.ok("GET", "/v1/settlement/settings", key="central_bank")["model"] == "gross"
    assert sb.ok("GET", "/v1/operators", key="central_bank")["items"] == []
    for role in ("BOCMO", "ICBC", "merchant", "supervisor"):
        assert sb.get("/v1/sandbox/clock", key=role).status_code == 401, role
    (event, *checkpoint) = sb.ok("GET", "/v1/events", key="auditor")["items"]
    assert (event["id"], event["type"], event["data"]["template"]) == (1, "sandbox.reset", "empty")
    assert [e["type"] for e in checkpoint] in ([], ["audit.checkpoint_taken"])
    assert sb.reconcile().ok
    # Ids restart: the first operator, wallet and transfer after it are 1.
    sb.operator("BOC")
    first = sb.wallet("BOC", 1, fund="10.00")
    assert first == 1
    assert sb.ok("GET", "/v1/operators/BOC", key="central_bank")["code"] == "BOC"
    assert sb.ok("GET", "/v1/transfers", key="BOC")["items"][-1]["id"] >= 1
    with mine.connect() as conn:
        assert conn.execute(sa.select(sa.func.min(schema.operators.c.id))).scalar() == 1
        assert conn.execute(sa.select(sa.func.min(schema.transfers.c.id))).scalar() == 1
        assert conn.execute(sa.select(sa.func.min(schema.journal_entries.c.seq))).scalar() == 1


def test_the_cli_reconcile_holds_after_a_reset(sandbox, monkeypatch):
    busy_world(sandbox)
    assert do_reset(sandbox).status_code == 200
    monkeypatch.setenv("DATABASE_URL", sandbox.db.url)
    result = CliRunner().invoke(main, ["audit", "reconcile"])
    assert result.exit_code == 0, result.output


def test_a_scenario_replayed_after_a_reset_gives_the_digest_of_a_fresh_database(sandbox):
    sb = sandbox
    busy_world(sb)
    assert do_reset(sb).status_code == 200
    path = SCENARIOS / "gaming_credit.yaml"
    result = report.replay(load(path), Client.in_process(sb.app, sb.keys["admin"]))
    assert result.aborted is None and result.failed == [], report.text(result)
    assert result.digest == DIGESTS["gaming_credit"]


def test_a_reset_to_the_demo_is_a_fresh_demo_seed(sandbox, fresh_url, tmp_path):
    sb = sandbox
    busy_world(sb)
    r = do_reset(sb, "demo")
    assert r.status_code == 200, r.get_json()
    answer = r.get_json()
    assert answer["template"] == "demo" and answer["generation"] == 1
    # The admin, central bank and auditor keys stayed: the demo makes none of those.
    scopes = sorted((k["role"], k["operator"] or k["casino"]) for k in answer["keys"])
    assert scopes == [
        ("merchant", "COTAI"),
        ("operator", "BOC"),
        ("operator", "BOCMO"),
        ("operator", "ICBC"),
        ("supervisor", "COTAI"),
    ]
    new = {(k["role"], k["operator"] or k["casino"]): k["key"] for k in answer["keys"]}

    dbmod.Database(fresh_url)  # migrated already
    fresh_db = dbmod.Database(fresh_url)
    seeded = seed_demo(fresh_db, Settings(database_url=fresh_url))
    assert seeded.created
    fresh, mine = fresh_db.engine, sb.db.engine
    try:
        for table in (
            "operators",
            "wallets",
            "accounts",
            "casinos",
            "holder_identities",
            "transfers",
            "journal_entries",
        ):
            t = schema.metadata.tables[table]
            columns = [
                c
                for c in t.columns
                if c.name not in ("created_at", "posted_at", "hash", "prev_hash", "holder_id")
            ]
            with fresh.connect() as a, mine.connect() as b:
                want = a.execute(sa.select(*columns).order_by(*t.primary_key.columns)).all()
                got = b.execute(sa.select(*columns).order_by(*t.primary_key.columns)).all()
            assert got == want, table
        with fresh.connect() as a, mine.connect() as b:
            assert b.execute(sa.select(schema.sandbox.c.profile)).scalar() == "macau"
            assert a.execute(sa.select(schema.sandbox.c.profile)).scalar() == "macau"
    finally:
        fresh_db.dispose()
    # The returned keys work; balances are the demo's.
    assert (
        sb.ok("GET", "/v1/wallets/1/balance", key=new[("operator", "ICBC")])["balance"]
        == "250000.00"
    )
    assert sb.get("/v1/casinos/COTAI", key=new[("merchant", "COTAI")]).status_code == 200
    assert sb.get("/v1/alerts", key=new[("supervisor", "COTAI")]).status_code == 200
    assert sb.reconcile().ok


@pytest.mark.parametrize("role", ["central_bank", "auditor", "BOCMO", "merchant", "supervisor"])
def test_only_the_admin_resets(sandbox, role):
    sb = sandbox
    macau_world(sb)
    r = do_reset(sb, key=role)
    assert r.status_code == 403 and r.get_json()["code"] == errors.FORBIDDEN_ROLE
    assert [o["code"] for o in sb.ok("GET", "/v1/operators", key="central_bank")["items"]] == [
        "BOCMO",
        "ICBC",
    ]
    with sb.db.engine.connect() as conn:
        last = conn.execute(
            sa.select(schema.audit_events).order_by(schema.audit_events.c.id.desc()).limit(1)
        ).one()
    assert (last.path, last.status, last.outcome) == ("/v1/sandbox/reset", 403, "refused")


def test_a_bad_template_is_refused_and_changes_nothing(sandbox):
    sb = sandbox
    sb.operator("ICBC")
    r = do_reset(sb, "full")
    assert r.status_code == 422 and r.get_json()["code"] == "validation_failed"
    assert len(sb.ok("GET", "/v1/operators", key="central_bank")["items"]) == 1


def test_a_retry_with_the_same_idempotency_key_replays_the_reset(sandbox):
    sb = sandbox
    sb.operator("ICBC")
    first = do_reset(sb, "demo", idem="reset-1")
    assert first.status_code == 200
    sb.operator("CCB")  # the new world gets an operator of the tester's
    again = do_reset(sb, "demo", idem="reset-1")
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    replayed = again.get_json()
    assert replayed["generation"] == 1
    assert all(k["key"] is None for k in replayed["keys"])
    assert [k["id"] for k in replayed["keys"]] == [k["id"] for k in first.get_json()["keys"]]
    # Not reset again: CCB is still there.
    codes = {o["code"] for o in sb.ok("GET", "/v1/operators", key="central_bank")["items"]}
    assert codes == {"ICBC", "BOC", "BOCMO", "CCB"}
    # The same key with another body is refused.
    other = do_reset(sb, "empty", idem="reset-1")
    assert other.status_code == 422 and other.get_json()["code"] == "idempotency_key_reused"
    # A new key resets again.
    assert do_reset(sb, idem="reset-2").get_json()["generation"] == 2


def test_another_process_cache_does_not_outlive_a_reset(sandbox):
    """Two Database objects on one database, as two server processes: one
    caches operator ids, the other resets and makes operators in another
    order; the first must read the new codes, not its cache."""
    sb = sandbox
    sb.operator("ICBC")
    sb.operator("BOC")
    other = dbmod.Database(sb.db.url)
    try:
        assert other.read(accounts.operator_codes, [1, 2]) == {1: "ICBC", 2: "BOC"}
        assert other.cache["operator_codes"] == {1: "ICBC", 2: "BOC"}
        assert do_reset(sb).status_code == 200
        sb.operator("BOC")
        sb.operator("ICBC")
        assert other.read(accounts.operator_codes, [1, 2]) == {1: "BOC", 2: "ICBC"}
        assert other.write(accounts.operator_codes, [1, 2]) == {1: "BOC", 2: "ICBC"}
        # And the resetting process's own cache likewise.
        assert sb.db.read(accounts.operator_codes, [1, 2]) == {1: "BOC", 2: "ICBC"}
    finally:
        other.dispose()


def test_the_cli_resets_with_yes_only(sandbox, monkeypatch):
    sb = sandbox
    sb.operator("ICBC")
    monkeypatch.setenv("DATABASE_URL", sb.db.url)
    refused = CliRunner().invoke(main, ["sandbox", "reset"])
    assert refused.exit_code != 0 and "--yes" in refused.output
    assert len(sb.ok("GET", "/v1/operators", key="central_bank")["items"]) == 1
    done = CliRunner().invoke(main, ["sandbox", "reset", "--template", "demo", "--yes"])
    assert done.exit_code == 0, done.output
    assert "operator ICBC" in done.output and "admin " not in done.output
    codes = {o["code"] for o in sb.ok("GET", "/v1/operators", key="central_bank")["items"]}
    assert codes == {"ICBC", "BOC", "BOCMO"}
    with sb.db.engine.connect() as conn:
        last = conn.execute(
            sa.select(schema.audit_events).order_by(schema.audit_events.c.id.desc()).limit(1)
        ).one()
    assert (last.method, last.path, last.role, last.status) == (
        "CLI",
        "ecny sandbox reset",
        "cli",
        200,
    )


def test_writes_during_a_reset_land_whole_before_or_after_it(sandbox):
    """Operators made while the sandbox resets: each is wiped whole or stays
    whole (its row, its accounts, its event), never half."""
    sb = sandbox
    sb.operator("ICBC")
    made: list[str] = []
    errors: list[str] = []

    def make(prefix: str) -> None:
        for i in range(15):
            code = f"{prefix}{i}"
            r = sb.call("POST", "/v1/operators", "central_bank", json={"code": code, "name": code})
            if r.status_code == 201:
                made.append(code)
            else:
                errors.append(r.get_data(as_text=True))

    threads = [threading.Thread(target=make, args=(p,)) for p in ("A", "B")]
    for t in threads:
        t.start()
    while len(made) < 4 and any(t.is_alive() for t in threads):
        time.sleep(0.001)
    before = set(made)  # committed before the reset began: wiped
    r = do_reset(sb)
    for t in threads:
        t.join()
    assert r.status_code == 200, r.get_json()
    assert errors == []
    with sb.db.engine.connect() as conn:
        codes = set(conn.execute(sa.select(schema.operators.c.code)).scalars())
        created = {
            e.data.split('"code":"')[1].split('"')[0]
            for e in conn.execute(
                sa.select(schema.events.c.data).where(schema.events.c.type == "operator.created")
            )
        }
        vaults = set(
            conn.execute(
                sa.select(schema.accounts.c.code).where(schema.accounts.c.kind == "vault")
            ).scalars()
        )
    assert len(before) >= 4 and not before & codes
    assert "ICBC" not in codes and codes <= set(made)
    assert created == codes
    assert {v.split(":")[1] for v in vaults} == codes
    assert sb.reconcile().ok


def test_an_export_job_running_across_a_reset_records_no_end(sandbox):
    """A job started before a reset ends after it: its record is gone and its
    id is a new job's by then, which its end must not touch."""
    from wallets.audit.export import jobs
    from wallets.audit.export.common import Filters
    from wallets.core.principal import SYSTEM

    sb = sandbox
    old = sb.db.write(jobs.create_job, Filters(), SYSTEM)
    started_under = sb.db.read(lambda tx: tx.generation)
    assert do_reset(sb).status_code == 200
    new = sb.db.write(jobs.create_job, Filters(), SYSTEM)
    assert new.id == old.id == 1
    ended = sb.db.write(
        jobs._end, old.id, "audit.export_succeeded", started_under, status="succeeded"
    )
    assert ended is None
    assert sb.db.read(jobs.get_job, new.id).status == "queued"
    # Under the generation it started in, a job's end is recorded.
    now = sb.db.read(lambda tx: tx.generation)
    ended = sb.db.write(jobs._end, new.id, "audit.export_failed", now, status="failed")
    assert ended is not None and ended.status == "failed"


def test_a_webhook_attempt_sent_before_a_reset_is_not_recorded_after_it(sandbox):
    """The admin's endpoint stays and is sent the reset's event; an attempt of
    a delivery claimed before the reset, recorded after it, must not land on
    the new delivery that took its id."""
    from datetime import UTC, datetime

    from wallets.events import dispatch

    sb = sandbox
    hook = sb.ok("POST", "/v1/webhook-endpoints", json={"url": "http://127.0.0.1:9/"})["id"]
    sb.operator("ICBC")  # events the admin's endpoint is sent
    policy = dispatch.Policy()
    sb.db.write(dispatch.fan_out, policy)
    (target,) = sb.db.write(dispatch.claim, policy, datetime.now(UTC))
    due = sb.db.read(dispatch.next_due, target.id)
    assert due.delivery_id == 1
    assert do_reset(sb).status_code == 200
    sb.db.write(dispatch.fan_out, policy)
    new = sb.db.read(dispatch.next_due, hook)
    assert new.delivery_id == 1 and '"sandbox.reset"' in new.body
    failed = dispatch.Attempt(False, 500, 5, "HTTP 500")
    sb.db.write(dispatch.record, target, due, failed, policy, datetime.now(UTC))
    with sb.db.engine.connect() as conn:
        deliveries = conn.execute(
            sa.select(schema.webhook_deliveries).order_by(schema.webhook_deliveries.c.id)
        ).all()
        delivery = deliveries[0]
        assert [d.attempts for d in deliveries] == [0] * len(deliveries)
        endpoint = conn.execute(sa.select(schema.webhook_endpoints)).one()
    assert (delivery.attempts, delivery.status, delivery.error) == (0, "pending", None)
    assert endpoint.failures == 0


# ---- the plan: derived from the schema ------------------------------------------


def test_every_table_is_kept_or_wiped():
    the_plan = reset.plan()
    names = {t.name for t in the_plan.wiped} | {t.name for t in the_plan.kept}
    assert names == set(schema.metadata.tables)
    assert {t.name for t in the_plan.kept} == set(reset.KEPT)
    # Children before their parents.
    position = {t.name: i for i, t in enumerate(the_plan.wiped)}
    for table in the_plan.wiped:
        for fk in table.foreign_keys:
            parent = fk.column.table.name
            if parent in position and parent != table.name:
                assert position[table.name] < position[parent], (table.name, parent)


def test_a_new_table_is_wiped_and_one_that_kept_rows_need_is_refused():
    metadata = sa.MetaData()
    for table in schema.metadata.sorted_tables:
        table.to_metadata(metadata)
    sa.Table("gadgets", metadata, sa.Column("id", sa.Integer, primary_key=True))
    assert "gadgets" in {t.name for t in reset.plan(metadata).wiped}
    # A kept table that cannot lose its reference to a wiped one: refused.
    sa.Table("widgets", metadata, sa.Column("id", sa.Integer, primary_key=True))
    metadata.tables["api_keys"].append_column(
        sa.Column("widget_id", sa.Integer, sa.ForeignKey("widgets.id"), nullable=False)
    )
    with pytest.raises(ValueError, match="api_keys.widget_id"):
        reset.plan(metadata)


def test_the_tables_the_migrations_fill_are_the_ones_a_reset_restores(database_url):
    """A migration that inserts rows into another table must teach the reset
    (reset._restore_migration_rows): this test names what they fill."""
    engine = sa.create_engine(database_url)
    try:
        filled = {t for t in table_names(engine) if rows(engine, t)}
    finally:
        engine.dispose()
    assert filled == set(reset.SEEDED_BY_MIGRATIONS)
    assert {code for code, *_ in reset.MIGRATION_ACCOUNTS} == {
        "CB:ISSUANCE",
        "CB:RESERVE:FUNDING",
        "CB:RESERVE:HELD",
        "CB:SETTLEMENT",
    }
