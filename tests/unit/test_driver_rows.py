"""Tx's driver-level helpers (the posting's hot path) on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from wallets.core import db as dbmod
from wallets.core.schema import sandbox, wallet_usage


@pytest.fixture
def migrated(database_url):
    dbmod.upgrade(database_url)
    db = dbmod.Database(database_url)
    yield db
    db.dispose()


def test_driver_rows_expand_lists_and_convert_values(migrated):
    def run(tx):
        when = datetime(2026, 6, 1, 2, 0, 0, 123456, tzinfo=UTC)
        tx.update_rows(
            sandbox, ("clock_fixed",), "id", [(tx.driver_value(sandbox.c.clock_fixed, when), 1)]
        )
        assert tx.conn.execute(sa.select(sandbox.c.clock_fixed)).scalar_one() == when
        assert tx.driver_rows(
            "SELECT id FROM sandbox WHERE id IN (?) AND id > ?", [1, 2, 3], 0
        ) == [(1,)]
        assert tx.driver_rows("SELECT id FROM sandbox WHERE id IN (?)", []) == []
        with pytest.raises(ValueError):
            tx.driver_rows("SELECT ?", 1, 2)

    migrated.write(run)


def test_driver_inserts_and_upserts_are_what_sqlalchemy_reads(migrated):
    from wallets.retail.limits import _USAGE_UPSERT

    def run(tx):
        tx.conn.exec_driver_sql(
            "INSERT INTO operators (code, name, created_at) VALUES ('OP', 'op', CURRENT_TIMESTAMP)"
        )
        op = tx.conn.exec_driver_sql("SELECT id FROM operators").scalar_one()
        now = tx.driver_value(wallet_usage.c.period_start, date(2026, 6, 1))
        tx.conn.exec_driver_sql(
            "INSERT INTO wallets (operator_id, wallet_class, kind, status, holder_id, region, created_at)"
            f" VALUES ({op}, 1, 'personal', 'active', 'h', 'CN', CURRENT_TIMESTAMP)"
        )
        wid = tx.conn.exec_driver_sql("SELECT id FROM wallets").scalar_one()
        tx.driver_execute_many(_USAGE_UPSERT, [(wid, "day", now, 5), (wid, "year", now, 7)])
        tx.driver_execute_many(_USAGE_UPSERT, [(wid, "day", now, 1)])
        rows = tx.conn.execute(
            sa.select(
                wallet_usage.c.period, wallet_usage.c.period_start, wallet_usage.c.amount_out
            ).order_by(wallet_usage.c.period)
        ).all()
        assert [tuple(r) for r in rows] == [
            ("day", date(2026, 6, 1), 6),
            ("year", date(2026, 6, 1), 7),
        ]

    migrated.write(run)
