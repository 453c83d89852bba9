"""dual offline payments: offline purses, their vouchers, and each operator's
OFFLINE and OFFLINE_PENDING accounts

Revision ID: 0012_offline
Revises: 0011_programmable
Create Date: 2026-12-01

- ``offline_purses``: hardware wallets loaded from a wallet, with their
  device's Ed25519 public key, what was loaded, spent by honoured vouchers
  and unloaded, and the highest voucher counter seen;
- ``offline_vouchers``: the signed payment vouchers synced, each once, with
  their status (honoured or refused) and the payee's credit (pending, then
  validated);
- every operator gets its ``OP:<code>:OFFLINE`` account (its purses' loaded
  e-CNY) and ``OP:<code>:OFFLINE_PENDING`` (vouchers' money awaiting
  validation); an operator created later gets them with the others.
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0012_offline"
down_revision: str | None = "0011_programmable"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
ACCOUNT_KINDS = ("offline", "offline_pending")


def upgrade() -> None:
    op.create_table(
        "offline_purses",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("wallet_id", BIG_ID, nullable=False),
        sa.Column("device_key", sa.String(length=44), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("frozen", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("loaded", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("spent", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("unloaded", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("counter", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("frozen_at", sa.DateTime(), nullable=True),
        sa.Column("unload_due_at", sa.DateTime(), nullable=True),
        sa.Column("unloaded_at", sa.DateTime(), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.CheckConstraint(
            "status IN ('active', 'unloading', 'unloaded')", name=op.f("ck_offline_purses_status")
        ),
        sa.CheckConstraint(
            "spent >= 0 AND unloaded >= 0 AND spent + unloaded <= loaded",
            name=op.f("ck_offline_purses_amounts"),
        ),
        sa.ForeignKeyConstraint(
            ["wallet_id"], ["wallets.id"], name=op.f("fk_offline_purses_wallet_id_wallets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offline_purses")),
        sa.UniqueConstraint("device_key", name=op.f("uq_offline_purses_device_key")),
    )
    op.create_index(
        op.f("ix_offline_purses_wallet_id"), "offline_purses", ["wallet_id"], unique=False
    )
    op.create_index(
        "ix_offline_purses_status_unload_due_at",
        "offline_purses",
        ["status", "unload_due_at"],
        unique=False,
    )
    op.create_table(
        "offline_vouchers",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("voucher_id", sa.String(length=64), nullable=False),
        sa.Column("payer_purse_id", BIG_ID, nullable=False),
        sa.Column("payee_purse_id", BIG_ID, nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("counter", sa.BigInteger(), nullable=False),
        sa.Column("signed_at", sa.DateTime(), nullable=False),
        sa.Column("signature", sa.String(length=88), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("refusal", sa.String(length=40), nullable=True),
        sa.Column("covered_by", sa.Integer(), nullable=True),
        sa.Column("credit", sa.String(length=10), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(), nullable=False),
        sa.Column("validate_at", sa.DateTime(), nullable=False),
        sa.Column("validated_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint("amount > 0", name=op.f("ck_offline_vouchers_amount_positive")),
        sa.CheckConstraint("counter > 0", name=op.f("ck_offline_vouchers_counter_positive")),
        sa.CheckConstraint(
            "status IN ('honoured', 'refused')", name=op.f("ck_offline_vouchers_status")
        ),
        sa.CheckConstraint(
            "credit IN ('pending', 'validated')", name=op.f("ck_offline_vouchers_credit")
        ),
        sa.ForeignKeyConstraint(
            ["payer_purse_id"],
            ["offline_purses.id"],
            name=op.f("fk_offline_vouchers_payer_purse_id_offline_purses"),
        ),
        sa.ForeignKeyConstraint(
            ["payee_purse_id"],
            ["offline_purses.id"],
            name=op.f("fk_offline_vouchers_payee_purse_id_offline_purses"),
        ),
        sa.ForeignKeyConstraint(
            ["covered_by"],
            ["operators.id"],
            name=op.f("fk_offline_vouchers_covered_by_operators"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offline_vouchers")),
        sa.UniqueConstraint("voucher_id", name=op.f("uq_offline_vouchers_voucher_id")),
    )
    op.create_index(
        op.f("ix_offline_vouchers_payee_purse_id"),
        "offline_vouchers",
        ["payee_purse_id"],
        unique=False,
    )
    op.create_index(
        "ix_offline_vouchers_payer_purse_id_counter",
        "offline_vouchers",
        ["payer_purse_id", "counter"],
        unique=False,
    )
    op.create_index(
        "ix_offline_vouchers_credit_validate_at",
        "offline_vouchers",
        ["credit", "validate_at"],
        unique=False,
    )
    _offline_accounts_for_existing_operators()


def _offline_accounts_for_existing_operators() -> None:
    conn = op.get_bind()
    now = datetime.now(UTC).replace(tzinfo=None)
    for op_id, code in conn.execute(sa.text("SELECT id, code FROM operators")).all():
        for kind in ACCOUNT_KINDS:
            conn.execute(
                sa.text(
                    "INSERT INTO accounts (code, asset, kind, operator_id, may_go_negative, "
                    "debits_posted, credits_posted, created_at) "
                    "VALUES (:code, 'ECNY', :kind, :op_id, :neg, 0, 0, :now)"
                ),
                {
                    "code": f"OP:{code}:{kind.upper()}",
                    "kind": kind,
                    "op_id": op_id,
                    "neg": False,
                    "now": now,
                },
            )


def downgrade() -> None:
    op.execute("DELETE FROM accounts WHERE kind IN ('offline', 'offline_pending')")
    op.drop_index("ix_offline_vouchers_credit_validate_at", table_name="offline_vouchers")
    op.drop_index("ix_offline_vouchers_payer_purse_id_counter", table_name="offline_vouchers")
    op.drop_index(op.f("ix_offline_vouchers_payee_purse_id"), table_name="offline_vouchers")
    op.drop_table("offline_vouchers")
    op.drop_index("ix_offline_purses_status_unload_due_at", table_name="offline_purses")
    op.drop_index(op.f("ix_offline_purses_wallet_id"), table_name="offline_purses")
    op.drop_table("offline_purses")
