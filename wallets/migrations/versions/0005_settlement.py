"""settlement between operators: deferred net windows and net debit caps

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "settlement_windows",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("opened_at", sa.DateTime(), nullable=False),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("settled_at", sa.DateTime(), nullable=True),
        sa.Column("settlement_transfer_id", BIG_ID, nullable=True),
        sa.Column("report", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "status IN ('OPEN', 'CLOSED', 'SETTLED')", name=op.f("ck_settlement_windows_status")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settlement_windows")),
    )
    op.create_table(
        "window_positions",
        sa.Column("window_id", BIG_ID, nullable=False),
        sa.Column("operator_id", sa.Integer(), nullable=False),
        sa.Column("sent", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("received", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("peak_debit", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("net_debit_cap", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["operator_id"],
            ["operators.id"],
            name=op.f("fk_window_positions_operator_id_operators"),
        ),
        sa.ForeignKeyConstraint(
            ["window_id"],
            ["settlement_windows.id"],
            name=op.f("fk_window_positions_window_id_settlement_windows"),
        ),
        sa.PrimaryKeyConstraint("window_id", "operator_id", name=op.f("pk_window_positions")),
    )
    with op.batch_alter_table("sandbox", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "ndc_reserve_ratio", sa.String(length=12), server_default="1.00", nullable=False
            )
        )
        batch_op.add_column(
            sa.Column("ndc_alert_percent", sa.String(length=8), server_default="80", nullable=False)
        )
        batch_op.add_column(sa.Column("settlement_cutoff", sa.String(length=5), nullable=True))
    op.add_column("operators", sa.Column("net_debit_cap", sa.BigInteger(), nullable=True))
    # Plain ADD COLUMN: the append-only transfers table is never rebuilt.
    op.add_column("transfers", sa.Column("window_id", BIG_ID, nullable=True))
    op.create_index(op.f("ix_transfers_window_id"), "transfers", ["window_id"], unique=False)
    now = datetime.now(UTC).replace(tzinfo=None)
    op.get_bind().execute(
        sa.text(
            "INSERT INTO accounts (code, asset, kind, may_go_negative, debits_posted, credits_posted, "
            "created_at) VALUES ('CB:SETTLEMENT', 'ECNY', 'cb_settlement', :neg, 0, 0, :now)"
        ),
        {"neg": False, "now": now},
    )


def downgrade() -> None:
    op.execute("DELETE FROM accounts WHERE code = 'CB:SETTLEMENT'")
    op.drop_index(op.f("ix_transfers_window_id"), table_name="transfers")
    op.drop_column("transfers", "window_id")
    with op.batch_alter_table("operators", schema=None) as batch_op:
        batch_op.drop_column("net_debit_cap")
    with op.batch_alter_table("sandbox", schema=None) as batch_op:
        batch_op.drop_column("settlement_cutoff")
        batch_op.drop_column("ndc_alert_percent")
        batch_op.drop_column("ndc_reserve_ratio")
    op.drop_table("window_positions")
    op.drop_table("settlement_windows")
