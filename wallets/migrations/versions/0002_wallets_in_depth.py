"""wallets in depth: holds, class limits and usage, refunds, client ids

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28

Holds move funds into a HOLDS escrow account per operator (created here for
existing operators), so the pending columns of accounts go.
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "operator_limits",
        sa.Column("operator_id", sa.Integer(), nullable=False),
        sa.Column("wallet_class", sa.SmallInteger(), nullable=False),
        sa.Column("balance_cap", sa.BigInteger(), nullable=True),
        sa.Column("single_payment", sa.BigInteger(), nullable=True),
        sa.Column("daily_out", sa.BigInteger(), nullable=True),
        sa.Column("annual_out", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["operator_id"], ["operators.id"], name=op.f("fk_operator_limits_operator_id_operators")
        ),
        sa.PrimaryKeyConstraint("operator_id", "wallet_class", name=op.f("pk_operator_limits")),
    )
    op.create_table(
        "holds",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("wallet_id", BIG_ID, nullable=False),
        sa.Column("payee_wallet_id", BIG_ID, nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("captured", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("reference", sa.String(length=140), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("resolved_at", sa.DateTime(), nullable=True),
        sa.Column("usage_day", sa.Date(), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'captured', 'voided', 'expired')", name=op.f("ck_holds_status")
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_holds_amount_positive")),
        sa.CheckConstraint(
            "captured >= 0 AND captured <= amount", name=op.f("ck_holds_captured_range")
        ),
        sa.ForeignKeyConstraint(
            ["payee_wallet_id"], ["wallets.id"], name=op.f("fk_holds_payee_wallet_id_wallets")
        ),
        sa.ForeignKeyConstraint(
            ["wallet_id"], ["wallets.id"], name=op.f("fk_holds_wallet_id_wallets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_holds")),
    )
    op.create_index("ix_holds_status_expires_at", "holds", ["status", "expires_at"], unique=False)
    op.create_index(op.f("ix_holds_wallet_id"), "holds", ["wallet_id"], unique=False)
    op.create_table(
        "wallet_usage",
        sa.Column("wallet_id", BIG_ID, nullable=False),
        sa.Column("period", sa.String(length=4), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("amount_out", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("period IN ('day', 'year')", name=op.f("ck_wallet_usage_period")),
        sa.CheckConstraint("amount_out >= 0", name=op.f("ck_wallet_usage_amount_out_not_negative")),
        sa.ForeignKeyConstraint(
            ["wallet_id"], ["wallets.id"], name=op.f("fk_wallet_usage_wallet_id_wallets")
        ),
        sa.PrimaryKeyConstraint(
            "wallet_id", "period", "period_start", name=op.f("pk_wallet_usage")
        ),
    )
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_accounts_not_negative"), type_="check")
        batch_op.drop_column("debits_pending")
        batch_op.drop_column("credits_pending")
        batch_op.create_check_constraint(
            op.f("ck_accounts_not_negative"),
            "may_go_negative OR credits_posted - debits_posted >= 0",
        )
    with op.batch_alter_table("sandbox", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("profile", sa.String(length=32), server_default="default", nullable=False)
        )
    # Plain ADD COLUMN and CREATE INDEX: the append-only transfers table is never rebuilt.
    op.add_column("transfers", sa.Column("client_scope", sa.Integer(), nullable=True))
    op.add_column("transfers", sa.Column("client_id", sa.String(length=64), nullable=True))
    op.add_column("transfers", sa.Column("refund_of", BIG_ID, nullable=True))
    op.add_column("transfers", sa.Column("hold_id", BIG_ID, nullable=True))
    op.create_index(op.f("ix_transfers_hold_id"), "transfers", ["hold_id"], unique=False)
    op.create_index(op.f("ix_transfers_refund_of"), "transfers", ["refund_of"], unique=False)
    op.create_index("ux_transfers_client", "transfers", ["client_scope", "client_id"], unique=True)
    _holds_accounts_for_existing_operators()


def _holds_accounts_for_existing_operators() -> None:
    conn = op.get_bind()
    now = datetime.now(UTC).replace(tzinfo=None)
    for op_id, code in conn.execute(sa.text("SELECT id, code FROM operators")).all():
        conn.execute(
            sa.text(
                "INSERT INTO accounts (code, asset, kind, operator_id, may_go_negative, "
                "debits_posted, credits_posted, created_at) "
                "VALUES (:code, 'ECNY', 'holds', :op_id, :neg, 0, 0, :now)"
            ),
            {"code": f"OP:{code}:HOLDS", "op_id": op_id, "neg": False, "now": now},
        )


def downgrade() -> None:
    op.execute("DELETE FROM accounts WHERE kind = 'holds'")
    op.drop_index("ux_transfers_client", table_name="transfers")
    op.drop_index(op.f("ix_transfers_refund_of"), table_name="transfers")
    op.drop_index(op.f("ix_transfers_hold_id"), table_name="transfers")
    for column in ("hold_id", "refund_of", "client_id", "client_scope"):
        op.drop_column("transfers", column)
    with op.batch_alter_table("sandbox", schema=None) as batch_op:
        batch_op.drop_column("profile")
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_accounts_not_negative"), type_="check")
        batch_op.add_column(
            sa.Column("debits_pending", sa.BigInteger(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("credits_pending", sa.BigInteger(), server_default="0", nullable=False)
        )
        batch_op.create_check_constraint(
            op.f("ck_accounts_not_negative"),
            "may_go_negative OR credits_posted - debits_posted - debits_pending >= 0",
        )
    op.drop_table("wallet_usage")
    op.drop_index(op.f("ix_holds_wallet_id"), table_name="holds")
    op.drop_index("ix_holds_status_expires_at", table_name="holds")
    op.drop_table("holds")
    op.drop_table("operator_limits")
