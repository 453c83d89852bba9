"""Core statements compiled once per dialect and run at the driver (the
posting's hot path, wallets/db.py) on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from wallets.core import db as dbmod
from wallets.core.schema import operators, sandbox, wallet_usage, wallets


@pytest.fixture
def migrated(database_url):
    dbmod.upgrade(database_url)
    db = dbmod.Database(database_url)
    yield db
    db.dispose()


_IDS = sa.select(sandbox.c.id).where(dbmod.any_of(sandbox.c.id, "ids"), sandbox.c.id > 0)
_SET_CLOCK = (
    sa.update(sandbox).where(sandbox.c.id == 1).values(clock_fixed=sa.bindparam("clock_fixed"))
)
_CLOCK = sa.select(sandbox.c.clock_fixed).where(sandbox.c.id == sa.bindparam("id"))


def test_one_text_whatever_the_length_of_a_list(migrated):
    def run(tx):
        compiled = dbmod.compiled(_IDS, tx.conn.dialect)
        assert compiled is dbmod.compiled(_IDS, tx.conn.dialect)  # compiled once
        text = compiled.sql
        assert tx.rows(_IDS, ids=[1, 2, 3]) == [(1,)]
        assert tx.rows(_IDS, ids=[2]) == []
        assert tx.rows(_IDS, ids=[]) == []
        assert tx.rows(_IDS, ids=list(range(1, 5000))) == [(1,)]
        assert dbmod.compiled(_IDS, tx.conn.dialect).sql == text
        assert ("ANY" if tx.dialect == "postgresql" else "json_each") in text
        # The same clause serves SQLAlchemy's own execution.
        assert tx.conn.execute(_IDS, {"ids": [1]}).all() == [(1,)]

    migrated.read(run)


def test_values_are_converted_both_ways(migrated):
    when = datetime(2026, 6, 1, 2, 0, 0, 123456, tzinfo=UTC)

    def run(tx):
        assert tx.run(_SET_CLOCK, clock_fixed=when) == 1
        assert tx.conn.execute(sa.select(sandbox.c.clock_fixed)).scalar_one() == when
        (row,) = tx.rows(_CLOCK, id=1)
        assert row.clock_fixed == when  # a named tuple, the UTC datetime back
        with pytest.raises(TypeError, match="id"):
            tx.rows(_CLOCK)

    migrated.write(run)


def test_executemany_and_upserts_are_what_sqlalchemy_reads(migrated):
    from wallets.retail.limits import _USAGE_UPSERT, USAGE_COLUMNS

    def run(tx):
        tx.conn.execute(operators.insert().values(code="OP", name="op", created_at=tx.now()))
        op = tx.conn.execute(sa.select(operators.c.id)).scalar_one()
        tx.conn.execute(
            wallets.insert().values(
                operator_id=op,
                wallet_class=1,
                kind="personal",
                status="active",
                holder_id="h",
                region="CN",
                created_at=tx.now(),
            )
        )
        wid = tx.conn.execute(sa.select(wallets.c.id)).scalar_one()
        day = date(2026, 6, 1)
        tx.run_many(_USAGE_UPSERT, USAGE_COLUMNS, [(wid, "day", day, 5), (wid, "year", day, 7)])
        # Rows in another order of the same parameters.
        tx.run_many(
            _USAGE_UPSERT,
            ("amount_out", "period_start", "period", "wallet_id"),
            [(1, day, "day", wid)],
        )
        with pytest.raises(ValueError):
            tx.run_many(_USAGE_UPSERT, ("wallet_id", "period"), [(wid, "day")])
        rows = tx.conn.execute(
            sa.select(
                wallet_usage.c.period, wallet_usage.c.period_start, wallet_usage.c.amount_out
            ).order_by(wallet_usage.c.period)
        ).all()
        assert [tuple(r) for r in rows] == [("day", day, 6), ("year", day, 7)]

    migrated.write(run)


def test_driver_errors_are_wrapped_without_their_parameters(migrated):
    secret = "Zq8vX3-secret"
    insert = operators.insert().values(
        id=sa.bindparam("id"), code=sa.bindparam("code"), name="n", created_at=sa.bindparam("at")
    )

    def run(tx):
        tx.run(insert, id=1, code=secret, at=tx.now())
        with pytest.raises(sa.exc.IntegrityError) as caught:
            tx.run(insert, id=1, code=secret, at=tx.now())
        assert caught.value.hide_parameters
        assert secret not in str(caught.value)
        assert not caught.value.connection_invalidated
        raise _Done  # roll back

    with pytest.raises(_Done):
        migrated.write(run)


def test_a_dead_connection_is_invalidated(migrated, monkeypatch):
    dialect = migrated.engine.dialect
    monkeypatch.setattr(dialect, "is_disconnect", lambda *_: True)
    broken = sa.select(sa.func.no_such_function(sandbox.c.id))

    def run(tx):
        with pytest.raises(sa.exc.DBAPIError) as caught:
            tx.rows(broken)
        assert caught.value.connection_invalidated
        assert tx.conn.invalidated
        raise _Done

    with pytest.raises(_Done):
        migrated.read(run)
    with pytest.raises(sa.exc.DBAPIError) as caught:
        migrated._peek(broken, {})
    assert caught.value.connection_invalidated


def test_peek_reads_one_statement(migrated):
    assert migrated.peek(_CLOCK, id=1) == [(None,)]
    assert migrated.peek(_IDS, ids=[1, 7]) == [(1,)]


class _Done(Exception):
    pass
