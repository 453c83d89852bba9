"""casinos and supervision: chips, cage records, gaming days, exclusions, alerts

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28

New tables only, and a column on ``sandbox`` for a profile document of the
sandbox's own. Chip accounts are rows of ``accounts`` (asset ``CHIP:<ref>``);
transfers and journal entries are untouched.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# 64-bit on PostgreSQL, the rowid alias on SQLite.
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}")
    )


def upgrade() -> None:
    op.add_column("sandbox", sa.Column("profile_document", sa.Text(), nullable=True))
    op.create_table(
        "casinos",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ref", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("merchant_wallet_id", BIG_ID, nullable=False),
        sa.Column("treasury_wallet_id", BIG_ID, nullable=False),
        sa.Column("chip_account_id", sa.Integer(), nullable=False),
        sa.Column("float_amount", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("float_amount >= 0", name=op.f("ck_casinos_float_not_negative")),
        _fk("casinos", "chip_account_id", "accounts"),
        _fk("casinos", "merchant_wallet_id", "wallets"),
        _fk("casinos", "treasury_wallet_id", "wallets"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_casinos")),
        sa.UniqueConstraint("merchant_wallet_id", name=op.f("uq_casinos_merchant_wallet_id")),
        sa.UniqueConstraint("ref", name=op.f("uq_casinos_ref")),
    )
    op.create_table(
        "casino_transactions",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("casino_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("wallet_id", BIG_ID, nullable=False),
        sa.Column("holder_id", sa.String(length=64), nullable=False),
        sa.Column("gaming_day", sa.Date(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("payout", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("ecny_transfer_id", BIG_ID, nullable=True),
        sa.Column("chip_transfer_id", BIG_ID, nullable=False),
        sa.Column("payout_transfer_id", BIG_ID, nullable=True),
        sa.CheckConstraint(
            "kind IN ('buy_in', 'play', 'cash_out')", name=op.f("ck_casino_transactions_kind")
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_casino_transactions_amount_positive")),
        sa.CheckConstraint("payout >= 0", name=op.f("ck_casino_transactions_payout_not_negative")),
        _fk("casino_transactions", "casino_id", "casinos"),
        _fk("casino_transactions", "chip_transfer_id", "transfers"),
        _fk("casino_transactions", "ecny_transfer_id", "transfers"),
        _fk("casino_transactions", "payout_transfer_id", "transfers"),
        _fk("casino_transactions", "wallet_id", "wallets"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_casino_transactions")),
    )
    op.create_index(
        "ix_casino_transactions_casino_id_gaming_day",
        "casino_transactions",
        ["casino_id", "gaming_day"],
    )
    op.create_index(
        "ix_casino_transactions_casino_id_holder_id_at",
        "casino_transactions",
        ["casino_id", "holder_id", "at"],
    )
    op.create_index(op.f("ix_casino_transactions_wallet_id"), "casino_transactions", ["wallet_id"])
    op.create_table(
        "casino_player_days",
        sa.Column("casino_id", sa.Integer(), nullable=False),
        sa.Column("gaming_day", sa.Date(), nullable=False),
        sa.Column("wallet_id", BIG_ID, nullable=False),
        sa.Column("holder_id", sa.String(length=64), nullable=False),
        sa.Column("buy_ins", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("cash_outs", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("wagered", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("paid_out", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("transactions", sa.Integer(), server_default="0", nullable=False),
        _fk("casino_player_days", "casino_id", "casinos"),
        _fk("casino_player_days", "wallet_id", "wallets"),
        sa.PrimaryKeyConstraint(
            "casino_id", "gaming_day", "wallet_id", name=op.f("pk_casino_player_days")
        ),
    )
    op.create_index(
        "ix_casino_player_days_holder_id_gaming_day",
        "casino_player_days",
        ["holder_id", "gaming_day"],
    )
    op.create_table(
        "gaming_days",
        sa.Column("casino_id", sa.Integer(), nullable=False),
        sa.Column("gaming_day", sa.Date(), nullable=False),
        sa.Column("closed_at", sa.DateTime(), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("tax_transfer_id", BIG_ID, nullable=True),
        sa.Column("contribution_transfer_id", BIG_ID, nullable=True),
        sa.Column("sweep_transfer_id", BIG_ID, nullable=True),
        sa.Column("report", sa.Text(), nullable=False),
        _fk("gaming_days", "casino_id", "casinos"),
        _fk("gaming_days", "contribution_transfer_id", "transfers"),
        _fk("gaming_days", "sweep_transfer_id", "transfers"),
        _fk("gaming_days", "tax_transfer_id", "transfers"),
        sa.PrimaryKeyConstraint("casino_id", "gaming_day", name=op.f("pk_gaming_days")),
    )
    op.create_table(
        "exclusions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("holder_id", sa.String(length=64), nullable=False),
        sa.Column("casino_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("requested_at", sa.DateTime(), nullable=False),
        sa.Column("revocation_requested_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_from", sa.DateTime(), nullable=True),
        sa.CheckConstraint("kind IN ('self', 'family')", name=op.f("ck_exclusions_kind")),
        sa.CheckConstraint("ends_on >= starts_on", name=op.f("ck_exclusions_dates")),
        _fk("exclusions", "casino_id", "casinos"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exclusions")),
    )
    op.create_index(op.f("ix_exclusions_holder_id"), "exclusions", ["holder_id"])
    op.create_table(
        "alerts",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("casino_id", sa.Integer(), nullable=True),
        sa.Column("wallet_id", BIG_ID, nullable=True),
        sa.Column("operator_id", sa.Integer(), nullable=True),
        sa.Column("raised_at", sa.DateTime(), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=True),
        sa.Column("summary", sa.String(length=500), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(), nullable=True),
        sa.Column("str_reference", sa.String(length=40), nullable=True),
        sa.Column("note", sa.String(length=1000), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.CheckConstraint(
            "status IN ('open', 'acknowledged', 'escalated', 'dismissed')",
            name=op.f("ck_alerts_status"),
        ),
        _fk("alerts", "casino_id", "casinos"),
        _fk("alerts", "operator_id", "operators"),
        _fk("alerts", "wallet_id", "wallets"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_alerts_dedupe_key")),
    )
    op.create_index("ix_alerts_casino_id_status", "alerts", ["casino_id", "status"])
    op.create_index("ix_alerts_status_due_at", "alerts", ["status", "due_at"])
    op.create_index(op.f("ix_alerts_type"), "alerts", ["type"])
    op.create_index(op.f("ix_alerts_wallet_id"), "alerts", ["wallet_id"])


def downgrade() -> None:
    # Chip accounts stay in `accounts`: their journal entries are append-only.
    # A profile document goes with its column; its sandbox falls back to `default`.
    op.execute("UPDATE sandbox SET profile = 'default' WHERE profile_document IS NOT NULL")
    op.drop_table("alerts")
    op.drop_table("exclusions")
    op.drop_table("gaming_days")
    op.drop_table("casino_player_days")
    op.drop_table("casino_transactions")
    op.drop_table("casinos")
    with op.batch_alter_table("sandbox", schema=None) as batch_op:
        batch_op.drop_column("profile_document")
